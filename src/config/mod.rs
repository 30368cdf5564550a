//! Runtime configuration: Worker vars (with defaults) and the signing-key secret, read through a
//! lookup function so the core never touches the runtime's `Env`.

use secrecy::SecretString;

use crate::limits::breaker::BreakerConfig;
use crate::limits::throttle::ThrottleConfig;
use crate::tokens::SigningKeys;

mod mfa;
pub use mfa::{InvalidKey, KeyConfigError, MfaKey, MfaKeys};
mod webauthn;
use webauthn::webauthn;
pub use webauthn::WebAuthnConfig;

/// Names of the bindings and settings, in one place.
pub mod names {
    pub const DB: &str = "DB";
    pub const KV: &str = "KV";
    pub const SIGNING_KEYS: &str = "JWT_SIGNING_KEYS";
    pub const ISSUER: &str = "JWT_ISSUER";
    pub const AUDIENCE: &str = "JWT_AUDIENCE";
    pub const ACCESS_TOKEN_TTL: &str = "ACCESS_TOKEN_TTL";
    pub const PBKDF2_ITERATIONS: &str = "PBKDF2_ITERATIONS";
    pub const PBKDF2_MAX_ITERATIONS: &str = "PBKDF2_MAX_ITERATIONS";
    pub const BREAKER_THRESHOLD: &str = "BREAKER_THRESHOLD";
    pub const BREAKER_WINDOW: &str = "BREAKER_WINDOW";
    pub const BREAKER_COOLDOWN: &str = "BREAKER_COOLDOWN";
    pub const JWKS_MAX_AGE: &str = "JWKS_MAX_AGE";
    pub const REFRESH_TOKEN_TTL: &str = "REFRESH_TOKEN_TTL";
    pub const REFRESH_REUSE_GRACE: &str = "REFRESH_REUSE_GRACE";
    pub const LOGIN_MAX_FAILURES: &str = "LOGIN_MAX_FAILURES";
    pub const LOGIN_WINDOW: &str = "LOGIN_WINDOW";
    pub const SESSION_RETENTION: &str = "SESSION_RETENTION";
    pub const AUDIT_RETENTION_DAYS: &str = "AUDIT_RETENTION_DAYS";
    pub const BCRYPT_MAX_COST: &str = "BCRYPT_MAX_COST";
    pub const LOGIN_FAILURE_ITERATIONS: &str = "LOGIN_FAILURE_ITERATIONS";
    pub const EMAIL_QUEUE: &str = "EMAIL_QUEUE";
    pub const EMAIL: &str = "EMAIL";
    pub const APP_URL: &str = "APP_URL";
    pub const PUBLIC_URL: &str = "PUBLIC_URL";
    pub const EMAIL_FROM: &str = "EMAIL_FROM";
    pub const PASSWORD_RESET_TTL: &str = "PASSWORD_RESET_TTL";
    pub const EMAIL_VERIFICATION_TTL: &str = "EMAIL_VERIFICATION_TTL";
    pub const EMAIL_MAX_PER_HOUR: &str = "EMAIL_MAX_PER_HOUR";
    pub const REQUIRE_EMAIL_VERIFICATION: &str = "REQUIRE_EMAIL_VERIFICATION";
    pub const RATE_LIMIT_BY_IP: &str = "RATE_LIMIT_BY_IP";
    pub const IP_RATE_LIMITER: &str = "IP_RATE_LIMITER";
    pub const SESSION_CACHE_TTL: &str = "SESSION_CACHE_TTL";
    pub const SESSION_MEMORY_TTL: &str = "SESSION_MEMORY_TTL";
    pub const HEALTH_CHECK_TTL: &str = "HEALTH_CHECK_TTL";
    pub const MAX_SESSIONS_PER_USER: &str = "MAX_SESSIONS_PER_USER";
    pub const MAX_HASH_QUEUE: &str = "MAX_HASH_QUEUE";
    pub const ADMIN_API_KEY: &str = "ADMIN_API_KEY";
    pub const WEBAUTHN_RP_ID: &str = "WEBAUTHN_RP_ID";
    pub const WEBAUTHN_RP_NAME: &str = "WEBAUTHN_RP_NAME";
    pub const WEBAUTHN_ORIGINS: &str = "WEBAUTHN_ORIGINS";
    pub const MFA_ISSUER: &str = "MFA_ISSUER";
    pub const MFA_TOKEN_TTL: &str = "MFA_TOKEN_TTL";
    /// The current key that seals TOTP secrets: 32 bytes, base64url.
    pub const MFA_ENCRYPTION_KEY: &str = "MFA_ENCRYPTION_KEY";
    /// The keys rotated away from, still accepted to open old rows: comma-separated, each like
    /// [`MFA_ENCRYPTION_KEY`].
    pub const MFA_ENCRYPTION_OLD_KEYS: &str = "MFA_ENCRYPTION_OLD_KEYS";
}

#[derive(Debug)]
pub struct Config {
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: i64,
    pub pbkdf2_iterations: u32,
    pub pbkdf2_max_iterations: u32,
    /// Ceiling for the cost of bcrypt hashes moved in from other services.
    pub bcrypt_max_cost: u32,
    /// Every failed login costs at least this many PBKDF2 iterations (or their equivalent in the
    /// stored hash's own algorithm), never less than `pbkdf2_iterations`: set to the slowest
    /// imported hash, a wrong password on it is not told apart from an unknown email.
    pub login_failure_iterations: u32,
    pub breaker: BreakerConfig,
    pub jwks_max_age_secs: u32,
    pub refresh_token_ttl_secs: i64,
    /// A token spent less than this many seconds ago is refused without revoking its session:
    /// two tabs refreshing at once must not log the user out.
    pub refresh_reuse_grace_secs: i64,
    /// Active sessions a user may have: a login beyond it revokes the oldest (`session_limit`).
    /// It bounds a user's live refresh tokens, device list and revocation work; the rows of
    /// ended sessions stay until the cleanup's retention, like a logout's.
    pub max_sessions_per_user: u32,
    pub throttle: ThrottleConfig,
    /// How long an ended (expired or revoked) session is kept before the scheduled cleanup
    /// deletes it.
    pub session_retention_secs: i64,
    /// How many days an audit event is kept (also after its account is deleted) before the
    /// scheduled cleanup deletes it.
    pub audit_retention_days: i64,
    pub email: EmailConfig,
    /// Register, login and forgot are limited per client IP through the Rate Limiting binding.
    pub rate_limit_by_ip: bool,
    /// How old (s) a cached session state may be when `/auth/me` and `/auth/verify` use it; 0
    /// reads D1's primary on every check.
    pub session_cache_ttl_secs: i64,
    /// How long (s) an isolate keeps a session state in its own memory, never more than
    /// `session_cache_ttl_secs`.
    pub session_memory_ttl_secs: i64,
    /// How long (s) an isolate answers `/health` from its last good check; 0 checks every time.
    pub health_check_ttl_secs: i64,
    /// Requests that may hash at once per isolate, the one hashing and those waiting their turn
    /// (`password::queue`); one more answers `503` with `Retry-After: 1` before its body is read.
    pub max_hash_queue: u32,
    /// `JWT_SIGNING_KEYS`, parsed; whoever puts the service together hands them to the
    /// runtime's signing backend (`tokens::KeySet`).
    pub keys: SigningKeys,
    /// The passkeys' relying party.
    pub webauthn: WebAuthnConfig,
    pub mfa: MfaConfig,
    /// `ADMIN_API_KEY`: the admin API and its console exist only while it is set (and long
    /// enough); every `/admin/` request must carry it as its bearer credential.
    pub admin_api_key: Option<SecretString>,
    /// Why a set `ADMIN_API_KEY` is not used: a key too short to resist guessing leaves the
    /// admin API off rather than refusing to start the auth service; logged once per isolate.
    pub admin_api_key_error: Option<ConfigError>,
}

/// Two-step verification.
#[derive(Debug)]
pub struct MfaConfig {
    /// The issuer an authenticator app shows (`MFA_ISSUER`, else `JWT_ISSUER`).
    pub issuer: String,
    /// How long (s) the `mfa_token` of a login's first half works.
    pub token_ttl_secs: i64,
    /// The keys that seal TOTP secrets; `None` while `MFA_ENCRYPTION_KEY` is unset, and then
    /// setting up two-step verification is refused (nothing can be stored sealed).
    pub keys: Option<MfaKeys>,
}

/// Password reset and address verification by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailConfig {
    /// Where the emailed links point when a frontend of its own serves the two pages
    /// (`<app_url>/reset-password?token=…`), without a trailing slash.
    pub app_url: Option<String>,
    /// The Worker's own public origin (`scheme://host[:port]`), which serves the two pages
    /// itself: where the links point when `app_url` is unset.
    pub public_url: Option<String>,
    pub from: String,
    pub reset_ttl_secs: i64,
    pub verification_ttl_secs: i64,
    /// Emails of one kind per account per hour; past it the request is answered the same and
    /// nothing is sent.
    pub max_per_hour: u32,
    /// A correct login of an unverified account is `403 email_not_verified`.
    pub require_verification: bool,
}

/// A setting that is present but unusable. The Worker answers `500` and logs this; it never
/// falls back silently to a weaker value.
#[derive(Debug, thiserror::Error)]
#[error("configuration {name}: {why}")]
pub struct ConfigError {
    pub name: &'static str,
    pub why: String,
}

pub const DEFAULT_ISSUER: &str = "edge-auth";
pub const DEFAULT_AUDIENCE: &str = "edge-auth";
pub const DEFAULT_ACCESS_TOKEN_TTL: i64 = 900;
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 600_000;
pub const DEFAULT_PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;
pub const DEFAULT_BCRYPT_MAX_COST: u32 = 13;
pub const DEFAULT_JWKS_MAX_AGE: u32 = 300;
pub const DEFAULT_REFRESH_TOKEN_TTL: i64 = 30 * 24 * 3600;
pub const DEFAULT_REFRESH_REUSE_GRACE: i64 = 10;
pub const DEFAULT_MAX_SESSIONS_PER_USER: u32 = 100;
pub const DEFAULT_SESSION_RETENTION: i64 = 7 * 24 * 3600;
pub const DEFAULT_AUDIT_RETENTION_DAYS: i64 = 90;
pub const DEFAULT_EMAIL_FROM: &str = "noreply@example.com";
pub const DEFAULT_PASSWORD_RESET_TTL: i64 = 1800;
pub const DEFAULT_EMAIL_VERIFICATION_TTL: i64 = 86_400;
pub const DEFAULT_EMAIL_MAX_PER_HOUR: u32 = 5;
pub const DEFAULT_SESSION_CACHE_TTL: i64 = 30;
pub const DEFAULT_SESSION_MEMORY_TTL: i64 = 1;
pub const DEFAULT_HEALTH_CHECK_TTL: i64 = 5;
pub const DEFAULT_MAX_HASH_QUEUE: u32 = 32;
/// The shortest `ADMIN_API_KEY` used, in characters.
pub const ADMIN_API_KEY_MIN_CHARS: usize = 32;
pub const DEFAULT_WEBAUTHN_RP_NAME: &str = "edge-auth";
pub const DEFAULT_MFA_TOKEN_TTL: i64 = 300;

impl Config {
    /// Builds the configuration from a lookup of vars and secrets.
    ///
    /// # Errors
    /// A [`ConfigError`] when the signing keys are missing or invalid, or a number is out of range.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let keys_json = get(names::SIGNING_KEYS).ok_or(ConfigError {
            name: names::SIGNING_KEYS,
            why: "missing: set it with `wrangler secret put` (or `.dev.vars` locally)".into(),
        })?;
        let keys = SigningKeys::from_jwks_json(&keys_json).map_err(|e| ConfigError {
            name: names::SIGNING_KEYS,
            why: e.to_string(),
        })?;
        let pbkdf2_max_iterations = number(
            &get,
            names::PBKDF2_MAX_ITERATIONS,
            DEFAULT_PBKDF2_MAX_ITERATIONS,
            crate::password::MIN_ITERATIONS..=u32::MAX,
        )?;
        let pbkdf2_iterations = number(
            &get,
            names::PBKDF2_ITERATIONS,
            DEFAULT_PBKDF2_ITERATIONS,
            crate::password::MIN_ITERATIONS..=pbkdf2_max_iterations,
        )?;
        let login_failure_iterations = number(
            &get,
            names::LOGIN_FAILURE_ITERATIONS,
            pbkdf2_iterations,
            crate::password::MIN_ITERATIONS..=pbkdf2_max_iterations,
        )?
        .max(pbkdf2_iterations);
        let session_cache_ttl_secs = number(
            &get,
            names::SESSION_CACHE_TTL,
            DEFAULT_SESSION_CACHE_TTL,
            0..=3_600,
        )?;
        let session_memory_ttl_secs = number(
            &get,
            names::SESSION_MEMORY_TTL,
            DEFAULT_SESSION_MEMORY_TTL,
            0..=3_600,
        )?
        .min(session_cache_ttl_secs);
        let app_url = link_url(&get, names::APP_URL, true)?;
        let webauthn = webauthn(&get, app_url.as_deref())?;
        let issuer = text(&get, names::ISSUER, DEFAULT_ISSUER);
        let mfa = MfaConfig {
            issuer: text(&get, names::MFA_ISSUER, &issuer),
            token_ttl_secs: number(
                &get,
                names::MFA_TOKEN_TTL,
                DEFAULT_MFA_TOKEN_TTL,
                30..=3_600,
            )?,
            keys: mfa_keys(&get)?,
        };
        let (admin_api_key, admin_api_key_error) = admin_api_key(&get);
        Ok(Self {
            issuer,
            audience: text(&get, names::AUDIENCE, DEFAULT_AUDIENCE),
            access_token_ttl_secs: number(
                &get,
                names::ACCESS_TOKEN_TTL,
                DEFAULT_ACCESS_TOKEN_TTL,
                60..=86_400,
            )?,
            pbkdf2_iterations,
            pbkdf2_max_iterations,
            bcrypt_max_cost: number(
                &get,
                names::BCRYPT_MAX_COST,
                DEFAULT_BCRYPT_MAX_COST,
                crate::password::legacy::BCRYPT_MIN_COST
                    ..=crate::password::legacy::BCRYPT_MAX_COST_LIMIT,
            )?,
            login_failure_iterations,
            breaker: BreakerConfig {
                threshold: number(&get, names::BREAKER_THRESHOLD, 5, 1..=1_000)?,
                window_secs: number(&get, names::BREAKER_WINDOW, 60, 1..=86_400)?,
                // KV's minimum expiration TTL is 60 s, but the cooldown is checked from the
                // stored timestamp, so any value from 1 s works.
                cooldown_secs: number(&get, names::BREAKER_COOLDOWN, 30, 1..=86_400)?,
            },
            jwks_max_age_secs: number(&get, names::JWKS_MAX_AGE, DEFAULT_JWKS_MAX_AGE, 0..=86_400)?,
            refresh_token_ttl_secs: number(
                &get,
                names::REFRESH_TOKEN_TTL,
                DEFAULT_REFRESH_TOKEN_TTL,
                300..=366 * 24 * 3600,
            )?,
            refresh_reuse_grace_secs: number(
                &get,
                names::REFRESH_REUSE_GRACE,
                DEFAULT_REFRESH_REUSE_GRACE,
                0..=300,
            )?,
            max_sessions_per_user: number(
                &get,
                names::MAX_SESSIONS_PER_USER,
                DEFAULT_MAX_SESSIONS_PER_USER,
                1..=10_000,
            )?,
            throttle: ThrottleConfig {
                max_failures: number(&get, names::LOGIN_MAX_FAILURES, 5, 1..=1_000)?,
                window_secs: number(&get, names::LOGIN_WINDOW, 900, 1..=86_400)?,
            },
            session_retention_secs: number(
                &get,
                names::SESSION_RETENTION,
                DEFAULT_SESSION_RETENTION,
                0..=366 * 24 * 3600,
            )?,
            audit_retention_days: number(
                &get,
                names::AUDIT_RETENTION_DAYS,
                DEFAULT_AUDIT_RETENTION_DAYS,
                1..=3660,
            )?,
            email: EmailConfig {
                app_url,
                public_url: link_url(&get, names::PUBLIC_URL, false)?,
                from: text(&get, names::EMAIL_FROM, DEFAULT_EMAIL_FROM),
                reset_ttl_secs: number(
                    &get,
                    names::PASSWORD_RESET_TTL,
                    DEFAULT_PASSWORD_RESET_TTL,
                    60..=86_400,
                )?,
                verification_ttl_secs: number(
                    &get,
                    names::EMAIL_VERIFICATION_TTL,
                    DEFAULT_EMAIL_VERIFICATION_TTL,
                    60..=30 * 86_400,
                )?,
                max_per_hour: number(
                    &get,
                    names::EMAIL_MAX_PER_HOUR,
                    DEFAULT_EMAIL_MAX_PER_HOUR,
                    1..=1_000,
                )?,
                require_verification: flag(&get, names::REQUIRE_EMAIL_VERIFICATION, false)?,
            },
            rate_limit_by_ip: flag(&get, names::RATE_LIMIT_BY_IP, true)?,
            session_cache_ttl_secs,
            session_memory_ttl_secs,
            health_check_ttl_secs: number(
                &get,
                names::HEALTH_CHECK_TTL,
                DEFAULT_HEALTH_CHECK_TTL,
                0..=300,
            )?,
            max_hash_queue: number(
                &get,
                names::MAX_HASH_QUEUE,
                DEFAULT_MAX_HASH_QUEUE,
                1..=10_000,
            )?,
            keys,
            webauthn,
            mfa,
            admin_api_key,
            admin_api_key_error,
        })
    }
}

/// `ADMIN_API_KEY`, if set and at least [`ADMIN_API_KEY_MIN_CHARS`] long; a shorter one is
/// treated as unset, with the reason (which never quotes the key).
fn admin_api_key(
    get: &impl Fn(&str) -> Option<String>,
) -> (Option<SecretString>, Option<ConfigError>) {
    let Some(raw) = get(names::ADMIN_API_KEY).filter(|v| !v.is_empty()) else {
        return (None, None);
    };
    if raw.chars().count() < ADMIN_API_KEY_MIN_CHARS {
        let why =
            format!("shorter than {ADMIN_API_KEY_MIN_CHARS} characters: the admin API stays off");
        return (
            None,
            Some(ConfigError {
                name: names::ADMIN_API_KEY,
                why,
            }),
        );
    }
    (Some(SecretString::from(raw)), None)
}

/// `MFA_ENCRYPTION_KEY` and `MFA_ENCRYPTION_OLD_KEYS`: `None` when no current key is set (old
/// keys alone are refused: they could only open rows, never seal one). The errors name the
/// variable and the list position, never a key's text.
fn mfa_keys(get: &impl Fn(&str) -> Option<String>) -> Result<Option<MfaKeys>, ConfigError> {
    let current = get(names::MFA_ENCRYPTION_KEY).filter(|v| !v.trim().is_empty());
    let old = get(names::MFA_ENCRYPTION_OLD_KEYS).filter(|v| !v.trim().is_empty());
    match MfaKeys::from_config(current.as_deref(), old.as_deref()) {
        Ok(keys) => Ok(Some(keys)),
        Err(KeyConfigError::Missing) if old.is_none() => Ok(None),
        Err(KeyConfigError::Missing) => Err(ConfigError {
            name: names::MFA_ENCRYPTION_KEY,
            why: format!("missing while {} is set", names::MFA_ENCRYPTION_OLD_KEYS),
        }),
        Err(e @ KeyConfigError::Current(_)) => Err(ConfigError {
            name: names::MFA_ENCRYPTION_KEY,
            why: format!("{e} (32 bytes in base64url)"),
        }),
        Err(e @ KeyConfigError::Old(..)) => Err(ConfigError {
            name: names::MFA_ENCRYPTION_OLD_KEYS,
            why: format!("{e} (32 bytes in base64url)"),
        }),
    }
}

impl Config {
    /// The bounds every stored hash is checked against before any work.
    pub fn hash_bounds(&self) -> crate::password::HashBounds {
        crate::password::HashBounds {
            pbkdf2_max_iterations: self.pbkdf2_max_iterations,
            bcrypt_max_cost: self.bcrypt_max_cost,
        }
    }
}

impl EmailConfig {
    /// The origin (and path) the emailed links start with: `APP_URL`, else `PUBLIC_URL`; `None`
    /// when neither is set, and then no link is sent. Never anything from a request: a `Host`
    /// header is the client's to choose.
    pub fn link_origin(&self) -> Option<&str> {
        self.app_url.as_deref().or(self.public_url.as_deref())
    }
}

/// `APP_URL` or `PUBLIC_URL` (`with_path`: only the former may have a path), kept without a
/// trailing slash: `https://`, or `http://` on a loopback host only (a reset link carries its
/// token, which must not travel in clear text), with no user info, query or fragment.
fn link_url(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    with_path: bool,
) -> Result<Option<String>, ConfigError> {
    let Some(raw) = get(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    let refuse = |why: &str| ConfigError {
        name,
        why: format!("{raw:?} {why}"),
    };
    let url = raw.trim().trim_end_matches('/');
    let (plain, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (false, rest),
        (None, Some(rest)) => (true, rest),
        _ => return Err(refuse("is not an http(s) URL")),
    };
    if url.contains(|c: char| c.is_whitespace() || c.is_control() || "?#@\\".contains(c)) {
        return Err(refuse(
            "must have no user info, query, fragment, backslash or whitespace",
        ));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Some(host) = host_of(authority) else {
        return Err(refuse("has no valid host[:port]"));
    };
    if !with_path && !path.is_empty() {
        return Err(refuse(
            "must be an origin (scheme://host[:port]), without a path",
        ));
    }
    if plain && !is_loopback(host) {
        return Err(refuse(
            "is http:// on a host that is not this machine: use https:// (http is for \
             127.0.0.0/8, ::1 and localhost only)",
        ));
    }
    Ok(Some(url.to_owned()))
}

/// The host of an authority (`host`, `host:port`, `[v6]`, `[v6]:port`), `None` when it has
/// none or its port is not a number.
fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (
                host,
                after.strip_prefix(':').or(after.is_empty().then_some(""))?,
            )
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, port),
            None => (authority, ""),
        },
    };
    let port_ok = port.is_empty() || (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()));
    (!host.is_empty() && port_ok).then_some(host)
}

/// Whether `host` names this machine: `localhost`, `::1` or 127.0.0.0/8.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || crate::limits::ratelimit::ipv4_octets(host).is_some_and(|o| o[0] == 127)
}

fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(default),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            why: format!("{other:?} is not true or false"),
        }),
    }
}

fn text(get: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> String {
    get(name)
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = get(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    let value: T = raw.trim().parse().map_err(|_| ConfigError {
        name,
        why: format!("{raw:?} is not a number"),
    })?;
    if !range.contains(&value) {
        return Err(ConfigError {
            name,
            why: format!("{value} is outside {}..={}", range.start(), range.end()),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
