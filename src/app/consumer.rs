//! The mail queue's consumer, one job at a time. A reset or verification job names an address,
//! not an account: here the account is looked up, the per-account hourly cap applied and the
//! token made (256 bits, stored as its SHA-256, voiding the account's older unused ones) before
//! the mail is rendered and sent. Doing that here, and not on the request path, is what lets
//! `forgot` do the same work for a known and an unknown address. No platform type in here: the
//! Worker's `#[event(queue)]` hands each message to [`process`] with the D1 store and the
//! `send_email` binding, the native tests with the SQLite store and a fake mailer.

use crate::log_fields;

use super::email_verification::VERIFY_PAGE;
use super::password_reset::RESET_PAGE;
use crate::app::mail::{self, MailJob, MailKind, Mailer, Outcome};
use crate::config::EmailConfig;
use crate::domain::Email;
use crate::http::{Ctx, LogValue};
use crate::store::{EmailPurpose, EmailTokenStore, Issued, NewEmailToken, StoreError};
use crate::tokens;

/// Handles one queue message's job: for a reset or verification email, issues the token first
/// (an unknown address or a reached cap ends here, with a log line and nothing sent); then
/// renders and sends. Every line names the job's request (`origin_request_id`) and queue
/// message, never the token or the full address.
///
/// A store that is unavailable, or a mail service that fails, is [`Outcome::Retry`]: the queue
/// delivers the message again (after `max_retries`, to the dead-letter queue). A retry makes a
/// fresh token, which voids the one a failed attempt may have stored, so of the tokens a job
/// leads to only the one in the mail that went out can work; its deliveries count once toward
/// the cap (they share the queue message's id).
pub async fn process(
    job: &MailJob,
    store: &impl EmailTokenStore,
    mailer: &impl Mailer,
    config: &EmailConfig,
    queue_message_id: &str,
    ctx: &Ctx,
) -> Outcome {
    let mut max_per_hour = config.max_per_hour;
    let (purpose, page, ttl) = match job.kind {
        MailKind::PasswordReset => (
            EmailPurpose::PasswordReset,
            RESET_PAGE,
            config.reset_ttl_secs,
        ),
        // An operator's reset is not the account's own asking: the hourly cap does not stop it.
        MailKind::AdminPasswordReset => {
            max_per_hour = u32::MAX;
            (
                EmailPurpose::PasswordReset,
                RESET_PAGE,
                config.reset_ttl_secs,
            )
        }
        MailKind::EmailVerification => (
            EmailPurpose::EmailVerification,
            VERIFY_PAGE,
            config.verification_ttl_secs,
        ),
        MailKind::PasswordChanged
        | MailKind::PasskeyAdded
        | MailKind::MfaEnabled
        | MailKind::MfaDisabled
        | MailKind::RecoveryCodeUsed { .. } => {
            return mail::deliver(mailer, &config.from, job, queue_message_id, ctx).await
        }
    };
    // Every line of this job names it; `extra` says what happened.
    let purpose_name = purpose.as_str();
    let log = |level: &str, event: &str, extra: &[(&str, LogValue<'_>)]| {
        let job_fields = log_fields!({
            "purpose": purpose_name,
            "queue_message_id": queue_message_id,
            "origin_request_id": job.request_id,
        });
        let fields: Vec<_> = job_fields.iter().chain(extra).cloned().collect();
        ctx.log(level, event, &fields);
    };
    // The link's origin is this Worker's configuration, never the job's: a job queued by an
    // earlier version may carry one taken from its request's Host.
    let Some(base) = config.link_origin() else {
        super::email_tokens::link_unconfigured(job.kind, ctx);
        return Outcome::NotSent;
    };
    if let Some(link) = &job.link {
        // Queued by an earlier version, with its token already made and stored: sent as it is
        // only when it points where this configuration says.
        if link.starts_with(&format!("{base}{page}?token=")) {
            return mail::deliver(mailer, &config.from, job, queue_message_id, ctx).await;
        }
        log(
            "error",
            "email_dropped",
            log_fields!({ "cause": "a queued link that is not on the configured origin" }),
        );
        return Outcome::NotSent;
    }
    let Ok(email) = Email::parse(&job.to) else {
        log(
            "error",
            "email_dropped",
            log_fields!({ "cause": "job without a valid address" }),
        );
        return Outcome::NotSent;
    };
    let (token, hash) = match tokens::new_refresh_token() {
        Ok(pair) => pair,
        Err(e) => {
            log(
                "error",
                "email_failed",
                log_fields!({ "to": email.redacted(), "cause": e.to_string(), "retry": true }),
            );
            return Outcome::Retry;
        }
    };
    let new = NewEmailToken {
        email: &email,
        purpose,
        token_hash: &hash,
        now_ms: ctx.now_ms,
        expires_at_ms: ctx.now_ms + ttl * 1000,
        max_per_hour,
        queue_message_id,
    };
    match store.issue_email_token(&new).await {
        Ok(Issued::Issued { user_id }) => {
            log(
                "info",
                "email_token_issued",
                log_fields!({ "user_id": user_id }),
            );
            let mut job = job.clone();
            job.link = Some(format!("{base}{page}?token={token}"));
            job.valid_for_secs = Some(ttl);
            mail::deliver(mailer, &config.from, &job, queue_message_id, ctx).await
        }
        Ok(Issued::Capped { user_id }) => {
            log(
                "warn",
                "email_capped",
                log_fields!({ "user_id": user_id, "max_per_hour": config.max_per_hour }),
            );
            Outcome::NotSent
        }
        Ok(Issued::NoAccount) => {
            log(
                "info",
                "email_token_not_issued",
                log_fields!({ "reason": "unknown_email", "email": email.redacted() }),
            );
            Outcome::NotSent
        }
        Err(StoreError::Unavailable(cause)) => {
            log(
                "error",
                "email_failed",
                log_fields!({ "to": email.redacted(), "stage": "token", "cause": cause, "retry": true }),
            );
            Outcome::Retry
        }
        // Bad data, not an outage: retrying cannot fix it.
        Err(StoreError::Corrupt(cause)) => {
            log(
                "error",
                "email_dropped",
                log_fields!({ "to": email.redacted(), "cause": cause }),
            );
            Outcome::NotSent
        }
    }
}
