//! `CleanupStore` on D1: bounded deletions for the scheduled cleanup. Each statement deletes at
//! most `limit` rows, picked through an indexed sub-select.

use super::d1::query;
use crate::sql::cleanup as sql;

use super::{changes, D1Store};
use crate::store::{CleanupStore, StoreError};

impl CleanupStore for D1Store {
    async fn delete_spent_of_ended_sessions(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        changes(query!(
            &self.0,
            sql::SPENT_OF_ENDED_SESSIONS,
            &now_ms,
            &limit,
        ))
        .await
    }

    async fn delete_attempts_before(&self, before_ms: i64, limit: u32) -> Result<u32, StoreError> {
        changes(query!(&self.0, sql::ATTEMPTS_BEFORE, &before_ms, &limit)).await
    }

    async fn delete_sessions_ended_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        // The next step catches any spent tokens left behind.
        changes(query!(
            &self.0,
            sql::SESSIONS_ENDED_BEFORE,
            &before_ms,
            &limit,
        ))
        .await
    }

    async fn delete_email_requests_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        changes(query!(
            &self.0,
            sql::EMAIL_REQUESTS_BEFORE,
            &before_ms,
            &limit,
        ))
        .await
    }

    async fn delete_dead_email_tokens(&self, now_ms: i64, limit: u32) -> Result<u32, StoreError> {
        changes(query!(&self.0, sql::DEAD_EMAIL_TOKENS, &now_ms, &limit)).await
    }
}
