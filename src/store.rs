//! The storage seams of the core: small traits the handlers use, and in-memory fakes for the
//! native tests. The D1/KV implementations live in `storage`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::breaker::BreakerState;
use crate::domain::{Email, User, UserId};
use crate::throttle::{self, Attempts};

/// A storage call failed (D1 or KV unreachable, a query error). The message is for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Users, keyed by id and by normalized email.
#[allow(async_fn_in_trait)]
pub trait UserStore {
    /// Inserts `user` unless its email exists, atomically (the unique constraint decides).
    /// Returns `false` when the email was taken.
    async fn insert_user(&self, user: &User) -> Result<bool, StoreError>;
    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        updated_at: &str,
    ) -> Result<(), StoreError>;
    /// A cheap round trip that proves the database answers (for `/health`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// What a login needs in one round trip: the user (if any) and the failed attempts
    /// recorded for this normalized email (existing account or not).
    async fn find_for_login(
        &self,
        email: &Email,
    ) -> Result<(Option<User>, Option<Attempts>), StoreError>;
    /// Counts one failed login atomically (see [`crate::throttle::after_failure`]).
    async fn record_failure(
        &self,
        email: &Email,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Attempts, StoreError>;
    async fn clear_failures(&self, email: &Email) -> Result<(), StoreError>;
}

/// A session as created at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id: String,
    pub user_id: UserId,
    /// Hex SHA-256 of the first refresh token.
    pub refresh_hash: String,
    pub created_at: String,
    pub expires_at_ms: i64,
}

/// What presenting a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was the current token of an active session: it is now spent and `new` is current.
    Rotated { session_id: String, user: User },
    /// It was already spent at `spent_at_ms` (a replay, or a lost race).
    Spent {
        session_id: String,
        spent_at_ms: i64,
    },
    /// The current token of a revoked or expired session.
    Inactive,
    /// Never issued (or its session is gone).
    Unknown,
}

/// Sessions and their refresh tokens, by hash only.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    async fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;
    /// Atomically spends `old_hash` and makes `new_hash` current, only if `old_hash` is the
    /// current token of an active (unrevoked, unexpired at `now_ms`) session. Concurrent calls
    /// with one `old_hash`: at most one gets `Rotated`.
    async fn rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now_ms: i64,
    ) -> Result<Rotation, StoreError>;
    /// Revokes a session; `false` when it was already revoked or does not exist.
    async fn revoke(&self, session_id: &str, reason: &str, now_ms: i64)
        -> Result<bool, StoreError>;
    /// Revokes the active session that a refresh token (current or spent) belongs to; returns its
    /// id, or `None` when the token is unknown or its session was already revoked.
    async fn revoke_by_token(
        &self,
        token_hash: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError>;
    /// The user behind access-token claims `sub` + `sid`, if that session is active at `now_ms`.
    async fn active_session_user(
        &self,
        session_id: &str,
        user_id: &UserId,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError>;
}

/// Where the circuit breaker's state lives (Workers KV in production).
#[allow(async_fn_in_trait)]
pub trait BreakerStore {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError>;
    async fn save(&self, state: &BreakerState) -> Result<(), StoreError>;
}

/// In-memory users for tests. `fail` makes every call fail, like an unreachable database.
#[derive(Default)]
pub struct MemoryUsers {
    users: RefCell<HashMap<String, User>>,
    attempts: RefCell<HashMap<String, Attempts>>,
    pub fail: std::cell::Cell<bool>,
    pub calls: std::cell::Cell<u32>,
}

impl MemoryUsers {
    fn enter(&self) -> Result<(), StoreError> {
        self.calls.set(self.calls.get() + 1);
        if self.fail.get() {
            Err(StoreError("injected failure".into()))
        } else {
            Ok(())
        }
    }

    pub fn get(&self, email: &str) -> Option<User> {
        self.users.borrow().get(email).cloned()
    }

    /// Stores a row as is, bypassing every rule (to simulate old or tampered data).
    pub fn put_raw(&self, user: User) {
        self.users
            .borrow_mut()
            .insert(user.email.as_ref().to_owned(), user);
    }

    pub fn len(&self) -> usize {
        self.users.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl UserStore for MemoryUsers {
    async fn insert_user(&self, user: &User) -> Result<bool, StoreError> {
        self.enter()?;
        let mut users = self.users.borrow_mut();
        if users.contains_key(user.email.as_ref()) {
            return Ok(false);
        }
        users.insert(user.email.as_ref().to_owned(), user.clone());
        Ok(true)
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        _updated_at: &str,
    ) -> Result<(), StoreError> {
        self.enter()?;
        if let Some(u) = self.users.borrow_mut().values_mut().find(|u| &u.id == id) {
            u.password_hash = phc.to_owned();
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.enter()
    }

    async fn find_for_login(
        &self,
        email: &Email,
    ) -> Result<(Option<User>, Option<Attempts>), StoreError> {
        self.enter()?;
        Ok((
            self.users.borrow().get(email.as_ref()).cloned(),
            self.attempts.borrow().get(email.as_ref()).copied(),
        ))
    }

    async fn record_failure(
        &self,
        email: &Email,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Attempts, StoreError> {
        self.enter()?;
        let mut attempts = self.attempts.borrow_mut();
        let next =
            throttle::after_failure(attempts.get(email.as_ref()).copied(), now_ms, window_ms);
        attempts.insert(email.as_ref().to_owned(), next);
        Ok(next)
    }

    async fn clear_failures(&self, email: &Email) -> Result<(), StoreError> {
        self.enter()?;
        self.attempts.borrow_mut().remove(email.as_ref());
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct MemorySession {
    user_id: UserId,
    refresh_hash: String,
    rotations: u32,
    expires_at_ms: i64,
    revoked: Option<(i64, String)>,
}

/// In-memory sessions for tests, sharing the users and the failure switch of a [`MemoryUsers`].
pub struct MemorySessions {
    users: Rc<MemoryUsers>,
    sessions: RefCell<HashMap<String, MemorySession>>,
    spent: RefCell<HashMap<String, (String, i64)>>,
}

impl MemorySessions {
    pub fn new(users: Rc<MemoryUsers>) -> Self {
        Self {
            users,
            sessions: RefCell::default(),
            spent: RefCell::default(),
        }
    }

    /// `(rotations, revoked reason)` of a session, for assertions.
    pub fn inspect(&self, session_id: &str) -> Option<(u32, Option<String>)> {
        self.sessions
            .borrow()
            .get(session_id)
            .map(|s| (s.rotations, s.revoked.as_ref().map(|r| r.1.clone())))
    }
}

impl SessionStore for MemorySessions {
    async fn create_session(&self, s: &NewSession) -> Result<(), StoreError> {
        self.users.enter()?;
        self.sessions.borrow_mut().insert(
            s.id.clone(),
            MemorySession {
                user_id: s.user_id.clone(),
                refresh_hash: s.refresh_hash.clone(),
                rotations: 0,
                expires_at_ms: s.expires_at_ms,
                revoked: None,
            },
        );
        Ok(())
    }

    async fn rotate(&self, old: &str, new: &str, now_ms: i64) -> Result<Rotation, StoreError> {
        self.users.enter()?;
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
            let user = self
                .users
                .users
                .borrow()
                .values()
                .find(|u| u.id == s.user_id)
                .cloned()
                .ok_or_else(|| StoreError("session without user".into()))?;
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
        self.users.enter()?;
        match self.sessions.borrow_mut().get_mut(session_id) {
            Some(s) if s.revoked.is_none() => {
                s.revoked = Some((now_ms, reason.to_owned()));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn revoke_by_token(
        &self,
        token_hash: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        self.users.enter()?;
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
        match self.sessions.borrow_mut().get_mut(&id) {
            Some(s) if s.revoked.is_none() => {
                s.revoked = Some((now_ms, reason.to_owned()));
                Ok(Some(id))
            }
            _ => Ok(None),
        }
    }

    async fn active_session_user(
        &self,
        session_id: &str,
        user_id: &UserId,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        self.users.enter()?;
        let active = self.sessions.borrow().get(session_id).is_some_and(|s| {
            &s.user_id == user_id && s.revoked.is_none() && s.expires_at_ms > now_ms
        });
        if !active {
            return Ok(None);
        }
        Ok(self
            .users
            .users
            .borrow()
            .values()
            .find(|u| &u.id == user_id)
            .cloned())
    }
}

/// In-memory breaker state for tests. `fail` makes KV calls fail.
#[derive(Default)]
pub struct MemoryBreaker {
    pub state: RefCell<Option<BreakerState>>,
    pub fail: std::cell::Cell<bool>,
}

impl BreakerStore for MemoryBreaker {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError> {
        if self.fail.get() {
            return Err(StoreError("kv down".into()));
        }
        Ok(*self.state.borrow())
    }

    async fn save(&self, state: &BreakerState) -> Result<(), StoreError> {
        if self.fail.get() {
            return Err(StoreError("kv down".into()));
        }
        *self.state.borrow_mut() = Some(*state);
        Ok(())
    }
}
