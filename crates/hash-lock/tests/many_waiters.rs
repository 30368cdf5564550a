//! The lock under many waiters, through its public API as the Workers use it: each request a
//! task, each pause a yield to the others (a zero-delay timer in the Worker), the tasks run in
//! turn as the isolate's event loop runs them.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use hash_lock::{take_turn, STALE_CHECKS};

/// Pending once, then ready: the isolate runs every other task in between.
fn pause() -> impl Future<Output = ()> {
    let mut first = true;
    std::future::poll_fn(move |_| {
        if std::mem::take(&mut first) {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
}

/// Polls every unfinished task once per round, in order, until all are done.
fn run_in_turn(mut tasks: Vec<Pin<Box<dyn Future<Output = ()>>>>) {
    let mut cx = Context::from_waker(Waker::noop());
    while !tasks.is_empty() {
        tasks.retain_mut(|task| task.as_mut().poll(&mut cx).is_pending());
    }
}

/// A hash of `slices` slices: takes its turn, then pauses between its slices. `hashing` counts
/// the hashes running at once; `most` keeps its highest value.
fn hash(
    slices: u32,
    hashing: Rc<Cell<u32>>,
    most: Rc<Cell<u32>>,
    done: Rc<Cell<u32>>,
) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let mut wait = pause;
        let turn = take_turn(&mut wait).await;
        hashing.set(hashing.get() + 1);
        most.set(most.get().max(hashing.get()));
        {
            let mut between = turn.pausing(pause);
            for _ in 1..slices {
                between().await;
            }
        }
        hashing.set(hashing.get() - 1);
        drop(turn);
        done.set(done.get() + 1);
    })
}

#[test]
fn a_holder_that_makes_progress_is_never_taken_over_by_a_thousand_waiters() {
    let (hashing, most, done) = (Rc::default(), Rc::default(), Rc::default());
    // The first hash runs more slices than a waiter's limit of checks; a thousand wait.
    let mut tasks = vec![hash(
        2 * STALE_CHECKS,
        Rc::clone(&hashing),
        Rc::clone(&most),
        Rc::clone(&done),
    )];
    for _ in 0..1_000 {
        tasks.push(hash(
            2,
            Rc::clone(&hashing),
            Rc::clone(&most),
            Rc::clone(&done),
        ));
    }
    run_in_turn(tasks);
    assert_eq!(done.get(), 1_001);
    assert_eq!(most.get(), 1, "a live holder was taken over");
}
