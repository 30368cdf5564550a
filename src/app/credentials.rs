//! Credentials: registration, login, and the one password check that login and every
//! re-authentication (password change, account deletion) go through.

use std::cell::Cell;
use std::rc::Rc;

use serde_json::json;

use super::Call;
use super::{redact_raw, rfc3339, to_json, user_json, App};
use crate::api_doc::TokenPair;
use crate::domain::{Email, Password, User, UserId};
use crate::error::AppError;
use crate::http::{oauth, ApiResponse, Body, Ctx, Fields};
use crate::password::{self, PasswordHash, StoredHash};
use crate::store::{BreakerStore, LoginLookup, NewSession, SessionStore, UserStore};
use crate::throttle;
use crate::tokens::{self, AccessClaims, ACCESS_TYPE};

/// A fixed salt for the dummy work of a failed login (its result is thrown away).
pub(super) const DUMMY_SALT: &[u8; password::SALT_LEN] = b"edge-auth-dummy!";
/// Longest `User-Agent` kept with a session, in characters.
const USER_AGENT_MAX_CHARS: usize = 256;

/// The body of `POST /auth/register`.
struct Registration {
    email: Email,
    password: Password,
}

impl Body for Registration {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        let email = f.text("email").and_then(|raw| f.check(Email::parse(&raw)));
        let password = f
            .text("password")
            .and_then(|raw| f.check_all(Password::parse(&raw, email.as_ref())));
        Ok(email
            .zip(password)
            .map(|(email, password)| Self { email, password }))
    }
}

/// The body of `POST /auth/login`: JSON `{"email", "password"}` or the OAuth password form
/// (RFC 6749 §4.3.2), whose `username` is the email. The email is taken as typed: a malformed
/// one names no account, and is answered as an unknown one.
struct PasswordGrant {
    email: String,
    password: String,
}

impl Body for PasswordGrant {
    const FORM: bool = true;

    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        oauth::check_grant_type(f, oauth::PASSWORD_GRANT)?;
        let is_form = f.has("username") && !f.has("email");
        let email = f.text(if is_form { "username" } else { "email" });
        let password = f.text("password");
        Ok(email
            .zip(password)
            .map(|(email, password)| Self { email, password }))
    }
}

/// A password check that passed: the account and its stored hash.
pub(super) struct Authenticated {
    pub user: User,
    pub stored: StoredHash,
}

impl<U: UserStore, S: SessionStore, B: BreakerStore> App<'_, U, S, B> {
    pub(super) async fn register(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let Registration { email, password } = req.parse()?;
        let phc = self.new_password_hash(password.expose(), ctx).await?;
        let user = User {
            id: UserId::new_random().map_err(AppError::internal)?,
            email,
            password_hash: phc,
            password_version: 0,
            created_at: rfc3339(ctx.now_ms),
            email_verified: false,
        };
        if !guard.call(|| self.users.insert_user(&user)).await? {
            ctx.log(
                "info",
                "register_rejected",
                json!({ "reason": "email_taken", "email": user.email.redacted() }),
            );
            return Err(AppError::EmailTaken);
        }
        ctx.log(
            "info",
            "user_registered",
            json!({ "user_id": user.id.to_string(), "email": user.email.redacted() }),
        );
        self.send_welcome_verification(&user, ctx);
        Ok(ApiResponse::json(201, &user_json(&user)).with_header("location", "/auth/me"))
    }

    pub(super) async fn login(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let PasswordGrant {
            email: raw_email,
            password: raw_password,
        } = req.parse()?;
        let (raw_email, raw_password) = (raw_email.as_str(), raw_password.as_str());
        // A malformed email cannot name an account: treat it as unknown, at the same cost.
        let email = Email::parse(raw_email).ok();
        let Authenticated { user, stored } = self
            .authenticate(email.as_ref(), raw_email, raw_password, "login", call)
            .await?;
        // The password was right: the account's failures are cleared on every way out, with
        // the session below, or here when the login stops short of one.
        if let Err(e) = self.require_verified(&user, ctx) {
            if let Some(email) = &email {
                guard.call(|| self.users.clear_failures(email)).await?;
            }
            return Err(e);
        }

        if stored.needs_rehash(self.config.pbkdf2_iterations, raw_password) {
            let phc = self.new_password_hash(raw_password, ctx).await?;
            let updated_at = rfc3339(ctx.now_ms);
            // Written only if no change or reset committed since the check (then the session
            // below is refused too); a concurrent login's rehash of the same password may win.
            let version = user.password_version;
            let written = guard
                .call(|| {
                    self.users
                        .update_password_hash(&user.id, &phc, &updated_at, version)
                })
                .await?;
            if written {
                ctx.log(
                    "info",
                    "password_rehashed",
                    json!({
                        "user_id": user.id.to_string(),
                        "from": stored.algorithm(),
                        "from_iterations": stored.iterations(),
                        "to_iterations": self.config.pbkdf2_iterations,
                    }),
                );
            }
        }

        let session_id = crate::random::uuid_v4()
            .map_err(AppError::internal)?
            .to_string();
        let (refresh_token, refresh_hash) =
            tokens::new_refresh_token().map_err(AppError::internal)?;
        let session = NewSession {
            id: session_id.clone(),
            user_id: user.id.clone(),
            refresh_hash,
            created_at: rfc3339(ctx.now_ms),
            expires_at_ms: ctx.now_ms + self.config.refresh_token_ttl_secs * 1000,
            user_agent: req
                .get_header("user-agent")
                .filter(|ua| !ua.is_empty())
                .map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect()),
            password_version: user.password_version,
            // The successful check's throttle reset rides with the session's creation.
            clear_attempts_of: email.clone(),
            keep_at_most: self.config.max_sessions_per_user,
            now_ms: ctx.now_ms,
        };
        let Some(ended) = guard
            .call(|| self.sessions.create_session(&session))
            .await?
        else {
            // The password was changed (or the account deleted) while this login hashed.
            ctx.log(
                "info",
                "login_failed",
                json!({ "reason": "password_changed", "user_id": user.id.to_string() }),
            );
            return Err(AppError::InvalidCredentials);
        };
        ctx.log(
            "info",
            "login_succeeded",
            json!({ "user_id": user.id.to_string(), "sid": session_id }),
        );
        if !ended.is_empty() {
            // Over `MAX_SESSIONS_PER_USER`: the oldest sessions ended, as a logout ends one.
            self.purge_sessions(&ended, ctx).await;
            ctx.log(
                "info",
                "session_limit",
                json!({
                    "user_id": user.id.to_string(),
                    "sid": session_id,
                    "revoked": ended.len(),
                    "sids": ended,
                }),
            );
        }
        self.token_pair(&user, &session_id, refresh_token, ctx)
    }

    /// The password check of login and of every re-authentication: the attempt is reserved
    /// against the account's throttle *before* hashing (so concurrent guesses cannot pass the
    /// limit), then the password is checked at no less than the configured cost. A success
    /// leaves the reservation for the caller to clear (`clear_failures`, or login's session
    /// creation, which does it in the same round trip). `purpose` names the caller in the
    /// audit log.
    ///
    /// # Errors
    /// `429 too_many_attempts` when throttled (nothing hashed), `401 invalid_credentials` for an
    /// unknown email or a wrong password, `503` when the database is unavailable.
    pub(super) async fn authenticate(
        &self,
        email: Option<&Email>,
        raw_email: &str,
        password: &str,
        purpose: &str,
        call: &Call<'_, B>,
    ) -> Result<Authenticated, AppError> {
        let (ctx, guard) = (call.ctx, &call.guard);
        let window_ms = self.config.throttle.window_secs * 1000;
        let lookup = match email {
            Some(email) => Some(
                guard
                    .call(|| self.users.begin_login(email, ctx.now_ms, window_ms))
                    .await?,
            ),
            None => None,
        };
        let (user, failures, imported_hash_work) = match lookup {
            Some(LoginLookup {
                user,
                attempts,
                imported_hash_work,
            }) => {
                if let throttle::Decision::Throttle { retry_after_secs } =
                    throttle::admit(attempts, ctx.now_ms, &self.config.throttle)
                {
                    ctx.log(
                        "warn",
                        "login_throttled",
                        json!({
                            "email": redact_raw(raw_email),
                            "purpose": purpose,
                            "retry_after": retry_after_secs,
                        }),
                    );
                    return Err(AppError::TooManyAttempts {
                        retry_after: retry_after_secs,
                    });
                }
                (user, Some(attempts.failures), imported_hash_work)
            }
            // No account to look up, but the failure costs what an unknown email's does.
            None => (
                None,
                None,
                guard.call(|| self.users.imported_hash_work()).await?,
            ),
        };
        let floor = password::failure_floor(
            self.config.login_failure_iterations,
            imported_hash_work,
            &self.config.hash_bounds(),
        );
        // The hashing this request did: other requests hash on the isolate in between.
        let work = Rc::new(Cell::new(0));
        let check = self.check_password(user, password, floor, ctx);
        match password::counting(work.clone(), check).await {
            Ok((user, stored)) => Ok(Authenticated { user, stored }),
            Err(reason) => {
                ctx.log(
                    "info",
                    "login_failed",
                    json!({
                        "reason": reason,
                        "purpose": purpose,
                        "email": redact_raw(raw_email),
                        "failures_in_window": failures,
                        "hash_iterations": work.get(),
                    }),
                );
                Err(AppError::InvalidCredentials)
            }
        }
    }

    /// Checks a password against a user's stored hash (ours, or one moved in from another
    /// service). Every failure costs at least `floor` iterations of PBKDF2
    /// ([`password::failure_floor`]: `LOGIN_FAILURE_ITERATIONS`, by default the configured
    /// count, or the costliest imported hash if that is more): an unknown email, an unreadable
    /// row or a refused hash run it as dummy work, and a wrong password on a cheaper stored hash
    /// (fewer iterations, or an imported bcrypt/Argon2/Django hash) is topped up to it, so no
    /// failure reason answers faster than another. The reason is for logs only.
    async fn check_password(
        &self,
        user: Option<Result<User, String>>,
        password: &str,
        floor: u32,
        ctx: &Ctx,
    ) -> Result<(User, StoredHash), &'static str> {
        let dummy = |iterations: u32| async move {
            if iterations > 0 {
                password::derive_yielding(password, DUMMY_SALT, iterations, || ctx.pause()).await;
            }
        };
        let user = match user {
            None => {
                dummy(floor).await;
                return Err("unknown_email");
            }
            Some(Err(why)) => {
                ctx.log("error", "stored_row_invalid", json!({ "cause": why }));
                dummy(floor).await;
                return Err("stored_row_invalid");
            }
            Some(Ok(user)) => user,
        };
        let stored = match StoredHash::parse(&user.password_hash, &self.config.hash_bounds()) {
            Ok(h) => h,
            Err(e) => {
                ctx.log(
                    "error",
                    "stored_hash_refused",
                    json!({ "user_id": user.id.to_string(), "reason": e.to_string() }),
                );
                dummy(floor).await;
                return Err("stored_hash_refused");
            }
        };
        if stored.verify_yielding(password, || ctx.pause()).await {
            Ok((user, stored))
        } else {
            password::pad_failure(password, stored.work_iterations(), floor, || ctx.pause()).await;
            Err("wrong_password")
        }
    }

    /// A fresh hash of `password` at the configured count, as stored (the PHC string): what
    /// register, the login rehash, a password change and a reset all store.
    pub(super) async fn new_password_hash(
        &self,
        password: &str,
        ctx: &Ctx,
    ) -> Result<String, AppError> {
        ctx.count_new_password_hash();
        let hash =
            PasswordHash::create_yielding(password, self.config.pbkdf2_iterations, || ctx.pause())
                .await
                .map_err(AppError::internal)?;
        Ok(hash.to_phc())
    }

    /// The login/refresh response: a new access token for `sid` and the given refresh token.
    pub(super) fn token_pair(
        &self,
        user: &User,
        sid: &str,
        refresh_token: String,
        ctx: &Ctx,
    ) -> Result<ApiResponse, AppError> {
        let access_token = self.issue_access_token(user, sid, ctx)?;
        Ok(ApiResponse::json(
            200,
            &to_json(&TokenPair {
                access_token,
                token_type: "Bearer".into(),
                expires_in: self.config.access_token_ttl_secs,
                refresh_token,
            }),
        ))
    }

    fn issue_access_token(&self, user: &User, sid: &str, ctx: &Ctx) -> Result<String, AppError> {
        let claims = AccessClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: user.id.to_string(),
            email: user.email.as_ref().to_owned(),
            email_verified: user.email_verified,
            sid: sid.to_owned(),
            jti: crate::random::uuid_v4()
                .map_err(AppError::internal)?
                .to_string(),
            typ: ACCESS_TYPE.to_owned(),
        };
        self.config
            .keys
            .issue(
                &claims,
                super::utc(ctx.now_ms),
                self.config.access_token_ttl_secs,
            )
            .map_err(AppError::internal)
    }
}
