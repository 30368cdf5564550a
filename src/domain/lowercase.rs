//! Lower-casing, exactly as `str::to_lowercase` does it, from tables about a third the size of
//! std's (its conversion table alone was 13 KB of the wasm). Emails and the password blocklist
//! are compared lower-cased. `build.rs` reads the tables off the toolchain's own
//! `to_lowercase`, and the tests below compare every character, and the final-sigma rule
//! around every character, with it.

mod tables {
    include!(concat!(env!("OUT_DIR"), "/lowercase_tables.rs"));
}

/// `s` lower-cased, the same string as `s.to_lowercase()`.
pub fn to_lowercase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            '\0'..='\x7f' => out.push(c),
            // Capital sigma: final (ς) at the end of a word, σ elsewhere (Unicode's Final_Sigma).
            'Σ' => out.push(if is_word_final(s, i) { 'ς' } else { 'σ' }),
            // The one character whose lower case is two: i and a combining dot above.
            'İ' => out.push_str("i\u{307}"),
            _ => out.push(lower(c)),
        }
    }
    out
}

fn lower(c: char) -> char {
    let u = u32::from(c);
    let i = tables::MAP.partition_point(|&(packed, _)| packed >> 9 <= u);
    let Some(&(packed, delta)) = i.checked_sub(1).map(|i| &tables::MAP[i]) else {
        return c;
    };
    let (start, stride, count) = (packed >> 9, (packed >> 8 & 1) + 1, (packed & 0xff) + 1);
    let offset = u - start;
    if offset % stride != 0 || offset / stride >= count {
        return c;
    }
    u.checked_add_signed(delta)
        .and_then(char::from_u32)
        .unwrap_or(c)
}

fn in_ranges(ranges: &[u32], c: char) -> bool {
    let u = u32::from(c);
    let i = ranges.partition_point(|&packed| packed >> 11 <= u);
    i.checked_sub(1)
        .is_some_and(|i| u - (ranges[i] >> 11) <= ranges[i] & 0x7ff)
}

/// std's rule: a cased letter before the sigma and none after it, skipping the ignorable ones.
fn is_word_final(s: &str, sigma_at: usize) -> bool {
    fn cased_next(mut chars: impl Iterator<Item = char>) -> bool {
        chars
            .find(|&c| !in_ranges(&tables::IGNORABLE, c))
            .is_some_and(|c| in_ranges(&tables::CASED, c))
    }
    let after = sigma_at + 'Σ'.len_utf8();
    cased_next(s[..sigma_at].chars().rev()) && !cased_next(s[after..].chars())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // std's to_lowercase is the reference here
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all_chars() -> impl Iterator<Item = char> {
        (0..=0x10_FFFF_u32).filter_map(char::from_u32)
    }

    #[test]
    fn every_character_lower_cases_as_std_does() {
        let mut one = String::new();
        for c in all_chars() {
            one.clear();
            one.push(c);
            assert_eq!(to_lowercase(&one), one.to_lowercase(), "{c:?}");
        }
    }

    #[test]
    fn the_final_sigma_rule_matches_std_around_every_character() {
        // Before the sigma (cased, ignorable or neither), after it, and between a letter and it.
        for c in all_chars() {
            for s in [
                format!("{c}Σ"),
                format!("A{c}Σ"),
                format!("AΣ{c}"),
                format!("AΣ{c}a"),
            ] {
                assert_eq!(to_lowercase(&s), s.to_lowercase(), "{s:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn strings_lower_case_as_std_does(
            s in "[aAΣσİ\u{301}\u{345}\u{2BC}'.@ ΑΒΓΔ\u{10400}\u{1E900}ǅẞ0-9]{0,12}|\\PC{0,16}"
        ) {
            prop_assert_eq!(to_lowercase(&s), s.to_lowercase());
        }
    }
}
