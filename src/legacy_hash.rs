//! Password hashes moved in from other services (the FastAPI service's passlib bcrypt,
//! fastapi-users' pwdlib Argon2id or bcrypt, Django's PBKDF2). They are parsed and bounds-checked
//! before any work, verified once at login (bcrypt and Django's PBKDF2 in slices that yield to
//! other requests, [`crate::bcrypt_sliced`] and [`crate::pbkdf2_sliced`]; Argon2id in one piece
//! with the RustCrypto `argon2` crate), and then replaced by our own PBKDF2 PHC string (see
//! [`crate::password::StoredHash`]).

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
/// failed login has already spent when the padding tops it up (see `password::pad_failure`).
/// Measured in the Worker on workerd (wasm, release build) by `make bench`, as the time of each
/// verification divided by the time of one of our iterations (README, "Migrating …"):
/// bcrypt cost 12 and 13 gave 159 and 160 iterations per expansion round (2^cost of them), with
/// its rounds in slices ([`crate::bcrypt_sliced`]; 170 and 185 in an earlier run, with the
/// `bcrypt` crate, on a machine shared with other builds).
pub const BCRYPT_ITERATIONS_PER_ROUND: f64 = 160.0;
/// How much of a password bcrypt reads; the rest never changes its hash.
const BCRYPT_READS_BYTES: usize = crate::bcrypt_sliced::READS_BYTES;
/// Argon2id: iterations per KiB block and pass (`m × t`); pwdlib's m=65536, t=3, p=4 gave 2.26
/// (3.3 in an earlier run, on a machine shared with other builds).
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

/// A parsed, bounds-checked hash written by another service.
#[derive(Clone, PartialEq, Eq)]
pub enum LegacyHash {
    /// `$2a$`, `$2b$` or `$2y$` (the same algorithm for passwords under 256 bytes).
    Bcrypt {
        cost: u32,
        salt: [u8; 16],
        hash: [u8; crate::bcrypt_sliced::OUTPUT_LEN],
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

    /// Recomputes the hash of `password` and compares in constant time, in one piece; its
    /// cost is [`Self::work_iterations`].
    pub fn verify(&self, password: &str) -> bool {
        match self {
            // Truncates at 72 bytes, as passlib and pwdlib (bcrypt < 5) did when they hashed.
            Self::Bcrypt { cost, salt, hash } => {
                let candidate = crate::bcrypt_sliced::hash(*cost, salt, password.as_bytes());
                candidate.ct_eq(hash).into()
            }
            Self::Argon2id { raw, .. } => verify_argon2id(raw, password),
            Self::Django {
                iterations,
                salt,
                hash,
            } => {
                let candidate = crate::password::derive(password, salt.as_bytes(), *iterations);
                candidate.ct_eq(hash).into()
            }
        }
    }

    /// [`Self::verify`], with bcrypt and Django's PBKDF2 run in slices that await `pause` in
    /// between, one hash at a time per isolate ([`crate::hash_lock`]), as our own PBKDF2 is.
    /// Argon2id still runs in one piece (the `argon2` crate offers no way to work in steps), but
    /// it too waits for its turn, so it never runs inside another hash's pause.
    pub async fn verify_yielding<F, Fut>(&self, password: &str, mut pause: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        match self {
            Self::Bcrypt { cost, salt, hash } => {
                let lock = crate::password::hash_lock();
                let held = crate::password::wait_turn(&lock, &mut pause).await;
                let candidate = crate::bcrypt_sliced::hash_yielding(
                    *cost,
                    salt,
                    password.as_bytes(),
                    crate::bcrypt_sliced::DEFAULT_ROUNDS,
                    || {
                        held.progress();
                        pause()
                    },
                )
                .await;
                candidate.ct_eq(hash).into()
            }
            Self::Argon2id { raw, .. } => {
                let lock = crate::password::hash_lock();
                let _held = crate::password::wait_turn(&lock, &mut pause).await;
                verify_argon2id(raw, password)
            }
            Self::Django {
                iterations,
                salt,
                hash,
            } => {
                let candidate =
                    crate::password::derive_yielding(password, salt.as_bytes(), *iterations, pause)
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
            Self::Bcrypt { cost, .. } => {
                ((1u64 << cost) as f64 * BCRYPT_ITERATIONS_PER_ROUND) as u64
            }
            Self::Argon2id { m_kib, t, .. } => {
                (f64::from(*m_kib) * f64::from(*t) * ARGON2_ITERATIONS_PER_KIB_PASS) as u64
            }
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
    if !(crate::password::MIN_ITERATIONS..=max_iterations).contains(&iterations) {
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
mod tests {
    use super::*;

    const PW: &str = "correct horse battery";
    const BOUNDS: HashBounds = HashBounds {
        pbkdf2_max_iterations: 10_000_000,
        bcrypt_max_cost: 13,
    };

    // Generated with the Python libraries the migrating services use (see the README):
    // bcrypt.hashpw(pw, gensalt(4)) and gensalt(5, prefix=b"2a").
    const BCRYPT_2B: &str = "$2b$04$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC";
    const BCRYPT_2A: &str = "$2a$05$qyukRw/5If5rbkfPnk/TrOGgKSykxCZZlusJUcjbzYEGk05L.ikGS";
    // passlib.hash.bcrypt.using(rounds=4, ident="2y").hash("pässwörd ünïcode")
    const PASSLIB_2Y: &str = "$2y$04$XriNHdT9eTvIGvgU13eytueTpzkXrxsTwY5pcHc7C.5mxCLpH0PRC";
    // pwdlib.hashers.bcrypt.BcryptHasher(rounds=4).hash(pw)
    const PWDLIB_BCRYPT: &str = "$2b$04$4DelH3W60MlbcO8xWFNJHupwBSsXQWCN8gBgWJIZJ.1wg9dPWRB3W";
    // bcrypt.hashpw(b"x" * 80, gensalt(4)): bcrypt only reads 72 bytes.
    const BCRYPT_LONG: &str = "$2b$04$BK/OZxEh5VnJ.gspJ5wrD.tbntiJjd1k8Tf8rveDvpSMQIwV44N.y";
    // argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(pw)
    const ARGON2_CFFI: &str = "$argon2id$v=19$m=1024,t=1,p=1$1P7VkxKiDYdAosPFgdn8EQ$MHUQXJJuWmChsn0LFgfdReEEbDYdYZk/DKEaV50Jeug";
    // pwdlib.hashers.argon2.Argon2Hasher(time_cost=2, memory_cost=2048, parallelism=2).hash(pw)
    const PWDLIB_ARGON2: &str = "$argon2id$v=19$m=2048,t=2,p=2$UaGwL5PiCgSZ1wA+EymGnA$zTtw3bv5h4K5d3dgjB3aacesPddF5ZLto7cyhetH7/E";
    // Django's PBKDF2PasswordHasher.encode, via hashlib.pbkdf2_hmac("sha256", pw, salt, 1000)
    const DJANGO: &str =
        "pbkdf2_sha256$1000$Nq8aPwgDjhMx5Rb0Jx3vXy$uP6t036DzJrUpiXQa5mW91eJg0F0gwBgqXcOUCKuYqA=";

    fn parse(raw: &str) -> Result<LegacyHash, LegacyError> {
        LegacyHash::parse(raw, &BOUNDS)
    }

    #[test]
    fn bcrypt_hashes_from_python_verify() {
        for (raw, pw) in [
            (BCRYPT_2B, PW),
            (BCRYPT_2A, PW),
            (PASSLIB_2Y, "pässwörd ünïcode"),
            (PWDLIB_BCRYPT, PW),
        ] {
            let h = parse(raw).unwrap();
            assert_eq!(h.algorithm(), "bcrypt");
            assert!(h.verify(pw), "{raw}");
            assert!(!h.verify("correct horse batterY"), "{raw}");
        }
        let long = parse(BCRYPT_LONG).unwrap();
        assert!(long.verify(&"x".repeat(80)));
        assert!(long.verify(&"x".repeat(72)));
        assert!(!long.verify(&"x".repeat(71)));
    }

    #[test]
    fn argon2id_hashes_from_python_verify() {
        for raw in [ARGON2_CFFI, PWDLIB_ARGON2] {
            let h = parse(raw).unwrap();
            assert_eq!(h.algorithm(), "argon2id");
            assert!(h.verify(PW));
            assert!(!h.verify("correct horse batterY"));
        }
        assert!(matches!(
            parse(PWDLIB_ARGON2).unwrap(),
            LegacyHash::Argon2id {
                m_kib: 2048,
                t: 2,
                p: 2,
                ..
            }
        ));
    }

    /// Checks `raw` with [`LegacyHash::verify_yielding`]: the answer, and the pauses it awaited.
    fn verify_counting_pauses(raw: &str, password: &str) -> (bool, u32) {
        let h = parse(raw).unwrap();
        let pauses = std::cell::Cell::new(0);
        let ok = futures::executor::block_on(h.verify_yielding(password, || {
            pauses.set(pauses.get() + 1);
            async {}
        }));
        (ok, pauses.get())
    }

    #[test]
    fn bcrypt_and_django_hashes_are_checked_in_slices_that_pause_argon2id_in_one_piece() {
        use sha2::Sha256;
        // Cost 9: 512 rounds, three slices of at most 192.
        let bcrypt_9 = bcrypt::hash_with_salt(PW, 9, [3; 16]).unwrap().to_string();
        // 80,000 iterations: three slices of at most 35,000.
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(PW.as_bytes(), b"NaCl", 80_000, &mut out);
        let django = format!("pbkdf2_sha256$80000$NaCl${}", STANDARD.encode(out));
        for raw in [bcrypt_9.as_str(), &django] {
            assert_eq!(verify_counting_pauses(raw, PW), (true, 2), "{raw}");
            assert_eq!(
                verify_counting_pauses(raw, "correct horse batterY"),
                (false, 2)
            );
        }
        // The small vectors: one slice, no pause, the same answers as `verify`.
        for raw in [BCRYPT_2B, PWDLIB_BCRYPT, DJANGO] {
            assert_eq!(verify_counting_pauses(raw, PW), (true, 0), "{raw}");
        }
        assert_eq!(
            verify_counting_pauses(BCRYPT_LONG, &"x".repeat(80)),
            (true, 0)
        );
        assert_eq!(
            verify_counting_pauses(BCRYPT_LONG, &"x".repeat(71)),
            (false, 0)
        );
        assert_eq!(verify_counting_pauses(ARGON2_CFFI, PW), (true, 0));
    }

    #[test]
    fn each_legacy_hash_waits_for_the_isolates_hash_lock() {
        use std::cell::{Cell, RefCell};
        let bcrypt_9 = bcrypt::hash_with_salt(PW, 9, [3; 16]).unwrap().to_string();
        // Two pauses of its own for bcrypt 9 (three slices), none for the small Argon2id and
        // Django hashes; plus the three it waits while another hash holds the lock.
        for (raw, own_pauses) in [(bcrypt_9.as_str(), 2), (ARGON2_CFFI, 0), (DJANGO, 0)] {
            let lock = crate::password::hash_lock();
            let other = RefCell::new(Some(lock.try_take().expect("free")));
            let pauses = Cell::new(0);
            let h = parse(raw).unwrap();
            let ok = futures::executor::block_on(h.verify_yielding(PW, || {
                pauses.set(pauses.get() + 1);
                if pauses.get() == 3 {
                    other.borrow_mut().take(); // the other hash is done
                }
                async {}
            }));
            assert!(ok, "{raw}");
            assert_eq!(pauses.get(), 3 + own_pauses, "{raw}");
        }
    }

    #[test]
    fn bcrypt_answers_as_the_bcrypt_crate_at_the_72_byte_edge_and_with_nul_bytes() {
        let long = |n: usize| "p".repeat(n);
        for password in [
            long(71),
            long(72),
            long(73),
            "pass\0word".to_owned(),
            "\0".to_owned(),
        ] {
            let raw = bcrypt::hash_with_salt(&password, 4, [9; 16])
                .unwrap()
                .to_string();
            let h = parse(&raw).unwrap();
            let mut candidates = vec![password.clone(), format!("{password}x"), long(72)];
            candidates.push(password[..password.len() - 1].to_owned());
            for candidate in candidates {
                assert_eq!(
                    h.verify(&candidate),
                    bcrypt::verify(&candidate, &raw).unwrap(),
                    "{} bytes against {} bytes",
                    candidate.len(),
                    password.len()
                );
            }
        }
    }

    #[test]
    fn bcrypt_refuses_a_non_canonical_last_character_as_the_bcrypt_crate_does() {
        const ALPHABET: &str = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let raw = bcrypt::hash_with_salt(PW, 4, [0; 16]).unwrap().to_string();
        // The salt's last character (4 spare bits) and the hash's (2), each with a spare bit set.
        for at in [28, 59] {
            let index = ALPHABET.find(&raw[at..at + 1]).unwrap();
            let changed = ALPHABET.as_bytes()[index ^ 1] as char;
            let mut bad = raw.clone();
            bad.replace_range(at..at + 1, &changed.to_string());
            assert!(bcrypt::verify(PW, &bad).is_err(), "{bad}");
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn django_hash_verifies() {
        let h = parse(DJANGO).unwrap();
        assert_eq!(h.algorithm(), "django-pbkdf2-sha256");
        assert_eq!(h.iterations(), Some(1000));
        assert!(h.verify(PW));
        assert!(!h.verify("correct horse batterY"));
        // A tampered count gives another key: refused at verification, not at parsing.
        assert!(!parse(&DJANGO.replace("$1000$", "$1001$"))
            .unwrap()
            .verify(PW));
    }

    #[test]
    fn bcrypt_cost_out_of_bounds_is_refused_before_any_work() {
        // Cost 31 would take days; parse must refuse it (this test would time out otherwise).
        let with_cost = |c: &str| format!("$2b${c}{}", &BCRYPT_2B[6..]);
        assert_eq!(parse(&with_cost("31")).unwrap_err(), LegacyError::Cost);
        assert_eq!(parse(&with_cost("14")).unwrap_err(), LegacyError::Cost);
        assert_eq!(parse(&with_cost("03")).unwrap_err(), LegacyError::Cost);
        assert_eq!(parse(&with_cost("99")).unwrap_err(), LegacyError::Cost);
        assert_eq!(parse(&with_cost("+4")).unwrap_err(), LegacyError::Format);
        assert!(parse(&with_cost("13")).is_ok());
        let lower = HashBounds {
            bcrypt_max_cost: 10,
            ..BOUNDS
        };
        assert_eq!(
            LegacyHash::parse(&with_cost("12"), &lower).unwrap_err(),
            LegacyError::Cost
        );
        assert_eq!(
            parse(&BCRYPT_2B.replace("$2b$", "$2x$")).unwrap_err(),
            LegacyError::Algorithm
        );
        assert_eq!(parse(&BCRYPT_2B[..59]).unwrap_err(), LegacyError::Format);
        assert_eq!(
            parse(&BCRYPT_2B.replace('t', "!")).unwrap_err(),
            LegacyError::Salt
        );
    }

    #[test]
    fn argon2_parameters_out_of_bounds_are_refused_before_any_work() {
        let with = |params: &str| ARGON2_CFFI.replace("m=1024,t=1,p=1", params);
        for params in [
            "m=1048576,t=1,p=1", // 1 GiB would not fit the Worker
            "m=65537,t=1,p=1",
            "m=1024,t=11,p=1",
            "m=1024,t=1,p=9",
            "m=1024,t=0,p=1",
            "m=8,t=1,p=2", // less than 8 KiB per lane
            "m=1024,t=1",
            "m=1024,t=1,p=1,keyid=AAAA",
            "m=1024,t=1,p=1,m=1024",
        ] {
            assert!(parse(&with(params)).is_err(), "{params}");
        }
        assert!(parse(&with("m=65536,t=10,p=8")).is_ok());
        assert_eq!(
            parse(&ARGON2_CFFI.replace("v=19", "v=16")).unwrap_err(),
            LegacyError::Argon2Params
        );
        assert_eq!(
            parse(&ARGON2_CFFI.replace("argon2id", "argon2i")).unwrap_err(),
            LegacyError::Algorithm
        );
        assert_eq!(
            parse(&ARGON2_CFFI.replace("argon2id", "argon2d")).unwrap_err(),
            LegacyError::Algorithm
        );
        assert!(parse("$argon2id$v=19$m=1024,t=1,p=1").is_err());
        // The PHC string is read by our own parser: every part is required and strict.
        let (head, hash) = ARGON2_CFFI.rsplit_once('$').unwrap();
        assert_eq!(parse(head).unwrap_err(), LegacyError::Hash);
        assert_eq!(
            parse(&format!("{ARGON2_CFFI}$x")).unwrap_err(),
            LegacyError::Format
        );
        for salt in [
            "AAAAAAAA",
            "1P7VkxKiDYdAosPFgdn8E!",
            "1P7VkxKiDYdAosPFgdn8EQ==",
            "1P7VkxKiDYdAosPFgdn8ER", // non-zero trailing bits: not the canonical form
            &"A".repeat(66),          // 49 bytes
        ] {
            let raw = ARGON2_CFFI.replace("1P7VkxKiDYdAosPFgdn8EQ", salt);
            assert_eq!(parse(&raw).unwrap_err(), LegacyError::Salt, "{salt}");
        }
        let long = "A".repeat(87); // 65 bytes
        for bad in [&hash[..20], "MHUQXJJuWmChsn0LFgfdR!", long.as_str()] {
            let raw = format!("{head}${bad}");
            assert_eq!(parse(&raw).unwrap_err(), LegacyError::Hash, "{bad}");
        }
        assert_eq!(
            parse("$argon2id$v=19").unwrap_err(),
            LegacyError::Argon2Params
        );
        for params in [
            "m=01024,t=1,p=1",
            "m=,t=1,p=1",
            "m=1024,t=1,p=1,",
            "m=+1024,t=1,p=1",
        ] {
            assert_eq!(
                parse(&with(params)).unwrap_err(),
                LegacyError::Argon2Params,
                "{params}"
            );
        }
        assert_eq!(
            parse(&ARGON2_CFFI.replace("$v=19", "")).unwrap_err(),
            LegacyError::Argon2Params
        );
    }

    #[test]
    fn an_argon2id_hash_verifies_only_with_its_own_salt_and_output() {
        let good = parse(ARGON2_CFFI).unwrap();
        assert!(good.verify(PW));
        let other_salt = ARGON2_CFFI.replace("1P7VkxKiDYdAosPFgdn8EQ", "1P7VkxKiDYdAosPFgdn8EA");
        assert!(!parse(&other_salt).unwrap().verify(PW));
        let other_hash = ARGON2_CFFI.replace("V50Jeug", "V50Jeuw");
        assert!(!parse(&other_hash).unwrap().verify(PW));
        let other_cost = ARGON2_CFFI.replace("t=1", "t=2");
        assert!(!parse(&other_cost).unwrap().verify(PW));
    }

    #[test]
    fn django_bounds_and_format_are_checked() {
        let with_i = |i: &str| DJANGO.replace("$1000$", &format!("${i}$"));
        assert_eq!(
            parse(&with_i("10000001")).unwrap_err(),
            LegacyError::Iterations
        );
        assert_eq!(parse(&with_i("999")).unwrap_err(), LegacyError::Iterations);
        assert_eq!(
            parse(&with_i("99999999999")).unwrap_err(),
            LegacyError::Format
        );
        assert_eq!(parse(&with_i("01000")).unwrap_err(), LegacyError::Format);
        assert_eq!(
            parse(&DJANGO.replace("uP6t", "uP6")).unwrap_err(),
            LegacyError::Hash
        );
        assert_eq!(
            parse("pbkdf2_sha256$1000$$uP6t036DzJrUpiXQa5mW91eJg0F0gwBgqXcOUCKuYqA=").unwrap_err(),
            LegacyError::Salt
        );
        assert_eq!(
            parse("pbkdf2_sha1$1000$salt$AAAA").unwrap_err(),
            LegacyError::Algorithm
        );
    }

    #[test]
    fn work_grows_with_the_parameters() {
        let b4 = parse(BCRYPT_2B).unwrap().work_iterations();
        let b5 = parse(BCRYPT_2A).unwrap().work_iterations();
        assert!(b5.abs_diff(2 * b4) <= 1, "{b4} {b5}");
        let a1 = parse(ARGON2_CFFI).unwrap().work_iterations();
        let a2 = parse(PWDLIB_ARGON2).unwrap().work_iterations();
        assert!(a2.abs_diff(4 * a1) <= 3, "{a1} {a2}");
        assert_eq!(parse(DJANGO).unwrap().work_iterations(), 1000);
    }

    #[test]
    fn debug_output_never_shows_the_hash() {
        for raw in [BCRYPT_2B, ARGON2_CFFI, DJANGO] {
            let shown = format!("{:?}", parse(raw).unwrap());
            assert!(!shown.contains(&raw[raw.len() - 10..]), "{shown}");
        }
    }
}
