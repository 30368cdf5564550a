//! The D1 and Workers KV implementations of the storage traits. All SQL is bound, never
//! formatted; rows are `…Row` structs kept apart from the domain types.

use serde::Deserialize;
use worker::{query, D1Database, KvStore};

use crate::breaker::BreakerState;
use crate::domain::{Email, User, UserId};
use crate::store::{BreakerStore, StoreError, UserStore};

/// The KV key holding the breaker's state.
pub const BREAKER_KEY: &str = "breaker:d1";

fn store_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

#[derive(Deserialize)]
struct UserRow {
    id: String,
    email: String,
    password_hash: String,
    created_at: String,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId::parse(&row.id).map_err(|_| store_err("users.id is not a UUID"))?,
            email: Email::parse(&row.email).map_err(|_| store_err("users.email is invalid"))?,
            password_hash: row.password_hash,
            created_at: row.created_at,
        })
    }
}

pub struct D1Users(pub D1Database);

impl D1Users {
    async fn one_user(
        &self,
        stmt: worker::Result<worker::D1PreparedStatement>,
    ) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = stmt
            .map_err(store_err)?
            .first(None)
            .await
            .map_err(store_err)?;
        row.map(User::try_from).transpose()
    }
}

impl UserStore for D1Users {
    async fn insert_user(&self, user: &User) -> Result<bool, StoreError> {
        // The unique index on email decides, atomically: a losing concurrent insert returns no
        // row instead of failing, so it becomes `409`, never a 500.
        let stmt = query!(
            &self.0,
            "INSERT INTO users (id, email, password_hash, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (email) DO NOTHING RETURNING id",
            &user.id.to_string(),
            user.email.as_ref(),
            &user.password_hash,
            &user.created_at,
        )
        .map_err(store_err)?;
        let inserted: Option<serde_json::Value> = stmt.first(None).await.map_err(store_err)?;
        Ok(inserted.is_some())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        self.one_user(query!(
            &self.0,
            "SELECT id, email, password_hash, created_at FROM users WHERE email = ?1",
            email.as_ref(),
        ))
        .await
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        self.one_user(query!(
            &self.0,
            "SELECT id, email, password_hash, created_at FROM users WHERE id = ?1",
            &id.to_string(),
        ))
        .await
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        updated_at: &str,
    ) -> Result<(), StoreError> {
        query!(
            &self.0,
            "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE id = ?3",
            phc,
            updated_at,
            &id.to_string(),
        )
        .map_err(store_err)?
        .run()
        .await
        .map_err(store_err)?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Touches the users table, so a database without the schema counts as failing.
        let _: Option<serde_json::Value> = query!(&self.0, "SELECT 1 AS ok FROM users LIMIT 1")
            .first(None)
            .await
            .map_err(store_err)?;
        Ok(())
    }
}

/// The breaker's state in Workers KV. A missing binding behaves like a failing KV.
pub struct KvBreaker(pub Option<KvStore>);

impl BreakerStore for KvBreaker {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError> {
        let kv = self
            .0
            .as_ref()
            .ok_or_else(|| store_err("KV binding missing"))?;
        let text = kv.get(BREAKER_KEY).text().await.map_err(store_err)?;
        match text {
            None => Ok(None),
            // An unreadable value is treated like an absent one: closed, and rewritten later.
            Some(t) => Ok(serde_json::from_str(&t).ok()),
        }
    }

    async fn save(&self, state: &BreakerState) -> Result<(), StoreError> {
        let kv = self
            .0
            .as_ref()
            .ok_or_else(|| store_err("KV binding missing"))?;
        let json = serde_json::to_string(state).map_err(store_err)?;
        kv.put(BREAKER_KEY, json)
            .map_err(store_err)?
            .execute()
            .await
            .map_err(store_err)
    }
}
