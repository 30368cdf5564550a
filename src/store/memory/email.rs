//! The in-memory twin of `EmailTokenStore` (email tokens, the hourly send counter and the
//! per-address request counter).

use super::{MemoryDb, MemoryEmailToken};

use crate::domain::{Email, User, UserId};
use crate::store::{
    EmailPurpose, EmailTokenStore, Issued, NewEmailToken, PasswordChange, StoreError, UserRow,
    EMAIL_CAP_WINDOW_MS,
};

impl MemoryDb {
    /// Whether `token_hash` is a usable (unused, unexpired) token of `purpose`; its user id.
    fn usable_token(&self, token_hash: &str, purpose: EmailPurpose, now_ms: i64) -> Option<String> {
        self.email_tokens
            .borrow()
            .get(token_hash)
            .filter(|t| {
                t.purpose == purpose.as_str() && t.used_at_ms.is_none() && t.expires_at_ms > now_ms
            })
            .map(|t| t.user_id.clone())
    }

    fn spend_token(&self, token_hash: &str, now_ms: i64) {
        if let Some(t) = self.email_tokens.borrow_mut().get_mut(token_hash) {
            t.used_at_ms = Some(now_ms);
        }
    }

    /// Voids the user's pending reset tokens (`sql::email::VOID_RESET_TOKENS`), as part of a
    /// password change or a reset.
    pub(super) fn void_reset_tokens(&self, user_id: &str) {
        let purpose = EmailPurpose::PasswordReset.as_str();
        self.email_tokens.borrow_mut().retain(|_, t| {
            !(t.user_id == user_id && t.purpose == purpose && t.used_at_ms.is_none())
        });
    }

    /// Moves an email token's expiry, as time passing would.
    pub fn set_email_token_expiry(&self, token_hash: &str, expires_at_ms: i64) {
        if let Some(t) = self.email_tokens.borrow_mut().get_mut(token_hash) {
            t.expires_at_ms = expires_at_ms;
        }
    }
}

/// Mirrors `storage::email`: the same counting window, voiding and single use.
impl EmailTokenStore for MemoryDb {
    async fn record_email_request(
        &self,
        email: &Email,
        purpose: EmailPurpose,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        self.enter()?;
        let mut requests = self.email_requests.borrow_mut();
        let key = (email.as_ref().to_owned(), purpose.as_str());
        let next = match requests.get(&key) {
            Some(&(n, start)) if now_ms < start + EMAIL_CAP_WINDOW_MS => (n + 1, start),
            _ => (1, now_ms),
        };
        requests.insert(key, next);
        Ok(next.0)
    }

    async fn issue_email_token(&self, t: &NewEmailToken<'_>) -> Result<Issued, StoreError> {
        self.enter()?;
        let Some(user_id) = self
            .users
            .borrow()
            .get(t.email.as_ref())
            .map(|u| u.id.clone())
        else {
            return Ok(Issued::NoAccount);
        };
        let purpose = t.purpose.as_str();
        let mut sends = self.email_sends.borrow_mut();
        let counted = match sends.get(&(user_id.clone(), purpose)) {
            Some((sent, start, last)) if t.now_ms < start + EMAIL_CAP_WINDOW_MS => {
                let again = last == t.queue_message_id;
                (if again { *sent } else { sent + 1 }, *start)
            }
            _ => (1, t.now_ms),
        };
        sends.insert(
            (user_id.clone(), purpose),
            (counted.0, counted.1, t.queue_message_id.to_owned()),
        );
        if counted.0 > t.max_per_hour {
            return Ok(Issued::Capped { user_id });
        }
        let mut tokens = self.email_tokens.borrow_mut();
        tokens.retain(|_, old| {
            !(old.user_id == user_id && old.purpose == purpose && old.used_at_ms.is_none())
        });
        tokens.insert(
            t.token_hash.to_owned(),
            MemoryEmailToken {
                user_id: user_id.clone(),
                purpose: purpose.to_owned(),
                expires_at_ms: t.expires_at_ms,
                used_at_ms: None,
            },
        );
        Ok(Issued::Issued { user_id })
    }

    async fn email_token_user(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        self.enter()?;
        let Some(user_id) = self.usable_token(token_hash, purpose, now_ms) else {
            return Ok(None);
        };
        self.user_by_id(&user_id).map(UserRow::decode).transpose()
    }

    async fn claim_reset_token(
        &self,
        token_hash: &str,
        user_id: &UserId,
        version: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.enter()?;
        let id = user_id.to_string();
        let at_version = self
            .user_by_id(&id)
            .is_some_and(|u| u.password_version as i64 == version);
        if !at_version
            || self.usable_token(token_hash, EmailPurpose::PasswordReset, now_ms) != Some(id)
        {
            return Ok(false);
        }
        self.spend_token(token_hash, now_ms);
        Ok(true)
    }

    async fn reset_password(
        &self,
        email: &Email,
        c: &PasswordChange<'_>,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        self.enter()?;
        let revoked = self.set_password(c, version, true);
        if revoked.is_some() {
            self.attempts.borrow_mut().remove(email.as_ref());
        }
        Ok(revoked)
    }

    async fn verify_email(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        self.enter()?;
        let Some(id) = self.usable_token(token_hash, EmailPurpose::EmailVerification, now_ms)
        else {
            return Ok(None);
        };
        if let Some(u) = self.users.borrow_mut().values_mut().find(|u| u.id == id) {
            u.email_verified = 1.0;
        }
        self.spend_token(token_hash, now_ms);
        self.user_by_id(&id).map(UserRow::decode).transpose()
    }
}
