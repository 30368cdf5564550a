//! Property tests: the sliced PBKDF2 is exactly the `pbkdf2` crate's PBKDF2-HMAC-SHA256 for any
//! password, salt, count and slice size, and it pauses once between consecutive slices.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::Cell;
use std::num::NonZeroU32;

use edge_auth::http::yield_once;
use edge_auth::password::pbkdf2::{derive_sliced, OUTPUT_LEN};
use futures::executor::block_on;
use proptest::prelude::*;
use sha2::Sha256;

fn reference(password: &[u8], salt: &[u8], iterations: u32) -> [u8; OUTPUT_LEN] {
    let mut out = [0; OUTPUT_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
    out
}

fn slice_sizes() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..16, 1u32..4_000, Just(u32::MAX)]
}

proptest! {
    #[test]
    fn sliced_derivation_equals_the_pbkdf2_crate(
        password in prop::collection::vec(any::<u8>(), 0..200),
        salt in prop::collection::vec(any::<u8>(), 0..64),
        iterations in 1u32..3_000,
        slice in slice_sizes(),
    ) {
        let pauses = Cell::new(0u32);
        let out = block_on(derive_sliced(
            &password,
            &salt,
            iterations,
            NonZeroU32::new(slice).unwrap(),
            || {
                pauses.set(pauses.get() + 1);
                yield_once()
            },
        ));
        prop_assert_eq!(out, reference(&password, &salt, iterations));
        prop_assert_eq!(pauses.get(), iterations.div_ceil(slice) - 1);
    }
}
