//! The storage traits on SQLite, natively: an in-memory database with every migration of
//! `migrations/` applied, running the same statements as D1 (the traits' one implementation on
//! [`Sql`]). A batch is one transaction, all or nothing, as a D1 batch is. Numbers are bound as
//! doubles and read back as doubles, as D1's JS numbers are.
//!
//! The inspection helpers (row counts, a session's state, raw rows written past every rule) are
//! for the tests: they read and write the tables directly.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};

use super::exec::{Arg, Outcome, Row, Sql, Statement, Value};
use super::{Read, StoreError, UserRow};
use crate::domain::User;
use crate::limits::throttle::Attempts;

/// An in-memory SQLite database with every migration of `migrations/` applied, in order (as
/// `wrangler d1 migrations apply` does), and foreign keys enforced, as D1 enforces them.
///
/// # Errors
/// When a migration cannot be read or does not apply.
pub fn migrated_connection() -> Result<Connection, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let db = Connection::open_in_memory().map_err(|e| e.to_string())?;
    db.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(|e| e.to_string())?;
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        db.execute_batch(&text)
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(db)
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn bind(arg: &Arg) -> SqlValue {
    match *arg {
        Arg::Null => SqlValue::Null,
        Arg::Number(n) => SqlValue::Real(n),
        Arg::Text(s) => SqlValue::Text(s.to_owned()),
    }
}

/// Runs one statement on `conn`; its rows, and the rows it changed (none for a read).
fn run(conn: &Connection, stmt: &Statement<'_>) -> Result<Outcome<Row>, StoreError> {
    let mut prepared = conn.prepare(stmt.sql).map_err(sql_err)?;
    let names: Vec<String> = prepared
        .column_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let params = rusqlite::params_from_iter(stmt.params.iter().map(bind));
    let mut rows = prepared.query(params).map_err(sql_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sql_err)? {
        let mut columns = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let value = match row.get_ref(i).map_err(sql_err)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Number(n as f64),
                ValueRef::Real(n) => Value::Number(n),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(_) => {
                    return Err(StoreError::Corrupt(format!("column {name}: a blob")));
                }
            };
            columns.push((name.clone(), value));
        }
        out.push(Row(columns));
    }
    drop(rows);
    let changes = if prepared.readonly() {
        0
    } else {
        conn.changes() as u32
    };
    Ok(Outcome { rows: out, changes })
}

/// The SQLite database.
pub struct Sqlite {
    conn: RefCell<Connection>,
}

impl Default for Sqlite {
    /// # Panics
    /// When the migrations do not apply (a broken checkout), as a test should.
    fn default() -> Self {
        Self::new().unwrap_or_else(|e| panic!("migrating the SQLite store: {e}"))
    }
}

impl Sql for Sqlite {
    type Row = Row;

    async fn all(&self, stmt: Statement<'_>) -> Result<Outcome<Row>, StoreError> {
        run(&self.conn.borrow(), &stmt)
    }

    async fn first(&self, stmt: Statement<'_>) -> Result<Option<Row>, StoreError> {
        Ok(run(&self.conn.borrow(), &stmt)?.rows.into_iter().next())
    }

    async fn batch(&self, stmts: Vec<Statement<'_>>) -> Result<Vec<Outcome<Row>>, StoreError> {
        let mut conn = self.conn.borrow_mut();
        let tx = conn.transaction().map_err(sql_err)?;
        let outcomes = stmts
            .iter()
            .map(|stmt| run(&tx, stmt))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().map_err(sql_err)?;
        Ok(outcomes)
    }

    /// One copy: every read is the primary's.
    async fn read(&self, stmt: Statement<'_>, _read: Read) -> Result<Outcome<Row>, StoreError> {
        self.all(stmt).await
    }
}

/// An `email_tokens` row, for the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTokenRow {
    pub user_id: String,
    pub purpose: String,
    pub expires_at_ms: i64,
    pub used_at_ms: Option<i64>,
}

/// Inspection and raw writes for the tests; each panics when its SQL fails, as a test should.
impl Sqlite {
    /// # Errors
    /// When the migrations do not apply.
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            conn: RefCell::new(migrated_connection()?),
        })
    }

    /// Runs `f` on the connection, for a test's own reads and writes.
    pub fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> T {
        f(&self.conn.borrow()).unwrap_or_else(|e| panic!("test SQL failed: {e}"))
    }

    fn count(&self, table: &str) -> usize {
        let n: i64 = self
            .with_conn(|c| c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)));
        n as usize
    }

    /// The raw row of the user with this email.
    pub fn user_row(&self, email: &str) -> Option<UserRow> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT id, email, password_hash, password_version, created_at, email_verified \
                 FROM users WHERE email = ?1",
                [email],
                |r| {
                    Ok(UserRow {
                        id: r.get(0)?,
                        email: r.get(1)?,
                        password_hash: r.get(2)?,
                        password_version: r.get(3)?,
                        created_at: r.get(4)?,
                        email_verified: r.get(5)?,
                    })
                },
            )
            .optional()
        })
    }

    /// The user with this email, if its row decodes.
    pub fn get(&self, email: &str) -> Option<User> {
        self.user_row(email).and_then(|r| r.decode().ok())
    }

    /// Stores a user as is, bypassing every rule (to simulate old or tampered data).
    pub fn put_raw(&self, user: User) {
        self.put_row(UserRow::encode(&user));
    }

    /// Stores a raw row, which may not even decode (a bad id or email); a row with its id is
    /// replaced in place, so its sessions stay.
    pub fn put_row(&self, row: UserRow) {
        self.with_conn(|c| {
            c.execute(
                "INSERT INTO users (id, email, password_hash, created_at, updated_at, \
                 password_version, email_verified) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6) \
                 ON CONFLICT (id) DO UPDATE SET email = excluded.email, \
                 password_hash = excluded.password_hash, created_at = excluded.created_at, \
                 password_version = excluded.password_version, \
                 email_verified = excluded.email_verified",
                params![
                    row.id,
                    row.email,
                    row.password_hash,
                    row.created_at,
                    row.password_version as i64,
                    row.email_verified as i64,
                ],
            )
        });
    }

    /// Stores a throttle row as is.
    pub fn put_attempts(&self, email: &str, attempts: Attempts) {
        self.with_conn(|c| {
            c.execute(
                "INSERT OR REPLACE INTO login_attempts (email, failures, window_start_ms) \
                 VALUES (?1, ?2, ?3)",
                params![email, attempts.failures, attempts.window_start_ms],
            )
        });
    }

    /// What an import does (`sql::settings::RECORD_IMPORTED_HASH_WORK`): raises the recorded
    /// cost of the costliest imported hash to `work` if that is higher.
    pub fn record_imported_hash_work(&self, work: u64) {
        self.with_conn(|c| {
            c.execute(
                crate::store::sql::settings::RECORD_IMPORTED_HASH_WORK,
                [work as i64],
            )
        });
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.count("users")
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The throttle row of an email.
    pub fn attempts_of(&self, email: &str) -> Option<Attempts> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT failures, window_start_ms FROM login_attempts WHERE email = ?1",
                [email],
                |r| {
                    Ok(Attempts {
                        failures: r.get(0)?,
                        window_start_ms: r.get(1)?,
                    })
                },
            )
            .optional()
        })
    }

    /// `(rotations, revoked reason)` of a session.
    pub fn inspect(&self, session_id: &str) -> Option<(u32, Option<String>)> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT rotations, revoked_reason FROM sessions WHERE id = ?1",
                [session_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }

    /// Row counts of users, login attempts, sessions, spent refresh tokens and email tokens,
    /// for "nothing left behind" assertions.
    pub fn counts(&self) -> [usize; 5] {
        [
            "users",
            "login_attempts",
            "sessions",
            "spent_refresh_tokens",
            "email_tokens",
        ]
        .map(|t| self.count(t))
    }

    /// Rows of `email_requests`.
    pub fn email_requests(&self) -> usize {
        self.count("email_requests")
    }

    /// `(requests, window start)` of an address's `email_requests` row of `purpose`.
    pub fn email_requests_of(&self, email: &str, purpose: &str) -> Option<(u32, i64)> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT requests, window_start_ms FROM email_requests \
                 WHERE email = ?1 AND purpose = ?2",
                [email, purpose],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }

    /// `email_sends` rows: (user id, purpose, sent), sorted.
    pub fn email_sends(&self) -> Vec<(String, String, u32)> {
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT user_id, purpose, sent FROM email_sends ORDER BY user_id, purpose, sent",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })
    }

    /// `email_tokens` rows by hash, sorted by hash.
    pub fn email_tokens(&self) -> Vec<(String, EmailTokenRow)> {
        self.with_conn(|c| {
            let mut stmt = c.prepare(
                "SELECT token_hash, user_id, purpose, expires_at, used_at FROM email_tokens \
                 ORDER BY token_hash",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    EmailTokenRow {
                        user_id: r.get(1)?,
                        purpose: r.get(2)?,
                        expires_at_ms: r.get(3)?,
                        used_at_ms: r.get(4)?,
                    },
                ))
            })?;
            rows.collect()
        })
    }

    /// Deletes every email token.
    pub fn clear_email_tokens(&self) {
        self.with_conn(|c| c.execute("DELETE FROM email_tokens", []));
    }

    /// Stores an email token as is.
    pub fn put_email_token(&self, token_hash: &str, t: EmailTokenRow) {
        self.with_conn(|c| {
            c.execute(
                "INSERT INTO email_tokens \
                 (token_hash, user_id, purpose, created_at, expires_at, used_at) \
                 VALUES (?1, ?2, ?3, 0, ?4, ?5)",
                params![
                    token_hash,
                    t.user_id,
                    t.purpose,
                    t.expires_at_ms,
                    t.used_at_ms
                ],
            )
        });
    }

    /// Moves a session's expiry, as time passing would.
    pub fn set_session_expiry(&self, session_id: &str, expires_at_ms: i64) {
        self.with_conn(|c| {
            c.execute(
                "UPDATE sessions SET expires_at = ?2 WHERE id = ?1",
                params![session_id, expires_at_ms],
            )
        });
    }

    /// The ids in `deleted_users`.
    pub fn deleted_users(&self) -> HashSet<String> {
        self.with_conn(|c| {
            let mut stmt = c.prepare("SELECT id FROM deleted_users")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests;
