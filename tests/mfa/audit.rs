//! The audit events two-step verification writes.

use crate::common::{assert_problem, Harness, NOW_MS, PASSWORD};
use crate::{code, delete, enrolled, harness, mfa_token, post, verify_at, STEP_MS};
use serde_json::json;

/// The audit trail's event types, oldest first.
fn event_types(h: &Harness) -> Vec<String> {
    h.users.with_conn(|c| {
        let mut stmt = c.prepare("SELECT type FROM audit_events ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect()
    })
}

/// The event types written since the trail had `before` events.
fn events_since(h: &Harness, before: usize) -> Vec<String> {
    event_types(h).split_off(before)
}

#[test]
fn each_two_step_change_records_its_event_and_a_right_code_leaves_no_failure() {
    let h = harness();
    let (token, secret, codes) = enrolled(&h);
    // The setup's password check withdrew its provisional failure; a wrong confirm code
    // records nothing.
    let bad = h.send(post(
        "/auth/mfa/totp/confirm",
        Some(&token),
        json!({"code": "000000"}),
    ));
    assert_problem(&bad, 409, "mfa_already_enabled");
    assert_eq!(
        event_types(&h),
        ["user_registered", "login_succeeded", "mfa_enabled"]
    );

    // The login's first half: the password was right, so no `login_failed` stays.
    let at = NOW_MS + STEP_MS;
    let mut seen = event_types(&h).len();
    let t = mfa_token(&h, at);
    assert_eq!(events_since(&h, seen), ["mfa_required"]);
    seen += 1;
    let wrong = verify_at(&h, json!({"mfa_token": t, "code": "000000"}), at);
    assert_problem(&wrong, 401, "invalid_mfa_code");
    assert_eq!(events_since(&h, seen), ["mfa_failed"]);
    seen += 1;
    let right = verify_at(&h, json!({"mfa_token": t, "code": code(&secret, at)}), at);
    assert_eq!(right.status, 200, "{}", right.body_json());
    assert_eq!(events_since(&h, seen), ["login_succeeded"]);
    seen += 1;

    // A recovery code at verify.
    let t = mfa_token(&h, at);
    let by_code = verify_at(&h, json!({"mfa_token": t, "recovery_code": codes[0]}), at);
    assert_eq!(by_code.status, 200, "{}", by_code.body_json());
    assert_eq!(
        events_since(&h, seen),
        ["mfa_required", "recovery_code_used", "login_succeeded"]
    );
    seen += 3;

    // New recovery codes: a wrong code is `mfa_failed`, a right one records no failure.
    let regenerate = |c: &str, now_ms: i64| {
        h.send_at(
            post("/auth/mfa/recovery-codes", Some(&token), json!({"code": c})),
            now_ms,
        )
    };
    let later = at + STEP_MS;
    assert_problem(&regenerate("000000", later), 401, "invalid_mfa_code");
    assert_eq!(events_since(&h, seen), ["mfa_failed"]);
    seen += 1;
    let fresh = regenerate(&code(&secret, later), later);
    assert_eq!(fresh.status, 200, "{}", fresh.body_json());
    assert_eq!(events_since(&h, seen), Vec::<String>::new());
    let fresh: Vec<String> = fresh.body_json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();

    // Turning it off: a wrong code, then a recovery code (spent once), then it is off.
    let off = |c: &str| {
        h.send_at(
            delete(
                "/auth/mfa/totp",
                &token,
                json!({"password": PASSWORD, "code": c}),
            ),
            later,
        )
    };
    assert_problem(&off("aaaaa-aaaaa"), 401, "invalid_mfa_code");
    assert_eq!(events_since(&h, seen), ["mfa_failed"]);
    seen += 1;
    assert_eq!(off(&fresh[0]).status, 204);
    assert_eq!(
        events_since(&h, seen),
        ["recovery_code_used", "mfa_disabled"]
    );
}

#[test]
fn a_spent_recovery_code_records_no_second_use() {
    let h = harness();
    let (_, _, codes) = enrolled(&h);
    let at = NOW_MS + STEP_MS;
    let t = mfa_token(&h, at);
    let first = verify_at(&h, json!({"mfa_token": t, "recovery_code": codes[1]}), at);
    assert_eq!(first.status, 200);
    let seen = event_types(&h).len();
    let t = mfa_token(&h, at);
    let again = verify_at(&h, json!({"mfa_token": t, "recovery_code": codes[1]}), at);
    assert_problem(&again, 401, "invalid_mfa_code");
    assert_eq!(events_since(&h, seen), ["mfa_required", "mfa_failed"]);
}
