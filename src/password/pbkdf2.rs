//! PBKDF2-HMAC-SHA256 with a 32-byte output, run in slices that await a caller-supplied pause
//! between them, so a hash of hundreds of milliseconds shares a single-threaded isolate with
//! other requests instead of stalling them. The result is exactly `pbkdf2::pbkdf2_hmac::<Sha256>`;
//! the tests keep that crate as the reference. Nothing here knows about the runtime: the caller
//! decides what a pause is (the Worker's zero timer, a JS timer, or nothing at all in native tests).
//! The loop between two pauses is `pbkdf2_block::Block::run` (`crates/pbkdf2-block`), a crate of its
//! own so that the release profile compiles it for speed while this crate is compiled for size.
//!
//! Every PBKDF2 of ours and of Django's hashes runs here: [`derive_yielding`] on the request
//! path (in slices, one hash at a time per isolate, [`super::queue`]), [`derive()`] in one go
//! (the bench's hash, and the blocking checks the tests use), both on top of [`derive_sliced`];
//! [`counting`] tells a request how many iterations its own hashes ran.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::num::NonZeroU32;
use std::rc::Rc;

/// Bytes of output: one SHA-256 block of PBKDF2 (`T_1`), the length `password` stores.
pub const OUTPUT_LEN: usize = pbkdf2_block::OUTPUT_LEN;

/// Below this a stored hash is not worth trusting; above the configured ceiling it is refused
/// so that a tampered row cannot make the Worker burn its CPU budget.
pub const MIN_ITERATIONS: u32 = 1_000;

/// Iterations between two pauses (in `pbkdf2_block`, so that the bench's floor Worker
/// hashes in the same slices).
pub use pbkdf2_block::DEFAULT_SLICE;

/// Derives `PBKDF2-HMAC-SHA256(password, salt, iterations)` with a 32-byte output, awaiting
/// `pause()` after every `slice` iterations while work remains.
///
/// The HMAC is keyed with `password` once; each `U_i` starts from a clone of that keyed state
/// (the `HmacCore` of an `Hmac<Sha256>`, kept by `pbkdf2_block::Block`); the loop is
/// [`pbkdf2_block::derive_sliced`].
///
/// Precisely: with `c = max(iterations, 1)` iterations run, `pause` is called and awaited
/// `ceil(c / slice) - 1` times, once between each pair of consecutive slices, never before the
/// first or after the last. `iterations == 0` is not valid PBKDF2; like the `pbkdf2` crate it
/// computes `U_1` alone, so it gives the result of `iterations == 1`.
///
/// Each slice adds its iterations to the request's count ([`counting`]) as it
/// finishes, so a derivation dropped half-way counts the work it did.
pub fn derive_sliced<'a, F, Fut>(
    password: &'a [u8],
    salt: &'a [u8],
    iterations: u32,
    slice: NonZeroU32,
    pause: F,
) -> impl Future<Output = [u8; OUTPUT_LEN]> + 'a
where
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = ()> + 'a,
{
    pbkdf2_block::derive_sliced(password, salt, iterations, slice, pause, |n| {
        record_iterations(u64::from(n));
    })
}

/// Runs the full key derivation in one go, without the isolate's hash lock: the bench's bare
/// hash (`/__test/hash`) and the blocking checks ([`super::PasswordHash::verify`]).
///
/// The same loop as [`derive_yielding`] (`pbkdf2_block`, compiled for speed), run in one go; like
/// the `pbkdf2` crate, a count of 0 computes `U_1` alone.
pub fn derive(password: &str, salt: &[u8], iterations: u32) -> [u8; OUTPUT_LEN] {
    let mut block = pbkdf2_block::Block::new(password.as_bytes(), salt);
    block.run(iterations.max(1));
    record_iterations(u64::from(iterations));
    block.result()
}

/// [`derive()`] in slices of [`DEFAULT_SLICE`] iterations that await
/// `pause` in between: the same bytes, but a Worker isolate serves other requests while a hash
/// runs. Every hash on the request path goes through this, one at a time per isolate
/// ([`super::queue`]): while another holds the lock, it asks again after each pause.
pub async fn derive_yielding<F, Fut>(
    password: &str,
    salt: &[u8],
    iterations: u32,
    mut pause: F,
) -> [u8; OUTPUT_LEN]
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let turn = super::queue::take_turn(&mut pause).await;
    derive_sliced(
        password.as_bytes(),
        salt,
        iterations,
        DEFAULT_SLICE,
        turn.pausing(pause),
    )
    .await
}

/// Runs a hash whose pauses are all ready (`|| std::future::ready(())`) to its end in one poll:
/// the blocking form of a `_yielding` hash, for a caller with no event loop to share.
///
/// # Panics
/// If the hash waits after all: only when this thread's hash lock is held by a hash still
/// running ([`super::queue`]), which a caller without an event loop cannot be inside of.
pub fn at_once<F: Future>(hash: F) -> F::Output {
    let waker = std::task::Waker::noop();
    match std::pin::pin!(hash).poll(&mut std::task::Context::from_waker(waker)) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("a hash run at once waited"),
    }
}

thread_local! {
    /// The counter of the [`counting`] future being polled now, if any.
    static COUNTING: RefCell<Option<Rc<Cell<u64>>>> = const { RefCell::new(None) };
}

/// Runs `work`, adding to `counter` the PBKDF2 iterations run while `work` itself is polled:
/// exactly its own hashes, however many other requests hash on the isolate between its polls,
/// so the audit log can say how much work a failed login cost.
pub async fn counting<T>(counter: Rc<Cell<u64>>, work: impl Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        let outer = COUNTING.with(|c| c.replace(Some(counter.clone())));
        let poll = work.as_mut().poll(cx);
        COUNTING.with(|c| *c.borrow_mut() = outer);
        poll
    })
    .await
}

/// Adds `n` iterations just run (in slices, or in one go by [`derive`]) to the
/// counter of the [`counting`] future being polled, if any, so it covers every hash whichever
/// path computed it.
pub(crate) fn record_iterations(n: u64) {
    COUNTING.with(|c| {
        if let Some(counter) = &*c.borrow() {
            counter.set(counter.get() + n);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Sha256;
    use std::cell::Cell;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn slice(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    fn sliced(password: &[u8], salt: &[u8], iterations: u32, every: u32) -> [u8; OUTPUT_LEN] {
        at_once(derive_sliced(
            password,
            salt,
            iterations,
            slice(every),
            || async {},
        ))
    }

    fn reference(password: &[u8], salt: &[u8], iterations: u32) -> [u8; OUTPUT_LEN] {
        let mut out = [0; OUTPUT_LEN];
        ::pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
        out
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn matches_the_rfc_7914_vectors() {
        // RFC 7914 §11 gives dkLen = 64; the first 32 bytes are T_1, which is all we derive.
        let passwd = hex(
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
        );
        assert_eq!(sliced(b"passwd", b"salt", 1, 1), passwd[..OUTPUT_LEN]);
        let nacl = hex(
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
        );
        let out = sliced(b"Password", b"NaCl", 80_000, DEFAULT_SLICE.get());
        assert_eq!(out, nacl[..OUTPUT_LEN]);
        assert_eq!(out, reference(b"Password", b"NaCl", 80_000));
    }

    #[test]
    fn matches_the_published_password_salt_vectors() {
        for (iterations, expected) in [
            (
                1,
                "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
            ),
            (
                2,
                "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
            ),
            (
                4096,
                "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
            ),
        ] {
            let out = sliced(b"password", b"salt", iterations, 1_000);
            assert_eq!(out.to_vec(), hex(expected), "c = {iterations}");
            assert_eq!(out, reference(b"password", b"salt", iterations));
        }
    }

    #[test]
    fn pauses_once_between_consecutive_slices() {
        // (iterations, slice, pauses = ceil(max(iterations, 1) / slice) - 1)
        for (iterations, every, pauses) in [
            (0, 1, 0),
            (1, 1, 0),
            (2, 1, 1),
            (5, 1, 4),
            (1, 10, 0),
            (9, 10, 0),
            (10, 10, 0),
            (11, 10, 1),
            (20, 10, 1),
            (21, 10, 2),
            (4096, 1000, 4),
            (3 * DEFAULT_SLICE.get(), DEFAULT_SLICE.get(), 2),
            (3 * DEFAULT_SLICE.get() + 1, DEFAULT_SLICE.get(), 3),
            (4096, u32::MAX, 0),
        ] {
            let calls = Cell::new(0u32);
            at_once(derive_sliced(
                b"pw",
                b"salt",
                iterations,
                slice(every),
                || {
                    calls.set(calls.get() + 1);
                    async {}
                },
            ));
            assert_eq!(calls.get(), pauses, "c = {iterations}, slice = {every}");
        }
    }

    #[test]
    fn every_pause_is_awaited_before_the_next_slice_runs() {
        // Each pause is pending once: the derivation must stop there and resume on the next
        // poll, one slice per poll, rather than call `pause` without awaiting it.
        let pending = Cell::new(0u32);
        let polls_pending = &pending;
        let counted = std::rc::Rc::new(Cell::new(0u64));
        let future = derive_sliced(b"pw", b"salt", 25, slice(10), || {
            let mut first = true;
            std::future::poll_fn(move |_| {
                if std::mem::take(&mut first) {
                    polls_pending.set(polls_pending.get() + 1);
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })
        });
        let mut future = pin!(counting(counted.clone(), future));
        let mut cx = Context::from_waker(Waker::noop());
        let mut polls = 0u64;
        let out = loop {
            polls += 1;
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                break out;
            }
            // Slices done so far: 10, then 20; the counter moves one slice at a time.
            assert_eq!(counted.get(), 10 * polls);
        };
        assert_eq!(polls, 3);
        assert_eq!(pending.get(), 2);
        assert_eq!(out, reference(b"pw", b"salt", 25));
    }

    #[test]
    fn result_does_not_depend_on_the_slice_size() {
        let expected = reference(b"correct horse", b"0123456789abcdef", 1_000);
        for every in [1, 2, 3, 7, 999, 1_000, 1_001, u32::MAX] {
            let out = sliced(b"correct horse", b"0123456789abcdef", 1_000, every);
            assert_eq!(out, expected, "slice = {every}");
        }
    }

    #[test]
    fn zero_iterations_behave_like_the_reference() {
        assert_eq!(sliced(b"pw", b"salt", 0, 1), reference(b"pw", b"salt", 0));
        assert_eq!(sliced(b"pw", b"salt", 0, 1), sliced(b"pw", b"salt", 1, 1));
    }

    #[test]
    fn long_passwords_are_hashed_into_the_key_like_the_reference() {
        // Keys longer than SHA-256's 64-byte block are hashed first (RFC 2104).
        let long = [0xa5u8; 200];
        assert_eq!(sliced(&long, b"salt", 3, 2), reference(&long, b"salt", 3));
    }

    #[test]
    fn counts_every_iteration_in_the_requests_counter() {
        let counted = std::rc::Rc::new(Cell::new(0u64));
        at_once(counting(
            counted.clone(),
            derive_sliced(b"pw", b"salt", 2_500, slice(1_000), || async {}),
        ));
        assert_eq!(counted.get(), 2_500);
    }
}
