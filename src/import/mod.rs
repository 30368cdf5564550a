//! `make import`: moves users in from the FastAPI service (SQLite table `users`), from
//! fastapi-users (SQLite table `user`) or from JSON Lines, validating every row with the same
//! [`Email`] and [`StoredHash`] parsers the Worker uses, and turning the accepted rows into D1
//! SQL files. Native only: it runs on the operator's machine (src/import/command.rs applies the
//! files with `wrangler d1 execute`).

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use crate::domain::{Email, UserId};
use crate::password::{HashBounds, StoredHash};

mod id_map;
mod sources;
mod sql_dir;
mod sql_files;

pub use id_map::{id_map_path, IdMap};
pub use sources::{read_json_lines, read_source};
pub use sql_dir::{sql_dir_path, SqlDir};
pub use sql_files::{inserted_ids, sql_files};

/// D1 refuses statements over 100,000 bytes; stay well below.
pub const MAX_STATEMENT_BYTES: usize = 90_000;
/// Rows per `wrangler d1 execute --file` run: one file is one transaction-sized unit of work
/// that stays far below D1's 30 s query limit and its 5 GB file-import limit.
pub const ROWS_PER_FILE: usize = 5_000;

/// Where the rows came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// fastapi-users' SQLAlchemy table `user`.
    FastApiUsers,
    /// The FastAPI service's table `users`.
    FastApi,
    JsonLines,
}

impl SourceKind {
    pub fn describe(self) -> &'static str {
        match self {
            Self::FastApiUsers => "fastapi-users SQLite (table \"user\")",
            Self::FastApi => "FastAPI SQLite (table \"users\")",
            Self::JsonLines => "JSON Lines",
        }
    }
}

/// One row of the source, as read: nothing is validated yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceRow {
    /// 1-based position in the source (the line number for JSON Lines).
    pub row: usize,
    pub email: Option<String>,
    pub hash: Option<String>,
    pub id: Option<String>,
    pub is_active: Option<bool>,
    pub email_verified: bool,
    pub created_at: Option<String>,
    /// Set when the row could not even be read (bad JSON, wrong types).
    pub unreadable: Option<String>,
}

/// A row that passed every check, ready for D1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportUser {
    pub row: usize,
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: String,
    pub email_verified: bool,
    pub algorithm: &'static str,
    /// What verifying the hash costs, in PBKDF2 iterations (for `LOGIN_FAILURE_ITERATIONS`).
    pub work_iterations: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub row: usize,
    pub reason: String,
}

/// The outcome of validating a source: rows to insert, rows refused, ids newly mapped.
#[derive(Debug, Default)]
pub struct Plan {
    pub users: Vec<ImportUser>,
    pub refused: Vec<Refusal>,
    /// `old id → new UUID` pairs made in this run (ids that are not UUIDs).
    pub new_mappings: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Source(String),
}

/// Validates every row. Refused: unreadable rows, a missing or invalid email, a missing,
/// unsupported or out-of-bounds hash, `is_active` false, an unreadable `created_at`, and every
/// row of an email (or UUID id) that appears more than once, since it cannot be known which of
/// them is the account. `new_uuid` makes the ids for rows whose id is not a UUID.
pub fn plan(
    rows: &[SourceRow],
    bounds: &HashBounds,
    ids: &mut IdMap,
    now: &str,
    mut new_uuid: impl FnMut() -> String,
) -> Plan {
    let mut plan = Plan::default();
    // First pass: who shares an email or an id with another row. A UUID is compared in its
    // canonical form, any other id as it is written.
    let id_key = |raw: &str| {
        UserId::parse(raw)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| format!("source id {raw}"))
    };
    let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    for r in rows {
        if let Some(email) = r.email.as_deref().and_then(|e| Email::parse(e).ok()) {
            by_email
                .entry(email.as_ref().to_owned())
                .or_default()
                .push(r.row);
        }
        if let Some(raw) = r.id.as_deref() {
            by_id.entry(id_key(raw)).or_default().push(r.row);
        }
    }
    let others = |all: &[usize], me: usize| {
        all.iter()
            .filter(|&&n| n != me)
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for r in rows {
        let refuse = |reason: String| Refusal { row: r.row, reason };
        if let Some(why) = &r.unreadable {
            plan.refused.push(refuse(format!("unreadable row: {why}")));
            continue;
        }
        let Some(raw_email) = r.email.as_deref() else {
            plan.refused.push(refuse("no email".into()));
            continue;
        };
        let email = match Email::parse(raw_email) {
            Ok(e) => e,
            Err(e) => {
                plan.refused
                    .push(refuse(format!("invalid email ({}): {}", e.code, e.message)));
                continue;
            }
        };
        let same_email = &by_email[email.as_ref()];
        if same_email.len() > 1 {
            plan.refused.push(refuse(format!(
                "duplicate email (also rows {})",
                others(same_email, r.row)
            )));
            continue;
        }
        if r.is_active == Some(false) {
            plan.refused.push(refuse("inactive account".into()));
            continue;
        }
        let Some(raw_hash) = r.hash.as_deref() else {
            plan.refused.push(refuse("no password hash".into()));
            continue;
        };
        let hash = match StoredHash::parse(raw_hash, bounds) {
            Ok(h) => h,
            Err(e) => {
                plan.refused
                    .push(refuse(format!("unsupported or out-of-bounds hash: {e}")));
                continue;
            }
        };
        let created_at = match r.created_at.as_deref() {
            None => now.to_owned(),
            Some(raw) => match to_rfc3339(raw) {
                Some(t) => t,
                None => {
                    plan.refused
                        .push(refuse(format!("created_at {raw:?} is not a date and time")));
                    continue;
                }
            },
        };
        if let Some(raw) = r.id.as_deref() {
            let same_id = &by_id[&id_key(raw)];
            if same_id.len() > 1 {
                plan.refused.push(refuse(format!(
                    "duplicate id (also rows {})",
                    others(same_id, r.row)
                )));
                continue;
            }
        }
        let id = match r.id.as_deref() {
            Some(raw) => match UserId::parse(raw) {
                Ok(uuid) => uuid.to_string(),
                Err(_) => match ids.get(raw) {
                    Some(mapped) => mapped.clone(),
                    None => {
                        let fresh = new_uuid();
                        ids.insert(raw.to_owned(), fresh.clone());
                        plan.new_mappings.push((raw.to_owned(), fresh.clone()));
                        fresh
                    }
                },
            },
            None => new_uuid(),
        };
        plan.users.push(ImportUser {
            row: r.row,
            id,
            email: email.as_ref().to_owned(),
            password_hash: raw_hash.to_owned(),
            created_at,
            email_verified: r.email_verified,
            algorithm: hash.algorithm(),
            work_iterations: hash.work_iterations(),
        });
    }
    plan
}

/// A source's date and time as RFC 3339 UTC with milliseconds (the form the Worker writes).
/// Accepts RFC 3339 and SQLAlchemy's SQLite form `YYYY-MM-DD HH:MM:SS[.ffffff]` (naive: UTC).
pub fn to_rfc3339(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let utc: DateTime<Utc> = if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        t.with_timezone(&Utc)
    } else if let Ok(t) = DateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f%:z") {
        t.with_timezone(&Utc)
    } else {
        let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())?;
        naive.and_utc()
    };
    Some(utc.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// The one-line summary the contract asks for, printed last: of `planned` rows `inserted` went
/// in, the rest were already present. A remote import counts by users before and after, so a
/// registration on the live Worker meanwhile can make `inserted` exceed `planned`; it is capped
/// there (and never underflows what is left).
pub fn summary(read: usize, planned: usize, inserted: usize, refused: usize) -> String {
    let imported = inserted.min(planned);
    let present = planned - imported;
    format!("read {read}, imported {imported}, already present {present}, refused {refused}")
}

#[cfg(test)]
mod tests;
