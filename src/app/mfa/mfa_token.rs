//! The `mfa_token` of a login's first half: 256 random bits in base64url, handed to the client
//! with the `403 mfa_required`, stored only as its hex SHA-256 (a random token needs no slow
//! hash: there is nothing to guess it from).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

/// Length of a token: 32 random bytes in unpadded base64url.
pub const LEN: usize = 43;

/// A new token and the hash stored in its place.
///
/// # Errors
/// When the platform's generator is unavailable.
pub fn generate() -> Result<(String, String), getrandom::Error> {
    let token = URL_SAFE_NO_PAD.encode(crate::domain::random::bytes::<32>()?);
    let hash = digest(&token);
    Ok((token, hash))
}

/// The stored form of a presented token; `None` when it is not one we could have issued
/// (length, alphabet), so garbage is refused without a lookup.
pub fn hash(token: &str) -> Option<String> {
    let well_formed = token.len() == LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| digest(token))
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_256_random_bits_stored_as_its_sha256() {
        let (token, stored) = generate().unwrap();
        assert_eq!(token.len(), LEN);
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_eq!(hash(&token).as_deref(), Some(stored.as_str()));
        let expected: String = Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(stored, expected);
        assert!(!stored.contains(&token));
        let (other, other_stored) = generate().unwrap();
        assert_ne!(other, token);
        assert_ne!(other_stored, stored);
    }

    #[test]
    fn tokens_we_could_not_have_issued_have_no_hash() {
        let (token, _) = generate().unwrap();
        for bad in [
            String::new(),
            token[1..].to_string(),
            format!("{token}A"),
            format!("{}+", &token[1..]),
            format!("{}=", &token[1..]),
            format!("{}é", &token[2..]),
        ] {
            assert_eq!(hash(&bad), None, "{bad:?}");
        }
    }
}
