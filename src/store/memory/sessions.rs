//! The in-memory twin of `SessionStore` (sessions and spent refresh tokens).

use super::{MemoryDb, MemorySession};

use crate::domain::UserId;
use crate::store::{
    ActiveSession, NewSession, Read, Rotation, SessionInfo, SessionStore, StoreError, UserRow,
};

impl SessionStore for MemoryDb {
    async fn create_session(&self, s: &NewSession) -> Result<Option<Vec<String>>, StoreError> {
        self.enter()?;
        if let Some(email) = &s.clear_attempts_of {
            self.attempts.borrow_mut().remove(email.as_ref());
        }
        let current = self.user_by_id(&s.user_id.to_string());
        if current.is_none_or(|u| u.password_version as i64 != s.password_version) {
            return Ok(None);
        }
        let user_id = s.user_id.to_string();
        self.session_seq.set(self.session_seq.get() + 1);
        let mut sessions = self.sessions.borrow_mut();
        sessions.insert(
            s.id.clone(),
            MemorySession {
                user_id: user_id.clone(),
                refresh_hash: s.refresh_hash.clone(),
                rotations: 0,
                created_at: s.created_at.clone(),
                expires_at_ms: s.expires_at_ms,
                last_used_at_ms: None,
                user_agent: s.user_agent.clone(),
                revoked: None,
                seq: self.session_seq.get(),
            },
        );
        let mut active: Vec<(u64, String)> = sessions
            .iter()
            .filter(|(_, x)| {
                x.user_id == user_id && x.revoked.is_none() && x.expires_at_ms > s.now_ms
            })
            .map(|(id, x)| (x.seq, id.clone()))
            .collect();
        active.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        let over: Vec<String> = active
            .into_iter()
            .skip(s.keep_at_most as usize)
            .map(|(_, id)| id)
            .collect();
        for id in &over {
            if let Some(x) = sessions.get_mut(id) {
                x.revoked = Some((s.now_ms, "session_limit".to_owned()));
            }
        }
        let mut ended: Vec<(u64, String)> = sessions
            .iter()
            .filter(|(_, x)| {
                x.user_id == user_id && (x.revoked.is_some() || x.expires_at_ms <= s.now_ms)
            })
            .map(|(id, x)| (x.seq, id.clone()))
            .collect();
        ended.sort_unstable_by_key(|(seq, _)| std::cmp::Reverse(*seq));
        for (_, id) in ended.into_iter().skip(s.keep_at_most as usize) {
            sessions.remove(&id);
            self.spent.borrow_mut().retain(|_, (sid, _)| *sid != id);
        }
        Ok(Some(over))
    }

    async fn rotate(&self, old: &str, new: &str, now_ms: i64) -> Result<Rotation, StoreError> {
        self.enter()?;
        let mut sessions = self.sessions.borrow_mut();
        if let Some((id, s)) = sessions.iter_mut().find(|(_, s)| s.refresh_hash == old) {
            if s.revoked.is_some() || s.expires_at_ms <= now_ms {
                return Ok(Rotation::Inactive);
            }
            self.spent
                .borrow_mut()
                .insert(old.to_owned(), (id.clone(), now_ms));
            s.refresh_hash = new.to_owned();
            s.rotations += 1;
            s.last_used_at_ms = Some(now_ms);
            let user = self
                .user_by_id(&s.user_id)
                .ok_or_else(|| StoreError::Corrupt("session without user".into()))?
                .decode()?;
            return Ok(Rotation::Rotated {
                session_id: id.clone(),
                user,
            });
        }
        Ok(match self.spent.borrow().get(old) {
            Some((session_id, at)) => Rotation::Spent {
                session_id: session_id.clone(),
                spent_at_ms: *at,
            },
            None => Rotation::Unknown,
        })
    }

    async fn revoke(
        &self,
        session_id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.enter()?;
        Ok(!self
            .revoke_where(reason, now_ms, |sid, _| sid == session_id)
            .is_empty())
    }

    async fn revoke_by_token(
        &self,
        token_hash: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        self.enter()?;
        let current = self
            .sessions
            .borrow()
            .iter()
            .find(|(_, s)| s.refresh_hash == token_hash)
            .map(|(id, _)| id.clone());
        let Some(id) = current.or_else(|| {
            self.spent
                .borrow()
                .get(token_hash)
                .map(|(id, _)| id.clone())
        }) else {
            return Ok(None);
        };
        Ok(self
            .revoke_where(reason, now_ms, |sid, _| sid == id)
            .into_iter()
            .next())
    }

    async fn active_session(
        &self,
        session_id: &str,
        user_id: &UserId,
        now_ms: i64,
        read: Read,
    ) -> Result<Option<ActiveSession>, StoreError> {
        self.enter()?;
        self.session_reads.borrow_mut().push(read);
        if read == Read::Nearest && self.replica_lags.get() {
            return Ok(None);
        }
        let user_id = user_id.to_string();
        let Some(expires_at_ms) = self
            .sessions
            .borrow()
            .get(session_id)
            .filter(|s| s.user_id == user_id && s.revoked.is_none() && s.expires_at_ms > now_ms)
            .map(|s| s.expires_at_ms)
        else {
            return Ok(None);
        };
        let user = self.user_by_id(&user_id).map(UserRow::decode).transpose()?;
        Ok(user.map(|user| ActiveSession {
            user,
            expires_at_ms,
        }))
    }

    async fn list_sessions(
        &self,
        user_id: &UserId,
        now_ms: i64,
    ) -> Result<Vec<SessionInfo>, StoreError> {
        self.enter()?;
        let user_id = user_id.to_string();
        let mut list: Vec<SessionInfo> = self
            .sessions
            .borrow()
            .iter()
            .filter(|(_, s)| {
                s.user_id == user_id && s.revoked.is_none() && s.expires_at_ms > now_ms
            })
            .map(|(id, s)| SessionInfo {
                id: id.clone(),
                created_at: s.created_at.clone(),
                last_used_at_ms: s.last_used_at_ms,
                expires_at_ms: s.expires_at_ms,
                user_agent: s.user_agent.clone(),
            })
            .collect();
        list.sort_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
        Ok(list)
    }

    async fn revoke_user_session(
        &self,
        user_id: &UserId,
        session_id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.enter()?;
        let user_id = user_id.to_string();
        Ok(!self
            .revoke_where(reason, now_ms, |sid, s| {
                sid == session_id && s.user_id == user_id && s.expires_at_ms > now_ms
            })
            .is_empty())
    }

    async fn revoke_other_sessions(
        &self,
        user_id: &UserId,
        keep: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        self.enter()?;
        let user_id = user_id.to_string();
        Ok(self.revoke_where(reason, now_ms, |sid, s| s.user_id == user_id && sid != keep))
    }
}
