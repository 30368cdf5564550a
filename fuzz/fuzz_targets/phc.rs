//! Stored hashes: parsing refuses out-of-bounds input without computing anything, and an
//! accepted PHC string re-encodes to itself; legacy formats (bcrypt, Argon2id, Django) only
//! parse within their bounds.
#![no_main]
use edge_auth::password::{HashBounds, LegacyHash, PasswordHash, StoredHash};
use libfuzzer_sys::fuzz_target;

const BOUNDS: HashBounds = HashBounds {
    pbkdf2_max_iterations: 2_000,
    bcrypt_max_cost: 6,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(h) = PasswordHash::parse(text, 2_000) {
        assert!(h.iterations <= 2_000);
        assert_eq!(PasswordHash::parse(&h.to_phc(), 2_000).unwrap(), h);
    }
    match StoredHash::parse(text, &BOUNDS) {
        Ok(StoredHash::Legacy(LegacyHash::Bcrypt { cost, .. })) => assert!((4..=6).contains(&cost)),
        Ok(StoredHash::Legacy(LegacyHash::Argon2id { m_kib, t, p, .. })) => {
            assert!(m_kib <= 65_536 && t <= 10 && p <= 8)
        }
        Ok(h) => assert!(h.iterations().is_some_and(|i| i <= 2_000)),
        Err(_) => {}
    }
});
