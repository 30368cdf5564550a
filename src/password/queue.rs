//! The isolate's hash queue: one password hash at a time per isolate, and a bound on how many
//! requests wait for it. The lock itself is the workspace crate `hash-lock`
//! (`crates/hash-lock`), a crate of its own so that the bench's floor Worker takes turns with the
//! same lock; this module names the parts the hashing here and the load shedding use.

pub use hash_lock::{isolate_lock, take_turn, while_admitted, Admitted, HashLock};
