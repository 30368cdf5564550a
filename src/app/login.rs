//! Login: `POST /auth/login` (JSON, or the OAuth password form) checks the password and opens a
//! session, answered with a token pair that `/auth/refresh` also uses.

use crate::log_fields;

use super::password_check::Authenticated;
use super::{rfc3339, App, Call, Crypto};
use crate::api_doc::TokenPair;
use crate::domain::amr::Amr;
use crate::domain::{Email, User};
use crate::http::error::AppError;
use crate::http::{oauth, ApiResponse, Body, Ctx, Fields};
use crate::store::events::{self, EventKind};
use crate::store::{BreakerStore, NewSession, SessionStore, UserStore};
use crate::tokens;
use crate::tokens::{AccessClaims, ACCESS_TYPE};

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

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    pub(super) async fn login(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let PasswordGrant {
            email: raw_email,
            password: raw_password,
        } = req.parse()?;
        let (raw_email, raw_password) = (raw_email.as_str(), raw_password.as_str());
        // A malformed email cannot name an account: treat it as unknown, at the same cost.
        let email = Email::parse(raw_email).ok();
        let Authenticated {
            user,
            stored,
            mfa_enabled,
            attempt_event,
            disabled,
        } = self
            .authenticate(email.as_ref(), raw_email, raw_password, "login", call)
            .await?;
        // The password was right: the account's failures are cleared (and the check's
        // provisional `login_failed` withdrawn) on every way out, with the session below, or
        // here when the login stops short of one. A disabled account is told so only now, so
        // that its state is no oracle for a wrong password.
        let refused = if disabled {
            ctx.log(
                "info",
                "login_refused",
                log_fields!({ "reason": "account_disabled", "user_id": user.id.to_string() }),
            );
            Err(AppError::AccountDisabled)
        } else {
            self.require_verified(&user, ctx)
        };
        if let Err(e) = refused {
            if let Some(email) = &email {
                guard
                    .call(|| self.users.clear_failures(email, attempt_event))
                    .await?;
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
                    log_fields!({
                        "user_id": user.id.to_string(),
                        "from": stored.algorithm(),
                        "from_iterations": stored.iterations(),
                        "to_iterations": self.config.pbkdf2_iterations,
                    }),
                );
            }
        }

        if mfa_enabled {
            // The password was right, but the second factor is still due: no session yet, and
            // the failures stay counted until that factor is right too (the check's
            // `login_failed` becomes `mfa_required`).
            return Err(self.mfa_required(&user, attempt_event, call).await?);
        }
        // A password changed (or an account deleted) while this login hashed: refused as wrong.
        self.open_session(
            call,
            &user,
            Amr::password(),
            email,
            attempt_event,
            AppError::InvalidCredentials,
        )
        .await
    }

    /// Opens a session for `user`, proven as `amr` says, and answers with its token pair: a
    /// password login, `/auth/mfa/verify`, a passkey login. `clear_attempts_of` is the throttle row the login's
    /// success clears in the same round trip. When the password changed (or the account was
    /// deleted) since the caller read the user, nothing is opened and `refused` is returned.
    pub(super) async fn open_session(
        &self,
        call: &Call<'_, B>,
        user: &User,
        amr: Amr,
        clear_attempts_of: Option<Email>,
        attempt_event: Option<i64>,
        refused: AppError,
    ) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let session_id = crate::domain::random::uuid_v4()
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
            user_agent: events::user_agent(req),
            amr,
            password_version: user.password_version,
            // The successful check's throttle reset rides with the session's creation.
            clear_attempts_of,
            keep_at_most: self.config.max_sessions_per_user,
            now_ms: ctx.now_ms,
            audit: call.audit(&[EventKind::LoginSucceeded]),
            attempt_event,
        };
        let Some(ended) = guard
            .call(|| self.sessions.create_session(&session))
            .await?
        else {
            ctx.log(
                "info",
                "login_failed",
                log_fields!({ "reason": "password_changed", "user_id": user.id.to_string() }),
            );
            return Err(refused);
        };
        ctx.log(
            "info",
            "login_succeeded",
            log_fields!({ "user_id": user.id.to_string(), "sid": session_id }),
        );
        if !ended.is_empty() {
            // Over `MAX_SESSIONS_PER_USER`: the oldest sessions ended, as a logout ends one.
            self.purge_sessions(&ended, ctx).await;
            ctx.log(
                "info",
                "session_limit",
                log_fields!({
                    "user_id": user.id.to_string(),
                    "sid": session_id,
                    "revoked": ended.len(),
                    "sids": ended,
                }),
            );
        }
        self.token_pair(user, &session_id, &session.amr, refresh_token, ctx)
            .await
    }

    /// The login/refresh response: a new access token for session `sid`, opened as `amr` says,
    /// and the given refresh token.
    pub(super) async fn token_pair(
        &self,
        user: &User,
        sid: &str,
        amr: &Amr,
        refresh_token: String,
        ctx: &Ctx,
    ) -> Result<ApiResponse, AppError> {
        let access_token = self.issue_access_token(user, sid, amr, ctx).await?;
        Ok(ApiResponse::json(
            200,
            &TokenPair {
                access_token,
                token_type: "Bearer".into(),
                expires_in: self.config.access_token_ttl_secs,
                refresh_token,
            },
        ))
    }

    async fn issue_access_token(
        &self,
        user: &User,
        sid: &str,
        amr: &Amr,
        ctx: &Ctx,
    ) -> Result<String, AppError> {
        let claims = AccessClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: user.id.to_string(),
            email: user.email.as_ref().to_owned(),
            email_verified: user.email_verified,
            sid: sid.to_owned(),
            jti: crate::domain::random::uuid_v4()
                .map_err(AppError::internal)?
                .to_string(),
            typ: ACCESS_TYPE.to_owned(),
            amr: amr.clone(),
        };
        self.keys
            .issue(
                &claims,
                super::utc(ctx.now_ms),
                self.config.access_token_ttl_secs,
            )
            .await
            .map_err(AppError::internal)
    }
}
