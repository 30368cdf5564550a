//! One password hash at a time per isolate, and a bound on how many requests wait for it.
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
//! never resume (its client went away, and the runtime cancelled it), so a waiter that has
//! itself checked [`STALE_CHECKS`] times in a row without seeing the holder make progress takes
//! its turn over. Each waiter counts only its own checks: a live holder progresses at every
//! slice, and a waiter checks once per pause, so however many wait, none sees a live holder
//! idle for more than a check or two.
//!
//! Every hashing request is first admitted ([`HashLock::admit`]): at most a configured number
//! (the holder and its waiters) per isolate. Past that a request is refused at once rather than
//! left to wait behind every other hash (a quarter-second each), so a flood of logins costs its
//! excess a `503` instead of costing everyone minutes. An admitted request that the runtime
//! cancelled is never dropped either, so admission counts a request only while it is polled
//! now and then ([`while_admitted`]): one unseen for [`GONE_AFTER_MS`] no longer counts.
//!
//! Single-threaded (`Cell`): one per isolate ([`isolate_lock`]), or per test thread natively.
//! A crate of its own so that the bench's floor Worker takes turns with the same lock as the
//! auth Worker (`edge_auth::password::queue` names its items), compiled for size with the rest.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

/// Checks by one waiter, in a row, without any progress of the holder, after which that waiter
/// takes the turn over. A live holder makes progress at every slice, and a waiter checks only
/// between slices, so a live holder is never overtaken; a dead one costs waiters this many
/// pauses.
pub const STALE_CHECKS: u32 = 1_000;

/// An admitted request not polled for this long is taken for gone (cancelled at an await, never
/// to resume or be dropped), and no longer counts against the bound. A live one is polled at
/// every pause of its hash or of its wait, and between its database calls: far more often.
pub const GONE_AFTER_MS: i64 = 10_000;

#[derive(Default)]
pub struct HashLock {
    /// The turn that holds the lock, if any.
    holder: Cell<Option<u64>>,
    next_turn: Cell<u64>,
    /// Moves at every slice of the holder: a waiter that sees it move knows the holder lives.
    progress: Cell<u64>,
    /// The admitted requests: ticket, and when it was last seen alive (ms).
    admitted: RefCell<Vec<(u64, i64)>>,
    next_ticket: Cell<u64>,
}

/// One waiter's own view of the holder: what it saw at its last check, and how many of its
/// checks in a row have seen the same.
#[derive(Default)]
pub struct Waiter {
    seen: Option<(u64, u64)>,
    idle_checks: u32,
}

impl HashLock {
    /// Takes the lock if nobody holds it; `None` when somebody does.
    pub fn try_take(self: &Rc<Self>) -> Option<Held> {
        if self.holder.get().is_some() {
            return None;
        }
        Some(self.take())
    }

    /// Takes the lock if nobody holds it, or if `waiter`'s own checks found the holder stalled;
    /// `None` means pause and ask again with the same `waiter`.
    pub fn try_take_as(self: &Rc<Self>, waiter: &mut Waiter) -> Option<Held> {
        if let Some(holder) = self.holder.get() {
            let now = (holder, self.progress.get());
            if waiter.seen == Some(now) {
                waiter.idle_checks += 1;
            } else {
                waiter.seen = Some(now);
                waiter.idle_checks = 1;
            }
            if waiter.idle_checks < STALE_CHECKS {
                return None;
            }
        }
        Some(self.take())
    }

    fn take(self: &Rc<Self>) -> Held {
        let turn = self.next_turn.get();
        self.next_turn.set(turn + 1);
        self.holder.set(Some(turn));
        Held {
            lock: Rc::clone(self),
            turn,
        }
    }

    /// Admits one more request to hash unless `max` are admitted already (requests unseen for
    /// [`GONE_AFTER_MS`] at `now_ms` no longer count); `None`: refuse it now.
    pub fn admit(self: &Rc<Self>, max: u32, now_ms: i64) -> Option<Admitted> {
        let mut admitted = self.admitted.borrow_mut();
        admitted.retain(|&(_, seen)| now_ms.saturating_sub(seen) < GONE_AFTER_MS);
        if admitted.len() >= max as usize {
            return None;
        }
        let ticket = self.next_ticket.get();
        self.next_ticket.set(ticket + 1);
        admitted.push((ticket, now_ms));
        Some(Admitted {
            lock: Rc::clone(self),
            ticket,
        })
    }

    /// Requests admitted now (as of their last sighting).
    pub fn admitted(&self) -> usize {
        self.admitted.borrow().len()
    }

    /// Whether a hash holds the lock now.
    #[cfg(test)]
    fn is_held(&self) -> bool {
        self.holder.get().is_some()
    }
}

/// A request admitted to hash: it counts against the bound until dropped (or unseen for
/// [`GONE_AFTER_MS`]).
pub struct Admitted {
    lock: Rc<HashLock>,
    ticket: u64,
}

impl Admitted {
    /// The request is alive at `now_ms` (it is being polled). One taken for gone counts again.
    pub fn alive(&self, now_ms: i64) {
        let mut admitted = self.lock.admitted.borrow_mut();
        match admitted.iter_mut().find(|(t, _)| *t == self.ticket) {
            Some((_, seen)) => *seen = (*seen).max(now_ms),
            None => admitted.push((self.ticket, now_ms)),
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.lock
            .admitted
            .borrow_mut()
            .retain(|(t, _)| *t != self.ticket);
    }
}

/// Runs `work`, telling the lock at each poll that the request `admitted` is for is alive
/// (`now` reads the clock); with no admission, just runs it.
pub async fn while_admitted<T>(
    admitted: Option<&Admitted>,
    now: impl Fn() -> i64,
    work: impl Future<Output = T>,
) -> T {
    let mut work = std::pin::pin!(work);
    std::future::poll_fn(|cx| {
        if let Some(admitted) = admitted {
            admitted.alive(now());
        }
        work.as_mut().poll(cx)
    })
    .await
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
            self.lock
                .progress
                .set(self.lock.progress.get().wrapping_add(1));
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.lock.holder.get() == Some(self.turn) {
            self.lock.holder.set(None);
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
    let mut waiter = Waiter::default();
    loop {
        if let Some(held) = lock.try_take_as(&mut waiter) {
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
        assert!(lock.try_take_as(&mut Waiter::default()).is_none());
        drop(held);
        assert!(!lock.is_held());
        assert!(lock.try_take().is_some());
    }

    #[test]
    fn a_stalled_holder_is_taken_over_and_its_late_drop_frees_nothing() {
        let lock = Rc::new(HashLock::default());
        let stalled = lock.try_take().unwrap();
        let mut waiter = Waiter::default();
        for _ in 0..STALE_CHECKS - 1 {
            assert!(lock.try_take_as(&mut waiter).is_none());
        }
        let next = lock
            .try_take_as(&mut waiter)
            .expect("taken over at the limit");
        // The stalled one resumes after all: its progress and its drop touch nothing.
        stalled.progress();
        drop(stalled);
        assert!(lock.is_held());
        let mut other = Waiter::default();
        for _ in 0..STALE_CHECKS - 1 {
            assert!(lock.try_take_as(&mut other).is_none());
        }
        next.progress();
        assert!(lock.try_take_as(&mut other).is_none());
        drop(next);
        assert!(!lock.is_held());
    }

    #[test]
    fn each_waiter_counts_only_its_own_checks() {
        let lock = Rc::new(HashLock::default());
        let held = lock.try_take().unwrap();
        let mut waiters: Vec<Waiter> = (0..1_000).map(|_| Waiter::default()).collect();
        // Every waiter checks once per slice of a live holder, for more slices than the limit.
        for _ in 0..2 * STALE_CHECKS {
            for w in &mut waiters {
                assert!(lock.try_take_as(w).is_none(), "a live holder was overtaken");
            }
            held.progress();
        }
        // Stalled: the first waiter to make its own STALE_CHECKS checks in a row takes over.
        let first = &mut waiters[0];
        for _ in 0..STALE_CHECKS - 1 {
            assert!(lock.try_take_as(first).is_none());
        }
        assert!(lock.try_take_as(first).is_some());
    }

    #[test]
    fn admission_stops_at_the_bound_and_a_dropped_request_frees_its_place() {
        let lock = Rc::new(HashLock::default());
        let a = lock.admit(2, 0).expect("first");
        let b = lock.admit(2, 0).expect("second");
        assert!(lock.admit(2, 0).is_none());
        assert_eq!(lock.admitted(), 2);
        drop(a);
        let c = lock.admit(2, 1).expect("a place was freed");
        assert!(lock.admit(2, 1).is_none());
        drop((b, c));
        assert_eq!(lock.admitted(), 0);
    }

    #[test]
    fn an_admitted_request_unseen_for_long_no_longer_counts() {
        let lock = Rc::new(HashLock::default());
        let alive = lock.admit(2, 0).unwrap();
        // Cancelled by the runtime: never polled again, never dropped.
        let gone = lock.admit(2, 0).unwrap();
        std::mem::forget(gone);
        alive.alive(GONE_AFTER_MS - 1);
        assert!(lock.admit(2, GONE_AFTER_MS - 1).is_none());
        alive.alive(GONE_AFTER_MS);
        let third = lock.admit(2, GONE_AFTER_MS).expect("the gone one's place");
        assert_eq!(lock.admitted(), 2);
        // The live one, unseen as long, is counted again as soon as it is polled.
        drop(third);
        let fourth = lock
            .admit(2, 3 * GONE_AFTER_MS)
            .expect("the live one unseen");
        assert_eq!(lock.admitted(), 1);
        alive.alive(3 * GONE_AFTER_MS);
        assert_eq!(lock.admitted(), 2);
        assert!(lock.admit(2, 3 * GONE_AFTER_MS).is_none());
        drop(fourth);
    }

    #[test]
    fn a_request_run_while_admitted_is_seen_at_each_poll() {
        use std::task::{Context, Poll, Waker};
        let lock = Rc::new(HashLock::default());
        let admitted = lock.admit(1, 0).unwrap();
        let clock = Cell::new(0);
        let polls = Cell::new(0);
        let work = std::future::poll_fn(|_| {
            polls.set(polls.get() + 1);
            if polls.get() < 3 {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        });
        let mut run = std::pin::pin!(while_admitted(Some(&admitted), || clock.get(), work));
        let mut cx = Context::from_waker(Waker::noop());
        for at in [5_000, 14_000] {
            clock.set(at);
            assert!(run.as_mut().poll(&mut cx).is_pending());
            // Seen at `at`: still counted GONE_AFTER_MS - 1 later.
            assert!(lock.admit(1, at + GONE_AFTER_MS - 1).is_none());
        }
        clock.set(20_000);
        assert!(run.as_mut().poll(&mut cx).is_ready());
    }
}
