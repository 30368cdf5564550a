//! The scheduled cleanup: what it deletes and keeps, its bounded batches, and a failing run.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::app::cleanup;
use edge_auth::app::cleanup::{BATCH, MAX_STATEMENTS};
use edge_auth::http::{ApiRequest, ApiResponse, Ctx};
use edge_auth::limits::throttle::Attempts;
use edge_auth::store::EmailTokenRow;
use futures::executor::block_on;
use serde_json::json;

fn refresh_at(h: &Harness, token: &str, now_ms: i64) -> ApiResponse {
    h.send_at(
        ApiRequest::new("POST", "/auth/refresh").json(&json!({ "refresh_token": token })),
        now_ms,
    )
}

fn h_events_of(ctx: &Ctx, name: &str) -> Vec<serde_json::Value> {
    ctx.take_lines()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["event"] == name)
        .collect()
}

#[test]
fn the_cleanup_removes_what_can_no_longer_matter_and_keeps_the_rest() {
    let h = Harness::new();
    let day = 24 * 3600 * 1000;
    h.register("alice@example.com", PASSWORD);
    // Three sessions: one live, one logged out a moment ago, one that expired long ago.
    let live = h.login("alice@example.com", PASSWORD).body_json();
    let out = h.login("alice@example.com", PASSWORD).body_json();
    let old = h.login("alice@example.com", PASSWORD).body_json();
    let spend = |pair: &serde_json::Value| {
        refresh_at(&h, pair["refresh_token"].as_str().unwrap(), NOW_MS + 1).body_json()
    };
    let live2 = spend(&live);
    let out2 = spend(&out);
    spend(&old);
    h.send_at(
        ApiRequest::new("POST", "/auth/logout")
            .json(&json!({"refresh_token": out2["refresh_token"]})),
        NOW_MS + 2,
    );
    let old_sid = h.events("login_succeeded").last().unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    h.sessions.set_session_expiry(&old_sid, NOW_MS - 30 * day);
    h.users.put_attempts(
        "stale@example.com",
        Attempts {
            failures: 3,
            window_start_ms: NOW_MS - 2 * 900_000,
        },
    );
    h.users.put_attempts(
        "fresh@example.com",
        Attempts {
            failures: 3,
            window_start_ms: NOW_MS,
        },
    );
    let user_id = h.users.get("alice@example.com").unwrap().id.to_string();
    // Only the tokens below (not the verification token of the registration).
    h.users.clear_email_tokens();
    for (hash, expires, used) in [
        ("e1", NOW_MS - 1, None),
        ("e2", NOW_MS + day, Some(NOW_MS - 5)),
        ("e3", NOW_MS + day, None),
    ] {
        h.users.put_email_token(
            hash,
            EmailTokenRow {
                user_id: user_id.clone(),
                purpose: "password_reset".into(),
                expires_at_ms: expires,
                used_at_ms: used,
            },
        );
    }
    // users, attempts, sessions, spent tokens, email tokens
    assert_eq!(h.users.counts(), [1, 2, 3, 3, 3]);

    let ctx = Ctx::new("cron".into(), NOW_MS + 3);
    let report = block_on(cleanup::run(&*h.users, &h.config, &ctx));
    // The old session (past its expiry plus the 7-day retention) goes with its spent token; the
    // logged-out one stays (within the retention) but its spent token goes.
    assert_eq!(
        (
            report.sessions,
            report.spent_refresh_tokens,
            report.login_attempts,
            report.email_tokens
        ),
        (1, 1, 1, 2)
    );
    assert!(!report.incomplete);
    assert_eq!(h.users.counts(), [1, 1, 2, 1, 1]);
    assert!(h.users.attempts_of("fresh@example.com").is_some());
    // The live session still refreshes, and its reuse detection still works.
    assert_eq!(
        refresh_at(&h, live2["refresh_token"].as_str().unwrap(), NOW_MS + 4).status,
        200
    );
    let line = &h_events_of(&ctx, "cleanup")[0];
    assert_eq!(line["sessions"], 1);
    assert!(line.get("cause").is_none());
}

#[test]
fn the_cleanup_works_in_bounded_batches_and_the_next_run_carries_on() {
    let h = Harness::new();
    // The first round takes one statement per table; the seven empty ones are then done, and
    // the rest of the run's statements go to the full one.
    let per_run = BATCH * (MAX_STATEMENTS - 7);
    let total = per_run + 123;
    for i in 0..total {
        h.users.put_attempts(
            &format!("u{i}@example.com"),
            Attempts {
                failures: 1,
                window_start_ms: 0,
            },
        );
    }
    let calls = h.users.calls.get();
    let first = block_on(cleanup::run(
        &*h.users,
        &h.config,
        &Ctx::new("a".into(), NOW_MS),
    ));
    assert_eq!(first.login_attempts, per_run);
    assert!(first.incomplete);
    // Bounded: MAX_STATEMENTS statements in all.
    assert_eq!(h.users.calls.get() - calls, MAX_STATEMENTS);
    let second = block_on(cleanup::run(
        &*h.users,
        &h.config,
        &Ctx::new("b".into(), NOW_MS),
    ));
    assert_eq!(second.login_attempts, 123);
    assert!(!second.incomplete);
    assert_eq!(h.users.counts()[1], 0);
}

#[test]
fn a_failing_cleanup_logs_and_stops() {
    let h = Harness::new();
    h.users.fail.set(true);
    let ctx = Ctx::new("c".into(), NOW_MS);
    let report = block_on(cleanup::run(&*h.users, &h.config, &ctx));
    assert!(report.incomplete);
    assert_eq!(h_events_of(&ctx, "cleanup_failed").len(), 1);
}
