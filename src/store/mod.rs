//! The storage seams of the core: small traits the handlers use, the rows they exchange, and
//! their one implementation on SQL (`users`, `sessions`, `email`, `cleanup`), for any database
//! that runs [`crate::store::sql`]'s statements ([`exec::Sql`]): D1 in the Worker (`storage`), SQLite
//! with every migration in the native tests ([`sqlite`]). Only what SQLite cannot be is faked
//! ([`fakes`]: injected faults, a lagging read replica, the breaker's KV).

use crate::domain::amr::Amr;
use crate::domain::{Email, User, UserId};
use crate::limits::breaker::BreakerState;
use crate::limits::throttle::{Attempts, ThrottleConfig};
use crate::store::events::{Audit, EventKind, Origin};

mod admin;
mod audit;
mod cleanup;
mod email;
pub mod events;
pub mod exec;
#[cfg(not(target_arch = "wasm32"))]
pub mod fakes;
mod mfa;
pub mod passkeys;
pub mod session_cache;
mod sessions;
pub mod sql;
#[cfg(not(target_arch = "wasm32"))]
pub mod sqlite;
mod users;

pub use admin::{AdminStore, AdminUserRow, FlagChange};
pub use audit::{AuditStore, EventPage, EventRow};
#[cfg(not(target_arch = "wasm32"))]
pub use fakes::{Faulty, MemoryBreaker};
pub use mfa::{MfaStore, NewMfaToken, TotpState};
pub use passkeys::PasskeyStore;
#[cfg(not(target_arch = "wasm32"))]
pub use sqlite::{EmailTokenRow, Sqlite};

/// A storage call went wrong. The message is for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or the query failed: an outage, which the circuit
    /// breaker counts.
    #[error("{0}")]
    Unavailable(String),
    /// The store answered, but a row it returned does not decode (a bad id, an invalid email):
    /// bad data, not an outage, so it is never counted toward the breaker.
    #[error("unreadable row: {0}")]
    Corrupt(String),
}

/// A user row as stored, before it is checked: decoded through [`UserRow::decode`], so a bad
/// row fails the same way on every database.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    /// A number, as D1 returns it (0 when a query leaves the column out).
    pub password_version: f64,
    pub created_at: String,
    /// SQLite has no booleans: 0 or 1 (a number, as D1 returns it; 0 when left out).
    pub email_verified: f64,
}

impl UserRow {
    /// # Errors
    /// [`StoreError::Corrupt`] when the id is not a UUID or the email does not parse.
    pub fn decode(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId::parse(&self.id)
                .map_err(|_| StoreError::Corrupt("users.id is not a UUID".into()))?,
            email: Email::parse(&self.email)
                .map_err(|_| StoreError::Corrupt("users.email is invalid".into()))?,
            password_hash: self.password_hash,
            password_version: self.password_version as i64,
            created_at: self.created_at,
            email_verified: self.email_verified != 0.0,
        })
    }

    pub fn encode(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_ref().to_owned(),
            password_hash: user.password_hash.clone(),
            password_version: user.password_version as f64,
            created_at: user.created_at.clone(),
            email_verified: if user.email_verified { 1.0 } else { 0.0 },
        }
    }
}

/// What a login (or a re-authentication) starts from, read in one round trip together with the
/// reservation of the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLookup {
    /// The account, if the email has one; `Err` when its row does not decode (the login then
    /// fails like a wrong password, and the reason is logged).
    pub user: Option<Result<User, String>>,
    /// The attempts of this email in the current window, *including* the one just reserved.
    pub attempts: Attempts,
    /// What verifying the costliest hash `make import` moved in costs, in PBKDF2 iterations
    /// (`settings.imported_hash_max_work`; 0 before any import): a failed login is padded to
    /// it ([`crate::password::failure_floor`]).
    pub imported_hash_work: u64,
    /// The account has two-step verification on: a right password is only a login's first
    /// half.
    pub mfa_enabled: bool,
    /// Whether the account is disabled: its right password is `403 account_disabled`.
    pub disabled: bool,
    /// The attempt's provisional event (`login_failed`, or `login_throttled`), written with
    /// the reservation for a known account: a check that succeeds withdraws it in the batch
    /// that clears the count (`None`: an unknown email, which records no event).
    pub attempt_event: Option<i64>,
}

/// Users, keyed by id and by normalized email. Every user store also keeps the users' email
/// tokens, so that every handler can send mail, and their second factors.
#[allow(async_fn_in_trait)]
pub trait UserStore: EmailTokenStore + MfaStore + AdminStore + AuditStore {
    /// Inserts `user` unless its email exists, atomically (the unique constraint decides), and
    /// `audit`'s events with it. Returns `false` when the email was taken (no event).
    async fn insert_user(&self, user: &User, audit: &Audit) -> Result<bool, StoreError>;
    /// A login's rehash of the password it checked: written only while the password's version
    /// is still `version`, the one that check read, so it never undoes a change or a reset that
    /// committed meanwhile. The version stays: the password is the same. Returns whether it
    /// was written.
    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        updated_at: &str,
        version: i64,
    ) -> Result<bool, StoreError>;
    /// A cheap round trip that proves the database answers (for `/health`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Reserves one attempt for this normalized email *before* any password is hashed (an
    /// atomic increment that returns the count, the window restarting once it has passed; the
    /// same rule as [`crate::limits::throttle::after_failure`]), and reads the account, in one round
    /// trip. Concurrent attempts each get their own count, so no more than the limit is ever
    /// hashed. A success clears the count ([`Self::clear_failures`]). For a known account the
    /// same round trip writes the attempt's provisional event from `origin`
    /// ([`LoginLookup::attempt_event`]): `failure` (`login_failed` for a password,
    /// `mfa_failed` for a second factor's code), or `login_throttled` past the limit.
    async fn begin_login(
        &self,
        email: &Email,
        now_ms: i64,
        throttle: &ThrottleConfig,
        origin: &Origin,
        failure: EventKind,
    ) -> Result<LoginLookup, StoreError>;
    /// Clears the failed attempts of `email` and withdraws the provisional event of the check
    /// that succeeded (`withdraw`), in one round trip.
    async fn clear_failures(&self, email: &Email, withdraw: Option<i64>) -> Result<(), StoreError>;
    /// [`LoginLookup::imported_hash_work`] alone, for a login whose email cannot name an
    /// account (it is not even valid) and so reserves no attempt: it fails at the same cost.
    async fn imported_hash_work(&self) -> Result<u64, StoreError>;
    /// Replaces the password hash, bumps its version, revokes every active session of the
    /// user except `keep` and voids its pending reset tokens (a link mailed before the change
    /// must not undo it), in one transaction, if the version is still `version` (the one the
    /// caller's check read).
    /// Returns the revoked session ids, or `None` when the password was set by another request
    /// since the caller checked it (nothing is written).
    async fn replace_password(
        &self,
        change: &PasswordChange<'_>,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError>;
    /// Deletes the user and everything that hangs off it (sessions, spent refresh tokens, email
    /// tokens, the throttle row of its email) in one transaction, if the password's version is
    /// still `version`, and remembers the id in `deleted_users` (so `make import` run again does
    /// not bring the account back), with `audit`'s events. Returns the ids of the sessions it
    /// deleted, or `None` when nothing was deleted (the user was gone, or its password was set
    /// since the caller checked it).
    async fn delete_user(
        &self,
        id: &UserId,
        email: &Email,
        version: i64,
        audit: &Audit,
    ) -> Result<Option<Vec<String>>, StoreError>;
}

/// A password replacement: the new hash, and the one session that survives it (the caller's on
/// a change, none on a reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordChange<'a> {
    pub user_id: &'a UserId,
    pub phc: &'a str,
    pub updated_at: &'a str,
    pub keep_session: Option<&'a str>,
    pub reason: &'a str,
    pub now_ms: i64,
    /// The events written with the replacement (none when it does not happen).
    pub audit: &'a Audit,
}

/// What an emailed token is for (`email_tokens.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailPurpose {
    PasswordReset,
    EmailVerification,
}

impl EmailPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
        }
    }
}

/// One hour, the window of the per-account email cap.
pub const EMAIL_CAP_WINDOW_MS: i64 = 3_600_000;

/// A token about to be emailed to the account of `email`, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmailToken<'a> {
    pub email: &'a Email,
    pub purpose: EmailPurpose,
    /// Hex SHA-256 of the token; the token itself is never stored.
    pub token_hash: &'a str,
    pub now_ms: i64,
    pub expires_at_ms: i64,
    /// Emails of this purpose per account per [`EMAIL_CAP_WINDOW_MS`].
    pub max_per_hour: u32,
    /// The queue message asking: a retry of the message that counted last is not counted again,
    /// so a job's own failed attempts never use up the cap.
    pub queue_message_id: &'a str,
}

/// What issuing an email token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// The token is stored (the account's older unused tokens of the purpose are gone): send it.
    Issued { user_id: String },
    /// The account has had its emails of this purpose for the hour: nothing was stored.
    Capped { user_id: String },
    /// No account has this email.
    NoAccount,
}

/// Single-use tokens sent by email (`email_tokens`), the per-account count of emails sent
/// (`email_sends`) and the per-address count of requests (`email_requests`). A token is usable
/// while unused and unexpired; spending it is atomic.
#[allow(async_fn_in_trait)]
pub trait EmailTokenStore {
    /// Counts one request of `purpose` for this address (a fixed one-hour window from its first
    /// request), whether or not an account has it, and returns the window's count, this request
    /// included (concurrent requests each get their own). One statement, no read of `users`:
    /// the only database work of `forgot`'s request path, the same for every address; a
    /// verification request past `EMAIL_MAX_PER_HOUR` queues nothing.
    async fn record_email_request(
        &self,
        email: &Email,
        purpose: EmailPurpose,
        now_ms: i64,
    ) -> Result<u32, StoreError>;
    /// Counts one email of `purpose` for the account of `t.email` (a fixed one-hour window from
    /// its first email) and, unless that goes past `t.max_per_hour`, deletes the account's
    /// unused tokens of the purpose and stores the new one, in one transaction. An unknown email
    /// changes nothing. Run by the mail queue's consumer, never on a request path.
    async fn issue_email_token(&self, t: &NewEmailToken<'_>) -> Result<Issued, StoreError>;
    /// The user whose usable token of `purpose` has this hash, if any.
    async fn email_token_user(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError>;
    /// Claims a reset before its new password is hashed: spends the usable reset token with
    /// this hash if it is `user_id`'s and the user's password is still at `version` (the one
    /// [`Self::email_token_user`] read), atomically. Of concurrent claims of one token exactly
    /// one gets `true`; the others hash nothing.
    ///
    /// The claim is final: if the hash or [`Self::reset_password`] then fails, the password
    /// is unchanged (that write is one transaction) and the link is used up, so the user asks
    /// for a new one. A token that could come back would need one more write to the database
    /// that just failed, and would let a retry race a reset that already began.
    async fn claim_reset_token(
        &self,
        token_hash: &str,
        user_id: &UserId,
        version: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Completes a claimed reset, in one transaction and only while the password is still at
    /// `version` (the one the claim saw): replaces the password, revokes every session (but
    /// `keep_session`, `None` on a reset), clears the throttle row of `email`, marks the
    /// address verified and voids the account's other pending reset tokens. `None` when a
    /// change or another reset committed since the claim (or the account is gone): nothing is
    /// written. Otherwise the revoked session ids.
    async fn reset_password(
        &self,
        email: &Email,
        change: &PasswordChange<'_>,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError>;
    /// Spends a usable verification token and marks its user's address verified, atomically,
    /// with `audit`'s events about that user. Returns the (now verified) user, or `None` when
    /// the token was not usable (no event).
    async fn verify_email(
        &self,
        token_hash: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<Option<User>, StoreError>;
}

/// A session as created at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id: String,
    pub user_id: UserId,
    /// Hex SHA-256 of the first refresh token.
    pub refresh_hash: String,
    pub created_at: String,
    pub expires_at_ms: i64,
    /// The login request's `User-Agent`, at most 256 characters.
    pub user_agent: Option<String>,
    /// How the login proved who it is (a password; a second factor, a passkey): every access
    /// token of the session says so, refreshed ones too.
    pub amr: Amr,
    /// The password's version that the login's check read: the session is created only while
    /// it is current, so a login that raced a password change, a reset or an account deletion
    /// opens nothing (a rehash keeps the version).
    pub password_version: i64,
    /// The throttle row that the login's successful password check clears, in the same round
    /// trip as the session (whether or not the session is created: the password was right).
    pub clear_attempts_of: Option<Email>,
    /// Active sessions the user may have, this one included (`MAX_SESSIONS_PER_USER`).
    pub keep_at_most: u32,
    /// The login's time: sessions expired by then do not count, and the revoked ones are
    /// revoked at it.
    pub now_ms: i64,
    /// The events written if the session is created (`login_succeeded`).
    pub audit: Audit,
    /// The password check's provisional event ([`LoginLookup::attempt_event`]), withdrawn if
    /// the session is created (otherwise the login failed, as it says).
    pub attempt_event: Option<i64>,
}

/// An active session as `GET /auth/sessions` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub created_at: String,
    pub last_used_at_ms: Option<i64>,
    pub expires_at_ms: i64,
    pub user_agent: Option<String>,
}

/// Where a read may be served from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The primary database: sees every committed write.
    Primary,
    /// The nearest copy (a D1 read replica), which may lag behind the primary.
    Nearest,
}

/// An active session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    pub user: User,
    pub expires_at_ms: i64,
    /// Whether the user has two-step verification on (the user view's `mfa_enabled`).
    pub mfa_enabled: bool,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was the current token of an active session: it is now spent and `new` is current.
    /// `amr` is how the session was opened.
    Rotated {
        session_id: String,
        user: User,
        amr: Amr,
    },
    /// It was already spent at `spent_at_ms` (a replay, or a lost race).
    Spent {
        session_id: String,
        spent_at_ms: i64,
    },
    /// The current token of a revoked or expired session.
    Inactive,
    /// Never issued (or its session is gone).
    Unknown,
}

/// Sessions and their refresh tokens, by hash only.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Creates the session unless the user's password hash changed (or the user was deleted)
    /// since it was read; `None` then. In the same transaction, the user's oldest active
    /// sessions beyond `keep_at_most` (the new one counted, and kept) are revoked with reason
    /// `session_limit`, and their ids returned. Concurrent logins of one user
    /// leave at most `keep_at_most` active (exactly that many when there were more).
    async fn create_session(&self, session: &NewSession)
        -> Result<Option<Vec<String>>, StoreError>;
    /// Atomically spends `old_hash` and makes `new_hash` current, only if `old_hash` is the
    /// current token of an active (unrevoked, unexpired at `now_ms`) session. Concurrent calls
    /// with one `old_hash`: exactly one gets `Rotated`.
    async fn rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now_ms: i64,
    ) -> Result<Rotation, StoreError>;
    /// Revokes a session, with `audit`'s events about its user; `false` when it was already
    /// revoked or does not exist (no event).
    async fn revoke(
        &self,
        session_id: &str,
        reason: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError>;
    /// Revokes the active session that a refresh token (current or spent) belongs to; returns its
    /// id, or `None` when the token is unknown or its session was already revoked.
    async fn revoke_by_token(
        &self,
        token_hash: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError>;
    /// The session behind access-token claims `sub` + `sid` and its user, if that session is
    /// active at `now_ms`, read from the primary or from the nearest copy (`read`).
    async fn active_session(
        &self,
        session_id: &str,
        user_id: &UserId,
        now_ms: i64,
        read: Read,
    ) -> Result<Option<ActiveSession>, StoreError>;
    /// The user's active sessions at `now_ms`, newest first.
    async fn list_sessions(
        &self,
        user_id: &UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionInfo>, StoreError>;
    /// Revokes one active session of this user, with `audit`'s events; `false` when it is not
    /// one (another user's, unknown, already ended: no event).
    async fn revoke_user_session(
        &self,
        user_id: &UserId,
        session_id: &str,
        reason: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<bool, StoreError>;
    /// Revokes every active session of the user except `keep`, with `audit`'s events when it
    /// revokes any; returns the revoked ids.
    async fn revoke_other_sessions(
        &self,
        user_id: &UserId,
        keep: &str,
        reason: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<Vec<String>, StoreError>;
}

/// The scheduled cleanup's deletions, each of at most `limit` rows; each returns how many rows
/// it removed.
#[allow(async_fn_in_trait)]
pub trait CleanupStore {
    /// Spent refresh tokens whose session has ended (revoked, or expired at `now_ms`).
    async fn delete_spent_of_ended_sessions(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError>;
    /// Throttle rows whose window started before `before_ms` (so it has passed).
    async fn delete_attempts_before(&self, before_ms: i64, limit: u32) -> Result<u32, StoreError>;
    /// Sessions that expired or were revoked before `before_ms` (now minus the retention).
    async fn delete_sessions_ended_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError>;
    /// Email tokens that expired or were used before `now_ms`.
    async fn delete_dead_email_tokens(&self, now_ms: i64, limit: u32) -> Result<u32, StoreError>;
    /// Forgot/verification request rows whose window started before `before_ms`.
    async fn delete_email_requests_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError>;
    /// Passkey challenges that expired at `now_ms` unused.
    async fn delete_expired_passkey_challenges(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError>;
    /// `mfa_tokens` rows that expired at or before `now_ms`.
    async fn delete_expired_mfa_tokens(&self, now_ms: i64, limit: u32) -> Result<u32, StoreError>;
    /// Audit events that happened before `before_ms` (now minus `AUDIT_RETENTION_DAYS`).
    async fn delete_audit_events_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError>;
}

/// Where the circuit breaker's state lives (Workers KV in production).
#[allow(async_fn_in_trait)]
pub trait BreakerStore {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError>;
    async fn save(&self, state: &BreakerState) -> Result<(), StoreError>;
}
