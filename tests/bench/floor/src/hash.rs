//! `GET /hash` of the hashing floor: a PBKDF2-HMAC-SHA256 as the auth Worker's logins run it
//! (`src/pbkdf2_sliced.rs`, `src/hash_lock.rs`), with nothing else around it.

use std::cell::Cell;
use std::ops::RangeInclusive;
use std::time::Duration;

use pbkdf2_block::{Block, DEFAULT_SLICE, OUTPUT_LEN};
use worker::{Delay, Request, Response, Result};

thread_local! {
    /// Whether a hash holds this isolate's turn (the auth Worker's `hash_lock`, without its
    /// take-over of a stalled holder: the bench's clients never leave mid-hash).
    static HASHING: Cell<bool> = const { Cell::new(false) };
}

/// The turn, given back when the hash ends or its request is dropped.
struct Turn;

impl Drop for Turn {
    fn drop(&mut self) {
        HASHING.with(|h| h.set(false));
    }
}

/// The auth Worker's pause: a zero `worker::Delay`.
fn pause() -> Delay {
    Delay::from(Duration::ZERO)
}

/// Waits for the isolate's turn, asking again after each pause, then hashes in slices of
/// `slice` iterations with a pause between each two.
async fn hash(iterations: u32, slice: u32) -> [u8; OUTPUT_LEN] {
    while HASHING.with(|h| h.replace(true)) {
        pause().await;
    }
    let _turn = Turn;
    let mut block = Block::new(b"correct horse battery", b"bench-floor-salt");
    let mut left = iterations;
    loop {
        let n = left.min(slice);
        block.run(n);
        left -= n;
        if left == 0 {
            return block.result();
        }
        pause().await;
    }
}

/// `name=N` from the raw URL's query, `default` when absent; `None` when not a number in
/// `range`. Read without `Request::url`'s parser, which would add most of the `url` crate.
fn param(req: &Request, name: &str, default: u32, range: RangeInclusive<u32>) -> Option<u32> {
    let url = req.inner().url();
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='));
    match value {
        None => Some(default),
        Some(v) => v.parse().ok().filter(|n| range.contains(n)),
    }
}

/// `200` with the first 4 bytes of the hash in hex, or `400` for a bad query.
pub async fn respond(req: &Request) -> Result<Response> {
    let iterations = param(req, "iterations", 600_000, 1..=10_000_000);
    let slice = param(req, "slice", DEFAULT_SLICE.get(), 1_000..=10_000_000);
    match iterations.zip(slice) {
        Some((n, slice)) => {
            let t = hash(n, slice).await;
            Response::ok(format!("{:02x}{:02x}{:02x}{:02x}", t[0], t[1], t[2], t[3]))
        }
        None => Response::error("iterations: 1 to 10000000, slice: 1000 to 10000000", 400),
    }
}
