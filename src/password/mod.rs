//! Password hashing: PBKDF2-HMAC-SHA256 (RustCrypto `hmac` + `sha2`, run in slices by
//! [`pbkdf2`]) stored as a PHC string `$pbkdf2-sha256$i=<iterations>,l=32$<salt>$<hash>`
//! (unpadded standard base64, as PHC says). [`StoredHash`] also accepts the hashes of the
//! services users move in from ([`legacy`], with bcrypt's rounds in [`bcrypt`]), which a
//! successful login replaces by ours.
//!
//! Everything about passwords is in this folder: [`policy`] what a new password must be; this
//! file the PHC format and the API the rest of the crate calls ([`PasswordHash`], [`StoredHash`], [`failure_floor`],
//! [`pad_failure`]); [`blocklist`] the common passwords a new one may not be; [`queue`] the
//! isolate's one-hash-at-a-time lock every sliced hash takes.

use std::future::Future;

use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine};
use subtle::ConstantTimeEq;

pub mod bcrypt;
pub mod blocklist;
pub mod legacy;
pub mod pbkdf2;
pub mod policy;
pub mod queue;

pub use self::pbkdf2::{counting, derive, derive_yielding, MIN_ITERATIONS};
pub use legacy::{HashBounds, LegacyError, LegacyHash};
pub use policy::Password;

pub const ALGORITHM: &str = "pbkdf2-sha256";
pub const SALT_LEN: usize = 16;
pub const OUTPUT_LEN: usize = 32;
const MAX_SALT_LEN: usize = 64;
const MAX_PHC_LEN: usize = 256;

/// Why a stored hash string was refused without computing anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhcError {
    #[error("not a PHC string")]
    Format,
    #[error("unsupported algorithm")]
    Algorithm,
    #[error("bad parameters")]
    Params,
    #[error("iterations out of bounds")]
    Iterations,
    #[error("bad salt")]
    Salt,
    #[error("bad hash")]
    Hash,
}

/// A parsed, bounds-checked PHC hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    pub iterations: u32,
    salt: Vec<u8>,
    hash: [u8; OUTPUT_LEN],
}

impl PasswordHash {
    /// Parses a stored PHC string, refusing anything outside the bounds before any work is done.
    ///
    /// # Errors
    /// A [`PhcError`] naming the first part that is wrong.
    pub fn parse(phc: &str, max_iterations: u32) -> Result<Self, PhcError> {
        if phc.len() > MAX_PHC_LEN {
            return Err(PhcError::Format);
        }
        let mut parts = phc.split('$');
        let (Some(""), Some(alg), Some(params), Some(salt), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(PhcError::Format);
        };
        if alg != ALGORITHM {
            return Err(PhcError::Algorithm);
        }
        let mut iterations = None;
        let mut length = None;
        for pair in params.split(',') {
            match pair.split_once('=') {
                Some(("i", v)) if iterations.is_none() => iterations = Some(parse_decimal(v)?),
                Some(("l", v)) if length.is_none() => length = Some(parse_decimal(v)?),
                _ => return Err(PhcError::Params),
            }
        }
        let iterations = iterations.ok_or(PhcError::Params)?;
        if length.unwrap_or(OUTPUT_LEN as u32) != OUTPUT_LEN as u32 {
            return Err(PhcError::Params);
        }
        if !(MIN_ITERATIONS..=max_iterations).contains(&iterations) {
            return Err(PhcError::Iterations);
        }
        let salt = STANDARD_NO_PAD.decode(salt).map_err(|_| PhcError::Salt)?;
        if !(SALT_LEN..=MAX_SALT_LEN).contains(&salt.len()) {
            return Err(PhcError::Salt);
        }
        let hash = STANDARD_NO_PAD.decode(hash).map_err(|_| PhcError::Hash)?;
        let hash: [u8; OUTPUT_LEN] = hash.try_into().map_err(|_| PhcError::Hash)?;
        Ok(Self {
            iterations,
            salt,
            hash,
        })
    }

    /// Hashes `password` with a fresh random salt.
    ///
    /// # Errors
    /// When no randomness is available.
    pub fn create(password: &str, iterations: u32) -> Result<Self, getrandom::Error> {
        let salt = crate::domain::random::bytes::<SALT_LEN>()?.to_vec();
        let hash = derive(password, &salt, iterations);
        Ok(Self {
            iterations,
            salt,
            hash,
        })
    }

    /// Recomputes the hash of `password` with this salt and count and compares in constant time.
    pub fn verify(&self, password: &str) -> bool {
        let candidate = derive(password, &self.salt, self.iterations);
        candidate.ct_eq(&self.hash).into()
    }

    /// [`Self::create`], hashing in slices that await `pause` in between.
    ///
    /// # Errors
    /// When no randomness is available.
    pub async fn create_yielding<F, Fut>(
        password: &str,
        iterations: u32,
        pause: F,
    ) -> Result<Self, getrandom::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let salt = crate::domain::random::bytes::<SALT_LEN>()?.to_vec();
        let hash = derive_yielding(password, &salt, iterations, pause).await;
        Ok(Self {
            iterations,
            salt,
            hash,
        })
    }

    /// [`Self::verify`], hashing in slices that await `pause` in between.
    pub async fn verify_yielding<F, Fut>(&self, password: &str, pause: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let candidate = derive_yielding(password, &self.salt, self.iterations, pause).await;
        candidate.ct_eq(&self.hash).into()
    }

    pub fn to_phc(&self) -> String {
        format!(
            "${ALGORITHM}$i={},l={OUTPUT_LEN}${}${}",
            self.iterations,
            STANDARD_NO_PAD.encode(&self.salt),
            STANDARD_NO_PAD.encode(self.hash)
        )
    }
}

/// What a `users.password_hash` may hold: ours, or a hash moved in from another service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredHash {
    Pbkdf2(PasswordHash),
    Legacy(LegacyHash),
}

/// Why a stored hash was refused without computing anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredHashError {
    #[error(transparent)]
    Phc(#[from] PhcError),
    #[error(transparent)]
    Legacy(#[from] LegacyError),
}

impl StoredHash {
    /// Parses a stored hash of any accepted format, checking its bounds before any work.
    ///
    /// # Errors
    /// The format's own error naming the first part that is wrong or out of bounds; a string of
    /// no known format is reported by the PHC parser.
    pub fn parse(raw: &str, bounds: &HashBounds) -> Result<Self, StoredHashError> {
        if LegacyHash::is_legacy_format(raw) {
            Ok(Self::Legacy(LegacyHash::parse(raw, bounds)?))
        } else {
            Ok(Self::Pbkdf2(PasswordHash::parse(
                raw,
                bounds.pbkdf2_max_iterations,
            )?))
        }
    }

    /// Recomputes the hash of `password` and compares in constant time.
    pub fn verify(&self, password: &str) -> bool {
        match self {
            Self::Pbkdf2(h) => h.verify(password),
            Self::Legacy(h) => h.verify(password),
        }
    }

    /// [`Self::verify`], run in slices that await `pause` in between: ours, and the legacy
    /// formats but Argon2id ([`LegacyHash::verify_yielding`]).
    pub async fn verify_yielding<F, Fut>(&self, password: &str, pause: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        match self {
            Self::Pbkdf2(h) => h.verify_yielding(password, pause).await,
            Self::Legacy(h) => h.verify_yielding(password, pause).await,
        }
    }

    /// `pbkdf2-sha256`, `bcrypt`, `argon2id` or `django-pbkdf2-sha256`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Self::Pbkdf2(_) => ALGORITHM,
            Self::Legacy(h) => h.algorithm(),
        }
    }

    /// The PBKDF2 iteration count, for the formats that have one.
    pub fn iterations(&self) -> Option<u32> {
        match self {
            Self::Pbkdf2(h) => Some(h.iterations),
            Self::Legacy(h) => h.iterations(),
        }
    }

    /// Whether a login that proved `password` should store a fresh hash of it: for ours when
    /// its count is below the configured one, and for a legacy hash whose check read all of it
    /// ([`LegacyHash::reads_all_of`]: bcrypt past 72 bytes keeps its hash).
    pub fn needs_rehash(&self, configured_iterations: u32, password: &str) -> bool {
        match self {
            Self::Pbkdf2(h) => h.iterations < configured_iterations,
            Self::Legacy(h) => h.reads_all_of(password),
        }
    }

    /// What one [`Self::verify`] costs, in PBKDF2-HMAC-SHA256 iterations.
    pub fn work_iterations(&self) -> u64 {
        match self {
            Self::Pbkdf2(h) => u64::from(h.iterations),
            Self::Legacy(h) => h.work_iterations(),
        }
    }
}

/// What every failed login costs at least, in PBKDF2 iterations: the configured floor
/// (`LOGIN_FAILURE_ITERATIONS`), or what a wrong password on the costliest hash `make import`
/// moved in costs (`recorded`, read from D1 with the account), whichever is higher. So an
/// unknown email takes as long as a wrong password on any migrated account, with no operator
/// step. `recorded` is capped at the costliest hash `bounds` let a login verify: no stored hash
/// can cost more (a costlier one is refused unverified), and a tampered setting cannot make
/// every failure arbitrarily slow.
pub fn failure_floor(configured: u32, recorded: u64, bounds: &HashBounds) -> u32 {
    let recorded = recorded.min(bounds.max_work_iterations());
    configured.max(u32::try_from(recorded).unwrap_or(u32::MAX))
}

/// A fixed salt for padding work (its result is thrown away).
const PAD_SALT: &[u8; SALT_LEN] = b"edge-auth-pad!!!";

/// Tops a failed login up with dummy PBKDF2 so that it costs at least `floor` iterations in all,
/// whatever the stored hash already cost (`spent`): a wrong password on a cheap hash, an unknown
/// email (`spent` 0) and a wrong password on the slowest imported hash then take the same time.
/// The padding runs in slices that await `pause` in between. Returns the iterations run.
pub async fn pad_failure<F, Fut>(password: &str, spent: u64, floor: u32, pause: F) -> u32
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let missing = u64::from(floor).saturating_sub(spent);
    let missing = u32::try_from(missing).unwrap_or(floor);
    if missing > 0 {
        derive_yielding(password, PAD_SALT, missing, pause).await;
    }
    missing
}

fn parse_decimal(v: &str) -> Result<u32, PhcError> {
    // PHC decimals: no sign, no leading zero, at most 10 digits.
    if v.is_empty() || v.len() > 10 || (v.len() > 1 && v.starts_with('0')) {
        return Err(PhcError::Params);
    }
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PhcError::Params);
    }
    v.parse().map_err(|_| PhcError::Params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Sha256;
    use std::rc::Rc;

    const MAX: u32 = 10_000_000;

    #[test]
    fn concurrent_hashes_take_turns_whole() {
        use futures::executor::LocalPool;
        use futures::task::LocalSpawnExt;
        use std::cell::RefCell;

        // Each hash runs three slices (two pauses between them); a pause is pending once, so
        // the other hash's task runs there. The second hash asks for its turn at each of its
        // pauses (`b` before `A`) and runs all three slices after the first hash is done.
        // Interleaved, the log would read a, b, a, b, A, B.
        let iterations = 3 * self::pbkdf2::DEFAULT_SLICE.get();
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut pool = LocalPool::new();
        for name in ['a', 'b'] {
            let log = log.clone();
            pool.spawner()
                .spawn_local(async move {
                    let out = derive_yielding("pw", b"salt", iterations, || {
                        log.borrow_mut().push(name);
                        crate::http::yield_once()
                    })
                    .await;
                    assert_eq!(out, derive("pw", b"salt", iterations));
                    log.borrow_mut().push(name.to_ascii_uppercase());
                })
                .unwrap();
        }
        pool.run();
        assert_eq!(*log.borrow(), ['a', 'b', 'a', 'b', 'A', 'b', 'b', 'B']);
    }

    #[test]
    fn hash_round_trips_through_phc() {
        let h = PasswordHash::create("correct horse", 1_000).unwrap();
        let phc = h.to_phc();
        assert!(phc.starts_with("$pbkdf2-sha256$i=1000,l=32$"));
        let parsed = PasswordHash::parse(&phc, MAX).unwrap();
        assert_eq!(parsed, h);
        assert!(parsed.verify("correct horse"));
        assert!(!parsed.verify("correct horsE"));
    }

    #[test]
    fn matches_the_rfc_test_vector() {
        // RFC 7914 §11 / widely published PBKDF2-HMAC-SHA256 vector: P="passwd", S="salt", c=1.
        let out = derive("passwd", b"salt", 1);
        assert_eq!(out[..8], [0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f]);
    }

    #[test]
    fn derive_is_the_pbkdf2_crate() {
        for iterations in [0, 1, 2, 3, 1_000] {
            let mut expected = [0u8; OUTPUT_LEN];
            ::pbkdf2::pbkdf2_hmac::<Sha256>(b"pass\0word", b"NaCl salt", iterations, &mut expected);
            assert_eq!(
                derive("pass\0word", b"NaCl salt", iterations),
                expected,
                "c = {iterations}"
            );
        }
    }

    #[test]
    fn salts_are_random() {
        let a = PasswordHash::create("same", 1_000).unwrap();
        let b = PasswordHash::create("same", 1_000).unwrap();
        assert_ne!(a.to_phc(), b.to_phc());
    }

    const BOUNDS: HashBounds = HashBounds {
        pbkdf2_max_iterations: MAX,
        bcrypt_max_cost: 13,
    };

    /// bcrypt reads 72 bytes: a login that typed the real password's first 72 and then
    /// something else passes its check (as it did on the old service), but must not make that
    /// string the password.
    #[test]
    fn a_bcrypt_hash_is_not_replaced_from_a_password_longer_than_bcrypt_reads() {
        let real = "x".repeat(80);
        let phc = ::bcrypt::hash(&real, 4).unwrap();
        let h = StoredHash::parse(&phc, &BOUNDS).unwrap();
        let typo = format!("{}typo", &real[..72]);
        assert!(h.verify(&typo));
        assert!(!h.needs_rehash(1_000, &typo));
        assert!(!h.needs_rehash(1_000, &real));
        assert!(h.needs_rehash(1_000, &real[..72]));
    }

    #[test]
    fn stored_hash_reads_ours_and_legacy_formats() {
        let ours = PasswordHash::create("pw", 1_000).unwrap().to_phc();
        let h = StoredHash::parse(&ours, &BOUNDS).unwrap();
        assert_eq!(h.algorithm(), "pbkdf2-sha256");
        assert!(h.verify("pw"));
        assert!(!h.needs_rehash(1_000, "pw"));
        assert!(h.needs_rehash(1_001, "pw"));
        let bcrypt = "$2b$04$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC";
        let h = StoredHash::parse(bcrypt, &BOUNDS).unwrap();
        assert_eq!(h.algorithm(), "bcrypt");
        assert!(h.verify("correct horse battery"));
        assert!(h.needs_rehash(1_000, "correct horse battery"));
        assert_eq!(
            StoredHash::parse("$2b$31$", &BOUNDS),
            Err(StoredHashError::Legacy(LegacyError::Format))
        );
        assert_eq!(
            StoredHash::parse("$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA", &BOUNDS),
            Err(StoredHashError::Phc(PhcError::Algorithm))
        );
        assert_eq!(
            StoredHash::parse("plain text", &BOUNDS),
            Err(StoredHashError::Phc(PhcError::Format))
        );
    }

    async fn ready() {}

    #[test]
    fn padding_tops_up_to_the_floor_and_never_below_zero() {
        use futures::executor::block_on;
        assert_eq!(block_on(pad_failure("pw", 0, 2_000, ready)), 2_000);
        assert_eq!(block_on(pad_failure("pw", 1_500, 2_000, ready)), 500);
        assert_eq!(block_on(pad_failure("pw", 2_000, 2_000, ready)), 0);
        assert_eq!(block_on(pad_failure("pw", u64::MAX, 2_000, ready)), 0);
    }

    #[test]
    fn failures_are_padded_to_the_costliest_recorded_import_within_the_bounds() {
        let bcrypt13 = StoredHash::parse(
            &("$2b$13$".to_owned()
                + &"$2b$04$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC"[7..]),
            &BOUNDS,
        )
        .unwrap()
        .work_iterations();
        let per_round = legacy::BCRYPT_ITERATIONS_PER_ROUND;
        assert_eq!(bcrypt13, (8192.0 * per_round) as u64);
        assert!(bcrypt13 > 1_000_000);
        // Nothing imported: the configured floor.
        assert_eq!(failure_floor(600_000, 0, &BOUNDS), 600_000);
        // A bcrypt-13 row imported: every failure costs what a wrong password on it costs.
        assert_eq!(failure_floor(600_000, bcrypt13, &BOUNDS), bcrypt13 as u32);
        // A configured floor above the recorded cost stays.
        assert_eq!(failure_floor(2_000_000, bcrypt13, &BOUNDS), 2_000_000);
        // A recorded cost no stored hash could have under the bounds is capped there.
        assert_eq!(failure_floor(600_000, u64::MAX, &BOUNDS), MAX);
        let costly_bcrypt = HashBounds {
            pbkdf2_max_iterations: 1_000_000,
            bcrypt_max_cost: 16,
        };
        let bcrypt16 = (65_536.0 * per_round) as u64;
        assert_eq!(costly_bcrypt.max_work_iterations(), bcrypt16);
        assert_eq!(
            failure_floor(600_000, u64::MAX, &costly_bcrypt),
            bcrypt16 as u32
        );
        // bcrypt's own ceiling is past u32: the floor saturates rather than wraps.
        let any_bcrypt = HashBounds {
            bcrypt_max_cost: 31,
            ..costly_bcrypt
        };
        assert_eq!(failure_floor(600_000, u64::MAX, &any_bcrypt), u32::MAX);
    }

    #[test]
    fn out_of_bounds_parameters_are_refused() {
        let good = PasswordHash::create("pw", 1_000).unwrap().to_phc();
        let (_, rest) = good.split_once(",l=32").unwrap();
        let with_i = |i: &str| format!("$pbkdf2-sha256$i={i},l=32{rest}");
        assert_eq!(
            PasswordHash::parse(&with_i("4294967295"), MAX),
            Err(PhcError::Iterations)
        );
        assert_eq!(
            PasswordHash::parse(&with_i("999"), MAX),
            Err(PhcError::Iterations)
        );
        assert_eq!(
            PasswordHash::parse(&with_i("01000"), MAX),
            Err(PhcError::Params)
        );
        assert_eq!(
            PasswordHash::parse(&with_i("-5"), MAX),
            Err(PhcError::Params)
        );
        assert_eq!(
            PasswordHash::parse(&with_i("99999999999"), MAX),
            Err(PhcError::Params)
        );
        assert!(PasswordHash::parse(&with_i("1000"), MAX).is_ok());
        let wrong_len = good.replace(",l=32", ",l=64");
        assert_eq!(PasswordHash::parse(&wrong_len, MAX), Err(PhcError::Params));
        let other_alg = good.replace("pbkdf2-sha256", "pbkdf2-sha512");
        assert_eq!(
            PasswordHash::parse(&other_alg, MAX),
            Err(PhcError::Algorithm)
        );
        assert_eq!(PasswordHash::parse("", MAX), Err(PhcError::Format));
        assert_eq!(
            PasswordHash::parse("$pbkdf2-sha256$i=1000$a$b$c", MAX),
            Err(PhcError::Format)
        );
        assert_eq!(
            PasswordHash::parse("$pbkdf2-sha256$i=1000,l=32$c2FsdA$AAAA", MAX),
            Err(PhcError::Salt)
        );
    }
}
