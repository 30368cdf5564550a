//! The per-account login throttle: failures reserved before the hash, the limit, the window,
//! unknown accounts alike, and a right password that clears the count.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;

#[test]
fn five_failures_throttle_the_account_even_with_the_right_password() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    for i in 0..5 {
        let r = h.login_at("alice@example.com", "wrong password!", NOW_MS + i * 1_000);
        assert_problem(&r, 401, "invalid_credentials");
    }
    let r = h.login_at("ALICE@example.com", PASSWORD, NOW_MS + 60_000);
    assert_problem(&r, 429, "too_many_attempts");
    // The window started at the first failure: 15 min minus the minute that has passed.
    assert_eq!(r.get_header("retry-after"), Some("840"));
    // Once the window has passed, the right password works again.
    let later = NOW_MS + 15 * 60_000;
    assert_eq!(h.login_at("alice@example.com", PASSWORD, later).status, 200);
}

#[test]
fn a_success_resets_the_count() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    for _ in 0..4 {
        h.login_at("alice@example.com", "wrong password!", NOW_MS);
    }
    assert_eq!(
        h.login_at("alice@example.com", PASSWORD, NOW_MS).status,
        200
    );
    for _ in 0..4 {
        let r = h.login_at("alice@example.com", "wrong password!", NOW_MS);
        assert_problem(&r, 401, "invalid_credentials");
    }
    assert_eq!(
        h.login_at("alice@example.com", PASSWORD, NOW_MS).status,
        200
    );
}

#[test]
fn unknown_accounts_are_throttled_the_same_way_and_others_are_unaffected() {
    let h = Harness::new();
    h.register("bob@example.com", PASSWORD);
    for _ in 0..5 {
        h.login_at("ghost@example.com", PASSWORD, NOW_MS);
    }
    let r = h.login_at("Ghost@Example.com", PASSWORD, NOW_MS);
    assert_problem(&r, 429, "too_many_attempts");
    assert_eq!(h.login_at("bob@example.com", PASSWORD, NOW_MS).status, 200);
}

#[test]
fn limits_are_configurable() {
    let h = Harness::with_config(config_with(&[
        ("LOGIN_MAX_FAILURES", "2"),
        ("LOGIN_WINDOW", "60"),
    ]));
    h.register("alice@example.com", PASSWORD);
    h.login_at("alice@example.com", "wrong password!", NOW_MS);
    h.login_at("alice@example.com", "wrong password!", NOW_MS);
    let r = h.login_at("alice@example.com", PASSWORD, NOW_MS + 1_000);
    assert_problem(&r, 429, "too_many_attempts");
    assert_eq!(r.get_header("retry-after"), Some("59"));
    assert_eq!(
        h.login_at("alice@example.com", PASSWORD, NOW_MS + 60_000)
            .status,
        200
    );
}

#[test]
fn at_most_the_limit_of_guesses_is_ever_hashed_and_the_rest_are_throttled() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(h.login("alice@example.com", "wrong password!").status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    // Only the five admitted attempts reached the hash.
    let hashed = h.events("login_failed");
    assert_eq!(hashed.len(), 5);
    assert!(hashed.iter().all(|e| e["hash_iterations"] == ITERATIONS));
    assert_eq!(h.events("login_throttled").len(), 15);
    assert_problem(
        &h.login("alice@example.com", PASSWORD),
        429,
        "too_many_attempts",
    );
}

#[test]
fn a_correct_login_clears_its_own_reservation() {
    let h = Harness::new();
    h.register("alice@example.com", PASSWORD);
    assert_eq!(h.login("alice@example.com", PASSWORD).status, 200);
    assert_eq!(h.users.attempts_of("alice@example.com"), None);
}

#[test]
fn a_right_password_on_an_unverified_account_never_runs_into_the_throttle() {
    let h = Harness::with_config(config_with(&[("REQUIRE_EMAIL_VERIFICATION", "true")]));
    h.register("alice@example.com", PASSWORD);
    for _ in 0..8 {
        assert_problem(
            &h.login("alice@example.com", PASSWORD),
            403,
            "email_not_verified",
        );
    }
}
