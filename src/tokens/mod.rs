//! Access tokens: Ed25519-signed JWTs, the configured key set and its JWKS. `jwt-compact` owns
//! the token format (header, claims, their times); the signatures are [`signer::Ed25519Keys`]'s,
//! whose implementation the caller chooses: the runtime's WebCrypto in the Worker (`platform`),
//! `ed25519-compact` natively ([`signer::CompactKeys`]).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};

use crate::domain::amr::Amr;
use crate::http::error::TokenRejection;

pub mod signer;
use signer::{Ed25519Keys, KeyBytes};

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
    #[error("key {0}: refused by the runtime's WebCrypto ({1})")]
    Refused(usize, String),
}

#[derive(Deserialize)]
struct JwkIn {
    kty: Option<String>,
    crv: Option<String>,
    kid: Option<String>,
    d: Option<String>,
    x: Option<String>,
}

/// `jwt-compact`'s token writer with the signature left out: it writes `header.claims.`, whose
/// first two parts are what [`Ed25519Keys::sign`] signs. The same writer as its own `Ed25519`
/// (the bytes are compared in a test), without its curve code.
struct UnsignedEdDsa;

struct NoSignature;

impl jwt_compact::AlgorithmSignature for NoSignature {
    fn try_from_slice(_: &[u8]) -> anyhow::Result<Self> {
        Ok(Self)
    }

    fn as_bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&[])
    }
}

impl jwt_compact::Algorithm for UnsignedEdDsa {
    type SigningKey = ();
    type VerifyingKey = ();
    type Signature = NoSignature;

    fn name(&self) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(ALG)
    }

    fn sign(&self, (): &(), _: &[u8]) -> NoSignature {
        NoSignature
    }

    /// Never used to accept a token: verification goes through [`Ed25519Keys::verify`].
    fn verify_signature(&self, _: &NoSignature, (): &(), _: &[u8]) -> bool {
        false
    }
}

/// The `JWT_SIGNING_KEYS` secret, parsed: each key's `kid` and bytes, in the configured order
/// (the first holds `d`: it signs). Whether a `d` gives its `x` is the backend's to check
/// ([`KeySet::new`], or [`KeySet::ready`] in the Worker).
#[derive(Clone)]
pub struct SigningKeys {
    kids: Vec<String>,
    keys: Vec<KeyBytes>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kids", &self.kids)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Parses the `JWT_SIGNING_KEYS` secret: a JSON array of Ed25519 JWKs
    /// (`{"kty":"OKP","crv":"Ed25519","kid":…,"d":…,"x":…}`). Keys without `d` only verify.
    ///
    /// # Errors
    /// A [`KeyError`] naming the first unusable key.
    pub fn from_jwks_json(json: &str) -> Result<Self, KeyError> {
        let keys: Vec<JwkIn> =
            serde_json::from_slice(json.as_bytes()).map_err(|_| KeyError::NotJson)?;
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        let mut kids: Vec<String> = Vec::with_capacity(keys.len());
        let mut parts = Vec::with_capacity(keys.len());
        for (i, jwk) in keys.into_iter().enumerate() {
            if jwk.kty.as_deref() != Some("OKP") || jwk.crv.as_deref() != Some("Ed25519") {
                return Err(KeyError::WrongType(i));
            }
            let kid = jwk
                .kid
                .filter(|k| !k.is_empty())
                .ok_or(KeyError::NoKid(i))?;
            if kids.contains(&kid) {
                return Err(KeyError::DuplicateKid(i));
            }
            let decode32 = |s: &str| -> Result<[u8; 32], KeyError> {
                URL_SAFE_NO_PAD
                    .decode(s)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or(KeyError::Encoding(i))
            };
            let d = jwk.d.as_deref().map(decode32).transpose()?;
            let x = jwk.x.as_deref().map(decode32).transpose()?;
            if d.is_none() && x.is_none() {
                return Err(KeyError::Encoding(i));
            }
            kids.push(kid);
            parts.push(KeyBytes { d, x });
        }
        if parts[0].d.is_none() {
            return Err(KeyError::FirstNotPrivate);
        }
        Ok(Self { kids, keys: parts })
    }
}

/// The configured keys on backend `K`: the first signs, all verify and all are published.
pub struct KeySet<K> {
    signing_kid: String,
    /// Every key's `kid`, in the configured order (the backend's keys are in the same order).
    kids: Vec<String>,
    backend: K,
    /// Tokens whose signature and claims already passed, with their `nbf`: a token checked
    /// again (a client calling `/auth/me` all the time) skips the signature check, and only its
    /// times are checked again. The keys never change under a key set (one per isolate).
    /// (A `Mutex`, uncontended in a Worker, keeps the key set `Sync` for native callers.)
    verified: Mutex<HashMap<String, (VerifiedToken, Option<i64>)>>,
    /// The JWKS document, serialized once, as soon as every public key is known (at once, or
    /// after [`KeySet::ready`] where one must be derived from its `d`).
    jwks_text: OnceLock<String>,
}

/// Verified tokens a key set remembers at most; past that it starts over.
pub const VERIFIED_MEMO_CAPACITY: usize = 10_000;

impl<K> std::fmt::Debug for KeySet<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("signing_kid", &self.signing_kid)
            .field("kids", &self.kids)
            .finish_non_exhaustive()
    }
}

impl<K: Ed25519Keys> KeySet<K> {
    /// The parsed keys handed to backend `K`.
    ///
    /// # Errors
    /// The [`KeyError`] of the first key the backend refuses at once.
    pub fn new(keys: SigningKeys) -> Result<Self, KeyError> {
        let SigningKeys { kids, keys } = keys;
        let backend = K::new(keys)?;
        let keys = Self {
            signing_kid: kids[0].clone(),
            kids,
            backend,
            verified: Mutex::default(),
            jwks_text: OnceLock::new(),
        };
        if let Some(publics) = keys.backend.publics() {
            let _ = keys.jwks_text.set(keys.jwks_of(&publics).to_string());
        }
        Ok(keys)
    }

    /// [`SigningKeys::from_jwks_json`], then [`KeySet::new`].
    ///
    /// # Errors
    /// A [`KeyError`] naming the first unusable key.
    pub fn from_jwks_json(json: &str) -> Result<Self, KeyError> {
        Self::new(SigningKeys::from_jwks_json(json)?)
    }

    /// Makes the keys usable by the runtime (imports them once per key set) and checks each
    /// private key against its `x`, where that could not be done when parsing (in the Worker,
    /// which has no curve code of its own): its first use, before any request is answered.
    ///
    /// # Errors
    /// The [`KeyError`] of the first unusable key.
    pub async fn ready(&self) -> Result<(), KeyError> {
        let publics = self.backend.ready().await?;
        if self.jwks_text.get().is_none() {
            let _ = self.jwks_text.set(self.jwks_of(&publics).to_string());
        }
        Ok(())
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// The public JWK Set (RFC 7517/8037): every configured key, never a private part.
    /// Empty until every public key is known (see [`KeySet::ready`]).
    pub fn jwks(&self) -> serde_json::Value {
        self.jwks_of(&self.backend.publics().unwrap_or_default())
    }

    fn jwks_of(&self, publics: &[[u8; 32]]) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .kids
            .iter()
            .zip(publics)
            .map(|(kid, public)| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(public),
                    "kid": kid,
                    "alg": ALG,
                    "use": "sig",
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The JWKS document as served (serialized once per key set).
    /// An empty set only before [`KeySet::ready`] derived a missing `x`; the Worker readies
    /// its keys before answering anything.
    pub fn jwks_text(&self) -> &str {
        self.jwks_text
            .get()
            .map_or(r#"{"keys":[]}"#, String::as_str)
    }

    /// Signs an access token for `subject`.
    ///
    /// # Errors
    /// If serialization fails, which the claim types make impossible in practice, or the
    /// signing backend does.
    pub async fn issue(
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
        let mut token = UnsignedEdDsa
            .token(&header, &claims, &())
            .map_err(|e| e.to_string())?;
        // `header.claims.`: the signature goes after the last dot, over all that precedes it.
        let signing_input = token.strip_suffix('.').unwrap_or(&token);
        let signature = self
            .backend
            .sign(signing_input.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// Verifies an access token: size cap, algorithm pinned to EdDSA, `kid` among the configured
    /// keys only, signature, `exp`/`nbf` with leeway, then `iss`, `aud` and `typ`.
    ///
    /// # Errors
    /// The [`TokenRejection`] reason (for logs; clients only see `invalid_token`).
    pub async fn verify(
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
        let verified = self.verify_signed(token, now, issuer, audience).await?;
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
    async fn verify_signed(
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
            .kids
            .iter()
            .position(|k| k == kid)
            .ok_or(TokenRejection::UnknownKey)?;
        // jwt-compact's own order: the signature's length, then the claims (cheaper than a
        // signature), then the signature.
        let signature: &[u8; 64] = untrusted
            .signature_bytes()
            .try_into()
            .map_err(|_| TokenRejection::BadSignature)?;
        let claims = untrusted
            .deserialize_claims_unchecked::<AccessClaims>()
            .map_err(|_| TokenRejection::Malformed)?;
        // `new` above accepted exactly three parts: the signed data is all before the last dot.
        let signed_data = token.rsplit_once('.').map_or(token, |(data, _)| data);
        // A backend that fails cannot vouch for the token: refused like a bad signature (the
        // keys were imported and checked before the first request, so this is not expected).
        let genuine = self
            .backend
            .verify(key, signed_data.as_bytes(), signature)
            .await
            .unwrap_or(false);
        if !genuine {
            return Err(TokenRejection::BadSignature);
        }
        let claims = &claims;
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
    let token = URL_SAFE_NO_PAD.encode(crate::domain::random::bytes::<32>()?);
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
    /// How the token's session was opened (RFC 8176). A token signed before methods were
    /// recorded has none: its session was opened by a password, which the default says.
    #[serde(default)]
    pub amr: Amr,
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub claims: AccessClaims,
    pub exp: i64,
    pub iat: i64,
}

#[cfg(test)]
pub(crate) mod tests;
