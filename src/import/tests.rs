//! The import's row rules, sources and SQL, natively.

use super::*;
use crate::store::sql::testing::migrated_db;

#[test]
fn the_summary_caps_a_count_that_includes_registrations_made_meanwhile() {
    assert_eq!(
        summary(12, 10, 7, 2),
        "read 12, imported 7, already present 3, refused 2"
    );
    // A remote count of 11 for 10 planned rows (one person registered meanwhile).
    assert_eq!(
        summary(12, 10, 11, 2),
        "read 12, imported 10, already present 0, refused 2"
    );
}

const BOUNDS: HashBounds = HashBounds {
    pbkdf2_max_iterations: 10_000_000,
    bcrypt_max_cost: 13,
};
const BCRYPT: &str = "$2b$04$t.WATwxaNmTnp7DnBXdR5uxPmmxKNosUc1XmjFs6TIZztvy3GtqIC";
const NOW: &str = "2026-11-26T12:00:00.000Z";

fn counter() -> impl FnMut() -> String {
    let mut n = 0u32;
    move || {
        n += 1;
        format!("00000000-0000-4000-8000-{n:012}")
    }
}

fn row(n: usize, email: &str) -> SourceRow {
    SourceRow {
        row: n,
        email: Some(email.into()),
        hash: Some(BCRYPT.into()),
        ..SourceRow::default()
    }
}

#[test]
fn json_lines_are_read_with_their_line_numbers() {
    let text = "{\"email\":\"A@x.io\",\"password_hash\":\"h\",\"id\":7,\"email_verified\":true}\n\
                \n\
                [1]\n\
                {\"email\":5}\n\
                {\"email\":\"b@x.io\",\"password_hash\":\"h\",\"created_at\":\"2024-01-02T03:04:05Z\"}\n";
    let rows = read_json_lines(text);
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].id.as_deref(), Some("7"));
    assert!(rows[0].email_verified);
    assert_eq!(rows[1].row, 3);
    assert_eq!(rows[1].unreadable.as_deref(), Some("not a JSON object"));
    assert_eq!(
        rows[2].unreadable.as_deref(),
        Some("\"email\" is not a string")
    );
    assert_eq!(rows[3].row, 5);
    assert_eq!(rows[3].created_at.as_deref(), Some("2024-01-02T03:04:05Z"));
}

/// `(row, reason)` of every refusal of `p`.
fn reasons(p: &Plan) -> Vec<(usize, String)> {
    p.refused
        .iter()
        .map(|r| (r.row, r.reason.clone()))
        .collect()
}

/// The refusal of an `is_active` that says neither, as the importer prints it.
fn not_a_flag(shown: &str) -> String {
    format!(
        "unreadable row: \"is_active\" is {shown}, not one of 0, 1, true, false, t, f, yes, \
         no, y, n (in any case)"
    )
}

#[test]
fn is_active_in_a_sqlite_source_is_read_strictly() {
    let dir = std::env::temp_dir().join(format!("edge-auth-active-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.db");
    let _ = std::fs::remove_file(&path);
    let db = rusqlite::Connection::open(&path).unwrap();
    // No declared type: each value is stored as written (a BOOLEAN column would turn
    // 0.0 into 0), as in a table some other tool wrote.
    db.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, hashed_password TEXT, \
         is_active);",
    )
    .unwrap();
    let values = [
        "1", "0", "'no'", "'N'", "'Yes'", "'t'", "'FALSE'", "'1'", "0.0", "1.0", "NULL", "2", "-1",
        "'maybe'", "''", "X'01'",
    ];
    for (i, v) in values.iter().enumerate() {
        db.execute(
            &format!("INSERT INTO users VALUES ({i}, 'u{i}@x.io', ?1, {v})"),
            [BCRYPT],
        )
        .unwrap();
    }
    drop(db);
    let (kind, rows) = read_source(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(kind, SourceKind::FastApi);
    let p = plan(&rows, &BOUNDS, &mut IdMap::default(), NOW, counter());
    let imported: Vec<&str> = p.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(imported, ["u0@x.io", "u4@x.io", "u5@x.io", "u7@x.io"]);
    let inactive = || "inactive account".to_owned();
    assert_eq!(
        reasons(&p),
        [
            (2, inactive()),
            (3, inactive()),
            (4, inactive()),
            (7, inactive()),
            (9, not_a_flag("the REAL 0.0")),
            (10, not_a_flag("the REAL 1.0")),
            (11, not_a_flag("NULL")),
            (12, not_a_flag("the INTEGER 2")),
            (13, not_a_flag("the INTEGER -1")),
            (14, not_a_flag("the TEXT \"maybe\"")),
            (15, not_a_flag("the TEXT \"\"")),
            (16, not_a_flag("a BLOB of 1 bytes")),
        ]
    );
}

#[test]
fn a_sqlite_source_without_is_active_imports_every_row_as_active() {
    let dir = std::env::temp_dir().join(format!("edge-auth-noactive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("app.db");
    let _ = std::fs::remove_file(&path);
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch("CREATE TABLE users (email TEXT, hashed_password TEXT);")
        .unwrap();
    db.execute("INSERT INTO users VALUES ('a@x.io', ?1)", [BCRYPT])
        .unwrap();
    drop(db);
    let (_, rows) = read_source(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let p = plan(&rows, &BOUNDS, &mut IdMap::default(), NOW, counter());
    assert_eq!(p.users.len(), 1);
    assert!(p.refused.is_empty());
}

#[test]
fn is_active_in_json_lines_is_read_strictly() {
    let values = [
        "true",
        "false",
        "1",
        "0",
        "\"no\"",
        "\"N\"",
        "\"YES\"",
        "\"y\"",
        "0.0",
        "null",
        "2",
        "\"maybe\"",
        "[]",
    ];
    let text: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{{\"email\":\"u{i}@x.io\",\"password_hash\":\"{BCRYPT}\",\"is_active\":{v}}}\n"
            )
        })
        .chain(std::iter::once(format!(
            "{{\"email\":\"absent@x.io\",\"password_hash\":\"{BCRYPT}\"}}\n"
        )))
        .collect();
    let p = plan(
        &read_json_lines(&text),
        &BOUNDS,
        &mut IdMap::default(),
        NOW,
        counter(),
    );
    let imported: Vec<&str> = p.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(
        imported,
        ["u0@x.io", "u2@x.io", "u6@x.io", "u7@x.io", "absent@x.io"]
    );
    let inactive = || "inactive account".to_owned();
    assert_eq!(
        reasons(&p),
        [
            (2, inactive()),
            (4, inactive()),
            (5, inactive()),
            (6, inactive()),
            (9, not_a_flag("the JSON \"0.0\"")),
            (10, not_a_flag("null")),
            (11, not_a_flag("the JSON \"2\"")),
            (12, not_a_flag("the text \"maybe\"")),
            (13, not_a_flag("the JSON \"[]\"")),
        ]
    );
}

#[test]
fn every_bad_row_is_refused_with_its_reason() {
    let mut inactive = row(3, "c@x.io");
    inactive.is_active = Some(false);
    let mut bad_hash = row(4, "d@x.io");
    bad_hash.hash = Some("$2b$31$".to_owned() + &BCRYPT[7..]);
    let mut plain = row(5, "e@x.io");
    plain.hash = Some("hunter2".into());
    let mut undated = row(8, "f@x.io");
    undated.created_at = Some("last tuesday".into());
    let rows = vec![
        row(1, "a@x.io"),
        row(2, "not-an-email"),
        inactive,
        bad_hash,
        plain,
        row(6, "Dup@x.io"),
        row(7, "dup@X.io "),
        undated,
    ];
    let p = plan(&rows, &BOUNDS, &mut IdMap::default(), NOW, counter());
    assert_eq!(p.users.len(), 1);
    assert_eq!(p.users[0].email, "a@x.io");
    assert_eq!(p.users[0].created_at, NOW);
    let reasons: Vec<(usize, &str)> = p
        .refused
        .iter()
        .map(|r| (r.row, r.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 7);
    assert!(reasons[0].0 == 2 && reasons[0].1.starts_with("invalid email"));
    assert_eq!(reasons[1], (3, "inactive account"));
    assert_eq!(
        reasons[2],
        (
            4,
            "unsupported or out-of-bounds hash: bcrypt cost out of bounds"
        )
    );
    assert!(reasons[3].0 == 5 && reasons[3].1.starts_with("unsupported"));
    assert_eq!(reasons[4], (6, "duplicate email (also rows 7)"));
    assert_eq!(reasons[5], (7, "duplicate email (also rows 6)"));
    assert_eq!(
        reasons[6],
        (8, "created_at \"last tuesday\" is not a date and time")
    );
}

#[test]
fn uuids_are_kept_and_other_ids_mapped_the_same_way_on_every_run() {
    let mut a = row(1, "a@x.io");
    a.id = Some("5F0E7D52-0D3B-4C44-9F0B-2C1E7A1B9D11".into());
    let mut b = row(2, "b@x.io");
    b.id = Some("42".into());
    let rows = vec![a, b];
    let mut ids = IdMap::default();
    let first = plan(&rows, &BOUNDS, &mut ids, NOW, counter());
    assert_eq!(first.users[0].id, "5f0e7d52-0d3b-4c44-9f0b-2c1e7a1b9d11");
    assert_eq!(first.users[1].id, "00000000-0000-4000-8000-000000000001");
    assert_eq!(first.new_mappings.len(), 1);
    let csv = ids.to_csv();
    assert_eq!(
        csv,
        "old_id,new_id\r\n42,00000000-0000-4000-8000-000000000001\r\n"
    );
    let dir = std::env::temp_dir().join(format!("edge-auth-idmap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("map.csv");
    std::fs::write(&path, csv).unwrap();
    let mut again = IdMap::load(&path).unwrap();
    let second = plan(&rows, &BOUNDS, &mut again, NOW, || "never".into());
    assert_eq!(second.users[1].id, first.users[1].id);
    assert!(second.new_mappings.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Two rows with one id, a UUID or not (two merged exports, say), are both refused: mapped
/// to one new UUID, the second was dropped by `ON CONFLICT` and counted as already present.
#[test]
fn rows_sharing_an_id_are_refused_whether_or_not_it_is_a_uuid() {
    let with_id = |n, email: &str, id: &str| {
        let mut r = row(n, email);
        r.id = Some(id.into());
        r
    };
    let rows = vec![
        with_id(1, "a@x.io", "7"),
        with_id(2, "b@x.io", "7"),
        with_id(3, "c@x.io", "5f0e7d52-0d3b-4c44-9f0b-2c1e7a1b9d11"),
        with_id(4, "d@x.io", "5F0E7D52-0D3B-4C44-9F0B-2C1E7A1B9D11"),
        with_id(5, "e@x.io", "07"),
    ];
    let p = plan(&rows, &BOUNDS, &mut IdMap::default(), NOW, counter());
    assert_eq!(p.users.len(), 1);
    assert_eq!(p.users[0].email, "e@x.io");
    let reasons: Vec<(usize, &str)> = p
        .refused
        .iter()
        .map(|r| (r.row, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (1, "duplicate id (also rows 2)"),
            (2, "duplicate id (also rows 1)"),
            (3, "duplicate id (also rows 4)"),
            (4, "duplicate id (also rows 3)"),
        ]
    );
}

#[test]
fn dates_become_rfc3339_utc_with_milliseconds() {
    assert_eq!(
        to_rfc3339("2024-05-01 10:00:00.123456").as_deref(),
        Some("2024-05-01T10:00:00.123Z")
    );
    assert_eq!(
        to_rfc3339("2024-05-01T12:00:00+02:00").as_deref(),
        Some("2024-05-01T10:00:00.000Z")
    );
    assert_eq!(to_rfc3339("yesterday"), None);
}

/// An accepted bcrypt row `i`, with a UUID made from `i`.
fn accepted(i: usize, email: String, email_verified: bool) -> ImportUser {
    ImportUser {
        row: i,
        id: format!("00000000-0000-4000-8000-{i:012}"),
        email,
        password_hash: BCRYPT.into(),
        created_at: NOW.into(),
        email_verified,
        algorithm: "bcrypt",
        work_iterations: 1,
    }
}

#[test]
fn sql_statements_stay_under_the_size_limit_and_quote_safely() {
    let users: Vec<ImportUser> = (0..1000)
        .map(|i| accepted(i, format!("o'brien{i}@x.io"), i % 2 == 0))
        .collect();
    let files = sql_files(&users, 10_000, 400);
    assert_eq!(files.len(), 3);
    // Emails hold no control characters, so a statement ends where ";\n" does.
    let statements: Vec<&str> = files
        .iter()
        .flat_map(|f| f.split_inclusive(";\n"))
        .collect();
    assert!(statements.iter().all(|s| s.len() <= 10_000));
    assert!(statements.len() > files.len() * 2, "several INSERTs a file");
    let rows: usize = statements
        .iter()
        .map(|s| s.matches("'o''brien").count())
        .sum();
    assert_eq!(rows, 1000);
    // Loaded into SQLite with the Worker's schema, every row arrives intact.
    let db = migrated_db();
    for f in &files {
        db.execute_batch(f).unwrap();
    }
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM users WHERE email LIKE 'o''brien%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1000);
}

#[test]
fn an_account_deleted_here_is_not_brought_back() {
    let user = |i: usize| accepted(i, format!("user{i}@x.io"), false);
    let db = migrated_db();
    db.execute(
        "INSERT INTO deleted_users (id, deleted_at) VALUES (?1, ?2)",
        [&user(1).id, NOW],
    )
    .unwrap();
    let files = sql_files(&[user(0), user(1), user(2)], 10_000, 400);
    let mut inserted = Vec::new();
    for sql in files.iter().flat_map(|f| f.split_inclusive(";\n")) {
        let mut stmt = db.prepare(sql).unwrap();
        let ids = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        inserted.extend(ids.map(Result::unwrap));
    }
    assert_eq!(inserted, [user(0).id, user(2).id]);
    let n: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM users WHERE id = ?1",
            [&user(1).id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);
}

/// The setting the Worker pads failed logins to, after `files` ran on `db`.
fn recorded_work(db: &rusqlite::Connection) -> Option<i64> {
    db.query_row(crate::store::sql::settings::IMPORTED_HASH_WORK, [], |r| {
        r.get(0)
    })
    .ok()
}

#[test]
fn the_import_records_the_cost_of_its_costliest_hash_and_never_lowers_it() {
    let bcrypt13 = "$2b$13$".to_owned() + &BCRYPT[7..];
    let django = |iterations: u32| {
        format!("pbkdf2_sha256${iterations}$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    };
    let with_hash = |n, email: &str, hash: String| {
        let mut r = row(n, email);
        r.hash = Some(hash);
        r
    };
    let mut ids = counter();
    let mut plan_of =
        |rows: &[SourceRow]| plan(rows, &BOUNDS, &mut IdMap::default(), NOW, &mut ids);
    let db = migrated_db();
    let run = |users: &[ImportUser], rows_per_file| {
        for f in sql_files(users, 10_000, rows_per_file) {
            db.execute_batch(&f).unwrap();
        }
    };

    // The work model picks the costliest: bcrypt 13 (2^13 rounds) over Django 1,000,000
    // and bcrypt 4, wherever it is in the source and in whichever file it lands.
    let bcrypt13_work = (8192.0 * crate::password::legacy::BCRYPT_ITERATIONS_PER_ROUND) as i64;
    assert!(bcrypt13_work > 1_000_000);
    let first = plan_of(&[
        with_hash(1, "a@x.io", django(1_000_000)),
        with_hash(2, "b@x.io", bcrypt13),
        row(3, "c@x.io"),
    ]);
    assert_eq!(first.users.len(), 3);
    run(&first.users, 1);
    assert_eq!(recorded_work(&db), Some(bcrypt13_work));

    // A later import of cheaper hashes leaves it.
    let second = plan_of(&[with_hash(1, "d@x.io", django(600_000))]);
    run(&second.users, 400);
    assert_eq!(recorded_work(&db), Some(bcrypt13_work));
    assert_eq!(
        crate::store::sql::testing::count(&db, "users", "1"),
        4,
        "every row went in"
    );
}

#[test]
fn wrangler_output_gives_the_inserted_ids() {
    let out = r#"[{"results":[{"id":"a"},{"id":"b"}],"success":true,"meta":{}},
                  {"results":[],"success":true,"meta":{}}]"#;
    assert_eq!(inserted_ids(out).unwrap(), ["a", "b"]);
    assert!(inserted_ids(r#"[{"results":[],"success":false}]"#).is_err());
    assert!(inserted_ids("Error").is_err());
}

#[test]
fn rows_whose_email_is_not_a_plain_address_are_refused_with_the_reason() {
    let rows = vec![
        row(1, "victim<attacker@evil.example>"),
        row(2, "a,b@example.com"),
        row(3, "x\"y@example.com"),
        row(4, "ok@example.com"),
        row(5, "x@-bad-.example"),
    ];
    let p = plan(&rows, &BOUNDS, &mut IdMap::default(), NOW, counter());
    let imported: Vec<&str> = p.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(imported, ["ok@example.com"]);
    let refused: Vec<(usize, &str)> = p
        .refused
        .iter()
        .map(|r| (r.row, r.reason.as_str()))
        .collect();
    assert_eq!(
        refused.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3, 5]
    );
    for (row, reason) in refused {
        assert!(
            reason.starts_with("invalid email (invalid_email): "),
            "row {row}: {reason}"
        );
    }
}
