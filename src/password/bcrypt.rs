//! bcrypt's hash (`$2a$`, `$2b$`, `$2y$`: the same computation for the passwords a login
//! accepts) run in slices that await a caller-supplied pause between them, as
//! [`super::pbkdf2`] does for PBKDF2, so that the first login of an account moved in with
//! a bcrypt hash shares the isolate instead of stalling it for up to a second. The result is
//! exactly the `bcrypt` crate's; the tests keep that crate as the reference. Built on the
//! `blowfish` crate's bcrypt primitives (`salted_expand_key`, `bc_expand_key`, `bc_encrypt`),
//! the ones the `bcrypt` crate itself runs. Nothing here knows about the runtime.

use std::future::Future;
use std::num::NonZeroU32;

use blowfish::Blowfish;

/// Bytes of a bcrypt hash as stored (the last of Blowfish's 24 is dropped by the format).
pub const OUTPUT_LEN: usize = 23;

/// How much of a password bcrypt reads.
pub const READS_BYTES: usize = 72;

/// Expensive rounds (two key expansions each) between two pauses: a round costs about 180
/// PBKDF2 iterations here ([`super::legacy::BCRYPT_ITERATIONS_PER_ROUND`]), so 192 rounds
/// are about 34,000, near the 35,000 iterations of a PBKDF2 slice
/// ([`super::pbkdf2::DEFAULT_SLICE`]), some 13 ms in the Worker. A cost-12 hash (4,096
/// rounds) runs in 22 slices.
pub const DEFAULT_ROUNDS: NonZeroU32 = NonZeroU32::new(192).unwrap();

/// bcrypt's key for `password`: its first 72 bytes with a NUL after them when there is room,
/// as the `bcrypt` crate, passlib and pwdlib (bcrypt < 5) build it.
fn key_of(password: &[u8]) -> ([u8; READS_BYTES], usize) {
    let mut key = [0u8; READS_BYTES];
    let n = password.len().min(READS_BYTES);
    key[..n].copy_from_slice(&password[..n]);
    (key, (n + 1).min(READS_BYTES))
}

/// The state between slices: the key schedule, and the rounds still to run.
struct Eks {
    state: Blowfish,
    key: [u8; READS_BYTES],
    key_len: usize,
    salt: [u8; 16],
    left: u64,
}

impl Eks {
    fn new(cost: u32, salt: &[u8; 16], password: &[u8]) -> Self {
        // The parser refuses any other cost (`password::legacy`), as the `bcrypt` crate does.
        debug_assert!((4..=31).contains(&cost), "bcrypt cost {cost}");
        let (key, key_len) = key_of(password);
        let mut state = Blowfish::bc_init_state();
        state.salted_expand_key(salt, &key[..key_len]);
        Eks {
            state,
            key,
            key_len,
            salt: *salt,
            left: 1u64 << cost.min(31),
        }
    }

    /// Runs up to `rounds` of the rounds left; whether any are left after them.
    fn run(&mut self, rounds: u32) -> bool {
        let n = self.left.min(u64::from(rounds));
        for _ in 0..n {
            self.state.bc_expand_key(&self.key[..self.key_len]);
            self.state.bc_expand_key(&self.salt);
        }
        self.left -= n;
        self.left > 0
    }

    /// "OrpheanBeholderScryDoubt" encrypted 64 times, big-endian, its first 23 bytes.
    fn output(&self) -> [u8; OUTPUT_LEN] {
        let mut text: [u32; 6] = [
            0x4f72_7068,
            0x6561_6e42,
            0x6568_6f6c,
            0x6465_7253,
            0x6372_7944,
            0x6f75_6274,
        ];
        let mut out = [0u8; 24];
        for (pair, bytes) in text.chunks_exact_mut(2).zip(out.chunks_exact_mut(8)) {
            let mut lr = [pair[0], pair[1]];
            for _ in 0..64 {
                lr = self.state.bc_encrypt(lr);
            }
            bytes[..4].copy_from_slice(&lr[0].to_be_bytes());
            bytes[4..].copy_from_slice(&lr[1].to_be_bytes());
            pair.copy_from_slice(&lr);
        }
        out[..OUTPUT_LEN].try_into().expect("23 of 24 bytes")
    }
}

/// bcrypt's hash of `password` (its first 72 bytes) at `cost` (4 to 31: the parser refuses
/// others; a larger one would count as 31) and `salt`, awaiting `pause()` after every `rounds`
/// of its `2^cost` expensive rounds while some are left: `ceil(2^cost / rounds) - 1` pauses, none before the first slice or after the
/// last. (The setup before the rounds and the output after them are each about one round.)
pub async fn hash_yielding<F, Fut>(
    cost: u32,
    salt: &[u8; 16],
    password: &[u8],
    rounds: NonZeroU32,
    mut pause: F,
) -> [u8; OUTPUT_LEN]
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut eks = Eks::new(cost, salt, password);
    while eks.run(rounds.get()) {
        pause().await;
    }
    eks.output()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::password::pbkdf2::at_once;
    use base64::alphabet;
    use base64::engine::general_purpose::{GeneralPurpose, NO_PAD};
    use base64::Engine;
    use proptest::prelude::*;
    use std::cell::Cell;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn b64() -> GeneralPurpose {
        GeneralPurpose::new(&alphabet::BCRYPT, NO_PAD)
    }

    /// The `bcrypt` crate's 23 bytes for the same inputs.
    fn reference(cost: u32, salt: [u8; 16], password: &[u8]) -> [u8; OUTPUT_LEN] {
        let s = ::bcrypt::hash_with_salt(password, cost, salt)
            .unwrap()
            .to_string();
        b64().decode(&s[29..]).unwrap().try_into().unwrap()
    }

    /// The hash in one slice, with no pause.
    fn hash(cost: u32, salt: &[u8; 16], password: &[u8]) -> [u8; OUTPUT_LEN] {
        let all = NonZeroU32::new(u32::MAX).unwrap();
        at_once(hash_yielding(cost, salt, password, all, || async {
            unreachable!("one slice")
        }))
    }

    #[test]
    fn matches_the_jbcrypt_vectors() {
        // From jBCrypt's TestBCrypt.java (as the `bcrypt` crate's own tests use them).
        for (password, stored) in [
            (
                "",
                "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.",
            ),
            (
                "a",
                "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe",
            ),
            (
                "abc",
                "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i",
            ),
            (
                "abcdefghijklmnopqrstuvwxyz",
                "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC",
            ),
            (
                "~!@#$%^&*()      ~!@#$%^&*()PNBFRD",
                "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO",
            ),
        ] {
            let salt: [u8; 16] = b64().decode(&stored[7..29]).unwrap().try_into().unwrap();
            let expected: Vec<u8> = b64().decode(&stored[29..]).unwrap();
            assert_eq!(
                hash(6, &salt, password.as_bytes()).to_vec(),
                expected,
                "{password:?}"
            );
        }
    }

    #[test]
    fn pauses_once_between_consecutive_slices() {
        let salt = [7u8; 16];
        for (cost, rounds, pauses) in [(4, 16, 0), (4, 15, 1), (4, 1, 15), (6, 10, 6), (5, 32, 0)] {
            let n = Cell::new(0);
            let out = at_once(hash_yielding(
                cost,
                &salt,
                b"pw",
                NonZeroU32::new(rounds).unwrap(),
                || {
                    n.set(n.get() + 1);
                    async {}
                },
            ));
            assert_eq!(n.get(), pauses, "cost {cost}, {rounds} rounds per slice");
            assert_eq!(out, hash(cost, &salt, b"pw"));
        }
    }

    #[test]
    fn every_pause_is_awaited_before_the_next_slice_runs() {
        // A pause that is pending once: the hash must stop there, and go on when polled again.
        let pending_once = || {
            let mut polled = false;
            std::future::poll_fn(move |_| {
                if polled {
                    Poll::Ready(())
                } else {
                    polled = true;
                    Poll::Pending
                }
            })
        };
        let salt = [1u8; 16];
        let mut fut = pin!(hash_yielding(
            5,
            &salt,
            b"pw",
            NonZeroU32::new(8).unwrap(),
            pending_once
        ));
        let mut cx = Context::from_waker(Waker::noop());
        let mut polls = 1;
        let out = loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                break out;
            }
            polls += 1;
        };
        assert_eq!(
            polls, 4,
            "32 rounds in slices of 8: three pauses, each pending once"
        );
        assert_eq!(out, hash(5, &salt, b"pw"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Any password (empty, past 72 bytes, any bytes), salt, cost and slice: the
        /// `bcrypt` crate's bytes.
        #[test]
        fn equals_the_bcrypt_crate(
            password in proptest::collection::vec(any::<u8>(), 0..100),
            salt in any::<[u8; 16]>(),
            cost in 4u32..=6,
            rounds in 1u32..=70,
        ) {
            let sliced = at_once(hash_yielding(
                cost, &salt, &password, NonZeroU32::new(rounds).unwrap(), || async {},
            ));
            prop_assert_eq!(sliced, reference(cost, salt, &password));
        }
    }
}
