//! `EmailTokenStore` on D1: `email_tokens` (single-use tokens, by hash only), `email_sends`
//! (the per-account hourly cap) and `email_requests` (every forgot request, by address). Every decision that must be atomic is one batch, and so one
//! transaction: D1 runs a batch's statements in order with no other write in between.

use super::d1::{query, FromRow, Row};
use super::{batch, changes, first_row, rows_of, D1Store};
use crate::domain::{Email, User};
use crate::sql::email as sql;
use crate::store::{
    EmailPurpose, EmailTokenStore, Issued, NewEmailToken, PasswordChange, StoreError, UserRow,
    EMAIL_CAP_WINDOW_MS,
};

struct UserIdRow {
    user_id: String,
}

impl FromRow for UserIdRow {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(UserIdRow {
            user_id: row.text("user_id")?,
        })
    }
}

impl EmailTokenStore for D1Store {
    async fn record_email_request(
        &self,
        email: &Email,
        purpose: EmailPurpose,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // Written for every address, known or not (see migrations/0007_email_requests.sql).
        changes(query!(
            &self.0,
            sql::RECORD_REQUEST,
            email.as_ref(),
            purpose.as_str(),
            &now_ms,
            &EMAIL_CAP_WINDOW_MS,
        ))
        .await
        .map(drop)
    }

    async fn issue_email_token(&self, t: &NewEmailToken<'_>) -> Result<Issued, StoreError> {
        // One batch: each statement finds the account through the email, so for an unknown one
        // they all change nothing.
        let (email, purpose) = (t.email.as_ref(), t.purpose.as_str());
        // A delivery of the message that counted last (a retry) is not counted again.
        let count = query!(
            &self.0,
            sql::COUNT_SEND,
            email,
            purpose,
            &t.now_ms,
            &EMAIL_CAP_WINDOW_MS,
            t.queue_message_id,
        );
        let void_older = query!(&self.0, sql::VOID_OLDER, email, purpose, &t.max_per_hour);
        let insert = query!(
            &self.0,
            sql::INSERT_TOKEN,
            email,
            purpose,
            t.token_hash,
            &t.now_ms,
            &t.expires_at_ms,
            &t.max_per_hour,
        );
        let results = batch(&self.0, vec![count, void_older, insert]).await?;
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
        let row: Option<UserRow> = first_row(query!(
            &self.0,
            sql::LIVE_TOKEN_USER,
            token_hash,
            purpose.as_str(),
            &now_ms,
        ))
        .await?;
        row.map(UserRow::decode).transpose()
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        email: &Email,
        c: &PasswordChange<'_>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        // Every statement is conditional on the token still being usable, and the last one
        // spends it: of concurrent resets with one token, the first batch does it all and the
        // others change nothing.
        let user_id = c.user_id.to_string();
        let purpose = EmailPurpose::PasswordReset.as_str();
        let update = query!(
            &self.0,
            sql::RESET_PASSWORD,
            token_hash,
            &user_id,
            purpose,
            c.phc,
            c.updated_at,
            &c.now_ms,
        );
        let revoke = query!(
            &self.0,
            sql::RESET_REVOKE,
            token_hash,
            &user_id,
            purpose,
            &c.now_ms,
            c.reason,
            c.keep_session.unwrap_or(""),
        );
        let clear = query!(
            &self.0,
            sql::RESET_CLEAR_ATTEMPTS,
            token_hash,
            &user_id,
            purpose,
            &c.now_ms,
            email.as_ref(),
        );
        let spend = query!(
            &self.0,
            sql::SPEND_RESET_TOKEN,
            token_hash,
            &user_id,
            purpose,
            &c.now_ms,
        );
        let results = batch(&self.0, vec![update, revoke, clear, spend]).await?;
        if rows_of::<UserIdRow>(&results, 3)?.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            rows_of::<super::IdRow>(&results, 1)?
                .into_iter()
                .map(|r| r.id)
                .collect(),
        ))
    }

    async fn verify_email(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        let purpose = EmailPurpose::EmailVerification.as_str();
        let verify = query!(&self.0, sql::MARK_VERIFIED, token_hash, purpose, &now_ms);
        let spend = query!(
            &self.0,
            sql::SPEND_VERIFICATION_TOKEN,
            token_hash,
            purpose,
            &now_ms,
        );
        let user = query!(&self.0, sql::VERIFIED_USER, token_hash);
        let results = batch(&self.0, vec![verify, spend, user]).await?;
        if rows_of::<UserIdRow>(&results, 1)?.is_empty() {
            return Ok(None);
        }
        rows_of::<UserRow>(&results, 2)?
            .into_iter()
            .next()
            .map(UserRow::decode)
            .transpose()
    }
}
