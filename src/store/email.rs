//! `EmailTokenStore` on SQL: `email_tokens` (single-use tokens, by hash only), `email_sends`
//! (the per-account hourly cap) and `email_requests` (every forgot request, by address). Every
//! decision that must be atomic is one batch, and so one transaction: the batch's statements
//! run in order with no other write in between.

use super::audit::{event_args, event_statements};
use super::exec::{first_row, ids_if_written, query, rows_of, Columns, FromRow, IntoArg, Sql};
use super::{
    EmailPurpose, EmailTokenStore, Issued, NewEmailToken, PasswordChange, StoreError, UserRow,
    EMAIL_CAP_WINDOW_MS,
};
use crate::domain::{Email, User, UserId};
use crate::store::events::Audit;
use crate::store::sql::audit as audit_sql;
use crate::store::sql::email as sql;

struct UserIdRow {
    user_id: String,
}

impl FromRow for UserIdRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(UserIdRow {
            user_id: row.text("user_id")?,
        })
    }
}

struct RequestsRow {
    requests: f64,
}

impl FromRow for RequestsRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(RequestsRow {
            requests: row.number("requests")?,
        })
    }
}

impl<D: Sql> EmailTokenStore for D {
    async fn record_email_request(
        &self,
        email: &Email,
        purpose: EmailPurpose,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        // Written for every address, known or not (see migrations/0007_email_requests.sql).
        let counted: Option<RequestsRow> = first_row(
            self,
            query!(
                sql::RECORD_REQUEST,
                email.as_ref(),
                purpose.as_str(),
                &now_ms,
                &EMAIL_CAP_WINDOW_MS,
            ),
        )
        .await?;
        counted
            .map(|row| row.requests as u32)
            .ok_or_else(|| StoreError::Unavailable("the request count returned no row".into()))
    }

    async fn issue_email_token(&self, t: &NewEmailToken<'_>) -> Result<Issued, StoreError> {
        // One batch: each statement finds the account through the email, so for an unknown one
        // they all change nothing.
        let (email, purpose) = (t.email.as_ref(), t.purpose.as_str());
        // A delivery of the message that counted last (a retry) is not counted again.
        let count = query!(
            sql::COUNT_SEND,
            email,
            purpose,
            &t.now_ms,
            &EMAIL_CAP_WINDOW_MS,
            t.queue_message_id,
        );
        let void_older = query!(sql::VOID_OLDER, email, purpose, &t.max_per_hour);
        let insert = query!(
            sql::INSERT_TOKEN,
            email,
            purpose,
            t.token_hash,
            &t.now_ms,
            &t.expires_at_ms,
            &t.max_per_hour,
        );
        let results = self.batch(vec![count, void_older, insert]).await?;
        if let Some(row) = rows_of::<UserIdRow>(&results, 2)?.into_iter().next() {
            return Ok(Issued::Issued {
                user_id: row.user_id,
            });
        }
        Ok(
            match rows_of::<UserIdRow>(&results, 0)?.into_iter().next() {
                Some(row) => Issued::Capped {
                    user_id: row.user_id,
                },
                None => Issued::NoAccount,
            },
        )
    }

    async fn email_token_user(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = first_row(
            self,
            query!(sql::LIVE_TOKEN_USER, token_hash, purpose.as_str(), &now_ms),
        )
        .await?;
        row.map(UserRow::decode).transpose()
    }

    async fn claim_reset_token(
        &self,
        token_hash: &str,
        user_id: &UserId,
        version: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        // One statement: D1 writes one at a time, so of concurrent claims one spends the token
        // and the others find it spent.
        let claimed: Option<UserIdRow> = first_row(
            self,
            query!(
                sql::CLAIM_RESET_TOKEN,
                token_hash,
                &user_id.to_string(),
                EmailPurpose::PasswordReset.as_str(),
                &version,
                &now_ms,
            ),
        )
        .await?;
        Ok(claimed.is_some())
    }

    async fn reset_password(
        &self,
        email: &Email,
        c: &PasswordChange<'_>,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        // Every statement runs only while the password is at the version the claim saw, and
        // the last one moves it on: a change or another reset that committed since the claim
        // makes the whole batch a no-op.
        let user_id = c.user_id.to_string();
        let revoke = query!(
            sql::RESET_REVOKE,
            &user_id,
            &version,
            &c.now_ms,
            c.reason,
            c.keep_session.unwrap_or(""),
        );
        let clear = query!(
            sql::RESET_CLEAR_ATTEMPTS,
            &user_id,
            &version,
            email.as_ref()
        );
        // Placed before the statement that moves the version on, it commits with the batch or
        // not at all.
        let void = query!(sql::VOID_RESET_TOKENS, &user_id, &version);
        let update = query!(sql::RESET_PASSWORD, &user_id, &version, c.phc, c.updated_at);
        // The events hold while the version does: they commit exactly when the update writes.
        let events = event_args(c.audit, &[(&user_id).into_arg(), (&version).into_arg()]);
        let mut statements = vec![revoke, clear, void];
        statements.extend(event_statements(audit_sql::IF_PASSWORD_AT, &events));
        statements.push(update);
        let written = statements.len() - 1;
        let results = self.batch(statements).await?;
        ids_if_written(&results, written, 0)
    }

    async fn verify_email(
        &self,
        token_hash: &str,
        now_ms: i64,
        audit: &Audit,
    ) -> Result<Option<User>, StoreError> {
        let purpose = EmailPurpose::EmailVerification.as_str();
        let verify = query!(sql::MARK_VERIFIED, token_hash, purpose, &now_ms);
        // The events, about the token's user, while the token is usable: exactly when the
        // spend that follows writes.
        let events = event_args(
            audit,
            &[
                token_hash.into_arg(),
                purpose.into_arg(),
                (&now_ms).into_arg(),
            ],
        );
        let spend = query!(sql::SPEND_VERIFICATION_TOKEN, token_hash, purpose, &now_ms);
        let user = query!(sql::VERIFIED_USER, token_hash);
        let mut statements = vec![verify];
        statements.extend(event_statements(audit_sql::IF_USABLE_TOKEN, &events));
        let spent = statements.len();
        statements.extend([spend, user]);
        let results = self.batch(statements).await?;
        if rows_of::<UserIdRow>(&results, spent)?.is_empty() {
            return Ok(None);
        }
        rows_of::<UserRow>(&results, spent + 1)?
            .into_iter()
            .next()
            .map(UserRow::decode)
            .transpose()
    }
}
