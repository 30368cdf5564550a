//! The storage seams of the core: small traits the handlers use, and in-memory fakes for the
//! native tests. The D1/KV implementations live in `storage`.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::breaker::BreakerState;
use crate::domain::{Email, User, UserId};

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
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError>;
    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        updated_at: &str,
    ) -> Result<(), StoreError>;
    /// A cheap round trip that proves the database answers (for `/health`).
    async fn ping(&self) -> Result<(), StoreError>;
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

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.enter()?;
        Ok(self.users.borrow().get(email.as_ref()).cloned())
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.enter()?;
        Ok(self.users.borrow().values().find(|u| &u.id == id).cloned())
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

impl<T: UserStore> UserStore for &T {
    async fn insert_user(&self, user: &User) -> Result<bool, StoreError> {
        (**self).insert_user(user).await
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        (**self).find_by_email(email).await
    }
    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        (**self).find_by_id(id).await
    }
    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        (**self).update_password_hash(id, phc, updated_at).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        (**self).ping().await
    }
}

impl<T: BreakerStore> BreakerStore for &T {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError> {
        (**self).load().await
    }
    async fn save(&self, state: &BreakerState) -> Result<(), StoreError> {
        (**self).save(state).await
    }
}
