//! In-memory twins of the D1 and KV stores, for the native tests. One [`MemoryDb`] holds every
//! table and implements every store trait, with the same rules as the SQL in `storage` (each
//! method's doc there says which statement it mirrors).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::{
    BreakerStore, CleanupStore, EmailPurpose, EmailTokenStore, Issued, LoginLookup, NewEmailToken,
    NewSession, PasswordChange, Rotation, SessionInfo, SessionStore, StoreError, UserRow,
    UserStore, EMAIL_CAP_WINDOW_MS,
};
use crate::breaker::BreakerState;
use crate::domain::{Email, User, UserId};
use crate::throttle::{self, Attempts};

#[derive(Debug, Clone)]
struct MemorySession {
    user_id: String,
    refresh_hash: String,
    rotations: u32,
    created_at: String,
    expires_at_ms: i64,
    last_used_at_ms: Option<i64>,
    user_agent: Option<String>,
    revoked: Option<(i64, String)>,
}

/// An email token row (`email_tokens`), for deletion and cleanup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryEmailToken {
    pub user_id: String,
    pub purpose: String,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
}

/// Emails asked for in the window, and the window's start (Unix ms).
type EmailSends = (u32, i64);

/// The in-memory database: users (as raw rows, decoded like D1's), throttle rows, sessions,
/// spent refresh tokens and email tokens. `fail` makes every call fail, like an unreachable
/// database; `calls` counts the calls.
#[derive(Default)]
pub struct MemoryDb {
    /// By normalized email.
    users: RefCell<HashMap<String, UserRow>>,
    attempts: RefCell<HashMap<String, Attempts>>,
    sessions: RefCell<HashMap<String, MemorySession>>,
    /// token hash → (session id, spent at).
    spent: RefCell<HashMap<String, (String, i64)>>,
    pub email_tokens: RefCell<HashMap<String, MemoryEmailToken>>,
    /// `email_sends`, by (user id, purpose).
    email_sends: RefCell<HashMap<(String, &'static str), EmailSends>>,
    pub fail: Cell<bool>,
    pub calls: Cell<u32>,
}

impl MemoryDb {
    fn enter(&self) -> Result<(), StoreError> {
        self.calls.set(self.calls.get() + 1);
        if self.fail.get() {
            Err(StoreError::Unavailable("injected failure".into()))
        } else {
            Ok(())
        }
    }

    pub fn get(&self, email: &str) -> Option<User> {
        self.users
            .borrow()
            .get(email)
            .and_then(|r| r.clone().decode().ok())
    }

    /// Stores a user as is, bypassing every rule (to simulate old or tampered data).
    pub fn put_raw(&self, user: User) {
        self.put_row(UserRow::encode(&user));
    }

    /// Stores a raw row, which may not even decode (a bad id or email).
    pub fn put_row(&self, row: UserRow) {
        self.users.borrow_mut().insert(row.email.clone(), row);
    }

    /// Removes a user row as is (no cascade), to replace it with [`Self::put_row`].
    pub fn remove_row(&self, email: &str) -> Option<UserRow> {
        self.users.borrow_mut().remove(email)
    }

    /// Stores a throttle row as is.
    pub fn put_attempts(&self, email: &str, attempts: Attempts) {
        self.attempts
            .borrow_mut()
            .insert(email.to_owned(), attempts);
    }

    pub fn len(&self) -> usize {
        self.users.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn attempts_of(&self, email: &str) -> Option<Attempts> {
        self.attempts.borrow().get(email).copied()
    }

    /// `(rotations, revoked reason)` of a session, for assertions.
    pub fn inspect(&self, session_id: &str) -> Option<(u32, Option<String>)> {
        self.sessions
            .borrow()
            .get(session_id)
            .map(|s| (s.rotations, s.revoked.as_ref().map(|r| r.1.clone())))
    }

    /// Row counts of every table, for "nothing left behind" assertions.
    pub fn counts(&self) -> [usize; 5] {
        [
            self.users.borrow().len(),
            self.attempts.borrow().len(),
            self.sessions.borrow().len(),
            self.spent.borrow().len(),
            self.email_tokens.borrow().len(),
        ]
    }

    /// Moves a session's expiry, as time passing would.
    pub fn set_session_expiry(&self, session_id: &str, expires_at_ms: i64) {
        if let Some(s) = self.sessions.borrow_mut().get_mut(session_id) {
            s.expires_at_ms = expires_at_ms;
        }
    }

    fn user_by_id(&self, id: &str) -> Option<UserRow> {
        self.users.borrow().values().find(|u| u.id == id).cloned()
    }

    fn revoke_where(
        &self,
        reason: &str,
        now_ms: i64,
        pick: impl Fn(&str, &MemorySession) -> bool,
    ) -> Vec<String> {
        let mut revoked = Vec::new();
        for (id, s) in self.sessions.borrow_mut().iter_mut() {
            if s.revoked.is_none() && pick(id, s) {
                s.revoked = Some((now_ms, reason.to_owned()));
                revoked.push(id.clone());
            }
        }
        revoked.sort();
        revoked
    }
}

impl UserStore for MemoryDb {
    async fn insert_user(&self, user: &User) -> Result<bool, StoreError> {
        self.enter()?;
        let mut users = self.users.borrow_mut();
        if users.contains_key(user.email.as_ref()) {
            return Ok(false);
        }
        users.insert(user.email.as_ref().to_owned(), UserRow::encode(user));
        Ok(true)
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        _updated_at: &str,
    ) -> Result<(), StoreError> {
        self.enter()?;
        let id = id.to_string();
        if let Some(u) = self.users.borrow_mut().values_mut().find(|u| u.id == id) {
            u.password_hash = phc.to_owned();
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.enter()
    }

    async fn begin_login(
        &self,
        email: &Email,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<LoginLookup, StoreError> {
        self.enter()?;
        let mut attempts = self.attempts.borrow_mut();
        let reserved =
            throttle::after_failure(attempts.get(email.as_ref()).copied(), now_ms, window_ms);
        attempts.insert(email.as_ref().to_owned(), reserved);
        let user = self
            .users
            .borrow()
            .get(email.as_ref())
            .cloned()
            .map(|row| row.decode().map_err(|e| e.to_string()));
        Ok(LoginLookup {
            user,
            attempts: reserved,
        })
    }

    async fn clear_failures(&self, email: &Email) -> Result<(), StoreError> {
        self.enter()?;
        self.attempts.borrow_mut().remove(email.as_ref());
        Ok(())
    }

    async fn replace_password(&self, c: &PasswordChange<'_>) -> Result<Vec<String>, StoreError> {
        self.enter()?;
        let id = c.user_id.to_string();
        if let Some(u) = self.users.borrow_mut().values_mut().find(|u| u.id == id) {
            u.password_hash = c.phc.to_owned();
        }
        Ok(self.revoke_where(c.reason, c.now_ms, |sid, s| {
            s.user_id == id && Some(sid) != c.keep_session
        }))
    }

    async fn delete_user(&self, id: &UserId, email: &Email) -> Result<bool, StoreError> {
        self.enter()?;
        let id = id.to_string();
        let mut sessions = self.sessions.borrow_mut();
        sessions.retain(|_, s| s.user_id != id);
        self.spent
            .borrow_mut()
            .retain(|_, (sid, _)| sessions.contains_key(sid));
        self.email_tokens
            .borrow_mut()
            .retain(|_, t| t.user_id != id);
        self.attempts.borrow_mut().remove(email.as_ref());
        let mut users = self.users.borrow_mut();
        let before = users.len();
        users.retain(|_, u| u.id != id);
        Ok(users.len() < before)
    }
}

impl SessionStore for MemoryDb {
    async fn create_session(&self, s: &NewSession) -> Result<bool, StoreError> {
        self.enter()?;
        let current = self.user_by_id(&s.user_id.to_string());
        if current.is_none_or(|u| u.password_hash != s.password_hash) {
            return Ok(false);
        }
        self.sessions.borrow_mut().insert(
            s.id.clone(),
            MemorySession {
                user_id: s.user_id.to_string(),
                refresh_hash: s.refresh_hash.clone(),
                rotations: 0,
                created_at: s.created_at.clone(),
                expires_at_ms: s.expires_at_ms,
                last_used_at_ms: None,
                user_agent: s.user_agent.clone(),
                revoked: None,
            },
        );
        Ok(true)
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

    async fn active_session_user(
        &self,
        session_id: &str,
        user_id: &UserId,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        self.enter()?;
        let user_id = user_id.to_string();
        let active = self.sessions.borrow().get(session_id).is_some_and(|s| {
            s.user_id == user_id && s.revoked.is_none() && s.expires_at_ms > now_ms
        });
        if !active {
            return Ok(None);
        }
        self.user_by_id(&user_id).map(UserRow::decode).transpose()
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

    /// Moves an email token's expiry, as time passing would.
    pub fn set_email_token_expiry(&self, token_hash: &str, expires_at_ms: i64) {
        if let Some(t) = self.email_tokens.borrow_mut().get_mut(token_hash) {
            t.expires_at_ms = expires_at_ms;
        }
    }
}

/// Mirrors `storage::email`: the same counting window, voiding and single use.
impl EmailTokenStore for MemoryDb {
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
            Some(&(sent, start)) if t.now_ms < start + EMAIL_CAP_WINDOW_MS => (sent + 1, start),
            _ => (1, t.now_ms),
        };
        sends.insert((user_id.clone(), purpose), counted);
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

    async fn reset_password(
        &self,
        token_hash: &str,
        email: &Email,
        c: &PasswordChange<'_>,
    ) -> Result<Option<Vec<String>>, StoreError> {
        self.enter()?;
        let id = c.user_id.to_string();
        if self.usable_token(token_hash, EmailPurpose::PasswordReset, c.now_ms) != Some(id.clone())
        {
            return Ok(None);
        }
        if let Some(u) = self.users.borrow_mut().values_mut().find(|u| u.id == id) {
            u.password_hash = c.phc.to_owned();
            u.email_verified = 1.0;
        }
        let revoked = self.revoke_where(c.reason, c.now_ms, |sid, s| {
            s.user_id == id && Some(sid) != c.keep_session
        });
        self.attempts.borrow_mut().remove(email.as_ref());
        self.spend_token(token_hash, c.now_ms);
        Ok(Some(revoked))
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

    async fn delete_dead_email_tokens(&self, now_ms: i64, limit: u32) -> Result<u32, StoreError> {
        self.enter()?;
        Ok(remove_limited(
            &mut self.email_tokens.borrow_mut(),
            limit,
            |_, t| t.expires_at_ms <= now_ms || t.used_at_ms.is_some(),
        ))
    }
}

/// In-memory breaker state for tests. `fail` makes KV calls fail.
#[derive(Default)]
pub struct MemoryBreaker {
    pub state: RefCell<Option<BreakerState>>,
    pub fail: Cell<bool>,
}

impl BreakerStore for MemoryBreaker {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError> {
        if self.fail.get() {
            return Err(StoreError::Unavailable("kv down".into()));
        }
        Ok(*self.state.borrow())
    }

    async fn save(&self, state: &BreakerState) -> Result<(), StoreError> {
        if self.fail.get() {
            return Err(StoreError::Unavailable("kv down".into()));
        }
        *self.state.borrow_mut() = Some(*state);
        Ok(())
    }
}
