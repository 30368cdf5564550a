//! `CleanupStore` on D1: bounded deletions for the scheduled cleanup. Each statement deletes at
//! most `limit` rows, picked through an indexed sub-select.

use super::d1::query;

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
            "DELETE FROM spent_refresh_tokens WHERE token_hash IN ( \
               SELECT t.token_hash FROM spent_refresh_tokens t \
               LEFT JOIN sessions s ON s.id = t.session_id \
               WHERE s.id IS NULL OR s.revoked_at IS NOT NULL OR s.expires_at <= ?1 \
               LIMIT ?2)",
            &now_ms,
            &limit,
        ))
        .await
    }

    async fn delete_attempts_before(&self, before_ms: i64, limit: u32) -> Result<u32, StoreError> {
        changes(query!(
            &self.0,
            "DELETE FROM login_attempts WHERE email IN ( \
               SELECT email FROM login_attempts WHERE window_start_ms < ?1 LIMIT ?2)",
            &before_ms,
            &limit,
        ))
        .await
    }

    async fn delete_sessions_ended_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        // Their spent tokens go with them (ON DELETE CASCADE), and the next step catches any
        // left behind.
        changes(query!(
            &self.0,
            "DELETE FROM sessions WHERE id IN ( \
               SELECT id FROM sessions WHERE expires_at < ?1 \
               UNION SELECT id FROM sessions WHERE revoked_at < ?1 LIMIT ?2)",
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
            "DELETE FROM email_requests WHERE rowid IN ( \
               SELECT rowid FROM email_requests WHERE window_start_ms < ?1 LIMIT ?2)",
            &before_ms,
            &limit,
        ))
        .await
    }

    async fn delete_dead_email_tokens(&self, now_ms: i64, limit: u32) -> Result<u32, StoreError> {
        changes(query!(
            &self.0,
            "DELETE FROM email_tokens WHERE token_hash IN ( \
               SELECT token_hash FROM email_tokens WHERE expires_at <= ?1 OR used_at IS NOT NULL \
               LIMIT ?2)",
            &now_ms,
            &limit,
        ))
        .await
    }
}
