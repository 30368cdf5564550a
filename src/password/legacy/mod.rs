//! Password hashes moved in from other services (the FastAPI service's passlib bcrypt,
//! fastapi-users' pwdlib Argon2id or bcrypt, Django's PBKDF2). They are parsed and bounds-checked
//! before any work, verified once at login (bcrypt and Django's PBKDF2 in slices that yield to
//! other requests, [`super::bcrypt`] and [`super::pbkdf2`]; Argon2id in one piece with the
//! RustCrypto `argon2` crate), and then replaced by our own PBKDF2 PHC string (see
//! [`super::StoredHash`]).

use std::future::Future;

use base64::alphabet;
use base64::engine::general_purpose::{self, GeneralPurpose, STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use subtle::ConstantTimeEq;

/// bcrypt's own floor; anything below is not bcrypt as libraries write it.
pub const BCRYPT_MIN_COST: u32 = 4;
/// bcrypt's own ceiling (the format's two digits, and the `bcrypt` crate's limit).
pub const BCRYPT_MAX_COST_LIMIT: u32 = 31;
/// The contract's Argon2id bounds: 64 MiB of memory at most (the Worker has 128 MB), at most
/// ten passes and eight lanes.
pub const ARGON2_MAX_M_KIB: u32 = 65_536;
pub const ARGON2_MAX_T: u32 = 10;
pub const ARGON2_MAX_P: u32 = 8;
const ARGON2_OUTPUT_LEN: std::ops::RangeInclusive<usize> = 16..=64;
const MAX_LEGACY_LEN: usize = 256;
const DJANGO_PREFIX: &str = "pbkdf2_sha256$";
const DJANGO_OUTPUT_LEN: usize = 32;
const DJANGO_MAX_SALT_LEN: usize = 128;

/// The cost of verifying one hash, in PBKDF2-HMAC-SHA256 iterations of the same Worker: what a
/// failed login has already spent when the padding tops it up (see `password::pad_failure`), and
/// what `make import` records for the padding of every failure. Measured in the Worker on
/// workerd (wasm, release build, bcrypt's rounds in slices, [`super::bcrypt`]) as the
/// time of each verification divided by the time of one of our iterations, wrong passwords on
/// bcrypt cost 10, 12 and 13 taken in turn with one on our PBKDF2 at 600,000 so that a
/// machine's changing load weighs on both: 175 to 183 iterations per expansion round (2^cost of
/// them) over three runs (`BENCH_ONLY=legacy make bench` prints it). An error here is a timing
/// difference between a wrong password on a bcrypt account and an unknown email, in proportion
/// (`BENCH_ONLY=migration make bench` prints those).
pub const BCRYPT_ITERATIONS_PER_ROUND: f64 = 178.0;
/// How much of a password bcrypt reads; the rest never changes its hash.
const BCRYPT_READS_BYTES: usize = super::bcrypt::READS_BYTES;
/// Argon2id: iterations per KiB block and pass (`m × t`), measured the same way; pwdlib's
/// m=65536, t=3, p=4 gave 2.17 to 2.33.
pub const ARGON2_ITERATIONS_PER_KIB_PASS: f64 = 2.3;

/// Why a stored legacy hash was refused without computing anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    #[error("malformed legacy hash")]
    Format,
    #[error("unsupported legacy algorithm")]
    Algorithm,
    #[error("bcrypt cost out of bounds")]
    Cost,
    #[error("argon2 parameters out of bounds")]
    Argon2Params,
    #[error("iterations out of bounds")]
    Iterations,
    #[error("bad salt")]
    Salt,
    #[error("bad hash")]
    Hash,
}

/// The bounds a stored hash must satisfy before any work is spent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashBounds {
    /// Ceiling for PBKDF2 iteration counts (ours and Django's).
    pub pbkdf2_max_iterations: u32,
    /// Ceiling for bcrypt's cost (`BCRYPT_MAX_COST`, at most 31).
    pub bcrypt_max_cost: u32,
}

impl HashBounds {
    /// What verifying the costliest hash these bounds accept costs, in PBKDF2-SHA256
    /// iterations (the work model of [`LegacyHash::work_iterations`]): a hash above it is
    /// refused without being computed, so no wrong password ever costs more.
    pub fn max_work_iterations(&self) -> u64 {
        let bcrypt = bcrypt_work(self.bcrypt_max_cost.min(BCRYPT_MAX_COST_LIMIT));
        let argon2 = argon2_work(ARGON2_MAX_M_KIB, ARGON2_MAX_T);
        u64::from(self.pbkdf2_max_iterations)
            .max(bcrypt)
            .max(argon2)
    }
}

/// bcrypt at `cost`, in PBKDF2-SHA256 iterations: 2^cost rounds.
fn bcrypt_work(cost: u32) -> u64 {
    ((1u64 << cost) as f64 * BCRYPT_ITERATIONS_PER_ROUND) as u64
}

/// Argon2id with `m_kib` KiB and `t` passes, in PBKDF2-SHA256 iterations.
fn argon2_work(m_kib: u32, t: u32) -> u64 {
    (f64::from(m_kib) * f64::from(t) * ARGON2_ITERATIONS_PER_KIB_PASS) as u64
}

/// A parsed, bounds-checked hash written by another service.
#[derive(Clone, PartialEq, Eq)]
pub enum LegacyHash {
    /// `$2a$`, `$2b$` or `$2y$` (the same algorithm for passwords under 256 bytes).
    Bcrypt {
        cost: u32,
        salt: [u8; 16],
        hash: [u8; super::bcrypt::OUTPUT_LEN],
    },
    /// `$argon2id$v=19$m=…,t=…,p=…$salt$hash`.
    Argon2id {
        m_kib: u32,
        t: u32,
        p: u32,
        raw: String,
    },
    /// Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`.
    Django {
        iterations: u32,
        salt: String,
        hash: [u8; DJANGO_OUTPUT_LEN],
    },
}

impl std::fmt::Debug for LegacyHash {
    // Never print the hash itself (it could end up in a log line).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bcrypt { cost, .. } => write!(f, "Bcrypt {{ cost: {cost} }}"),
            Self::Argon2id { m_kib, t, p, .. } => {
                write!(f, "Argon2id {{ m: {m_kib}, t: {t}, p: {p} }}")
            }
            Self::Django { iterations, .. } => write!(f, "Django {{ iterations: {iterations} }}"),
        }
    }
}

impl LegacyHash {
    /// Whether `raw` looks like one of the legacy formats (by its prefix alone), so that the
    /// caller knows which parser's error to report.
    pub fn is_legacy_format(raw: &str) -> bool {
        ["$2a$", "$2b$", "$2y$", "$2x$", "$argon2", DJANGO_PREFIX]
            .iter()
            .any(|p| raw.starts_with(p))
    }

    /// Parses a stored legacy hash, refusing anything outside `bounds` before any work is done.
    ///
    /// # Errors
    /// A [`LegacyError`] naming the first part that is wrong or out of bounds.
    pub fn parse(raw: &str, bounds: &HashBounds) -> Result<Self, LegacyError> {
        if raw.len() > MAX_LEGACY_LEN || !raw.is_ascii() {
            return Err(LegacyError::Format);
        }
        if raw.starts_with("$2") {
            parse_bcrypt(raw, bounds.bcrypt_max_cost)
        } else if raw.starts_with("$argon2") {
            parse_argon2id(raw)
        } else if let Some(rest) = raw.strip_prefix(DJANGO_PREFIX) {
            parse_django(rest, bounds.pbkdf2_max_iterations)
        } else {
            Err(LegacyError::Algorithm)
        }
    }

    /// Whether [`Self::verify`] reads all of `password`. bcrypt reads only its first 72 bytes,
    /// so a longer string that passed proved only those: storing a new hash of the whole
    /// string would lock out a real password that differs past them.
    pub fn reads_all_of(&self, password: &str) -> bool {
        match self {
            Self::Bcrypt { .. } => password.len() <= BCRYPT_READS_BYTES,
            Self::Argon2id { .. } | Self::Django { .. } => true,
        }
    }

    /// Recomputes the hash of `password` and compares in constant time, in one go
    /// ([`Self::verify_yielding`] with no pause); its cost is [`Self::work_iterations`].
    pub fn verify(&self, password: &str) -> bool {
        super::pbkdf2::at_once(self.verify_yielding(password, || std::future::ready(())))
    }

    /// [`Self::verify`], with bcrypt and Django's PBKDF2 run in slices that await `pause` in
    /// between, one hash at a time per isolate ([`super::queue`]), as our own PBKDF2 is.
    /// Argon2id still runs in one piece (the `argon2` crate offers no way to work in steps), but
    /// it too waits for its turn, so it never runs inside another hash's pause.
    pub async fn verify_yielding<F, Fut>(&self, password: &str, mut pause: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        match self {
            // Truncates at 72 bytes, as passlib and pwdlib (bcrypt < 5) did when they hashed.
            Self::Bcrypt { cost, salt, hash } => {
                let turn = super::queue::take_turn(&mut pause).await;
                let candidate = super::bcrypt::hash_yielding(
                    *cost,
                    salt,
                    password.as_bytes(),
                    super::bcrypt::DEFAULT_ROUNDS,
                    turn.pausing(pause),
                )
                .await;
                candidate.ct_eq(hash).into()
            }
            Self::Argon2id { raw, .. } => {
                let _turn = super::queue::take_turn(&mut pause).await;
                verify_argon2id(raw, password)
            }
            Self::Django {
                iterations,
                salt,
                hash,
            } => {
                let candidate =
                    super::pbkdf2::derive_yielding(password, salt.as_bytes(), *iterations, pause)
                        .await;
                candidate.ct_eq(hash).into()
            }
        }
    }

    /// The name logged as `password_rehashed`'s `from`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Bcrypt { .. } => "bcrypt",
            Self::Argon2id { .. } => "argon2id",
            Self::Django { .. } => "django-pbkdf2-sha256",
        }
    }

    /// The iteration count, for the formats that have one.
    pub fn iterations(&self) -> Option<u32> {
        match self {
            Self::Django { iterations, .. } => Some(*iterations),
            _ => None,
        }
    }

    /// What one [`Self::verify`] costs, in PBKDF2-HMAC-SHA256 iterations of the same runtime.
    pub fn work_iterations(&self) -> u64 {
        match self {
            Self::Bcrypt { cost, .. } => bcrypt_work(*cost),
            Self::Argon2id { m_kib, t, .. } => argon2_work(*m_kib, *t),
            Self::Django { iterations, .. } => u64::from(*iterations),
        }
    }
}

fn parse_bcrypt(raw: &str, max_cost: u32) -> Result<LegacyHash, LegacyError> {
    // `$2b$12$` + 22 characters of salt + 31 of hash, in bcrypt's own base64 alphabet.
    let b = raw.as_bytes();
    if raw.len() != 60 || b[3] != b'$' || b[6] != b'$' {
        return Err(LegacyError::Format);
    }
    if !matches!(&raw[1..3], "2a" | "2b" | "2y") {
        return Err(LegacyError::Algorithm);
    }
    let cost = &raw[4..6];
    if !cost.bytes().all(|c| c.is_ascii_digit()) {
        return Err(LegacyError::Format);
    }
    let cost: u32 = cost.parse().map_err(|_| LegacyError::Format)?;
    if !(BCRYPT_MIN_COST..=max_cost.min(BCRYPT_MAX_COST_LIMIT)).contains(&cost) {
        return Err(LegacyError::Cost);
    }
    // bcrypt's own base64 alphabet, unpadded: 16 bytes of salt, 23 of hash.
    let b64 = GeneralPurpose::new(&alphabet::BCRYPT, general_purpose::NO_PAD);
    let salt = b64
        .decode(&raw[7..29])
        .ok()
        .and_then(|salt| salt.try_into().ok())
        .ok_or(LegacyError::Salt)?;
    let hash = b64
        .decode(&raw[29..])
        .ok()
        .and_then(|hash| hash.try_into().ok())
        .ok_or(LegacyError::Hash)?;
    Ok(LegacyHash::Bcrypt { cost, salt, hash })
}

/// The parts of `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`, the PHC string
/// that argon2-cffi and pwdlib write (salt and hash in unpadded standard base64), bounds-checked.
struct Argon2Parts {
    params: argon2::Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn argon2_parts(raw: &str) -> Result<Argon2Parts, LegacyError> {
    let fields: Vec<&str> = raw.split('$').collect();
    if fields.len() < 2 || !fields[0].is_empty() {
        return Err(LegacyError::Format);
    }
    if fields[1] != "argon2id" {
        return Err(LegacyError::Algorithm);
    }
    // A PHC string may leave out the version, the parameters, the salt and the hash; we need
    // them all.
    if fields.get(2) != Some(&"v=19") {
        return Err(LegacyError::Argon2Params);
    }
    let [_, _, _, params, salt, hash] = fields[..] else {
        return Err(match fields.len() {
            ..=3 => LegacyError::Argon2Params,
            4 => LegacyError::Salt,
            5 => LegacyError::Hash,
            _ => LegacyError::Format,
        });
    };
    // Only m, t and p, each once and in bounds (no secret key id or associated data).
    let mut seen = [None::<u32>; 3];
    for param in params.split(',') {
        let (name, value) = param.split_once('=').ok_or(LegacyError::Argon2Params)?;
        let slot = match name {
            "m" => 0,
            "t" => 1,
            "p" => 2,
            _ => return Err(LegacyError::Argon2Params),
        };
        let v = decimal(value).ok_or(LegacyError::Argon2Params)?;
        if seen[slot].replace(v).is_some() {
            return Err(LegacyError::Argon2Params);
        }
    }
    let [Some(m_kib), Some(t), Some(p)] = seen else {
        return Err(LegacyError::Argon2Params);
    };
    if !(1..=ARGON2_MAX_P).contains(&p)
        || !(1..=ARGON2_MAX_T).contains(&t)
        || !(8 * p..=ARGON2_MAX_M_KIB).contains(&m_kib)
    {
        return Err(LegacyError::Argon2Params);
    }
    // 8 bytes of salt at least (RFC 9106), that is 11 base64 characters; 48 at most (64).
    let salt = match STANDARD_NO_PAD.decode(salt) {
        Ok(bytes) if (8..=48).contains(&bytes.len()) => bytes,
        _ => return Err(LegacyError::Salt),
    };
    let hash = match STANDARD_NO_PAD.decode(hash) {
        Ok(bytes) if ARGON2_OUTPUT_LEN.contains(&bytes.len()) => bytes,
        _ => return Err(LegacyError::Hash),
    };
    let params = argon2::Params::new(m_kib, t, p, Some(hash.len()))
        .map_err(|_| LegacyError::Argon2Params)?;
    Ok(Argon2Parts { params, salt, hash })
}

/// A PHC decimal: digits only, no sign, no leading zero (as the PHC format says), within `u32`.
fn decimal(value: &str) -> Option<u32> {
    let canonical = value == "0" || (!value.starts_with('0') && !value.is_empty());
    if !canonical || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn parse_argon2id(raw: &str) -> Result<LegacyHash, LegacyError> {
    let params = argon2_parts(raw)?.params;
    Ok(LegacyHash::Argon2id {
        m_kib: params.m_cost(),
        t: params.t_cost(),
        p: params.p_cost(),
        raw: raw.to_owned(),
    })
}

fn verify_argon2id(raw: &str, password: &str) -> bool {
    // Parsed (and bounded) before; the parts are read again here from the stored string.
    let Ok(parts) = argon2_parts(raw) else {
        return false;
    };
    let argon2 = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        parts.params,
    );
    let mut candidate = vec![0u8; parts.hash.len()];
    argon2
        .hash_password_into(password.as_bytes(), &parts.salt, &mut candidate)
        .is_ok()
        && bool::from(candidate.ct_eq(&parts.hash))
}

fn parse_django(rest: &str, max_iterations: u32) -> Result<LegacyHash, LegacyError> {
    let mut parts = rest.split('$');
    let (Some(iterations), Some(salt), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LegacyError::Format);
    };
    if iterations.is_empty()
        || iterations.len() > 10
        || iterations.starts_with('0')
        || !iterations.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(LegacyError::Format);
    }
    let iterations: u32 = iterations.parse().map_err(|_| LegacyError::Iterations)?;
    if !(super::pbkdf2::MIN_ITERATIONS..=max_iterations).contains(&iterations) {
        return Err(LegacyError::Iterations);
    }
    if salt.is_empty() || salt.len() > DJANGO_MAX_SALT_LEN {
        return Err(LegacyError::Salt);
    }
    let hash = STANDARD.decode(hash).map_err(|_| LegacyError::Hash)?;
    let hash: [u8; DJANGO_OUTPUT_LEN] = hash.try_into().map_err(|_| LegacyError::Hash)?;
    Ok(LegacyHash::Django {
        iterations,
        salt: salt.to_owned(),
        hash,
    })
}

#[cfg(test)]
mod tests;
