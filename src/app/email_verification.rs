//! Email verification: the link sent at registration and on `POST /auth/email/verification`,
//! spent by `POST /auth/email/verify`; and `REQUIRE_EMAIL_VERIFICATION`'s check at login.

use crate::log_fields;

use super::email_tokens::accepted;
use super::{user_view, App, Call, Crypto};
use crate::app::mail::MailKind;
use crate::domain::User;
use crate::http::error::AppError;
use crate::http::{AnyObject, ApiRequest, ApiResponse, Body, Ctx, Fields};
use crate::store::events::EventKind;
use crate::store::{BreakerStore, EmailPurpose, SessionStore, UserStore};

pub const VERIFY_PAGE: &str = "/verify-email";

/// The body of `POST /auth/email/verify`.
struct EmailToken {
    token: String,
}

impl Body for EmailToken {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(f.text("token").map(|token| Self { token }))
    }
}

/// A body that may be absent (or JSON `null`); when sent it must be a JSON object (its members
/// are ignored).
pub(super) fn optional_body(req: &ApiRequest) -> Result<(), AppError> {
    match &req.body {
        Ok(bytes) if bytes.is_empty() => Ok(()),
        Ok(bytes) if bytes.trim_ascii() == b"null" => ApiRequest {
            body: Ok(b"{}".to_vec()),
            ..req.clone()
        }
        .parse::<AnyObject>()
        .map(drop),
        _ => req.parse::<AnyObject>().map(drop),
    }
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// `POST /auth/email/verification` (Bearer): a new verification email, for at most
    /// `EMAIL_MAX_PER_HOUR` requests an hour (past that the same `202`, nothing queued). Its
    /// body is optional: nothing, JSON `null` or a JSON object.
    pub(super) async fn request_verification(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let (_, user) = self.bearer_user(call).await?;
        optional_body(req)?;
        if user.email_verified {
            return Err(AppError::EmailAlreadyVerified);
        }
        // Counted before anything is queued: past the hourly cap the answer is the same and no
        // job reaches the queue, so a flood of requests makes no queue or consumer work. (The
        // consumer's own cap, on emails sent per account, still applies to what is queued.)
        let purpose = EmailPurpose::EmailVerification;
        let requests = guard
            .call(|| {
                self.users
                    .record_email_request(&user.email, purpose, ctx.now_ms)
            })
            .await?;
        let max_per_hour = self.config.email.max_per_hour;
        if requests > max_per_hour {
            ctx.log(
                "warn",
                "email_request_capped",
                log_fields!({
                    "purpose": purpose.as_str(),
                    "user_id": user.id.to_string(),
                    "max_per_hour": max_per_hour,
                }),
            );
        } else {
            self.queue_token_mail(&user.email, MailKind::EmailVerification, ctx);
        }
        Ok(accepted("A verification email is on its way."))
    }

    /// `POST /auth/email/verify`: spends a verification token; no bearer needed (the link may
    /// be opened on another device).
    pub(super) async fn verify_email(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let EmailToken { token } = req.parse()?;
        let token = token.as_str();
        let hash = self.token_hash(token, "email_verification", ctx)?;
        let audit = call.audit(&[EventKind::EmailVerified]);
        let user = guard
            .call(|| self.users.verify_email(&hash, ctx.now_ms, &audit))
            .await?
            .ok_or_else(|| self.token_refused("email_verification", "unusable", ctx))?;
        // The cached state of the user's sessions says "not verified": drop it in this
        // location. The address is verified either way, so a failure here is only logged.
        if self.session_cache.enabled() {
            match guard
                .call(|| self.sessions.list_sessions(&user.id, ctx.now_ms))
                .await
            {
                Ok(sessions) => {
                    let ids: Vec<String> = sessions.into_iter().map(|s| s.id).collect();
                    self.purge_sessions(&ids, ctx).await;
                }
                Err(_) => ctx.log(
                    "warn",
                    "session_cache_failed",
                    log_fields!({ "cause": "sessions of a verified user not listed" }),
                ),
            }
        }
        ctx.log(
            "info",
            "email_verified",
            log_fields!({ "user_id": user.id.to_string() }),
        );
        let mfa_enabled = self.mfa_enabled(&user, call).await?;
        Ok(ApiResponse::json(200, &user_view(&user, mfa_enabled)))
    }

    /// The verification email of a new account.
    pub(super) fn send_welcome_verification(&self, user: &User, ctx: &Ctx) {
        self.queue_token_mail(&user.email, MailKind::EmailVerification, ctx);
    }

    /// Refuses the login of an unverified account while `REQUIRE_EMAIL_VERIFICATION` is on
    /// (called only once the password was found right).
    pub(super) fn require_verified(&self, user: &User, ctx: &Ctx) -> Result<(), AppError> {
        if self.config.email.require_verification && !user.email_verified {
            ctx.log(
                "info",
                "login_refused",
                log_fields!({ "reason": "email_not_verified", "user_id": user.id.to_string() }),
            );
            return Err(AppError::EmailNotVerified);
        }
        Ok(())
    }
}
