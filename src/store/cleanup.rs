//! `CleanupStore` on SQL: bounded deletions for the scheduled cleanup. Each statement deletes
//! at most `limit` rows, picked through an indexed sub-select.

use super::exec::{changes, query, Sql};
use super::{CleanupStore, StoreError};
use crate::store::sql::cleanup as sql;

impl<D: Sql> CleanupStore for D {
    async fn delete_spent_of_ended_sessions(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        changes(self, query!(sql::SPENT_OF_ENDED_SESSIONS, &now_ms, &limit)).await
    }

    async fn delete_attempts_before(&self, before_ms: i64, limit: u32) -> Result<u32, StoreError> {
        changes(self, query!(sql::ATTEMPTS_BEFORE, &before_ms, &limit)).await
    }

    async fn delete_sessions_ended_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        // The next step catches any spent tokens left behind.
        changes(self, query!(sql::SESSIONS_ENDED_BEFORE, &before_ms, &limit)).await
    }

    async fn delete_email_requests_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        changes(self, query!(sql::EMAIL_REQUESTS_BEFORE, &before_ms, &limit)).await
    }

    async fn delete_audit_events_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        changes(
            self,
            query!(crate::store::sql::audit::BEFORE, &before_ms, &limit),
        )
        .await
    }

    async fn delete_dead_email_tokens(&self, now_ms: i64, limit: u32) -> Result<u32, StoreError> {
        changes(self, query!(sql::DEAD_EMAIL_TOKENS, &now_ms, &limit)).await
    }

    async fn delete_expired_passkey_challenges(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        let stmt = query!(
            crate::store::sql::passkeys::DELETE_EXPIRED_CHALLENGES,
            &now_ms,
            &limit
        );
        changes(self, stmt).await
    }
    async fn delete_expired_mfa_tokens(&self, now_ms: i64, limit: u32) -> Result<u32, StoreError> {
        changes(self, query!(sql::EXPIRED_MFA_TOKENS, &now_ms, &limit)).await
    }
}
