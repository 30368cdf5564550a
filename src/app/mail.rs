//! Outgoing mail. A handler never sends: it puts a [`MailJob`] in the request's [`Outbox`]; the
//! Worker hands the jobs to a queue ([`MailQueue`]: Cloudflare Queues) once the response is on
//! its way, and the queue's consumer (`app::consumer`) makes the token a reset or verification
//! email needs, renders the job ([`render`]) and sends it ([`Mailer`]: the `send_email`
//! binding), retrying on failure ([`deliver`]). The two traits have in-memory fakes here for the
//! native tests; the real bindings live in `platform`.
//!
//! A queued job never carries a token: the consumer makes it and puts it in the link just before
//! rendering, so it travels only in the mail. Log lines name the kind, the redacted address and
//! ids only.

use crate::log_fields;
use std::cell::{Cell, RefCell};

use serde::{Deserialize, Serialize};

use crate::domain::Email;
use crate::http::Ctx;

/// What an email is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    PasswordReset,
    EmailVerification,
    PasswordChanged,
    PasskeyAdded,
    /// Two-step verification was turned on.
    MfaEnabled,
    /// Two-step verification was turned off.
    MfaDisabled,
    /// A recovery code was used; `left` are still unused.
    RecoveryCodeUsed {
        left: u32,
    },
    /// A reset link an operator sent: outside the hourly cap.
    AdminPasswordReset,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::PasswordChanged => "password_changed",
            Self::PasskeyAdded => "passkey_added",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::RecoveryCodeUsed { .. } => "recovery_code_used",
            Self::AdminPasswordReset => "admin_password_reset",
        }
    }
}

/// One email to send: the queue message's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailJob {
    pub kind: MailKind,
    /// The normalized address.
    pub to: String,
    /// The link with its token, set by the consumer just before rendering: never queued. (A job
    /// queued by an earlier version may carry one: it is sent as it is only when it starts with
    /// the configured origin.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// How long the link works, in seconds (set with `link`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_for_secs: Option<i64>,
    /// The request that asked for it, to follow one email through the logs.
    pub request_id: String,
}

impl MailJob {
    /// The address as logs may show it.
    pub fn redacted_to(&self) -> String {
        Email::parse(&self.to)
            .map(|e| e.redacted())
            .unwrap_or_else(|_| "<invalid>".into())
    }

    /// The token in the link, which no log line may contain.
    fn secret(&self) -> Option<&str> {
        self.link
            .as_deref()
            .and_then(|l| l.split_once("token=").map(|(_, t)| t))
            .filter(|t| !t.is_empty())
    }

    /// `text` with the job's token blanked out and its address redacted (for error messages
    /// that might echo the mail).
    pub fn scrub(&self, text: &str) -> String {
        let text = match self.secret() {
            Some(secret) => text.replace(secret, "[redacted]"),
            None => text.to_owned(),
        };
        if self.to.is_empty() {
            return text;
        }
        text.replace(&self.to, &self.redacted_to())
    }
}

/// The emails one request asked for. The handlers fill it; the Worker drains it after the
/// response is built.
#[derive(Debug, Default)]
pub struct Outbox {
    jobs: RefCell<Vec<MailJob>>,
}

impl Outbox {
    pub fn push(&self, job: MailJob) {
        self.jobs.borrow_mut().push(job);
    }

    pub fn take(&self) -> Vec<MailJob> {
        std::mem::take(&mut *self.jobs.borrow_mut())
    }
}

/// A rendered email, in the `{from, to, subject, text, html}` form of the `send_email` binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Where jobs wait for the consumer (a Cloudflare Queue in the Worker).
#[allow(async_fn_in_trait)]
pub trait MailQueue {
    /// # Errors
    /// The queue refused the jobs (the message is for logs).
    async fn enqueue(&self, jobs: &[MailJob]) -> Result<(), String>;
}

/// What actually sends (the `send_email` binding in the Worker).
#[allow(async_fn_in_trait)]
pub trait Mailer {
    /// Returns the mail service's message id.
    ///
    /// # Errors
    /// The mail service refused or failed (the message is for logs, after [`MailJob::scrub`]).
    async fn send(&self, mail: &Mail) -> Result<String, String>;
}

fn minutes(secs: i64) -> String {
    let m = (secs + 59) / 60;
    match m {
        1 => "1 minute".into(),
        m if m % 60 == 0 && m >= 120 => format!("{} hours", m / 60),
        60 => "1 hour".into(),
        m => format!("{m} minutes"),
    }
}

fn escape_html(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// The English text and HTML of a job.
pub fn render(job: &MailJob, from: &str) -> Mail {
    let link = job.link.clone().unwrap_or_default();
    let valid = minutes(job.valid_for_secs.unwrap_or(0));
    let (subject, intro, action, outro) = match job.kind {
        MailKind::PasswordReset | MailKind::AdminPasswordReset => (
            "Reset your password",
            format!(
                "Someone asked to reset the password of the account {}.",
                job.to
            ),
            format!("To choose a new password, open this link within {valid}:"),
            "The link works once. If you did not ask for this, ignore this email: your password \
             stays as it is."
                .to_owned(),
        ),
        MailKind::EmailVerification => (
            "Verify your email address",
            format!("Please confirm that {} is your email address.", job.to),
            format!("Open this link within {valid}:"),
            "The link works once. If you did not create an account, ignore this email.".to_owned(),
        ),
        MailKind::PasswordChanged => (
            "Your password was changed",
            format!("The password of the account {} was just changed.", job.to),
            String::new(),
            "If this was you, there is nothing to do. If it was not, ask for a password reset \
             now: it signs every device out."
                .to_owned(),
        ),
        MailKind::PasskeyAdded => (
            "A passkey was added to your account",
            format!("A passkey was just added to the account {}.", job.to),
            String::new(),
            "If this was you, there is nothing to do. If it was not, remove the passkey and \
             change your password now."
                .to_owned(),
        ),
        MailKind::MfaEnabled => (
            "Two-step verification was turned on",
            format!(
                "Two-step verification was turned on for the account {}: signing in now also \
                 asks for a code of your authenticator app (or a recovery code).",
                job.to
            ),
            String::new(),
            "If this was not you, reset your password now and contact support.".to_owned(),
        ),
        MailKind::MfaDisabled => (
            "Two-step verification was turned off",
            format!(
                "Two-step verification was turned off for the account {}.",
                job.to
            ),
            String::new(),
            "If this was not you, reset your password now and turn it on again.".to_owned(),
        ),
        MailKind::RecoveryCodeUsed { left } => (
            "A recovery code was used",
            format!(
                "A recovery code of the account {} was just used ({left} left).",
                job.to
            ),
            String::new(),
            "If this was not you, reset your password now. When few codes are left, make a new \
             set in your account settings."
                .to_owned(),
        ),
    };
    let mut text = format!("Hello,\n\n{intro}\n\n");
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><body><p>Hello,</p><p>{}</p>",
        escape_html(&intro)
    );
    if !link.is_empty() {
        text.push_str(&format!("{action}\n\n{link}\n\n"));
        let href = escape_html(&link);
        html.push_str(&format!(
            "<p>{}</p><p><a href=\"{href}\">{href}</a></p>",
            escape_html(&action)
        ));
    }
    text.push_str(&format!("{outro}\n"));
    html.push_str(&format!("<p>{}</p></body></html>", escape_html(&outro)));
    Mail {
        from: from.to_owned(),
        to: job.to.clone(),
        subject: subject.to_owned(),
        text,
        html,
    }
}

/// Hands a request's jobs to the queue, logging each one queued (or the failure: the request
/// has already been answered, so a lost job is logged, never raised).
pub async fn flush(queue: &impl MailQueue, jobs: &[MailJob], ctx: &Ctx) {
    if jobs.is_empty() {
        return;
    }
    match queue.enqueue(jobs).await {
        Ok(()) => {
            for job in jobs {
                ctx.log(
                    "info",
                    "email_queued",
                    log_fields!({ "kind": job.kind.as_str(), "to": job.redacted_to() }),
                );
            }
        }
        Err(cause) => {
            let cause = jobs.iter().fold(cause, |c, j| j.scrub(&c));
            ctx.log(
                "error",
                "email_queue_failed",
                log_fields!({ "jobs": jobs.len(), "cause": cause }),
            );
        }
    }
}

/// What the consumer does with a queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sent: acknowledge.
    Sent,
    /// Nothing to send (no account has the address, the hourly cap is reached, or the job is
    /// unusable): acknowledge; a log line says why.
    NotSent,
    /// Failed: retry later (after the queue's `max_retries` it goes to the dead-letter queue).
    Retry,
}

impl Outcome {
    /// Whether the queue message is done with (acknowledged) rather than retried.
    pub fn acknowledged(self) -> bool {
        !matches!(self, Self::Retry)
    }
}

/// Renders and sends one job, with one JSON log line for the send or the failure (never the
/// token: the failure's cause is scrubbed of it).
pub async fn deliver(
    mailer: &impl Mailer,
    from: &str,
    job: &MailJob,
    queue_message_id: &str,
    ctx: &Ctx,
) -> Outcome {
    let mail = render(job, from);
    match mailer.send(&mail).await {
        Ok(message_id) => {
            ctx.log(
                "info",
                "email_sent",
                log_fields!({
                    "kind": job.kind.as_str(),
                    "to": job.redacted_to(),
                    "message_id": message_id,
                    "queue_message_id": queue_message_id,
                    "origin_request_id": job.request_id,
                }),
            );
            Outcome::Sent
        }
        Err(cause) => {
            ctx.log(
                "error",
                "email_failed",
                log_fields!({
                    "kind": job.kind.as_str(),
                    "to": job.redacted_to(),
                    "queue_message_id": queue_message_id,
                    "origin_request_id": job.request_id,
                    "cause": job.scrub(&cause),
                    "retry": true,
                }),
            );
            Outcome::Retry
        }
    }
}

/// An in-memory queue for the native tests; `fail` makes it refuse.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    pub jobs: RefCell<Vec<MailJob>>,
    pub fail: Cell<bool>,
}

impl MailQueue for MemoryQueue {
    async fn enqueue(&self, jobs: &[MailJob]) -> Result<(), String> {
        if self.fail.get() {
            return Err("queue unavailable".into());
        }
        self.jobs.borrow_mut().extend_from_slice(jobs);
        Ok(())
    }
}

/// An in-memory mailer for the native tests (an inbox); `fail` makes it refuse.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    pub sent: RefCell<Vec<Mail>>,
    pub fail: Cell<bool>,
}

impl Mailer for MemoryMailer {
    async fn send(&self, mail: &Mail) -> Result<String, String> {
        if self.fail.get() {
            // Echo the body, as a careless mail service might: the log must still not show it.
            return Err(format!("refused: {}", mail.text));
        }
        self.sent.borrow_mut().push(mail.clone());
        Ok(format!("msg-{}", self.sent.borrow().len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: MailKind, link: Option<&str>) -> MailJob {
        MailJob {
            kind,
            to: "alice@example.com".into(),
            link: link.map(str::to_owned),
            valid_for_secs: Some(1800),
            request_id: "rid".into(),
        }
    }

    #[test]
    fn a_reset_mail_has_the_link_in_text_and_html() {
        let m = render(
            &job(
                MailKind::PasswordReset,
                Some("https://a.example/reset-password?token=abc"),
            ),
            "noreply@example.com",
        );
        assert_eq!(m.subject, "Reset your password");
        assert!(m
            .text
            .contains("\n\nhttps://a.example/reset-password?token=abc\n\n"));
        assert!(m.text.contains("within 30 minutes"));
        assert!(m
            .html
            .contains("href=\"https://a.example/reset-password?token=abc\""));
        assert_eq!(m.from, "noreply@example.com");
    }

    #[test]
    fn html_is_escaped_and_a_notification_has_no_link() {
        let mut j = job(MailKind::PasswordChanged, None);
        j.to = "a<b>@example.com".into();
        let m = render(&j, "x@example.com");
        assert!(m.html.contains("a&lt;b&gt;@example.com"));
        assert!(!m.text.contains("http"));
        assert_eq!(minutes(86_400), "24 hours");
        assert_eq!(minutes(3600), "1 hour");
    }

    /// Cargo.toml pins `idna_adapter` to its ASCII-only stub: an international domain still
    /// parses in the punycode form workerd hands over, and only a raw Unicode host is refused.
    #[test]
    fn punycode_hosts_parse_with_the_ascii_only_idna_back_end() {
        let url = url::Url::parse("https://xn--bcher-kva.example/auth/me").unwrap();
        assert_eq!(url.host_str(), Some("xn--bcher-kva.example"));
        assert!(url::Url::parse("https://b\u{fc}cher.example/").is_err());
    }

    #[test]
    fn the_token_is_scrubbed_from_error_text() {
        let j = job(
            MailKind::EmailVerification,
            Some("https://a/verify-email?token=s3cr3t"),
        );
        assert_eq!(
            j.scrub("failed for s3cr3t! (alice@example.com)"),
            "failed for [redacted]! (a***@example.com)"
        );
    }
}
