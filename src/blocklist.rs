//! The built-in list of common passwords (ASVS 6.2.4), embedded by `build.rs` from the top 10,000
//! of `@zxcvbn-ts/language-common`. Only entries of 8–128 code points are stored (shorter ones
//! already fail the length rule), lower-cased and sorted for binary search.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/common_passwords.rs"));
}

/// Number of stored entries (those of the top 10,000 long enough to matter).
pub fn len() -> usize {
    generated::LIST.len()
}

/// Whether `password`, compared case-insensitively, is one of the common passwords.
pub fn is_common(password: &str) -> bool {
    let needle = password.to_lowercase();
    generated::LIST.binary_search(&needle.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_has_the_well_known_ones() {
        assert!(generated::LIST.windows(2).all(|w| w[0] < w[1]));
        assert!(len() > 2_000, "only {} entries", len());
        for p in [
            "password",
            "12345678",
            "iloveyou",
            "Password1",
            "QWERTYUIOP",
        ] {
            assert!(is_common(p), "{p} should be common");
        }
        assert!(!is_common("correct horse battery staple"));
        assert!(!is_common("1234567")); // too short to be stored; the length rule catches it
    }
}
