//! In-memory twins of the D1 and KV stores, for the native tests. One [`MemoryDb`] holds every
//! table and implements every store trait, with the same rules as the SQL in `storage` (each
//! method's doc there says which statement it mirrors).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use super::{BreakerStore, LoginLookup, PasswordChange, Read, StoreError, UserRow, UserStore};
use crate::breaker::BreakerState;
use crate::domain::{Email, User, UserId};
use crate::throttle::{self, Attempts};

mod cleanup;
mod email;
mod sessions;

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
    /// Insertion order (D1's rowid).
    seq: u64,
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
/// An `email_sends` row: sent, window start, the queue message that counted last.
type CappedSends = (u32, i64, String);

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
    email_sends: RefCell<HashMap<(String, &'static str), CappedSends>>,
    /// `email_requests`, by (email, purpose): (requests, window start).
    email_requests: RefCell<HashMap<(String, &'static str), EmailSends>>,
    pub fail: Cell<bool>,
    pub calls: Cell<u32>,
    /// Where each `active_session` call asked to read, oldest first: this twin answers every
    /// read from its one copy, so tests check the choice of primary or replica here.
    pub session_reads: RefCell<Vec<Read>>,
    /// A read replica that has not caught up: a `Read::Nearest` finds no session.
    pub replica_lags: Cell<bool>,
    /// The last session's `seq`.
    session_seq: Cell<u64>,
    /// `deleted_users`: the ids of deleted accounts.
    pub deleted_users: RefCell<std::collections::HashSet<String>>,
    /// `settings.imported_hash_max_work` (0: no row).
    imported_hash_work: Cell<u64>,
}

impl MemoryDb {
    /// A password change's or reset's writes, if the password is still at `version`: the new
    /// hash and version (and `email_verified` when `verify`), pending reset tokens voided, the
    /// user's sessions but `keep_session` revoked; their ids.
    pub(crate) fn set_password(
        &self,
        c: &PasswordChange<'_>,
        version: i64,
        verify: bool,
    ) -> Option<Vec<String>> {
        let id = c.user_id.to_string();
        {
            let mut users = self.users.borrow_mut();
            let u = users
                .values_mut()
                .find(|u| u.id == id && u.password_version as i64 == version)?;
            u.password_hash = c.phc.to_owned();
            u.password_version += 1.0;
            if verify {
                u.email_verified = 1.0;
            }
        }
        self.void_reset_tokens(&id);
        Some(self.revoke_where(c.reason, c.now_ms, |sid, s| {
            s.user_id == id && Some(sid) != c.keep_session
        }))
    }

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

    /// What an import's `RECORD_IMPORTED_HASH_WORK` does: raises the recorded cost of the
    /// costliest imported hash to `work` if that is higher.
    pub fn record_imported_hash_work(&self, work: u64) {
        self.imported_hash_work
            .set(self.imported_hash_work.get().max(work));
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

    /// Rows of `email_requests`, for assertions.
    pub fn email_requests(&self) -> usize {
        self.email_requests.borrow().len()
    }

    /// `(requests, window start)` of an address's `email_requests` row of `purpose`.
    pub fn email_requests_of(&self, email: &str, purpose: &str) -> Option<(u32, i64)> {
        self.email_requests
            .borrow()
            .iter()
            .find(|((e, p), _)| e == email && *p == purpose)
            .map(|(_, v)| *v)
    }

    /// `email_sends` rows: (user id, purpose, sent), sorted, for assertions.
    pub fn email_sends(&self) -> Vec<(String, &'static str, u32)> {
        let mut rows: Vec<_> = self
            .email_sends
            .borrow()
            .iter()
            .map(|((u, p), (sent, _, _))| (u.clone(), *p, *sent))
            .collect();
        rows.sort();
        rows
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
        version: i64,
    ) -> Result<bool, StoreError> {
        self.enter()?;
        let id = id.to_string();
        let mut users = self.users.borrow_mut();
        let current = users
            .values_mut()
            .find(|u| u.id == id && u.password_version as i64 == version);
        Ok(current.map(|u| u.password_hash = phc.to_owned()).is_some())
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
            imported_hash_work: self.imported_hash_work.get(),
        })
    }

    async fn clear_failures(&self, email: &Email) -> Result<(), StoreError> {
        self.enter()?;
        self.attempts.borrow_mut().remove(email.as_ref());
        Ok(())
    }

    async fn imported_hash_work(&self) -> Result<u64, StoreError> {
        self.enter()?;
        Ok(self.imported_hash_work.get())
    }

    async fn replace_password(
        &self,
        c: &PasswordChange<'_>,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        self.enter()?;
        Ok(self.set_password(c, version, false))
    }

    async fn delete_user(
        &self,
        id: &UserId,
        email: &Email,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        self.enter()?;
        let id = id.to_string();
        let current = self
            .users
            .borrow()
            .values()
            .any(|u| u.id == id && u.password_version as i64 == version);
        if !current {
            return Ok(None);
        }
        let mut sessions = self.sessions.borrow_mut();
        let session_ids: Vec<String> = sessions
            .iter()
            .filter(|(_, s)| s.user_id == id)
            .map(|(sid, _)| sid.clone())
            .collect();
        sessions.retain(|_, s| s.user_id != id);
        self.spent
            .borrow_mut()
            .retain(|_, (sid, _)| sessions.contains_key(sid));
        self.email_tokens
            .borrow_mut()
            .retain(|_, t| t.user_id != id);
        self.attempts.borrow_mut().remove(email.as_ref());
        self.email_requests
            .borrow_mut()
            .retain(|(e, _), _| e != email.as_ref());
        self.users.borrow_mut().retain(|_, u| u.id != id);
        self.deleted_users.borrow_mut().insert(id);
        Ok(Some(session_ids))
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
