//! The built-in list of common passwords (ASVS 6.2.4), embedded by `build.rs` from the top 10,000
//! of `@zxcvbn-ts/language-common`. Only entries of 8–128 code points are stored (shorter ones
//! already fail the length rule), lower-cased and sorted, one a line in a single string, each
//! line front-coded: its first byte, minus `'0'`, is how many bytes it shares with the entry
//! before it; the rest of the line follows them.

use std::cmp::Ordering;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/common_passwords.rs"));
}

/// Calls `visit` with each entry in order, until it returns `false`.
fn scan(mut visit: impl FnMut(&str) -> bool) {
    let mut entry = String::new();
    for line in generated::LIST.split('\n') {
        let shared = usize::from(line.as_bytes()[0] - b'0');
        entry.truncate(shared);
        entry.push_str(&line[1..]);
        if !visit(&entry) {
            return;
        }
    }
}

/// Number of stored entries (those of the top 10,000 long enough to matter).
pub fn len() -> usize {
    generated::LIST.split('\n').count()
}

/// Whether `password`, compared case-insensitively, is one of the common passwords.
///
/// One pass over the sorted entries up to the first one past `password`: about 20 KiB of
/// decoding and comparing at most, microseconds, and only where a new password is chosen
/// (register, change, reset), each followed by a PBKDF2 of hundreds of milliseconds.
pub fn is_common(password: &str) -> bool {
    let needle = crate::domain::lowercase::to_lowercase(password);
    let mut found = false;
    scan(|entry| match entry.cmp(needle.as_str()) {
        Ordering::Less => true,
        Ordering::Equal => {
            found = true;
            false
        }
        Ordering::Greater => false,
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_has_the_well_known_ones() {
        let mut all: Vec<String> = Vec::new();
        scan(|entry| {
            all.push(entry.to_owned());
            true
        });
        assert_eq!(all.len(), len());
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
        assert!(is_common(&all[0]));
        assert!(is_common(&all[all.len() - 1]));
        // Every entry is found (so every front-coded line decodes to what is stored), and a
        // string just past each one is not.
        for entry in &all {
            assert!(is_common(entry), "{entry}");
            assert!(!is_common(&format!("{entry}\u{1}")), "{entry}");
        }
        assert!(!is_common("correct horse battery staple"));
        assert!(!is_common("1234567")); // too short to be stored; the length rule catches it
    }
}
