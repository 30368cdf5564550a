//! The limits the service puts on its callers and on itself: the circuit breaker around the
//! database (`breaker`), the per-account login throttle (`throttle`) and the per-client-IP rate
//! limit (`ratelimit`). Each is a pure decision over state that the store or a binding keeps.

pub mod breaker;
pub mod ratelimit;
pub mod throttle;
