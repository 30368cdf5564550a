//! The accepted users as D1 SQL files, and what wrangler reports back.

use serde_json::Value;

use super::{ImportError, ImportUser};
use crate::store::sql::settings::RECORD_IMPORTED_HASH_WORK;

/// A SQL string literal. The values are already validated (emails have no control characters,
/// hashes are ASCII), and a quote is doubled, so nothing can end the literal early.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

const INSERT_HEAD: &str = "INSERT INTO users (id, email, password_hash, created_at, updated_at, \
                           email_verified)\nSELECT * FROM (VALUES\n";
/// An id in `deleted_users` is an account deleted here: it is not brought back. `ON CONFLICT DO
/// NOTHING` covers both the id and the email: re-running an import, or a row whose email
/// registered meanwhile, changes nothing. `RETURNING` tells which rows went in. (SQLite needs the
/// `WHERE` here anyway: without one, `ON` after a `SELECT` would read as a join's.)
const INSERT_TAIL: &str = "\n) WHERE column1 NOT IN (SELECT id FROM deleted_users)\n\
                           ON CONFLICT DO NOTHING RETURNING id;\n";

/// The statement that records what verifying the costliest of `users`' hashes costs, so that
/// the Worker pads every failed login to it (`sql::settings`): the number is formatted in, as
/// a file cannot bind parameters (a `u64`, nothing else can reach the text).
fn record_work(users: &[ImportUser]) -> Option<String> {
    let costliest = users.iter().map(|u| u.work_iterations).max()?;
    let sql = RECORD_IMPORTED_HASH_WORK.replace("?1", &costliest.to_string());
    Some(format!("{sql};\n"))
}

/// The users as SQL files of at most `rows_per_file` rows, each file made of multi-row INSERTs
/// of at most `max_statement_bytes` bytes. Each file first records the cost of its costliest
/// hash (raising, never lowering, the recorded one), so the padding covers its rows before any
/// of them can be logged in to, even when a later file fails.
pub fn sql_files(
    users: &[ImportUser],
    max_statement_bytes: usize,
    rows_per_file: usize,
) -> Vec<String> {
    users
        .chunks(rows_per_file.max(1))
        .map(|chunk| {
            let mut file = record_work(chunk).unwrap_or_default();
            let mut stmt = String::new();
            for u in chunk {
                let tuple = format!(
                    "({}, {}, {}, {}, {}, {})",
                    literal(&u.id),
                    literal(&u.email),
                    literal(&u.password_hash),
                    literal(&u.created_at),
                    literal(&u.created_at),
                    u8::from(u.email_verified),
                );
                let grown = stmt.len() + 2 + tuple.len() + INSERT_TAIL.len();
                if !stmt.is_empty() && grown > max_statement_bytes {
                    file.push_str(&stmt);
                    file.push_str(INSERT_TAIL);
                    stmt.clear();
                }
                if stmt.is_empty() {
                    stmt.push_str(INSERT_HEAD);
                } else {
                    stmt.push_str(",\n");
                }
                stmt.push_str(&tuple);
            }
            if !stmt.is_empty() {
                file.push_str(&stmt);
                file.push_str(INSERT_TAIL);
            }
            file
        })
        .collect()
}

/// The ids a `wrangler d1 execute --json` run reports as inserted (the `RETURNING id` rows).
///
/// # Errors
/// When the output is not wrangler's JSON array of statement results, or a statement failed.
pub fn inserted_ids(wrangler_json: &str) -> Result<Vec<String>, ImportError> {
    let bad = |why: &str| ImportError::Source(format!("unexpected wrangler output: {why}"));
    let v: Value = serde_json::from_str(wrangler_json).map_err(|_| bad("not JSON"))?;
    let statements = v.as_array().ok_or_else(|| bad("not an array"))?;
    let mut ids = Vec::new();
    for s in statements {
        if s.get("success") != Some(&Value::Bool(true)) {
            return Err(bad("a statement failed"));
        }
        let results = s
            .get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no results"))?;
        ids.extend(
            results
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned)),
        );
    }
    Ok(ids)
}
