//! `<SRC>.id-map.csv`: the new UUID given to each old id that was not one, kept beside the
//! source so that a re-run maps the same old ids to the same new ones (and so never brings
//! back an account deleted here). RFC 4180 CSV: an old id is whatever the source held (a
//! JSON string may carry commas, quotes and line breaks), and it must come back exactly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ImportError;
use crate::domain::UserId;

const HEADER: [&str; 2] = ["old_id", "new_id"];

/// Old (non-UUID) id → new UUID.
#[derive(Debug, Default)]
pub struct IdMap(HashMap<String, String>);

impl IdMap {
    /// Reads the map; a missing file is an empty map. The first record is skipped when it is
    /// the header `old_id,new_id`.
    ///
    /// # Errors
    /// When the file exists but cannot be read, is not RFC 4180 CSV, or holds a record that is
    /// not an old id and a UUID, or one old id twice with two UUIDs: a mapping lost here would
    /// give its old id a new UUID, a second account.
    pub fn load(path: &Path) -> Result<Self, ImportError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(ImportError::Io(path.to_owned(), e)),
        };
        let bad = |why: String| ImportError::Source(format!("{}: {why}", path.display()));
        let records = parse_csv(&text).map_err(bad)?;
        let mut map = HashMap::new();
        for (i, record) in records.into_iter().enumerate() {
            if i == 0 && record == HEADER {
                continue;
            }
            let n = i + 1;
            let [old, new]: [String; 2] = record.try_into().map_err(|r: Vec<String>| {
                bad(format!("record {n} has {} fields, not 2", r.len()))
            })?;
            if UserId::parse(&new).is_err() {
                return Err(bad(format!("record {n}: the new id is not a UUID")));
            }
            if let Some(earlier) = map.insert(old, new.clone()) {
                if earlier != new {
                    return Err(bad(format!(
                        "record {n}: an old id mapped to two UUIDs ({earlier} and {new})"
                    )));
                }
            }
        }
        Ok(Self(map))
    }

    pub fn get(&self, old: &str) -> Option<&String> {
        self.0.get(old)
    }

    pub fn insert(&mut self, old: String, new: String) {
        self.0.insert(old, new);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The map as RFC 4180 CSV (CRLF line ends, a field quoted when it holds a comma, a quote
    /// or a line break, its quotes doubled), sorted by old id (numerically when both are
    /// numbers).
    pub fn to_csv(&self) -> String {
        let mut pairs: Vec<_> = self.0.iter().collect();
        pairs.sort_by(|a, b| match (a.0.parse::<i64>(), b.0.parse::<i64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.0.cmp(b.0),
        });
        let mut out = format!("{},{}\r\n", HEADER[0], HEADER[1]);
        for (old, new) in pairs {
            out.push_str(&field(old));
            out.push(',');
            out.push_str(&field(new));
            out.push_str("\r\n");
        }
        out
    }
}

/// The CSV of id pairs for a source: `<SRC>.id-map.csv`, beside it.
pub fn id_map_path(src: &Path) -> PathBuf {
    let mut name = src.file_name().unwrap_or_default().to_os_string();
    name.push(".id-map.csv");
    src.with_file_name(name)
}

fn field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// RFC 4180 records: fields separated by commas, records by CRLF (a bare LF is read as one
/// too, as earlier maps were written so); a quoted field may hold commas, line breaks and
/// doubled quotes. A blank line is skipped.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let n = records.len() + 1;
        let mut value = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(format!("record {n}: a quoted field never ends")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        value.push('"');
                    }
                    Some('"') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                match c {
                    ',' | '\n' | '\r' => break,
                    '"' => return Err(format!("record {n}: a quote in an unquoted field")),
                    _ => {
                        value.push(c);
                        chars.next();
                    }
                }
            }
        }
        record.push(value);
        match chars.next() {
            Some(',') => continue,
            Some('\r') => {
                if chars.next_if_eq(&'\n').is_none() {
                    return Err(format!("record {n}: a carriage return without a line feed"));
                }
            }
            Some('\n') => {}
            None => {
                if record != [""] || quoted {
                    records.push(record);
                }
                return Ok(records);
            }
            Some(_) => {
                return Err(format!("record {n}: text after a field's closing quote"));
            }
        }
        if record != [""] || quoted {
            records.push(std::mem::take(&mut record));
        } else {
            record.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "00000000-0000-4000-8000-000000000001";
    const B: &str = "00000000-0000-4000-8000-000000000002";

    fn temp_file(name: &str, text: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("edge-auth-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("map.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn ids_with_commas_quotes_and_line_breaks_come_back_exactly() {
        let odd = [
            "7",
            "a,b",
            "say \"hi\"",
            "two\nlines",
            "crlf\r\ninside",
            "\"",
            ",",
            "",
            " spaced ",
            "ünïcode, too",
        ];
        let mut map = IdMap::default();
        for (i, old) in odd.iter().enumerate() {
            map.insert(
                (*old).to_owned(),
                format!("00000000-0000-4000-8000-{i:012}"),
            );
        }
        let csv = map.to_csv();
        assert!(csv.starts_with("old_id,new_id\r\n"));
        assert!(csv.contains("\r\n\"a,b\",00000000-0000-4000-8000-000000000001\r\n"));
        assert!(csv.contains("\r\n\"say \"\"hi\"\"\",00000000-0000-4000-8000-000000000002\r\n"));
        let (dir, path) = temp_file("idmap-odd", &csv);
        let again = IdMap::load(&path).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(again.0, map.0);
    }

    #[test]
    fn a_map_written_with_bare_line_feeds_still_loads() {
        let (dir, path) = temp_file("idmap-lf", &format!("old_id,new_id\n42,{A}\n\n43,{B}"));
        let map = IdMap::load(&path).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        assert_eq!(map.get("42").map(String::as_str), Some(A));
        assert_eq!(map.get("43").map(String::as_str), Some(B));
        assert_eq!(map.0.len(), 2);
    }

    #[test]
    fn a_damaged_map_is_an_error_and_never_silently_shorter() {
        for (text, why) in [
            (format!("old_id,new_id\r\n\"a,b,{A}\r\n"), "never ends"),
            (
                format!("old_id,new_id\r\na\"b,{A}\r\n"),
                "a quote in an unquoted field",
            ),
            (
                format!("old_id,new_id\r\n\"a\"b,{A}\r\n"),
                "after a field's closing quote",
            ),
            (
                format!("old_id,new_id\r\na,b,{A}\r\n"),
                "record 2 has 3 fields",
            ),
            (
                "old_id,new_id\r\n42,not-a-uuid\r\n".to_owned(),
                "not a UUID",
            ),
            (format!("42,{A}\r\n42,{B}\r\n"), "two UUIDs"),
            (format!("42,{A}\rx"), "carriage return"),
        ] {
            let (dir, path) = temp_file("idmap-bad", &text);
            let err = IdMap::load(&path).unwrap_err().to_string();
            std::fs::remove_dir_all(dir).unwrap();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
