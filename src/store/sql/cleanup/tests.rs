//! The cleanup's statements on SQLite with every migration applied: each deletes only what is
//! dead, and at most its limit.

use super::*;
use crate::store::sql::testing::{add_user, count, migrated_db, num, run, NOW};
use crate::store::{CleanupStore, StoreError};

fn exec(db: &rusqlite::Connection, sql: &str) {
    db.execute_batch(sql).unwrap();
}

/// Runs a cleanup statement at `at` with `limit`; the rows it deleted itself (not those the
/// foreign keys' cascades deleted).
fn clean(db: &rusqlite::Connection, sql: &str, at: f64, limit: f64) -> usize {
    db.execute(sql, rusqlite::params_from_iter([num(at), num(limit)]))
        .unwrap()
}

/// Runs cleanup statement `sql` at `at` on a table where exactly two of its rows are dead: with
/// limit 1 it deletes one of them, then with limit 10 the other.
#[track_caller]
fn deletes_two_one_at_a_time(db: &rusqlite::Connection, sql: &str, at: f64) {
    assert_eq!(clean(db, sql, at, 1.0), 1, "at most the limit");
    assert_eq!(clean(db, sql, at, 10.0), 1);
}

#[test]
fn sessions_that_expired_or_ended_before_the_cutoff_go_with_their_spent_tokens() {
    let db = migrated_db();
    add_user(&db, "u", 0);
    // expires_at, revoked_at for: live, expired long ago, ended long ago, ended just now,
    // expired just now.
    exec(
        &db,
        "INSERT INTO sessions (id, user_id, refresh_hash, created_at, expires_at, revoked_at) VALUES
           ('live', 'u', 'h1', '', 1800000000001, NULL),
           ('old-expired', 'u', 'h2', '', 1000, NULL),
           ('old-ended', 'u', 'h3', '', 1800000000001, 1000),
           ('just-ended', 'u', 'h4', '', 1800000000001, 1800000000000),
           ('just-expired', 'u', 'h5', '', 1800000000000, NULL);
         INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at) VALUES
           ('s1', 'live', 0), ('s2', 'old-ended', 0), ('s3', 'just-ended', 0),
           ('s4', 'just-expired', 0);",
    );
    deletes_two_one_at_a_time(&db, SESSIONS_ENDED_BEFORE, NOW - 1.0);
    assert_eq!(
        run(&db, "SELECT id FROM sessions ORDER BY id", &[]),
        ["just-ended", "just-expired", "live"]
    );
    // The ended session's spent token went with it (a foreign key action, not counted); a
    // session ended or expired since the cutoff keeps its row, but not its spent tokens.
    assert_eq!(count(&db, "spent_refresh_tokens", "token_hash = 's2'"), 0);
    deletes_two_one_at_a_time(&db, SPENT_OF_ENDED_SESSIONS, NOW);
    assert_eq!(
        run(&db, "SELECT token_hash FROM spent_refresh_tokens", &[]),
        ["s1"]
    );
}

#[test]
fn throttle_rows_requests_and_dead_email_tokens_go_by_their_own_clock() {
    let db = migrated_db();
    add_user(&db, "u", 0);
    exec(
        &db,
        "INSERT INTO login_attempts (email, failures, window_start_ms) VALUES
           ('old1', 1, 10), ('old2', 1, 20), ('new', 1, 1800000000000);
         INSERT INTO email_requests (email, purpose, requests, window_start_ms) VALUES
           ('old', 'password_reset', 1, 10), ('old', 'email_verification', 1, 10),
           ('new', 'password_reset', 1, 1800000000000);
         INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at, used_at) VALUES
           ('live', 'u', 'password_reset', 0, 1800000000001, NULL),
           ('expired', 'u', 'password_reset', 0, 1800000000000, NULL),
           ('used', 'u', 'password_reset', 0, 1800000000001, 5);",
    );
    deletes_two_one_at_a_time(&db, ATTEMPTS_BEFORE, NOW);
    assert_eq!(run(&db, "SELECT email FROM login_attempts", &[]), ["new"]);
    deletes_two_one_at_a_time(&db, EMAIL_REQUESTS_BEFORE, NOW);
    assert_eq!(count(&db, "email_requests", "email = 'new'"), 1);
    deletes_two_one_at_a_time(&db, DEAD_EMAIL_TOKENS, NOW);
    assert_eq!(
        run(&db, "SELECT token_hash FROM email_tokens", &[]),
        ["live"]
    );
}

#[test]
fn mfa_tokens_go_once_expired_and_live_ones_stay() {
    let db = migrated_db();
    add_user(&db, "u", 0);
    exec(
        &db,
        "INSERT INTO mfa_tokens (token_hash, user_id, password_version, created_at, expires_at, used_at) VALUES
           ('live', 'u', 0, 0, 1800000000001, NULL),
           ('used-live', 'u', 0, 0, 1800000000001, 5),
           ('expired', 'u', 0, 0, 1800000000000, NULL),
           ('used-expired', 'u', 0, 0, 10, 5);",
    );
    deletes_two_one_at_a_time(&db, EXPIRED_MFA_TOKENS, NOW);
    assert_eq!(
        run(
            &db,
            "SELECT token_hash FROM mfa_tokens ORDER BY token_hash",
            &[]
        ),
        ["live", "used-live"]
    );
}

/// The cleanup's store on SQLite: each method runs its statement from this module.
struct Sqlite(rusqlite::Connection);

impl Sqlite {
    fn delete(&self, sql: &str, at: i64, limit: u32) -> Result<u32, StoreError> {
        Ok(clean(&self.0, sql, at as f64, f64::from(limit)) as u32)
    }
}

impl CleanupStore for Sqlite {
    async fn delete_spent_of_ended_sessions(&self, now: i64, n: u32) -> Result<u32, StoreError> {
        self.delete(SPENT_OF_ENDED_SESSIONS, now, n)
    }
    async fn delete_attempts_before(&self, before: i64, n: u32) -> Result<u32, StoreError> {
        self.delete(ATTEMPTS_BEFORE, before, n)
    }
    async fn delete_sessions_ended_before(&self, before: i64, n: u32) -> Result<u32, StoreError> {
        self.delete(SESSIONS_ENDED_BEFORE, before, n)
    }
    async fn delete_dead_email_tokens(&self, now: i64, n: u32) -> Result<u32, StoreError> {
        self.delete(DEAD_EMAIL_TOKENS, now, n)
    }
    async fn delete_email_requests_before(&self, before: i64, n: u32) -> Result<u32, StoreError> {
        self.delete(EMAIL_REQUESTS_BEFORE, before, n)
    }
    async fn delete_expired_passkey_challenges(&self, now: i64, n: u32) -> Result<u32, StoreError> {
        self.delete(
            crate::store::sql::passkeys::DELETE_EXPIRED_CHALLENGES,
            now,
            n,
        )
    }
    async fn delete_expired_mfa_tokens(&self, now: i64, n: u32) -> Result<u32, StoreError> {
        self.delete(EXPIRED_MFA_TOKENS, now, n)
    }
    async fn delete_audit_events_before(&self, before: i64, n: u32) -> Result<u32, StoreError> {
        self.delete(crate::store::sql::audit::BEFORE, before, n)
    }
}

/// The cleanup's store on a migrated database, and the configuration of a deployment that sets
/// only its signing key (every limit and retention at its default).
fn store_and_default_config() -> (Sqlite, crate::config::Config) {
    let store = Sqlite(migrated_db());
    let config = crate::config::Config::from_lookup(|name| {
        (name == "JWT_SIGNING_KEYS").then(|| {
            r#"[{"kty":"OKP","crv":"Ed25519","kid":"k","d":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}]"#
                .to_owned()
        })
    })
    .unwrap();
    (store, config)
}

/// A value of `wrangler.toml`'s text: the first quoted string or number after `key = `.
fn wrangler_value(key: &str) -> String {
    let toml = include_str!("../../../../wrangler.toml");
    let line = toml
        .lines()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("{key} in wrangler.toml"));
    let value = line.split_once('=').unwrap().1;
    value
        .trim_matches(|c: char| c == ' ' || c == '[' || c == ']' || c == '"')
        .to_owned()
}

/// Minutes between two runs of the Cron Trigger: `*/N` in the minute field, else hourly.
fn cron_interval_minutes() -> i64 {
    let cron = wrangler_value("crons");
    let minute = cron.split_whitespace().next().unwrap();
    assert!(
        cron.ends_with("* * * *"),
        "a cron of every hour or less: {cron}"
    );
    minute.strip_prefix("*/").map_or(60, |n| n.parse().unwrap())
}

/// Forgot requests per minute from one client IP at the per-IP limit (`[[ratelimits]]`).
fn per_ip_requests_per_minute() -> i64 {
    let simple = wrangler_value("simple");
    let field = |name: &str| -> i64 {
        let at = simple.find(name).unwrap() + name.len();
        simple[at..]
            .trim_start_matches([' ', '='])
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    field("limit") * 60 / field("period")
}

#[test]
fn the_scheduled_cleanup_keeps_up_with_forgot_floods_at_the_per_ip_limit() {
    use crate::app::cleanup;
    use crate::http::Ctx;

    let (store, config) = store_and_default_config();
    let interval = cron_interval_minutes();
    // Ten client IPs at the per-IP limit, each request for an address never asked about:
    // 60,000 rows an hour with the shipped limit of 100 a minute.
    let per_minute = 10 * per_ip_requests_per_minute();
    let start = NOW as i64;
    let mut most = 0;
    for minute in 0..3 * 60 {
        let now = start + minute * 60_000;
        store.0.execute_batch("BEGIN").unwrap();
        for i in 0..per_minute {
            store
                .0
                .query_row(
                    crate::store::sql::email::RECORD_REQUEST,
                    rusqlite::params![
                        format!("m{minute}-{i}@example.com"),
                        "password_reset",
                        now,
                        crate::store::EMAIL_CAP_WINDOW_MS
                    ],
                    |_| Ok(()),
                )
                .unwrap();
        }
        store.0.execute_batch("COMMIT").unwrap();
        if minute % interval == interval - 1 {
            let ctx = Ctx::new(format!("cron-{minute}"), now);
            let report = futures::executor::block_on(cleanup::run(&store, &config, &ctx));
            // Each run finishes its work: no row whose hour has passed is left.
            assert!(!report.incomplete, "minute {minute}: {report:?}");
            let dead = count(
                &store.0,
                "email_requests",
                &format!(
                    "window_start_ms < {}",
                    now - crate::store::EMAIL_CAP_WINDOW_MS
                ),
            );
            assert_eq!(dead, 0, "minute {minute}");
        }
        most = most.max(count(&store.0, "email_requests", "1"));
    }
    // The table never holds more than the requests of one hour and one interval.
    assert!(most <= per_minute * (60 + interval), "{most}");
    assert!(most >= per_minute * 60, "{most}");
}

#[test]
fn one_run_removes_an_intervals_audit_events_at_the_per_ip_limits_besides_a_forgot_flood() {
    use crate::app::cleanup;
    use crate::http::Ctx;

    let (store, config) = store_and_default_config();
    let interval = cron_interval_minutes();
    // Ten client IPs at the per-IP limit of both routes that write an event per request
    // (register, login): in steady state each run deletes what arrived in one interval,
    // `AUDIT_RETENTION_DAYS` ago, while the forgot flood's hour-old rows go too.
    let per_minute = 10 * per_ip_requests_per_minute();
    let now = NOW as i64;
    let retention_ms = config.audit_retention_days * 86_400_000;
    let expired = (2 * per_minute * interval) as usize;
    let add_event = |at: i64, request_id: &str| {
        store
            .0
            .execute(
                "INSERT INTO audit_events (at, type, user_id, request_id) \
                 VALUES (?1, 'login_failed', 'u', ?2)",
                rusqlite::params![at, request_id],
            )
            .unwrap();
    };
    store.0.execute_batch("BEGIN").unwrap();
    for i in 0..expired {
        add_event(
            now - retention_ms - 1 - (i as i64 % (interval * 60_000)),
            "r",
        );
    }
    for i in 0..per_minute * interval {
        store
            .0
            .execute(
                "INSERT INTO email_requests (email, purpose, requests, window_start_ms) \
                 VALUES (?1, 'password_reset', 1, 0)",
                rusqlite::params![format!("m{i}@example.com")],
            )
            .unwrap();
    }
    add_event(now - retention_ms + 1, "kept");
    store.0.execute_batch("COMMIT").unwrap();
    let report =
        futures::executor::block_on(cleanup::run(&store, &config, &Ctx::new("c".into(), now)));
    assert!(!report.incomplete, "{report:?}");
    assert_eq!(report.audit_events as usize, expired);
    assert_eq!(
        run(&store.0, "SELECT request_id FROM audit_events", &[]),
        ["kept"]
    );
}
