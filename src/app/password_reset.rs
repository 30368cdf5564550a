//! Password reset by email: `POST /auth/password/forgot` queues a link, the same `202` for every
//! address; `POST /auth/password/reset` spends the link's token and replaces the password. Also
//! the "your password was changed" notice.

use crate::log_fields;

use super::email_tokens::accepted;
use super::password_change::new_password;
use super::{rfc3339, App, Call, Crypto};
use crate::app::mail::{MailJob, MailKind};
use crate::domain::Email;
use crate::http::error::AppError;
use crate::http::{ApiResponse, Body, Ctx, Fields};
use crate::store::events::EventKind;
use crate::store::{BreakerStore, EmailPurpose, PasswordChange, SessionStore, UserStore};

/// The page paths the links point to, under `APP_URL` or the Worker's own origin
/// (`PUBLIC_URL`).
pub const RESET_PAGE: &str = "/reset-password";

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

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
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
        let audit = call.audit(&[EventKind::PasswordReset]);
        let change = PasswordChange {
            user_id: &user.id,
            phc: &phc,
            updated_at: &updated_at,
            keep_session: None,
            reason: "password_reset",
            now_ms: ctx.now_ms,
            audit: &audit,
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
            log_fields!({ "user_id": user.id.to_string(), "sessions_revoked": revoked.len() }),
        );
        self.notify_password_changed(&user.email, ctx);
        Ok(ApiResponse::empty(204))
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
}
