//! The mailbox as a second factor: password forgot/reset, address verification, and the
//! "your password was changed" notice. Tokens are 256 random bits (base64url), stored only as
//! their SHA-256, single-use and short-lived; a newer one voids the older ones of its kind.
//! Neither a token nor a mail is made here: jobs go to the request's outbox (see
//! [`crate::mail`]), and the queue's consumer ([`super::consumer`]) looks the account up, applies
//! the hourly cap, makes the token and sends. So `forgot` does the same work for every address.

use serde_json::json;

use super::account::new_password;
use super::Call;
use super::{rfc3339, to_json, user_json, App};
use crate::api_doc::Accepted;
use crate::domain::{Email, User};
use crate::error::AppError;
use crate::http::{AnyObject, ApiRequest, ApiResponse, Body, Ctx, Fields};
use crate::mail::{MailJob, MailKind};
use crate::store::{BreakerStore, EmailPurpose, PasswordChange, SessionStore, UserStore};
use crate::tokens;

/// The page paths the links point to, under `APP_URL` or the Worker's own origin
/// (`PUBLIC_URL`).
pub const RESET_PAGE: &str = "/reset-password";
pub const VERIFY_PAGE: &str = "/verify-email";

/// The body of `POST /auth/password/forgot`.
struct Forgot {
    email: Email,
}

impl Body for Forgot {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(f.text("email")
            .and_then(|raw| f.check(Email::parse(&raw)))
            .map(|email| Self { email }))
    }
}

/// The body of `POST /auth/password/reset`. The new password is checked against the rules
/// that need no account here, before the token is looked up; the rule that it is not the
/// account's email follows once the account is known.
struct Reset {
    token: String,
    new_password: String,
}

impl Body for Reset {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        let token = f.text("token");
        let new_password = f.text("new_password").and_then(|raw| {
            let checked = new_password(&raw, None).map(|_| raw);
            f.check_all(checked)
        });
        Ok(token.zip(new_password).map(|(token, new_password)| Self {
            token,
            new_password,
        }))
    }
}

/// The body of `POST /auth/email/verify`.
struct EmailToken {
    token: String,
}

impl Body for EmailToken {
    fn from_fields(f: &mut Fields) -> Result<Option<Self>, AppError> {
        Ok(f.text("token").map(|token| Self { token }))
    }
}

fn accepted(message: &str) -> ApiResponse {
    ApiResponse::json(
        202,
        &to_json(&Accepted {
            message: message.to_owned(),
        }),
    )
}

/// Logs that a reset or verification email was not sent for want of an origin for its link
/// (neither `APP_URL` nor `PUBLIC_URL` is set): an operator's error, never the client's.
pub(super) fn link_unconfigured(kind: MailKind, ctx: &Ctx) {
    ctx.log(
        "error",
        "mail_link_unconfigured",
        json!({
            "kind": kind.as_str(),
            "cause": "neither APP_URL nor PUBLIC_URL is set: no origin for the link, nothing sent",
        }),
    );
}

/// A body that may be absent (or JSON `null`); when sent it must be a JSON object (its members
/// are ignored).
fn optional_body(req: &ApiRequest) -> Result<(), AppError> {
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

impl<U: UserStore, S: SessionStore, B: BreakerStore> App<'_, U, S, B> {
    /// `POST /auth/password/forgot`: the same `202` for every well-formed email, after the same
    /// work: one write that counts the request by address and one job in the outbox (sent after
    /// the response). Whether an account has the address is first asked by the queue's consumer.
    pub(super) async fn forgot_password(
        &self,
        call: &Call<'_, B>,
    ) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let Forgot { email } = req.parse()?;
        let purpose = EmailPurpose::PasswordReset;
        guard
            .call(|| self.users.record_email_request(&email, purpose, ctx.now_ms))
            .await?;
        self.queue_token_mail(&email, MailKind::PasswordReset, ctx);
        Ok(accepted(
            "If an account has this address, an email with a reset link is on its way.",
        ))
    }

    /// `POST /auth/password/reset`: looks the token up, then spends it, and only then hashes
    /// the new password (of concurrent resets with one token, the ones that lose hash nothing);
    /// then replaces the password and signs out every session, in one transaction.
    pub(super) async fn reset_password(&self, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {
        let (req, ctx, guard) = (call.req, call.ctx, &call.guard);
        let Reset {
            token,
            new_password: raw,
        } = req.parse()?;
        let (token, raw) = (token.as_str(), raw.as_str());
        let hash = self.token_hash(token, "password_reset", ctx)?;
        let user = guard
            .call(|| {
                self.users
                    .email_token_user(&hash, EmailPurpose::PasswordReset, ctx.now_ms)
            })
            .await?
            .ok_or_else(|| self.token_refused("password_reset", "unusable", ctx))?;
        // Now that the account is known, the rule that the password is not the email (checked
        // before the claim, so that a refused password leaves the link usable).
        let password = new_password(raw, Some(&user.email)).map_err(AppError::Validation)?;
        let version = user.password_version;
        let claimed = guard
            .call(|| {
                self.users
                    .claim_reset_token(&hash, &user.id, version, ctx.now_ms)
            })
            .await?;
        if !claimed {
            // Spent by a concurrent reset since the lookup (or the password set meanwhile).
            return Err(self.token_refused("password_reset", "spent_concurrently", ctx));
        }
        let phc = self.new_password_hash(password.expose(), ctx).await?;
        let updated_at = rfc3339(ctx.now_ms);
        let change = PasswordChange {
            user_id: &user.id,
            phc: &phc,
            updated_at: &updated_at,
            keep_session: None,
            reason: "password_reset",
            now_ms: ctx.now_ms,
        };
        let revoked = guard
            .call(|| self.users.reset_password(&user.email, &change, version))
            .await?
            // A change or another reset committed while this one hashed: it wins, and the
            // link, spent by the claim, is refused like any spent link.
            .ok_or_else(|| self.token_refused("password_reset", "password_changed", ctx))?;
        self.purge_sessions(&revoked, ctx).await;
        ctx.log(
            "info",
            "password_reset",
            json!({ "user_id": user.id.to_string(), "sessions_revoked": revoked.len() }),
        );
        self.notify_password_changed(&user.email, ctx);
        Ok(ApiResponse::empty(204))
    }

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
                json!({
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
        let user = guard
            .call(|| self.users.verify_email(&hash, ctx.now_ms))
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
                    json!({ "cause": "sessions of a verified user not listed" }),
                ),
            }
        }
        ctx.log(
            "info",
            "email_verified",
            json!({ "user_id": user.id.to_string() }),
        );
        Ok(ApiResponse::json(200, &user_json(&user)))
    }

    /// The verification email of a new account.
    pub(super) fn send_welcome_verification(&self, user: &User, ctx: &Ctx) {
        self.queue_token_mail(&user.email, MailKind::EmailVerification, ctx);
    }

    /// The "your password was changed" notice (after a change or a reset).
    pub(super) fn notify_password_changed(&self, email: &Email, ctx: &Ctx) {
        self.outbox.push(MailJob {
            kind: MailKind::PasswordChanged,
            to: email.as_ref().to_owned(),
            link: None,
            valid_for_secs: None,
            request_id: ctx.request_id.clone(),
        });
    }

    /// Refuses the login of an unverified account while `REQUIRE_EMAIL_VERIFICATION` is on
    /// (called only once the password was found right).
    pub(super) fn require_verified(&self, user: &User, ctx: &Ctx) -> Result<(), AppError> {
        if self.config.email.require_verification && !user.email_verified {
            ctx.log(
                "info",
                "login_refused",
                json!({ "reason": "email_not_verified", "user_id": user.id.to_string() }),
            );
            return Err(AppError::EmailNotVerified);
        }
        Ok(())
    }

    /// Queues a reset or verification email for the account of `email`, if it has one: the job
    /// carries the address, never a token (the consumer makes it) nor where the link points
    /// (the consumer takes that from its configuration). Without a configured origin nothing is
    /// queued: a link is never built from anything the request says.
    fn queue_token_mail(&self, email: &Email, kind: MailKind, ctx: &Ctx) {
        if self.config.email.link_origin().is_none() {
            link_unconfigured(kind, ctx);
            return;
        }
        self.outbox.push(MailJob {
            kind,
            to: email.as_ref().to_owned(),
            link: None,
            valid_for_secs: None,
            request_id: ctx.request_id.clone(),
        });
    }

    /// The stored form of a presented token; a malformed one is refused without a lookup.
    fn token_hash(&self, token: &str, purpose: &str, ctx: &Ctx) -> Result<String, AppError> {
        tokens::refresh_token_hash(token)
            .ok_or_else(|| self.token_refused(purpose, "malformed", ctx))
    }

    fn token_refused(&self, purpose: &str, reason: &str, ctx: &Ctx) -> AppError {
        ctx.log(
            "info",
            "email_token_refused",
            json!({ "purpose": purpose, "reason": reason }),
        );
        AppError::InvalidEmailToken
    }
}
