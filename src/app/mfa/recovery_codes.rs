//! Recovery codes: the way in when the authenticator is lost. Ten at a time, each 50 random
//! bits written as ten base32 letters and digits in two groups (`xxxxx-xxxxx`), shown once and
//! stored only as hashes.
//!
//! A fast hash (SHA-256) is right here, unlike for passwords: a code is 50 uniformly random
//! bits, not something a person chose, so there is no dictionary to try first and a slow hash
//! would only cost the Worker CPU time. The user's id is hashed in, so one pass over the code
//! space cannot test the codes of every account at once. What a person typed is normalized the
//! same way before hashing: case, spaces and `-` do not matter.

use sha2::{Digest, Sha256};

/// Codes in a set.
pub const COUNT: usize = 10;
/// Characters of a code, without its separator: 10 × 5 bits = 50 random bits.
pub const LEN: usize = 10;

/// RFC 4648's base32 alphabet in lower case: no `0`, `1`, `8` or `9` to mistake for letters.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A new set of [`COUNT`] distinct codes, in the form shown to the user.
///
/// # Errors
/// When the platform's generator is unavailable.
pub fn generate() -> Result<Vec<String>, getrandom::Error> {
    let mut codes: Vec<String> = Vec::with_capacity(COUNT);
    while codes.len() < COUNT {
        let code = one()?;
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

fn one() -> Result<String, getrandom::Error> {
    let random = crate::domain::random::bytes::<7>()?;
    let mut bits = random
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    let mut code = String::with_capacity(LEN + 1);
    for i in 0..LEN {
        if i == LEN / 2 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[(bits & 31) as usize]));
        bits >>= 5;
    }
    Ok(code)
}

/// What `input` says once case, spaces and `-` are set aside; `None` when that is not ten
/// characters of the alphabet (a malformed code, refused without a lookup).
pub fn normalize(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The stored form of `input` as a recovery code of user `user_id`: hex SHA-256 over the user
/// and the [normalized](normalize) code; `None` when the code is malformed.
pub fn hash(user_id: &str, input: &str) -> Option<String> {
    let code = normalize(input)?;
    let mut sha = Sha256::new();
    sha.update(b"edge-auth recovery code\0");
    sha.update(user_id.as_bytes());
    sha.update(b"\0");
    sha.update(code.as_bytes());
    Some(sha.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    const USER: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn a_set_is_ten_distinct_codes_in_two_groups_of_five() {
        let codes = generate().unwrap();
        assert_eq!(codes.len(), COUNT);
        for code in &codes {
            let (a, b) = code.split_once('-').unwrap();
            assert_eq!((a.len(), b.len()), (5, 5), "{code}");
            assert!(format!("{a}{b}").bytes().all(|c| ALPHABET.contains(&c)));
            assert_eq!(normalize(code).unwrap(), format!("{a}{b}"));
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        assert_ne!(generate().unwrap(), codes);
    }

    #[test]
    fn codes_carry_fifty_random_bits() {
        // Every one of the 50 bit positions takes both values across a few hundred codes: no
        // character position is fixed or drawn from part of the alphabet.
        let (mut ones, mut zeros) = ([0u32; LEN], [0u32; LEN]);
        for _ in 0..300 {
            let code = normalize(&one().unwrap()).unwrap();
            for (i, c) in code.bytes().enumerate() {
                let value = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
                ones[i] |= value;
                zeros[i] |= !value & 31;
            }
        }
        assert_eq!(ones, [31; LEN]);
        assert_eq!(zeros, [31; LEN]);
    }

    #[test]
    fn case_spaces_and_dashes_are_ignored() {
        let stored = hash(USER, "abcde-fgh23").unwrap();
        for typed in [
            "abcdefgh23",
            "ABCDE-FGH23",
            "AbCdE fGh23",
            " abc de-fgh-23 ",
            "a-b-c-d-e-f-g-h-2-3",
            "abcde\tfgh23",
        ] {
            assert_eq!(
                hash(USER, typed).as_deref(),
                Some(stored.as_str()),
                "{typed:?}"
            );
        }
        assert_ne!(hash(USER, "abcde-fgh24").unwrap(), stored);
    }

    #[test]
    fn malformed_codes_have_no_hash() {
        for typed in [
            "",
            "abcde-fgh2",
            "abcde-fgh234",
            "abcde-fgh10",
            "abcde_fgh23",
            "abcdé-fgh23",
        ] {
            assert_eq!(normalize(typed), None, "{typed:?}");
            assert_eq!(hash(USER, typed), None, "{typed:?}");
        }
    }

    #[test]
    fn the_hash_is_sha256_bound_to_the_user() {
        let stored = hash(USER, "abcde-fgh23").unwrap();
        assert_eq!(stored.len(), 64);
        let mut sha = Sha256::new();
        sha.update(format!("edge-auth recovery code\0{USER}\0abcdefgh23"));
        let expected: String = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(stored, expected);
        assert_ne!(hash("another-user", "abcde-fgh23").unwrap(), stored);
    }
}
