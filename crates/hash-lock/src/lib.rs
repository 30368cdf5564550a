//! One password hash at a time per isolate.
//!
//! A hash runs in slices with a pause between them, so other requests run in between
//! (`pbkdf2_block::derive_sliced`; the auth Worker's bcrypt runs so too). When two hashes shared the isolate, a pause of one was mostly
//! filled by a slice of the other: measured under `wrangler dev`, a read waited for about four
//! slices instead of one, and slices long enough to keep a login's own time within 10 % under
//! read load pushed the reads' tail past its goal (README, "Performance"). Taking turns, the
//! hashes leave every pause to the other requests; the isolate's CPU is the limit either way,
//! so the logins finish no later on average. It is a lock, not a queue: whichever waiter asks
//! first after the holder is done goes next.
//!
//! A waiting hash checks for its turn at each of its own pauses: it is never woken by another
//! request, because the runtime does not let one request's code run on behalf of another (and
//! cancels a request that waits on nothing of its own). A request can stop at any await and
//! never resume (its client went away, and the runtime cancelled it), so a holder that makes no
//! progress while waiters check [`STALE_CHECKS`] times in a row is taken over.
//!
//! Single-threaded (`Cell`): one per isolate ([`isolate_lock`]), or per test thread natively.
//! A crate of its own so that the bench's floor Worker takes turns with the same lock as the
//! auth Worker (`edge_auth::hash_lock` is this crate), compiled for size with the rest.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

/// Checks by waiters without any progress of the holder after which its turn is taken over.
/// A live holder makes progress at every slice, and waiters check only between slices, so a
/// live holder is never overtaken; a dead one costs waiters this many pauses.
pub const STALE_CHECKS: u32 = 1_000;

#[derive(Default)]
pub struct HashLock {
    /// The turn that holds the lock, if any.
    holder: Cell<Option<u64>>,
    next_turn: Cell<u64>,
    /// Checks by waiters since the holder's last progress.
    idle_checks: Cell<u32>,
}

impl HashLock {
    /// Takes the lock if nobody holds it (or the holder is stale); `None` means pause and ask
    /// again.
    pub fn try_take(self: &Rc<Self>) -> Option<Held> {
        if self.holder.get().is_some() {
            let checks = self.idle_checks.get() + 1;
            self.idle_checks.set(checks);
            if checks < STALE_CHECKS {
                return None;
            }
        }
        let turn = self.next_turn.get();
        self.next_turn.set(turn + 1);
        self.holder.set(Some(turn));
        self.idle_checks.set(0);
        Some(Held {
            lock: Rc::clone(self),
            turn,
        })
    }

    /// Whether a hash holds the lock now.
    #[cfg(test)]
    fn is_held(&self) -> bool {
        self.holder.get().is_some()
    }
}

/// The lock, held. Dropping it frees the lock (unless it was taken over meanwhile).
pub struct Held {
    lock: Rc<HashLock>,
    turn: u64,
}

impl Held {
    /// `pause`, telling the lock at each call that its holder is alive: the pause of a hash that
    /// runs in slices while it holds the lock.
    pub fn pausing<'a, F, Fut>(&'a self, mut pause: F) -> impl FnMut() -> Fut + 'a
    where
        F: FnMut() -> Fut + 'a,
    {
        move || {
            self.progress();
            pause()
        }
    }

    /// The holder is alive: called at every slice.
    pub fn progress(&self) {
        if self.lock.holder.get() == Some(self.turn) {
            self.lock.idle_checks.set(0);
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.lock.holder.get() == Some(self.turn) {
            self.lock.holder.set(None);
            self.lock.idle_checks.set(0);
        }
    }
}

thread_local! {
    /// The isolate's lock: every hash on the request path takes it.
    static ISOLATE_LOCK: Rc<HashLock> = Rc::new(HashLock::default());
}

/// This isolate's lock (one per thread natively).
pub fn isolate_lock() -> Rc<HashLock> {
    ISOLATE_LOCK.with(Rc::clone)
}

/// Takes this isolate's lock once it is free, awaiting `pause` between asks. The hash that
/// holds it pauses through [`Held::pausing`].
pub async fn take_turn<F, Fut>(pause: &mut F) -> Held
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let lock = isolate_lock();
    loop {
        if let Some(held) = lock.try_take() {
            return held;
        }
        pause().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_free_again_when_dropped() {
        let lock = Rc::new(HashLock::default());
        let held = lock.try_take().expect("free");
        assert!(lock.is_held());
        assert!(lock.try_take().is_none());
        drop(held);
        assert!(!lock.is_held());
        assert!(lock.try_take().is_some());
    }

    #[test]
    fn a_holder_that_makes_progress_is_never_taken_over() {
        let lock = Rc::new(HashLock::default());
        let held = lock.try_take().unwrap();
        for _ in 0..10 {
            for _ in 0..STALE_CHECKS - 1 {
                assert!(lock.try_take().is_none());
            }
            held.progress();
        }
    }

    #[test]
    fn a_stalled_holder_is_taken_over_and_its_late_drop_frees_nothing() {
        let lock = Rc::new(HashLock::default());
        let stalled = lock.try_take().unwrap();
        for _ in 0..STALE_CHECKS - 1 {
            assert!(lock.try_take().is_none());
        }
        let next = lock.try_take().expect("taken over at the limit");
        // The stalled one resumes after all: its progress and its drop touch nothing.
        stalled.progress();
        drop(stalled);
        assert!(lock.is_held());
        for _ in 0..STALE_CHECKS - 1 {
            assert!(lock.try_take().is_none());
        }
        next.progress();
        assert!(lock.try_take().is_none());
        drop(next);
        assert!(!lock.is_held());
    }
}
