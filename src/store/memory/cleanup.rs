//! The in-memory twin of `CleanupStore`: the scheduled cleanup's bounded deletions.

use super::MemoryDb;
use std::collections::HashMap;

use crate::store::{CleanupStore, StoreError};

/// Removes at most `limit` entries matching `dead` from a map; returns how many.
fn remove_limited<K: Clone + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    limit: u32,
    dead: impl Fn(&K, &V) -> bool,
) -> u32 {
    let doomed: Vec<K> = map
        .iter()
        .filter(|(k, v)| dead(k, v))
        .map(|(k, _)| k.clone())
        .take(limit as usize)
        .collect();
    for k in &doomed {
        map.remove(k);
    }
    doomed.len() as u32
}

impl CleanupStore for MemoryDb {
    async fn delete_spent_of_ended_sessions(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        self.enter()?;
        let sessions = self.sessions.borrow();
        Ok(remove_limited(
            &mut self.spent.borrow_mut(),
            limit,
            |_, (sid, _)| {
                sessions
                    .get(sid)
                    .is_none_or(|s| s.revoked.is_some() || s.expires_at_ms <= now_ms)
            },
        ))
    }

    async fn delete_attempts_before(&self, before_ms: i64, limit: u32) -> Result<u32, StoreError> {
        self.enter()?;
        Ok(remove_limited(
            &mut self.attempts.borrow_mut(),
            limit,
            |_, a| a.window_start_ms < before_ms,
        ))
    }

    async fn delete_sessions_ended_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        self.enter()?;
        let removed = remove_limited(&mut self.sessions.borrow_mut(), limit, |_, s| {
            s.expires_at_ms < before_ms || s.revoked.as_ref().is_some_and(|r| r.0 < before_ms)
        });
        // ON DELETE CASCADE in D1.
        let sessions = self.sessions.borrow();
        self.spent
            .borrow_mut()
            .retain(|_, (sid, _)| sessions.contains_key(sid));
        Ok(removed)
    }

    async fn delete_email_requests_before(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        self.enter()?;
        Ok(remove_limited(
            &mut self.email_requests.borrow_mut(),
            limit,
            |_, (_, start)| *start < before_ms,
        ))
    }

    async fn delete_dead_email_tokens(&self, now_ms: i64, limit: u32) -> Result<u32, StoreError> {
        self.enter()?;
        Ok(remove_limited(
            &mut self.email_tokens.borrow_mut(),
            limit,
            |_, t| t.expires_at_ms <= now_ms || t.used_at_ms.is_some(),
        ))
    }
}
