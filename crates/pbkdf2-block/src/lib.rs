//! One block of PBKDF2-HMAC-SHA256 (`T_1`, 32 bytes), advanced a given number of iterations at a
//! time. The worker crate (`edge-auth`, `src/password/pbkdf2.rs`) owns the slicing, the pauses and
//! the tests against the `pbkdf2` crate; this crate holds what the bench's floor Worker
//! (`tests/bench/floor`) hashes with too: the loop, the slice size and the loop in slices
//! ([`derive_sliced`]).
//!
//! Why a crate of its own: the Worker is built with `opt-level = "z"` for size, which made this
//! loop about twice as slow in the Worker. Cargo sets the optimisation level per crate, and the
//! HMAC code is generic, so it is compiled in the crate that uses it: here, where the release
//! profile keeps `opt-level = 3` (see the workspace `Cargo.toml`). `Block::run` is not generic
//! and is never inlined, so link-time optimisation keeps it as compiled here.

use std::future::Future;
use std::num::NonZeroU32;

use hmac::digest::{FixedOutput, KeyInit, Update};
use hmac::{Hmac, HmacCore};
use sha2::Sha256;

/// Bytes of output: one SHA-256 block of PBKDF2.
pub const OUTPUT_LEN: usize = 32;

/// Iterations between two pauses: about 14 ms of hashing in the Worker (some 2,400 iterations
/// per ms there: 600,000 in about 250 ms, `make bench`).
///
/// The slice is a trade between the two goals `make bench` sets under its load (four
/// clients reading `/auth/me` back to back while two clients log in back to back): the reads'
/// p99 at most 3x their p99 alone, and the logins' p50 at most 1.10x theirs alone. Every pause
/// hands the isolate to the waiting reads, so short slices cost the logins (10,000 iterations:
/// 1.25x) and long ones cost the reads (50,000: p99 3.3x, with one hash at a time,
/// `hash_lock`). Measured figures for each size are in README, "Performance". A
/// zero-delay timer under `wrangler dev`'s workerd costs about 0.01-0.03 ms, so with nothing
/// else waiting the 42 pauses of a 600,000-iteration hash add well under 1 %. (Node clamps such
/// a timer to 1 ms: the choice of pause matters as much as the slice.)
pub const DEFAULT_SLICE: NonZeroU32 = NonZeroU32::new(35_000).unwrap();

/// The state of one PBKDF2 block between calls to [`Block::run`]: `T = U_1 ^ ... ^ U_done`.
pub struct Block<'s> {
    /// The keyed state of an `Hmac<Sha256>` (its inner and outer SHA-256 states after the
    /// padded key), cloned for every `U_i` and never re-keyed. The core alone, without the
    /// wrapper's empty 64-byte input buffer. Measured natively (release): cloning the whole
    /// `Hmac<Sha256>` per iteration went through a `memcpy` call and stalled on the loads
    /// after it, 20 % slower than the `pbkdf2` crate; cloning the core is within 2-3 % of it.
    prf: HmacCore<Sha256>,
    salt: &'s [u8],
    /// `U_done`, the input of the next iteration.
    u: [u8; OUTPUT_LEN],
    t: [u8; OUTPUT_LEN],
    done: u32,
}

impl<'s> Block<'s> {
    /// The block before its first iteration, with the HMAC keyed by `password` once.
    pub fn new(password: &[u8], salt: &'s [u8]) -> Self {
        let (prf, _) = Hmac::<Sha256>::new_from_slice(password)
            .expect("HMAC takes a key of any length")
            .decompose();
        Self {
            prf,
            salt,
            u: [0; OUTPUT_LEN],
            t: [0; OUTPUT_LEN],
            done: 0,
        }
    }

    /// `T` after the iterations run so far: the derived key once they reach the count.
    pub fn result(&self) -> [u8; OUTPUT_LEN] {
        self.t
    }

    /// Runs the next `n` iterations; the first one ever is `U_1 = PRF(P, S || INT(1))`.
    // Out of line, so the hot loop compiles the same whatever caller it sits in, and stays at
    // this crate's optimisation level under link-time optimisation.
    #[inline(never)]
    pub fn run(&mut self, mut n: u32) {
        if self.done == 0 && n > 0 {
            let mut mac = Hmac::<Sha256>::from_core(self.prf.clone());
            mac.update(self.salt);
            mac.update(&1u32.to_be_bytes());
            self.u = mac.finalize_fixed().into();
            self.t = self.u;
            self.done = 1;
            n -= 1;
        }
        let prf = &self.prf;
        let mut u = hmac::digest::Output::<Hmac<Sha256>>::from(self.u);
        let mut t = self.t;
        for _ in 0..n {
            let mut mac = Hmac::<Sha256>::from_core(prf.clone());
            mac.update(&u);
            u = mac.finalize_fixed();
            for (t, u) in t.iter_mut().zip(u.iter()) {
                *t ^= u;
            }
        }
        (self.u, self.t) = (u.into(), t);
        self.done += n;
    }
}

/// Derives `PBKDF2-HMAC-SHA256(password, salt, iterations)` with a 32-byte output, awaiting
/// `pause()` after every `slice` iterations while work remains, and telling `ran` the
/// iterations of each slice as it finishes.
///
/// Precisely: with `c = max(iterations, 1)` iterations run, `pause` is called and awaited
/// `ceil(c / slice) - 1` times, once between each pair of consecutive slices, never before the
/// first or after the last. `iterations == 0` is not valid PBKDF2; like the `pbkdf2` crate it
/// computes `U_1` alone, so it gives the result of `iterations == 1`. The auth Worker's tests
/// (`src/password/pbkdf2.rs`) prove it equal to the `pbkdf2` crate.
pub async fn derive_sliced<F, Fut>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    slice: NonZeroU32,
    mut pause: F,
    mut ran: impl FnMut(u32),
) -> [u8; OUTPUT_LEN]
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut block = Block::new(password, salt);
    let mut left = iterations.max(1);
    loop {
        let n = left.min(slice.get());
        block.run(n);
        ran(n);
        left -= n;
        if left == 0 {
            return block.result();
        }
        pause().await;
    }
}
