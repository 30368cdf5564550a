//! `GET /hash` of the hashing floor: a PBKDF2-HMAC-SHA256 as the auth Worker's logins run it
//! (`src/password/pbkdf2.rs`), through the same lock (`hash_lock`) and loop (`pbkdf2_block`), with
//! nothing else around it.

use std::num::NonZeroU32;
use std::ops::RangeInclusive;
use std::time::Duration;

use pbkdf2_block::{derive_sliced, DEFAULT_SLICE, OUTPUT_LEN};
use worker::{Delay, Request, Response, Result};

/// The auth Worker's pause: a zero `worker::Delay`.
async fn pause() {
    Delay::from(Duration::ZERO).await;
}

/// Takes the isolate's hash lock as the auth Worker's `password::pbkdf2::derive_yielding` does,
/// then hashes in slices of `slice` iterations through the same loop.
async fn hash(iterations: u32, slice: NonZeroU32) -> [u8; OUTPUT_LEN] {
    let mut pause = pause;
    let turn = hash_lock::take_turn(&mut pause).await;
    let (password, salt) = (b"correct horse battery", b"bench-floor-salt");
    derive_sliced(
        password,
        salt,
        iterations,
        slice,
        turn.pausing(pause),
        |_| {},
    )
    .await
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
    let slice =
        param(req, "slice", DEFAULT_SLICE.get(), 1_000..=10_000_000).and_then(NonZeroU32::new);
    match iterations.zip(slice) {
        Some((n, slice)) => {
            let t = hash(n, slice).await;
            Response::ok(format!("{:02x}{:02x}{:02x}{:02x}", t[0], t[1], t[2], t[3]))
        }
        None => Response::error("iterations: 1 to 10000000, slice: 1000 to 10000000", 400),
    }
}
