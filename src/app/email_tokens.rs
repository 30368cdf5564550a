//! The tokens that reset and verification links carry: 256 random bits (base64url), stored only
//! as their SHA-256, single-use and short-lived; a newer one voids the older ones of its kind.
//! Neither a token nor a mail is made on the request: jobs go to the request's outbox (see
//! [`crate::app::mail`]), and the queue's consumer ([`super::consumer`]) looks the account up, applies
//! the hourly cap, makes the token and sends. So `forgot` does the same work for every address.

use crate::log_fields;

use super::{App, Crypto};
use crate::api_doc::Accepted;
use crate::app::mail::{MailJob, MailKind};
use crate::domain::Email;
use crate::http::error::AppError;
use crate::http::{ApiResponse, Ctx};
use crate::store::{BreakerStore, SessionStore, UserStore};
use crate::tokens;

pub(super) fn accepted(message: &str) -> ApiResponse {
    ApiResponse::json(
        202,
        &Accepted {
            message: message.to_owned(),
        },
    )
}

/// Logs that a reset or verification email was not sent for want of an origin for its link
/// (neither `APP_URL` nor `PUBLIC_URL` is set): an operator's error, never the client's.
pub(super) fn link_unconfigured(kind: MailKind, ctx: &Ctx) {
    ctx.log(
        "error",
        "mail_link_unconfigured",
        log_fields!({
            "kind": kind.as_str(),
            "cause": "neither APP_URL nor PUBLIC_URL is set: no origin for the link, nothing sent",
        }),
    );
}

impl<U: UserStore, S: SessionStore, B: BreakerStore, C: Crypto> App<'_, U, S, B, C> {
    /// Queues a reset or verification email for the account of `email`, if it has one: the job
    /// carries the address, never a token (the consumer makes it) nor where the link points
    /// (the consumer takes that from its configuration). Without a configured origin nothing is
    /// queued: a link is never built from anything the request says.
    pub(super) fn queue_token_mail(&self, email: &Email, kind: MailKind, ctx: &Ctx) {
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
    pub(super) fn token_hash(
        &self,
        token: &str,
        purpose: &str,
        ctx: &Ctx,
    ) -> Result<String, AppError> {
        tokens::refresh_token_hash(token)
            .ok_or_else(|| self.token_refused(purpose, "malformed", ctx))
    }

    pub(super) fn token_refused(&self, purpose: &str, reason: &str, ctx: &Ctx) -> AppError {
        ctx.log(
            "info",
            "email_token_refused",
            log_fields!({ "purpose": purpose, "reason": reason }),
        );
        AppError::InvalidEmailToken
    }
}
