//! The built-in list of common passwords (ASVS 6.2.4), embedded by `build.rs` from the top 10,000
//! of `@zxcvbn-ts/language-common`. Only entries of 8–128 code points are stored (shorter ones
//! already fail the length rule), lower-cased and sorted, one a line in a single string.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/common_passwords.rs"));
}

fn entries() -> std::str::Split<'static, char> {
    generated::LIST.split('\n')
}

/// Number of stored entries (those of the top 10,000 long enough to matter).
pub fn len() -> usize {
    entries().count()
}

/// Whether `password`, compared case-insensitively, is one of the common passwords.
///
/// A scan of the sorted lines up to the first one past `password`: about 32 KiB of comparisons
/// at most, microseconds, and only where a new password is chosen (register, change, reset),
/// each followed by a PBKDF2 of hundreds of milliseconds.
pub fn is_common(password: &str) -> bool {
    let needle = password.to_lowercase();
    entries()
        .take_while(|entry| *entry <= needle.as_str())
        .any(|entry| entry == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_has_the_well_known_ones() {
        let all: Vec<&str> = entries().collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.iter().all(|e| !e.is_empty()));
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
        // The first and the last entry, so the scan's ends are covered.
        assert!(is_common(all[0]));
        assert!(is_common(all[all.len() - 1]));
        assert!(!is_common("correct horse battery staple"));
        assert!(!is_common("1234567")); // too short to be stored; the length rule catches it
    }
}
