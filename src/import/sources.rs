//! Reading the sources: a SQLite database of the FastAPI service or of fastapi-users, or JSON
//! Lines.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use super::{ImportError, SourceKind, SourceRow};

/// Reads every row of `path`: a SQLite database (by its header) or else JSON Lines.
///
/// # Errors
/// When the file cannot be read, or a SQLite file has neither a `user` nor a `users` table
/// with `email` and `hashed_password` columns.
pub fn read_source(path: &Path) -> Result<(SourceKind, Vec<SourceRow>), ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Io(path.to_owned(), e))?;
    if bytes.starts_with(b"SQLite format 3\0") {
        read_sqlite(path)
    } else {
        let text = String::from_utf8(bytes)
            .map_err(|_| ImportError::Source(format!("{} is not UTF-8", path.display())))?;
        Ok((SourceKind::JsonLines, read_json_lines(&text)))
    }
}

/// Parses JSON Lines: `{"email", "password_hash"}` plus optional `id`, `email_verified`,
/// `created_at` (and `is_active`). Blank lines are skipped; other bad lines become unreadable rows.
pub fn read_json_lines(text: &str) -> Vec<SourceRow> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut row = SourceRow {
            row: i + 1,
            ..SourceRow::default()
        };
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(obj)) => {
                let text_field = |name: &str| -> Result<Option<String>, String> {
                    match obj.get(name) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.clone())),
                        Some(Value::Number(n)) if name == "id" => Ok(Some(n.to_string())),
                        Some(_) => Err(format!("\"{name}\" is not a string")),
                    }
                };
                let bool_field = |name: &str| -> Result<Option<bool>, String> {
                    match obj.get(name) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::Bool(b)) => Ok(Some(*b)),
                        Some(_) => Err(format!("\"{name}\" is not a boolean")),
                    }
                };
                // Present, it must say which: an account is never imported as active on a
                // value that does not plainly mean so.
                let is_active = || -> Result<Option<bool>, String> {
                    let Some(v) = obj.get("is_active") else {
                        return Ok(None);
                    };
                    let read = match v {
                        Value::Bool(b) => Some(*b),
                        Value::Number(n) => match n.as_u64() {
                            Some(0) => Some(false),
                            Some(1) => Some(true),
                            _ => None,
                        },
                        Value::String(s) => flag_text(s),
                        _ => None,
                    };
                    read.map(Some).ok_or_else(|| not_a_flag(&json_shown(v)))
                };
                let read = (|| -> Result<(), String> {
                    row.email = text_field("email")?;
                    row.hash = text_field("password_hash")?;
                    row.id = text_field("id")?;
                    row.created_at = text_field("created_at")?;
                    row.email_verified = bool_field("email_verified")?.unwrap_or(false);
                    row.is_active = is_active()?;
                    Ok(())
                })();
                if let Err(why) = read {
                    row.unreadable = Some(why);
                }
            }
            Ok(_) => row.unreadable = Some("not a JSON object".into()),
            Err(e) => row.unreadable = Some(format!("not JSON ({e})")),
        }
        rows.push(row);
    }
    rows
}

/// The texts an `is_active` may hold, in any case: SQLAlchemy's and Django's booleans as
/// SQLite stores them (`1`/`0`), and what hand-made exports write.
fn flag_text(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" => Some(true),
        "0" | "false" | "f" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// Why a row's `is_active` refuses it; `shown` is the value as found.
fn not_a_flag(shown: &str) -> String {
    format!(
        "\"is_active\" is {shown}, not one of 0, 1, true, false, t, f, yes, no, y, n (in any \
         case)"
    )
}

/// A source's value as a refusal shows it: its type and at most 40 characters of it, escaped.
fn shown(kind: &str, text: &str) -> String {
    let mut cut: String = text.chars().take(40).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{kind} {cut:?}")
}

fn json_shown(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => shown("the text", s),
        other => shown("the JSON", &other.to_string()),
    }
}

fn read_sqlite(path: &Path) -> Result<(SourceKind, Vec<SourceRow>), ImportError> {
    use rusqlite::{types::Value as Sql, Connection, OpenFlags};

    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let columns = |table: &str| -> Result<HashSet<String>, rusqlite::Error> {
        let mut stmt = db.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
        let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
        names.collect()
    };
    let (kind, table, cols) = {
        let user = columns("user")?;
        let users = columns("users")?;
        let usable = |c: &HashSet<String>| c.contains("email") && c.contains("hashed_password");
        if usable(&user) {
            (SourceKind::FastApiUsers, "user", user)
        } else if usable(&users) {
            (SourceKind::FastApi, "users", users)
        } else {
            return Err(ImportError::Source(format!(
                "{}: no table \"user\" (fastapi-users) or \"users\" (FastAPI) with email and \
                 hashed_password columns",
                path.display()
            )));
        }
    };
    let optional = |name: &str| {
        if cols.contains(name) {
            format!("\"{name}\"")
        } else {
            "NULL".to_owned()
        }
    };
    let sql = format!(
        "SELECT email, hashed_password, {}, {}, {}, {} FROM \"{table}\" ORDER BY rowid",
        optional("id"),
        optional("is_active"),
        optional("is_verified"),
        optional("created_at"),
    );
    let text = |v: Sql| -> Option<String> {
        match v {
            Sql::Text(s) => Some(s),
            Sql::Integer(i) => Some(i.to_string()),
            Sql::Real(f) => Some(f.to_string()),
            Sql::Blob(b) if b.len() == 16 => uuid::Uuid::from_slice(&b).ok().map(|u| u.to_string()),
            _ => None,
        }
    };
    let has_is_active = cols.contains("is_active");
    // The column absent, every row is active; present, each value must say which.
    let is_active = |v: Sql| -> Result<Option<bool>, String> {
        if !has_is_active {
            return Ok(None);
        }
        let read = match &v {
            Sql::Integer(0) => Some(false),
            Sql::Integer(1) => Some(true),
            Sql::Text(s) => flag_text(s),
            _ => None,
        };
        read.map(Some).ok_or_else(|| {
            not_a_flag(&match v {
                Sql::Null => "NULL".into(),
                Sql::Integer(i) => format!("the INTEGER {i}"),
                Sql::Real(f) => format!("the REAL {f:?}"),
                Sql::Text(s) => shown("the TEXT", &s),
                Sql::Blob(b) => format!("a BLOB of {} bytes", b.len()),
            })
        })
    };
    let flag = |v: Sql| -> Option<bool> {
        match v {
            Sql::Integer(i) => Some(i != 0),
            Sql::Text(s) => match s.to_ascii_lowercase().as_str() {
                "1" | "true" | "t" => Some(true),
                "0" | "false" | "f" => Some(false),
                _ => None,
            },
            _ => None,
        }
    };
    let mut stmt = db.prepare(&sql)?;
    let mut out = Vec::new();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let v = |i: usize| r.get::<_, Sql>(i);
        let (is_active, unreadable) = match is_active(v(3)?) {
            Ok(a) => (a, None),
            Err(why) => (None, Some(why)),
        };
        out.push(SourceRow {
            row: out.len() + 1,
            email: text(v(0)?),
            hash: text(v(1)?),
            id: text(v(2)?),
            is_active,
            email_verified: flag(v(4)?).unwrap_or(false),
            created_at: text(v(5)?),
            unreadable,
        });
    }
    Ok((kind, out))
}
