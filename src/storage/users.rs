//! `UserStore` on D1: the `users` table, and the login throttle's `login_attempts`.

use super::d1::{query, FromRow, Row};
use super::{batch, first_row, ids_if_written, rows_of, store_err, D1Store, IdRow};
use crate::domain::{Email, User, UserId};
use crate::store::{LoginLookup, PasswordChange, StoreError, UserRow, UserStore};
use crate::throttle::Attempts;

struct AttemptsRow {
    failures: f64,
    window_start_ms: f64,
}

impl FromRow for AttemptsRow {
    fn from_row(row: &Row) -> Result<Self, StoreError> {
        Ok(AttemptsRow {
            failures: row.number("failures")?,
            window_start_ms: row.number("window_start_ms")?,
        })
    }
}

impl UserStore for D1Store {
    async fn insert_user(&self, user: &User) -> Result<bool, StoreError> {
        // The unique index on email decides, atomically: a losing concurrent insert returns no
        // row instead of failing, so it becomes `409`, never a 500.
        let inserted: Option<IdRow> = first_row(query!(
            &self.0,
            "INSERT INTO users (id, email, password_hash, created_at, updated_at, email_verified) \
             VALUES (?1, ?2, ?3, ?4, ?4, ?5) ON CONFLICT (email) DO NOTHING RETURNING id",
            &user.id.to_string(),
            user.email.as_ref(),
            &user.password_hash,
            &user.created_at,
            &i32::from(user.email_verified),
        ))
        .await?;
        Ok(inserted.is_some())
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        updated_at: &str,
        version: i64,
    ) -> Result<bool, StoreError> {
        let written: Option<IdRow> = first_row(query!(
            &self.0,
            "UPDATE users SET password_hash = ?1, updated_at = ?2 \
             WHERE id = ?3 AND password_version = ?4 RETURNING id",
            phc,
            updated_at,
            &id.to_string(),
            &version,
        ))
        .await?;
        Ok(written.is_some())
    }

    async fn begin_login(
        &self,
        email: &Email,
        now_ms: i64,
        window_ms: i64,
    ) -> Result<LoginLookup, StoreError> {
        // One round trip: the atomic reservation (the same rule as `throttle::after_failure`),
        // then the account. D1 runs a batch as one transaction, and writes one at a time, so
        // concurrent attempts each get their own count.
        let reserve = query!(
            &self.0,
            "INSERT INTO login_attempts (email, failures, window_start_ms) VALUES (?1, 1, ?2) \
             ON CONFLICT (email) DO UPDATE SET \
               failures = CASE WHEN ?2 < window_start_ms + ?3 THEN failures + 1 ELSE 1 END, \
               window_start_ms = CASE WHEN ?2 < window_start_ms + ?3 THEN window_start_ms ELSE ?2 END \
             RETURNING failures, window_start_ms",
            email.as_ref(),
            &now_ms,
            &window_ms,
        );
        let account = query!(
            &self.0,
            "SELECT id, email, password_hash, password_version, created_at, email_verified \
             FROM users WHERE email = ?1",
            email.as_ref(),
        );
        let results = batch(&self.0, vec![reserve, account]).await?;
        let attempts = rows_of::<AttemptsRow>(&results, 0)?
            .into_iter()
            .next()
            .ok_or_else(|| store_err("the reservation returned no row"))?;
        // A user row that does not decode is reported, not raised: the login fails like a wrong
        // password, and bad data never counts as an outage.
        let user = match rows_of::<UserRow>(&results, 1) {
            Ok(rows) => rows
                .into_iter()
                .next()
                .map(|row| row.decode().map_err(|e| e.to_string())),
            Err(e) => Some(Err(e.to_string())),
        };
        Ok(LoginLookup {
            user,
            attempts: Attempts {
                failures: attempts.failures as u32,
                window_start_ms: attempts.window_start_ms as i64,
            },
        })
    }

    async fn clear_failures(&self, email: &Email) -> Result<(), StoreError> {
        super::changes(query!(
            &self.0,
            "DELETE FROM login_attempts WHERE email = ?1",
            email.as_ref()
        ))
        .await?;
        Ok(())
    }

    async fn replace_password(
        &self,
        c: &PasswordChange<'_>,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        // One transaction, and both statements under the same condition, read before either
        // writes: the version is still the one the caller's check read. A refresh of another
        // session either ran before (and that session is revoked here) or runs after (and finds
        // it revoked); a reset or another change that committed first makes this one a no-op.
        let user_id = c.user_id.to_string();
        let revoke = query!(
            &self.0,
            "UPDATE sessions SET revoked_at = ?3, revoked_reason = ?4 \
             WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL \
               AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_version = ?5) \
             RETURNING id",
            &user_id,
            c.keep_session.unwrap_or(""),
            &c.now_ms,
            c.reason,
            &version,
        );
        let update = query!(
            &self.0,
            "UPDATE users SET password_hash = ?1, updated_at = ?2, \
               password_version = password_version + 1 \
             WHERE id = ?3 AND password_version = ?4 RETURNING id",
            c.phc,
            c.updated_at,
            &user_id,
            &version,
        );
        let results = batch(&self.0, vec![revoke, update]).await?;
        ids_if_written(&results, 1, 0)
    }

    async fn delete_user(
        &self,
        id: &UserId,
        email: &Email,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        // One transaction, so nothing is left half-deleted; every statement runs only while the
        // password's version is the one the caller's check read (the user row goes last, so
        // each one still sees it): a reset that committed first makes this a no-op.
        let id = id.to_string();
        // Each statement (?1 the user's id, ?2 its version, ?3 its email) under this condition.
        let as_checked = |delete: &str, returning: &str| {
            format!(
                "{delete} AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_version = ?2) \
                 {returning}"
            )
        };
        let by_user = |delete: &str, returning: &str| {
            query!(&self.0, &as_checked(delete, returning), &id, &version)
        };
        let by_email = |delete: &str| {
            query!(
                &self.0,
                &as_checked(delete, ""),
                &id,
                &version,
                email.as_ref()
            )
        };
        let statements = vec![
            by_user(
                "DELETE FROM spent_refresh_tokens \
                 WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?1)",
                "",
            ),
            by_user("DELETE FROM sessions WHERE user_id = ?1", "RETURNING id"),
            by_user("DELETE FROM email_tokens WHERE user_id = ?1", ""),
            by_email("DELETE FROM login_attempts WHERE email = ?3"),
            by_email("DELETE FROM email_requests WHERE email = ?3"),
            // The id is remembered, so that an import run again does not bring it back.
            query!(
                &self.0,
                "INSERT INTO deleted_users (id, deleted_at) \
                 SELECT id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM users \
                 WHERE id = ?1 AND password_version = ?2 ON CONFLICT DO NOTHING",
                &id,
                &version,
            ),
            query!(
                &self.0,
                "DELETE FROM users WHERE id = ?1 AND password_version = ?2 RETURNING id",
                &id,
                &version,
            ),
        ];
        let results = batch(&self.0, statements).await?;
        ids_if_written(&results, 6, 1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Touches the users table, so a database without the schema counts as failing.
        super::d1::first(query!(&self.0, "SELECT 1 AS ok FROM users LIMIT 1")).await?;
        Ok(())
    }
}
