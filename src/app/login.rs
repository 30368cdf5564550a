//! Login: `POST /auth/login` (JSON, or the OAuth password form) checks the password and opens a
//! session, answered with a token pair that `/auth/refresh` also uses.

use serde_json::json;

use super::password_check::Authenticated;
use super::{rfc3339, to_json, App, Call};
use crate::api_doc::TokenPair;
use crate::domain::amr::Amr;
use crate::domain::{Email, User};
use crate::http::error::AppError;
use crate::http::{oauth, ApiResponse, Body, Ctx, Fields};
use crate::store::{BreakerStore, NewSession, SessionStore, UserStore};
use crate::tokens;
use crate::tokens::{AccessClaims, ACCESS_TYPE};

/// Longest `User-Agent` kept with a session, in characters.
const USER_AGENT_MAX_CHARS: usize = 256;

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

impl<U: UserStore, S: SessionStore, B: BreakerStore> App<'_, U, S, B> {
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
            user_agent: req
                .get_header("user-agent")
                .filter(|ua| !ua.is_empty())
                .map(|ua| ua.chars().take(USER_AGENT_MAX_CHARS).collect()),
            amr: Amr::password(),
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
        self.token_pair(&user, &session_id, &session.amr, refresh_token, ctx)
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
            &to_json(&TokenPair {
                access_token,
                token_type: "Bearer".into(),
                expires_in: self.config.access_token_ttl_secs,
                refresh_token,
            }),
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
        self.config
            .keys
            .issue(
                &claims,
                super::utc(ctx.now_ms),
                self.config.access_token_ttl_secs,
            )
            .await
            .map_err(AppError::internal)
    }
}
