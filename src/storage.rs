//! The D1 and Workers KV implementations of the storage traits. All SQL is bound, never
//! formatted; rows are `…Row` structs kept apart from the domain types.

use std::cell::Cell;

use serde::Deserialize;
use worker::{query, D1Database, KvStore};

use crate::breaker::BreakerState;
use crate::domain::{Email, User, UserId};
use crate::store::{BreakerStore, NewSession, Rotation, SessionStore, StoreError, UserStore};
use crate::throttle::Attempts;

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

#[derive(Deserialize)]
struct LoginRow {
    id: Option<String>,
    email: Option<String>,
    password_hash: Option<String>,
    created_at: Option<String>,
    failures: Option<f64>,
    window_start_ms: Option<f64>,
}

#[derive(Deserialize)]
struct AttemptsRow {
    failures: f64,
    window_start_ms: f64,
}

pub struct D1Users(pub D1Database);

/// Runs a bound statement and returns its first row, if any.
async fn first_row<T: serde::de::DeserializeOwned>(
    stmt: worker::Result<worker::D1PreparedStatement>,
) -> Result<Option<T>, StoreError> {
    stmt.map_err(store_err)?
        .first(None)
        .await
        .map_err(store_err)
}

/// Runs a query that selects `id, email, password_hash, created_at` of at most one user.
async fn one_user(
    stmt: worker::Result<worker::D1PreparedStatement>,
) -> Result<Option<User>, StoreError> {
    first_row::<UserRow>(stmt)
        .await?
        .map(User::try_from)
        .transpose()
}

impl UserStore for D1Users {
    async fn insert_user(&self, user: &User) -> Result<bool, StoreError> {
        // The unique index on email decides, atomically: a losing concurrent insert returns no
        // row instead of failing, so it becomes `409`, never a 500.
        let inserted: Option<IdRow> = first_row(query!(
            &self.0,
            "INSERT INTO users (id, email, password_hash, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (email) DO NOTHING RETURNING id",
            &user.id.to_string(),
            user.email.as_ref(),
            &user.password_hash,
            &user.created_at,
        ))
        .await?;
        Ok(inserted.is_some())
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

    async fn find_for_login(
        &self,
        email: &Email,
    ) -> Result<(Option<User>, Option<Attempts>), StoreError> {
        // One round trip for both: the user row and the throttle row, either may be missing.
        let row: Option<LoginRow> = first_row(query!(
            &self.0,
            "SELECT u.id, u.email, u.password_hash, u.created_at, \
                    a.failures, a.window_start_ms \
             FROM (SELECT ?1 AS email) k \
             LEFT JOIN users u ON u.email = k.email \
             LEFT JOIN login_attempts a ON a.email = k.email",
            email.as_ref(),
        ))
        .await?;
        let Some(row) = row else {
            return Ok((None, None));
        };
        let attempts = match (row.failures, row.window_start_ms) {
            (Some(f), Some(w)) => Some(Attempts {
                failures: f as u32,
                window_start_ms: w as i64,
            }),
            _ => None,
        };
        let user = match (row.id, row.email, row.password_hash, row.created_at) {
            (Some(id), Some(email), Some(password_hash), Some(created_at)) => {
                Some(User::try_from(UserRow {
                    id,
                    email,
                    password_hash,
                    created_at,
                })?)
            }
            _ => None,
        };
        Ok((user, attempts))
    }

    async fn record_failure(
        &self,
        email: &Email,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<Attempts, StoreError> {
        // Atomic: concurrent failures each count (the same rule as `throttle::after_failure`).
        let row: Option<AttemptsRow> = first_row(query!(
            &self.0,
            "INSERT INTO login_attempts (email, failures, window_start_ms) VALUES (?1, 1, ?2) \
             ON CONFLICT (email) DO UPDATE SET \
               failures = CASE WHEN ?2 < window_start_ms + ?3 THEN failures + 1 ELSE 1 END, \
               window_start_ms = CASE WHEN ?2 < window_start_ms + ?3 THEN window_start_ms ELSE ?2 END \
             RETURNING failures, window_start_ms",
            email.as_ref(),
            &now_ms,
            &window_ms,
        ))
        .await?;
        let row = row.ok_or_else(|| store_err("upsert returned no row"))?;
        Ok(Attempts {
            failures: row.failures as u32,
            window_start_ms: row.window_start_ms as i64,
        })
    }

    async fn clear_failures(&self, email: &Email) -> Result<(), StoreError> {
        query!(
            &self.0,
            "DELETE FROM login_attempts WHERE email = ?1",
            email.as_ref()
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

/// How long an isolate reuses the breaker state it last read or wrote before reading KV again.
/// KV itself takes up to ~60 s to propagate, so one second of local reuse changes nothing for
/// other locations and saves a KV read on almost every request under load.
const BREAKER_CACHE_MS: i64 = 1_000;

thread_local! {
    static BREAKER_CACHE: Cell<Option<(i64, Option<BreakerState>)>> = const { Cell::new(None) };
}

/// The breaker's state in Workers KV. A missing binding behaves like a failing KV.
pub struct KvBreaker {
    pub kv: Option<KvStore>,
    /// The request's clock, for the isolate-local cache.
    pub now_ms: i64,
}

impl KvBreaker {
    fn kv(&self) -> Result<&KvStore, StoreError> {
        self.kv
            .as_ref()
            .ok_or_else(|| store_err("KV binding missing"))
    }

    fn remember(&self, state: Option<BreakerState>) {
        BREAKER_CACHE.with(|c| c.set(Some((self.now_ms, state))));
    }
}

impl BreakerStore for KvBreaker {
    async fn load(&self) -> Result<Option<BreakerState>, StoreError> {
        let kv = self.kv()?;
        if let Some((at, state)) = BREAKER_CACHE.with(Cell::get) {
            if (0..BREAKER_CACHE_MS).contains(&(self.now_ms - at)) {
                return Ok(state);
            }
        }
        let text = kv.get(BREAKER_KEY).text().await.map_err(store_err)?;
        // An unreadable value is treated like an absent one: closed, and rewritten later.
        let state = text.and_then(|t| serde_json::from_str(&t).ok());
        self.remember(state);
        Ok(state)
    }

    async fn save(&self, state: &BreakerState) -> Result<(), StoreError> {
        let json = serde_json::to_string(state).map_err(store_err)?;
        self.kv()?
            .put(BREAKER_KEY, json)
            .map_err(store_err)?
            .execute()
            .await
            .map_err(store_err)?;
        self.remember(Some(*state));
        Ok(())
    }
}

pub struct D1Sessions(pub D1Database);

#[derive(Deserialize)]
struct RotatedRow {
    session_id: String,
    id: String,
    email: String,
    password_hash: String,
    created_at: String,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

#[derive(Deserialize)]
struct TokenStateRow {
    session_id: String,
    spent_at: Option<f64>,
}

impl D1Sessions {
    /// The session a refresh token belongs to: as its current token (`spent_at` NULL) or as a
    /// spent one.
    async fn token_state(&self, token_hash: &str) -> Result<Option<TokenStateRow>, StoreError> {
        first_row(query!(
            &self.0,
            "SELECT id AS session_id, NULL AS spent_at FROM sessions WHERE refresh_hash = ?1 \
             UNION ALL \
             SELECT session_id, spent_at FROM spent_refresh_tokens WHERE token_hash = ?1 \
             LIMIT 1",
            token_hash,
        ))
        .await
    }
}

impl SessionStore for D1Sessions {
    async fn create_session(&self, s: &NewSession) -> Result<(), StoreError> {
        query!(
            &self.0,
            "INSERT INTO sessions (id, user_id, refresh_hash, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &s.id,
            &s.user_id.to_string(),
            &s.refresh_hash,
            &s.created_at,
            &s.expires_at_ms,
        )
        .map_err(store_err)?
        .run()
        .await
        .map_err(store_err)?;
        Ok(())
    }

    async fn rotate(&self, old: &str, new: &str, now_ms: i64) -> Result<Rotation, StoreError> {
        // One D1 batch is one transaction, and D1 runs writes one at a time: of concurrent
        // rotations of one token, exactly one finds it current. The spend is recorded first,
        // then the session's current hash is swapped, both under the same condition.
        let record_spend = query!(
            &self.0,
            "INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at) \
             SELECT refresh_hash, id, ?2 FROM sessions \
             WHERE refresh_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
            old,
            &now_ms,
        )
        .map_err(store_err)?;
        let swap = query!(
            &self.0,
            "UPDATE sessions SET refresh_hash = ?2, rotations = rotations + 1, last_used_at = ?3 \
             WHERE refresh_hash = ?1 AND revoked_at IS NULL AND expires_at > ?3",
            old,
            new,
            &now_ms,
        )
        .map_err(store_err)?;
        let read_back = query!(
            &self.0,
            "SELECT s.id AS session_id, u.id, u.email, u.password_hash, u.created_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.refresh_hash = ?1",
            new,
        )
        .map_err(store_err)?;
        let results = self
            .0
            .batch(vec![record_spend, swap, read_back])
            .await
            .map_err(store_err)?;
        let rotated: Vec<RotatedRow> = results
            .get(2)
            .ok_or_else(|| store_err("batch returned too few results"))?
            .results()
            .map_err(store_err)?;
        if let Some(row) = rotated.into_iter().next() {
            let user = User::try_from(UserRow {
                id: row.id,
                email: row.email,
                password_hash: row.password_hash,
                created_at: row.created_at,
            })?;
            return Ok(Rotation::Rotated {
                session_id: row.session_id,
                user,
            });
        }
        // Not rotated: find out why, for reuse detection.
        let current = self.token_state(old).await?;
        Ok(match current {
            None => Rotation::Unknown,
            Some(TokenStateRow { spent_at: None, .. }) => Rotation::Inactive,
            Some(TokenStateRow {
                session_id,
                spent_at: Some(at),
            }) => Rotation::Spent {
                session_id,
                spent_at_ms: at as i64,
            },
        })
    }

    async fn revoke(
        &self,
        session_id: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let row: Option<IdRow> = first_row(query!(
            &self.0,
            "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
             WHERE id = ?1 AND revoked_at IS NULL RETURNING id",
            session_id,
            &now_ms,
            reason,
        ))
        .await?;
        Ok(row.is_some())
    }

    async fn revoke_by_token(
        &self,
        token_hash: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        // One statement: the session whose current or spent token this is, if still active.
        let row: Option<IdRow> = first_row(query!(
            &self.0,
            "UPDATE sessions SET revoked_at = ?2, revoked_reason = ?3 \
             WHERE revoked_at IS NULL AND id IN ( \
               SELECT id FROM sessions WHERE refresh_hash = ?1 \
               UNION SELECT session_id FROM spent_refresh_tokens WHERE token_hash = ?1) \
             RETURNING id",
            token_hash,
            &now_ms,
            reason,
        ))
        .await?;
        Ok(row.map(|r| r.id))
    }

    async fn active_session_user(
        &self,
        session_id: &str,
        user_id: &UserId,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        one_user(query!(
            &self.0,
            "SELECT u.id, u.email, u.password_hash, u.created_at \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.id = ?1 AND s.user_id = ?2 AND s.revoked_at IS NULL AND s.expires_at > ?3",
            session_id,
            &user_id.to_string(),
            &now_ms,
        ))
        .await
    }
}
