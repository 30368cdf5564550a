//! Access tokens: Ed25519-signed JWTs (`jwt-compact`), the configured key set and its JWKS.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use ed25519_compact::{KeyPair, PublicKey, Seed};
use jwt_compact::{alg::Ed25519, AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};

use crate::error::TokenRejection;

/// Tokens longer than this are refused before any parsing (contract: 8 KiB).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;
pub const ACCESS_TYPE: &str = "access";
const ALG: &str = "EdDSA";

/// Why the signing-key secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a JSON array of Ed25519 JWKs")]
    NotJson,
    #[error("no keys")]
    Empty,
    #[error("key {0}: missing or empty kid")]
    NoKid(usize),
    #[error("key {0}: duplicate kid")]
    DuplicateKid(usize),
    #[error("key {0}: not an OKP Ed25519 key")]
    WrongType(usize),
    #[error("key {0}: bad base64url or length in d/x")]
    Encoding(usize),
    #[error("key {0}: x does not match d")]
    Mismatch(usize),
    #[error("the first key must hold the private part d: it signs")]
    FirstNotPrivate,
}

#[derive(Deserialize)]
struct JwkIn {
    kty: Option<String>,
    crv: Option<String>,
    kid: Option<String>,
    d: Option<String>,
    x: Option<String>,
}

struct VerifyingKey {
    kid: String,
    public: PublicKey,
}

/// The configured keys: the first signs, all verify and all are published.
pub struct KeySet {
    signing_kid: String,
    signing: ed25519_compact::SecretKey,
    verifying: Vec<VerifyingKey>,
    /// Tokens whose signature and claims already passed, with their `nbf`: a token checked
    /// again (a client calling `/auth/me` all the time) skips the signature check, and only its
    /// times are checked again. The keys never change under a key set (one per isolate).
    /// (A `Mutex`, uncontended in a Worker, keeps the key set `Sync` for native callers.)
    verified: Mutex<HashMap<String, (VerifiedToken, Option<i64>)>>,
    /// The JWKS document, serialized once.
    jwks_text: String,
}

/// Verified tokens a key set remembers at most; past that it starts over.
pub const VERIFIED_MEMO_CAPACITY: usize = 10_000;

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.verifying.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("KeySet")
            .field("signing_kid", &self.signing_kid)
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// Parses the `JWT_SIGNING_KEYS` secret: a JSON array of Ed25519 JWKs
    /// (`{"kty":"OKP","crv":"Ed25519","kid":…,"d":…,"x":…}`). Keys without `d` only verify.
    ///
    /// # Errors
    /// A [`KeyError`] naming the first unusable key.
    pub fn from_jwks_json(json: &str) -> Result<Self, KeyError> {
        let keys: Vec<JwkIn> = serde_json::from_str(json).map_err(|_| KeyError::NotJson)?;
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut signing = None;
        let mut verifying: Vec<VerifyingKey> = Vec::with_capacity(keys.len());
        for (i, jwk) in keys.into_iter().enumerate() {
            if jwk.kty.as_deref() != Some("OKP") || jwk.crv.as_deref() != Some("Ed25519") {
                return Err(KeyError::WrongType(i));
            }
            let kid = jwk
                .kid
                .filter(|k| !k.is_empty())
                .ok_or(KeyError::NoKid(i))?;
            if verifying.iter().any(|k| k.kid == kid) {
                return Err(KeyError::DuplicateKid(i));
            }
            let decode32 = |s: &str| -> Result<[u8; 32], KeyError> {
                URL_SAFE_NO_PAD
                    .decode(s)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or(KeyError::Encoding(i))
            };
            let public = match (&jwk.d, &jwk.x) {
                (Some(d), x) => {
                    let pair = KeyPair::from_seed(Seed::new(decode32(d)?));
                    if let Some(x) = x {
                        if decode32(x)? != *pair.pk {
                            return Err(KeyError::Mismatch(i));
                        }
                    }
                    if i == 0 {
                        signing = Some(pair.sk);
                    }
                    pair.pk
                }
                (None, Some(x)) => {
                    PublicKey::from_slice(&decode32(x)?).map_err(|_| KeyError::Encoding(i))?
                }
                (None, None) => return Err(KeyError::Encoding(i)),
            };
            verifying.push(VerifyingKey { kid, public });
        }
        let signing = signing.ok_or(KeyError::FirstNotPrivate)?;
        let mut keys = Self {
            signing_kid: verifying[0].kid.clone(),
            signing,
            verifying,
            verified: Mutex::default(),
            jwks_text: String::new(),
        };
        keys.jwks_text = keys.jwks().to_string();
        Ok(keys)
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// The public JWK Set (RFC 7517/8037): every configured key, never a private part.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .verifying
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(*k.public),
                    "kid": k.kid,
                    "alg": ALG,
                    "use": "sig",
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The JWKS document as served (serialized once per key set).
    pub fn jwks_text(&self) -> &str {
        &self.jwks_text
    }

    /// Signs an access token for `subject`.
    ///
    /// # Errors
    /// Only if serialization fails, which the claim types make impossible in practice.
    pub fn issue(
        &self,
        claims: &AccessClaims,
        now: DateTime<Utc>,
        ttl_secs: i64,
    ) -> Result<String, String> {
        let options = TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || now);
        let claims = Claims::new(claims)
            .set_duration_and_issuance(&options, Duration::seconds(ttl_secs))
            .set_not_before(now);
        let header = Header::empty()
            .with_key_id(self.signing_kid.clone())
            .with_token_type("JWT");
        Ed25519
            .token(&header, &claims, &self.signing)
            .map_err(|e| e.to_string())
    }

    /// Verifies an access token: size cap, algorithm pinned to EdDSA, `kid` among the configured
    /// keys only, signature, `exp`/`nbf` with leeway, then `iss`, `aud` and `typ`.
    ///
    /// # Errors
    /// The [`TokenRejection`] reason (for logs; clients only see `invalid_token`).
    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
        issuer: &str,
        audience: &str,
    ) -> Result<VerifiedToken, TokenRejection> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenRejection::TooLarge);
        }
        let remembered = self.memo().get(token).cloned();
        if let Some((verified, nbf)) = remembered {
            // As jwt-compact compares them (to the millisecond).
            let now = now.timestamp_millis();
            if now > (verified.exp + LEEWAY_SECS) * 1000 {
                self.memo().remove(token);
                return Err(TokenRejection::Expired);
            }
            if nbf.is_some_and(|nbf| now < (nbf - LEEWAY_SECS) * 1000) {
                return Err(TokenRejection::NotYetValid);
            }
            if verified.claims.iss != issuer {
                return Err(TokenRejection::WrongIssuer);
            }
            if verified.claims.aud != audience {
                return Err(TokenRejection::WrongAudience);
            }
            return Ok(verified);
        }
        let verified = self.verify_signed(token, now, issuer, audience)?;
        let mut memo = self.memo();
        if memo.len() >= VERIFIED_MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(token.to_owned(), verified.clone());
        Ok(verified.0)
    }

    /// The remembered tokens (a poisoned lock only means a panic elsewhere: the map is still
    /// a valid cache).
    fn memo(&self) -> std::sync::MutexGuard<'_, HashMap<String, (VerifiedToken, Option<i64>)>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The full check: header, key, signature, times and claims.
    fn verify_signed(
        &self,
        token: &str,
        now: DateTime<Utc>,
        issuer: &str,
        audience: &str,
    ) -> Result<(VerifiedToken, Option<i64>), TokenRejection> {
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenRejection::Malformed)?;
        if untrusted.algorithm() != ALG {
            return Err(TokenRejection::BadAlgorithm);
        }
        let kid = untrusted
            .header()
            .key_id
            .as_deref()
            .ok_or(TokenRejection::UnknownKey)?;
        let key = self
            .verifying
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenRejection::UnknownKey)?;
        let token = Ed25519
            .validator::<AccessClaims>(&key.public)
            .validate(&untrusted)
            .map_err(|e| match e {
                jwt_compact::ValidationError::InvalidSignature
                | jwt_compact::ValidationError::InvalidSignatureLen { .. }
                | jwt_compact::ValidationError::MalformedSignature(_) => {
                    TokenRejection::BadSignature
                }
                _ => TokenRejection::Malformed,
            })?;
        let claims = token.claims();
        let options = TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || now);
        claims
            .validate_expiration(&options)
            .map_err(|_| TokenRejection::Expired)?;
        claims
            .validate_maturity(&options)
            .map_err(|_| TokenRejection::NotYetValid)?;
        let (Some(exp), Some(iat)) = (claims.expiration, claims.issued_at) else {
            return Err(TokenRejection::Malformed);
        };
        let custom = &claims.custom;
        if custom.iss != issuer {
            return Err(TokenRejection::WrongIssuer);
        }
        if custom.aud != audience {
            return Err(TokenRejection::WrongAudience);
        }
        if custom.typ != ACCESS_TYPE {
            return Err(TokenRejection::WrongType);
        }
        Ok((
            VerifiedToken {
                claims: custom.clone(),
                exp: exp.timestamp(),
                iat: iat.timestamp(),
            },
            claims.not_before.map(|t| t.timestamp()),
        ))
    }
}

/// Length of a refresh token: 32 random bytes in unpadded base64url.
pub const REFRESH_TOKEN_LEN: usize = 43;

/// A new opaque refresh token (256 random bits) and the hash that is stored in its place.
///
/// # Errors
/// When no randomness is available.
pub fn new_refresh_token() -> Result<(String, String), getrandom::Error> {
    let token = URL_SAFE_NO_PAD.encode(crate::random::bytes::<32>()?);
    let hash = refresh_token_hash(&token).unwrap_or_default();
    Ok((token, hash))
}

/// The stored form of a refresh token: hex SHA-256. `None` when `token` is not one we could
/// have issued (wrong length or alphabet), so garbage never reaches the database.
pub fn refresh_token_hash(token: &str) -> Option<String> {
    use sha2::{Digest, Sha256};
    let well_formed = token.len() == REFRESH_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return None;
    }
    let digest = Sha256::digest(token.as_bytes());
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// The claims of an access token besides `exp`, `nbf` and `iat` (which `jwt-compact` owns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub email: String,
    /// The address's verification state when the token was issued (an extension claim, so
    /// `/auth/verify` can still say it when the database cannot be asked).
    #[serde(default)]
    pub email_verified: bool,
    pub sid: String,
    pub jti: String,
    pub typ: String,
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub claims: AccessClaims,
    pub exp: i64,
    pub iat: i64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A deterministic JWK for tests: seed bytes all equal to `byte`.
    pub fn test_jwk(kid: &str, byte: u8, private: bool) -> serde_json::Value {
        let pair = KeyPair::from_seed(Seed::new([byte; 32]));
        let mut jwk = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(*pair.pk),
        });
        if private {
            jwk["d"] = URL_SAFE_NO_PAD.encode([byte; 32]).into();
        }
        jwk
    }

    fn keyset(jwks: &[serde_json::Value]) -> KeySet {
        KeySet::from_jwks_json(&serde_json::Value::from(jwks.to_vec()).to_string()).unwrap()
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "iss".into(),
            aud: "aud".into(),
            sub: "user".into(),
            email: "a@example.com".into(),
            email_verified: false,
            sid: "sid".into(),
            jti: "jti".into(),
            typ: ACCESS_TYPE.into(),
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn issued_token_verifies_and_carries_kid() {
        let keys = keyset(&[test_jwk("a", 1, true)]);
        let t = keys.issue(&claims(), at(1_000_000), 900).unwrap();
        let v = keys.verify(&t, at(1_000_100), "iss", "aud").unwrap();
        assert_eq!(v.claims, claims());
        assert_eq!(v.exp, 1_000_900);
        assert_eq!(v.iat, 1_000_000);
        let header = URL_SAFE_NO_PAD
            .decode(t.split('.').next().unwrap())
            .unwrap();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["kid"], "a");
        assert_eq!(header["alg"], "EdDSA");
    }

    #[test]
    fn time_claims_are_enforced_with_leeway() {
        let keys = keyset(&[test_jwk("a", 1, true)]);
        let t = keys.issue(&claims(), at(1_000_000), 900).unwrap();
        assert!(keys
            .verify(&t, at(1_000_900 + LEEWAY_SECS), "iss", "aud")
            .is_ok());
        assert_eq!(
            keys.verify(&t, at(1_000_901 + LEEWAY_SECS), "iss", "aud"),
            Err(TokenRejection::Expired)
        );
        assert_eq!(
            keys.verify(&t, at(1_000_000 - LEEWAY_SECS - 1), "iss", "aud"),
            Err(TokenRejection::NotYetValid)
        );
    }

    #[test]
    fn a_remembered_token_is_judged_exactly_as_a_fresh_check_would() {
        let jwk = test_jwk("a", 1, true);
        let remembering = keyset(std::slice::from_ref(&jwk));
        let t = remembering.issue(&claims(), at(1_000_000), 900).unwrap();
        // Remembered once verified...
        assert!(remembering.verify(&t, at(1_000_000), "iss", "aud").is_ok());
        let base = at(1_000_000).timestamp_millis();
        let edges = [
            (1_000_000 - LEEWAY_SECS) * 1000,
            (1_000_900 + LEEWAY_SECS) * 1000,
        ];
        for edge in edges {
            for delta in [-1_001, -1, 0, 1, 999, 1_000] {
                let now = DateTime::from_timestamp_millis(edge + delta).unwrap();
                // ...and judged at each time as a key set that never saw it judges it.
                let fresh = keyset(std::slice::from_ref(&jwk));
                assert_eq!(
                    remembering.verify(&t, now, "iss", "aud"),
                    fresh.verify(&t, now, "iss", "aud"),
                    "{} ms from the base",
                    edge + delta - base
                );
                assert!(remembering.verify(&t, at(1_000_000), "iss", "aud").is_ok());
            }
        }
        assert_eq!(
            remembering.verify(&t, at(1_000_000), "other", "aud"),
            Err(TokenRejection::WrongIssuer)
        );
        assert_eq!(
            remembering.verify(&t, at(1_000_000), "iss", "other"),
            Err(TokenRejection::WrongAudience)
        );
        // Another string (one signature byte changed) is checked in full.
        let mut forged = t.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert!(remembering
            .verify(&forged, at(1_000_000), "iss", "aud")
            .is_err());
    }

    #[test]
    fn issuer_audience_and_type_are_checked() {
        let keys = keyset(&[test_jwk("a", 1, true)]);
        let now = at(1_000_000);
        let t = keys.issue(&claims(), now, 900).unwrap();
        assert_eq!(
            keys.verify(&t, now, "other", "aud"),
            Err(TokenRejection::WrongIssuer)
        );
        assert_eq!(
            keys.verify(&t, now, "iss", "other"),
            Err(TokenRejection::WrongAudience)
        );
        let refresh_like = AccessClaims {
            typ: "refresh".into(),
            ..claims()
        };
        let t = keys.issue(&refresh_like, now, 900).unwrap();
        assert_eq!(
            keys.verify(&t, now, "iss", "aud"),
            Err(TokenRejection::WrongType)
        );
    }

    #[test]
    fn unknown_kid_and_foreign_signature_are_rejected() {
        let a = keyset(&[test_jwk("a", 1, true)]);
        let b = keyset(&[test_jwk("b", 2, true)]);
        let imposter = keyset(&[test_jwk("a", 3, true)]);
        let now = at(1_000_000);
        let t = b.issue(&claims(), now, 900).unwrap();
        assert_eq!(
            a.verify(&t, now, "iss", "aud"),
            Err(TokenRejection::UnknownKey)
        );
        let t = imposter.issue(&claims(), now, 900).unwrap();
        assert_eq!(
            a.verify(&t, now, "iss", "aud"),
            Err(TokenRejection::BadSignature)
        );
    }

    #[test]
    fn other_algorithms_and_garbage_are_rejected() {
        let keys = keyset(&[test_jwk("a", 1, true)]);
        let now = at(1_000_000);
        let enc = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let body = enc(serde_json::json!({"sub": "x"}));
        let none = format!(
            "{}.{body}.",
            enc(serde_json::json!({"alg": "none", "kid": "a"}))
        );
        assert_eq!(
            keys.verify(&none, now, "iss", "aud"),
            Err(TokenRejection::BadAlgorithm)
        );
        let hs = format!(
            "{}.{body}.AAAA",
            enc(serde_json::json!({"alg": "HS256", "kid": "a"}))
        );
        assert_eq!(
            keys.verify(&hs, now, "iss", "aud"),
            Err(TokenRejection::BadAlgorithm)
        );
        assert_eq!(
            keys.verify("a.b", now, "iss", "aud"),
            Err(TokenRejection::Malformed)
        );
        assert_eq!(
            keys.verify("", now, "iss", "aud"),
            Err(TokenRejection::Malformed)
        );
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            keys.verify(&huge, now, "iss", "aud"),
            Err(TokenRejection::TooLarge)
        );
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_and_signs_with_the_first() {
        let old = keyset(&[test_jwk("a", 1, true)]);
        let rotated = keyset(&[test_jwk("b", 2, true), test_jwk("a", 1, false)]);
        let now = at(1_000_000);
        let t = old.issue(&claims(), now, 900).unwrap();
        assert!(rotated.verify(&t, now, "iss", "aud").is_ok());
        assert_eq!(rotated.signing_kid(), "b");
        let jwks = rotated.jwks();
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, ["b", "a"]);
        assert!(!jwks.to_string().contains("\"d\""));
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_as_hashes() {
        let (a, ha) = new_refresh_token().unwrap();
        let (b, hb) = new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), REFRESH_TOKEN_LEN);
        assert_eq!(ha.len(), 64);
        assert_ne!(ha, hb);
        assert_eq!(refresh_token_hash(&a).unwrap(), ha);
        assert!(!ha.contains(&a));
        assert_eq!(refresh_token_hash("short"), None);
        assert_eq!(refresh_token_hash(&format!("{}=", &a[..42])), None);
    }

    #[test]
    fn bad_key_sets_are_refused() {
        let err = |v: serde_json::Value| KeySet::from_jwks_json(&v.to_string()).unwrap_err();
        assert!(matches!(err(serde_json::json!([])), KeyError::Empty));
        assert!(matches!(
            err(serde_json::json!([test_jwk("a", 1, false)])),
            KeyError::FirstNotPrivate
        ));
        assert!(matches!(
            err(serde_json::json!([
                test_jwk("a", 1, true),
                test_jwk("a", 2, true)
            ])),
            KeyError::DuplicateKid(1)
        ));
        let mut mismatched = test_jwk("a", 1, true);
        mismatched["x"] = test_jwk("a", 2, false)["x"].clone();
        assert!(matches!(
            err(serde_json::json!([mismatched])),
            KeyError::Mismatch(0)
        ));
        assert!(matches!(
            KeySet::from_jwks_json("not json").unwrap_err(),
            KeyError::NotJson
        ));
    }
}
