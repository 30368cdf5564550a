//! `UserStore` on SQL: the `users` table, and the login throttle's `login_attempts`.

use super::audit::{event_args, event_statements};
use super::exec::{
    all_rows, changes, first_row, ids_if_written, query, rows_of, Columns, FromRow, IdRow, IntoArg,
    Sql, Statement,
};
use super::{LoginLookup, PasswordChange, StoreError, UserRow, UserStore};
use crate::domain::{Email, User, UserId};
use crate::limits::throttle::{Attempts, ThrottleConfig};
use crate::store::events::{Audit, EventKind, Origin};
use crate::store::sql::audit as audit_sql;
use crate::store::sql::settings;
use crate::store::sql::users as sql;

/// `audit_events.id` of a row an insert returned.
struct EventIdRow {
    id: f64,
}

impl FromRow for EventIdRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(EventIdRow {
            id: row.number("id")?,
        })
    }
}

struct AttemptsRow {
    failures: f64,
    window_start_ms: f64,
}

impl FromRow for AttemptsRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(AttemptsRow {
            failures: row.number("failures")?,
            window_start_ms: row.number("window_start_ms")?,
        })
    }
}

/// `users.disabled`: 0 or 1.
struct DisabledRow {
    disabled: f64,
}

impl FromRow for DisabledRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(DisabledRow {
            disabled: row.number("disabled")?,
        })
    }
}

/// `settings.value`: a whole non-negative number (the table's CHECK), read as D1's number.
struct SettingRow {
    value: f64,
}

impl FromRow for SettingRow {
    fn from_row(row: &impl Columns) -> Result<Self, StoreError> {
        Ok(SettingRow {
            value: row.number("value")?,
        })
    }
}

/// The recorded cost of the costliest imported hash from the rows of
/// `sql::settings::IMPORTED_HASH_WORK` (none before any import: 0).
fn imported_hash_work(rows: Vec<SettingRow>) -> u64 {
    rows.first().map_or(0, |r| r.value as u64)
}

impl<D: Sql> UserStore for D {
    async fn insert_user(&self, user: &User, audit: &Audit) -> Result<bool, StoreError> {
        // The unique index on email decides, atomically: a losing concurrent insert returns no
        // row instead of failing, so it becomes `409`, never a 500 (and records nothing).
        let id = user.id.to_string();
        let insert = query!(
            sql::INSERT,
            &id,
            user.email.as_ref(),
            &user.password_hash,
            &user.created_at,
            &i32::from(user.email_verified),
        );
        let events = event_args(audit, &[(&id).into_arg()]);
        let mut statements = vec![insert];
        statements.extend(event_statements(audit_sql::IF_USER, &events));
        let results = self.batch(statements).await?;
        Ok(!rows_of::<IdRow>(&results, 0)?.is_empty())
    }

    async fn update_password_hash(
        &self,
        id: &UserId,
        phc: &str,
        updated_at: &str,
        version: i64,
    ) -> Result<bool, StoreError> {
        let written: Option<IdRow> = first_row(
            self,
            query!(sql::REHASH, phc, updated_at, &id.to_string(), &version),
        )
        .await?;
        Ok(written.is_some())
    }

    async fn begin_login(
        &self,
        email: &Email,
        now_ms: i64,
        throttle: &ThrottleConfig,
        origin: &Origin,
        failure: EventKind,
    ) -> Result<LoginLookup, StoreError> {
        // One round trip: the atomic reservation (the same rule as `throttle::after_failure`),
        // the account, and the padding's cost (so reading it adds no round trip to a login and
        // is never staler than the table). D1 runs a batch as one transaction, and writes one
        // at a time, so concurrent attempts each get their own count.
        let window_ms = throttle.window_secs * 1000;
        let reserve = query!(sql::RESERVE_ATTEMPT, email.as_ref(), &now_ms, &window_ms);
        let account = query!(sql::BY_EMAIL, email.as_ref());
        let padding = query!(settings::IMPORTED_HASH_WORK);
        let mfa = query!(sql::MFA_ENABLED_BY_EMAIL, email.as_ref());
        let disabled = query!(sql::DISABLED_BY_EMAIL, email.as_ref());
        // The attempt's event, reading the count just reserved: `failure` until a check that
        // succeeds withdraws it, or `login_throttled` (final).
        let event = query!(
            audit_sql::LOGIN_ATTEMPT,
            &origin.at_ms,
            &origin.ip,
            &origin.user_agent,
            &origin.request_id,
            email.as_ref(),
            &throttle.max_failures,
            &window_ms,
            failure.as_str(),
        );
        let results = self
            .batch(vec![reserve, account, padding, mfa, disabled, event])
            .await?;
        let attempts = rows_of::<AttemptsRow>(&results, 0)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Unavailable("the reservation returned no row".into()))?;
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
            imported_hash_work: imported_hash_work(rows_of(&results, 2)?),
            mfa_enabled: !super::exec::result_of(&results, 3)?.rows.is_empty(),
            disabled: rows_of::<DisabledRow>(&results, 4)?
                .first()
                .is_some_and(|r| r.disabled != 0.0),
            attempt_event: rows_of::<EventIdRow>(&results, 5)?
                .first()
                .map(|row| row.id as i64),
        })
    }

    async fn clear_failures(&self, email: &Email, withdraw: Option<i64>) -> Result<(), StoreError> {
        let clear = query!(sql::CLEAR_ATTEMPTS, email.as_ref());
        match withdraw {
            Some(event) => {
                self.batch(vec![clear, query!(audit_sql::WITHDRAW, &event)])
                    .await?;
            }
            None => {
                changes(self, clear).await?;
            }
        }
        Ok(())
    }

    async fn imported_hash_work(&self) -> Result<u64, StoreError> {
        let rows = all_rows(self, query!(settings::IMPORTED_HASH_WORK)).await?;
        Ok(imported_hash_work(rows))
    }

    async fn replace_password(
        &self,
        c: &PasswordChange<'_>,
        version: i64,
    ) -> Result<Option<Vec<String>>, StoreError> {
        // One transaction, and every statement under the same condition, read before the last
        // one moves the version on: the version is still the one the caller's check read. A
        // refresh of another session either ran before (and that session is revoked here) or
        // runs after (and finds it revoked); a reset or another change that committed first
        // makes this one a no-op.
        let user_id = c.user_id.to_string();
        let revoke = query!(
            sql::REVOKE_FOR_CHANGE,
            &user_id,
            c.keep_session.unwrap_or(""),
            &c.now_ms,
            c.reason,
            &version,
        );
        // A reset link mailed before the change must not undo it: its pending reset tokens go
        // (`sql::email::VOID_RESET_TOKENS`, before the statement that moves the version on).
        let void = query!(
            crate::store::sql::email::VOID_RESET_TOKENS,
            &user_id,
            &version
        );
        let update = query!(
            sql::CHANGE_PASSWORD,
            c.phc,
            c.updated_at,
            &user_id,
            &version
        );
        // The events hold while the version does: they commit exactly when the update writes.
        let events = event_args(c.audit, &[(&user_id).into_arg(), (&version).into_arg()]);
        let mut statements = vec![revoke, void];
        statements.extend(event_statements(audit_sql::IF_PASSWORD_AT, &events));
        statements.push(update);
        let written = statements.len() - 1;
        let results = self.batch(statements).await?;
        ids_if_written(&results, written, 0)
    }

    async fn delete_user(
        &self,
        id: &UserId,
        email: &Email,
        version: i64,
        audit: &Audit,
    ) -> Result<Option<Vec<String>>, StoreError> {
        // One transaction, so nothing is left half-deleted (the statements' order and guard:
        // `sql::DELETE_ACCOUNT`).
        let id = id.to_string();
        let with_email = [
            (&id).into_arg(),
            (&version).into_arg(),
            email.as_ref().into_arg(),
        ];
        let mut statements: Vec<Statement<'_>> = sql::DELETE_ACCOUNT
            .into_iter()
            .map(|(sql, binds_email)| Statement {
                sql,
                params: if binds_email {
                    &with_email
                } else {
                    &with_email[..2]
                },
            })
            .collect();
        // The events go just before the user row, under the version that row's delete needs;
        // they hold its id only, and outlive it.
        let events = event_args(audit, &with_email[..2]);
        let last = statements.len() - 1;
        statements.splice(
            last..last,
            event_statements(audit_sql::IF_PASSWORD_AT, &events),
        );
        let written = statements.len() - 1;
        let results = self.batch(statements).await?;
        ids_if_written(&results, written, 1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // Touches the users table, so a database without the schema counts as failing.
        self.first(query!(sql::PING)).await?;
        Ok(())
    }
}
