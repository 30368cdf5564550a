//! Stored PHC strings: parsing refuses out-of-bounds input without computing anything, and an
//! accepted string re-encodes to itself.
#![no_main]
use edge_auth::password::PasswordHash;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(h) = PasswordHash::parse(text, 2_000) {
        assert!(h.iterations <= 2_000);
        assert_eq!(PasswordHash::parse(&h.to_phc(), 2_000).unwrap(), h);
    }
});
