//! The session cache behind `/auth/me` and `/auth/verify` (`SESSION_CACHE_TTL`): no database
//! trip in steady state, every revocation seen at once in its own location, and in another
//! location within the TTL. Two harnesses on one database are two locations.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use edge_auth::http::{ApiRequest, ApiResponse};
use edge_auth::store::Read;
use serde_json::{json, Value};

const ALICE: &str = "alice@example.com";
const NEW_PASSWORD: &str = "a brand new passphrase";
const TTL_MS: i64 = 30_000;

fn bearer(req: ApiRequest, token: &str) -> ApiRequest {
    req.header("authorization", &format!("Bearer {token}"))
}

fn pair(h: &Harness) -> Value {
    let r = h.login(ALICE, PASSWORD);
    assert_eq!(r.status, 200, "{:?}", r.body_json());
    r.body_json()
}

fn access(pair: &Value) -> &str {
    pair["access_token"].as_str().unwrap()
}

fn verify(h: &Harness, token: &str, now_ms: i64) -> Value {
    let r = h.send_at(
        ApiRequest::new("POST", "/auth/verify").json(&json!({ "token": token })),
        now_ms,
    );
    assert_eq!(r.status, 200);
    r.body_json()
}

/// Database calls made by one request.
fn db_calls(h: &Harness, send: impl FnOnce() -> ApiResponse) -> (ApiResponse, u32) {
    let before = h.users.calls.get();
    let resp = send();
    (resp, h.users.calls.get() - before)
}

fn registered() -> Harness {
    let h = Harness::new();
    assert_eq!(h.register(ALICE, PASSWORD).status, 201);
    h
}

/// Fills the cache for this token, and checks that the next check is served from it.
fn warm(h: &Harness, token: &str) {
    assert_eq!(h.me(token, NOW_MS).status, 200);
    let (r, calls) = db_calls(h, || h.me(token, NOW_MS + 1));
    assert_eq!((r.status, calls), (200, 0), "served from the cache");
}

fn mail_token(h: &Harness, marker: &str) -> String {
    let mail = h
        .inbox(ALICE)
        .into_iter()
        .rev()
        .find(|m| m.text.contains(marker))
        .expect("a mail with the link");
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains(marker))
        .unwrap()
        .to_owned();
    link.split_once("?token=").unwrap().1.to_owned()
}

#[test]
fn me_and_verify_make_no_database_call_in_steady_state() {
    let h = registered();
    let p = pair(&h);
    let (r, first) = db_calls(&h, || h.me(access(&p), NOW_MS));
    assert_eq!((r.status, first), (200, 1));
    for i in 1..=20 {
        let (r, calls) = db_calls(&h, || h.me(access(&p), NOW_MS + i * 100));
        assert_eq!((r.status, calls), (200, 0));
        assert_eq!(r.body_json()["email"], ALICE);
        let before = h.users.calls.get();
        let v = verify(&h, access(&p), NOW_MS + i * 100);
        assert_eq!(h.users.calls.get(), before);
        assert_eq!(
            (v["active"].clone(), v["revocation_checked"].clone()),
            (json!(true), json!(true))
        );
    }
    // Past the isolate's own bound (1 s), the location's cache answers; no database call.
    let (r, calls) = db_calls(&h, || h.me(access(&p), NOW_MS + 5_000));
    assert_eq!((r.status, calls), (200, 0));
    // Past SESSION_CACHE_TTL, D1 is asked again.
    let (r, calls) = db_calls(&h, || h.me(access(&p), NOW_MS + TTL_MS));
    assert_eq!((r.status, calls), (200, 1));
}

#[test]
fn the_cache_holds_no_password_hash() {
    let h = registered();
    let p = pair(&h);
    warm(&h, access(&p));
    let hash = h.users.get(ALICE).unwrap().password_hash;
    for value in h.location_cache.entries.borrow().values() {
        assert!(
            !value.contains(&hash) && !value.contains("pbkdf2"),
            "{value}"
        );
    }
}

#[test]
fn logout_is_seen_at_once_in_its_own_location() {
    let h = registered();
    let p = pair(&h);
    warm(&h, access(&p));
    let r = h.send(
        ApiRequest::new("POST", "/auth/logout").json(&json!({"refresh_token": p["refresh_token"]})),
    );
    assert_eq!(r.status, 204);
    assert_problem(&h.me(access(&p), NOW_MS + 2), 401, "invalid_token");
    assert_eq!(verify(&h, access(&p), NOW_MS + 2), json!({"active": false}));
}

#[test]
fn refresh_token_reuse_is_seen_at_once() {
    let h = registered();
    let p = pair(&h);
    warm(&h, access(&p));
    let refresh = |now| {
        h.send_at(
            ApiRequest::new("POST", "/auth/refresh")
                .json(&json!({"refresh_token": p["refresh_token"]})),
            now,
        )
    };
    assert_eq!(refresh(NOW_MS + 2).status, 200);
    // The spent token again, past the grace period (10 s) but within SESSION_CACHE_TTL: the
    // whole session is revoked, and its cached state with it.
    assert_eq!(h.me(access(&p), NOW_MS + 11_000).status, 200);
    assert_eq!(refresh(NOW_MS + 11_000).status, 401);
    assert_problem(&h.me(access(&p), NOW_MS + 11_001), 401, "invalid_token");
}

#[test]
fn a_password_change_ends_the_other_sessions_at_once() {
    let h = registered();
    let (mine, other) = (pair(&h), pair(&h));
    warm(&h, access(&other));
    let r = h.send(
        bearer(
            ApiRequest::new("POST", "/auth/password/change"),
            access(&mine),
        )
        .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
    );
    assert_eq!(r.status, 204, "{:?}", r.body_json());
    assert_problem(&h.me(access(&other), NOW_MS + 2), 401, "invalid_token");
    assert_eq!(h.me(access(&mine), NOW_MS + 2).status, 200);
}

#[test]
fn revoking_one_or_all_other_sessions_is_seen_at_once() {
    let h = registered();
    let (mine, a, b) = (pair(&h), pair(&h), pair(&h));
    warm(&h, access(&a));
    warm(&h, access(&b));
    let sid_a = {
        let list = h.send(bearer(
            ApiRequest::new("GET", "/auth/sessions"),
            access(&mine),
        ));
        let sessions = list.body_json()["sessions"].as_array().unwrap().clone();
        let token_sid = |p: &Value| {
            let payload = access(p).split('.').nth(1).unwrap().to_owned();
            let claims: Value = serde_json::from_slice(
                &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                    .unwrap(),
            )
            .unwrap();
            claims["sid"].as_str().unwrap().to_owned()
        };
        let sid = token_sid(&a);
        assert!(sessions.iter().any(|s| s["id"] == sid.as_str()));
        sid
    };
    let r = h.send(bearer(
        ApiRequest::new("DELETE", &format!("/auth/sessions/{sid_a}")),
        access(&mine),
    ));
    assert_eq!(r.status, 204);
    assert_problem(&h.me(access(&a), NOW_MS + 2), 401, "invalid_token");
    assert_eq!(h.me(access(&b), NOW_MS + 2).status, 200);
    let r = h.send(bearer(
        ApiRequest::new("DELETE", "/auth/sessions"),
        access(&mine),
    ));
    assert_eq!(r.status, 204);
    assert_problem(&h.me(access(&b), NOW_MS + 3), 401, "invalid_token");
    assert_eq!(h.me(access(&mine), NOW_MS + 3).status, 200);
}

#[test]
fn deleting_the_account_is_seen_at_once() {
    let h = registered();
    let (mine, other) = (pair(&h), pair(&h));
    warm(&h, access(&mine));
    warm(&h, access(&other));
    let r = h.send(
        bearer(ApiRequest::new("DELETE", "/auth/me"), access(&mine))
            .json(&json!({"password": PASSWORD})),
    );
    assert_eq!(r.status, 204);
    assert_problem(&h.me(access(&mine), NOW_MS + 2), 401, "invalid_token");
    assert_problem(&h.me(access(&other), NOW_MS + 2), 401, "invalid_token");
}

#[test]
fn a_password_reset_ends_every_session_at_once() {
    let h = registered();
    let p = pair(&h);
    warm(&h, access(&p));
    let r = h.send(ApiRequest::new("POST", "/auth/password/forgot").json(&json!({"email": ALICE})));
    assert_eq!(r.status, 202);
    let token = mail_token(&h, "/reset-password?token=");
    let r = h.send(
        ApiRequest::new("POST", "/auth/password/reset")
            .json(&json!({"token": token, "new_password": NEW_PASSWORD})),
    );
    assert_eq!(r.status, 204, "{:?}", r.body_json());
    assert_problem(&h.me(access(&p), NOW_MS + 2), 401, "invalid_token");
}

#[test]
fn a_verified_address_shows_at_once_in_me_and_verify() {
    let h = registered();
    let p = pair(&h);
    warm(&h, access(&p));
    assert_eq!(
        h.me(access(&p), NOW_MS + 2).body_json()["email_verified"],
        false
    );
    let token = mail_token(&h, "/verify-email?token=");
    let r = h.send(ApiRequest::new("POST", "/auth/email/verify").json(&json!({"token": token})));
    assert_eq!(r.status, 200);
    assert_eq!(
        h.me(access(&p), NOW_MS + 3).body_json()["email_verified"],
        true
    );
    assert_eq!(verify(&h, access(&p), NOW_MS + 3)["email_verified"], true);
}

#[test]
fn another_location_sees_a_logout_within_session_cache_ttl() {
    let here = registered();
    let there = here.elsewhere(config_with(&[]));
    let p = pair(&here);
    // The other location read the session at NOW_MS.
    assert_eq!(there.me(access(&p), NOW_MS).status, 200);
    let r = here.send(
        ApiRequest::new("POST", "/auth/logout").json(&json!({"refresh_token": p["refresh_token"]})),
    );
    assert_eq!(r.status, 204);
    assert_problem(&here.me(access(&p), NOW_MS + 1), 401, "invalid_token");
    // Stale there, for at most the TTL after its read: the documented bound.
    assert_eq!(there.me(access(&p), NOW_MS + TTL_MS - 1).status, 200);
    assert_problem(&there.me(access(&p), NOW_MS + TTL_MS), 401, "invalid_token");
}

#[test]
fn ttl_zero_reads_the_database_on_every_check_and_sees_other_locations_at_once() {
    let strict = || config_with(&[("SESSION_CACHE_TTL", "0")]);
    let here = Harness::with_config(strict());
    assert_eq!(here.register(ALICE, PASSWORD).status, 201);
    let there = here.elsewhere(strict());
    let p = pair(&here);
    for i in 0..3 {
        let (r, calls) = db_calls(&there, || there.me(access(&p), NOW_MS + i));
        assert_eq!((r.status, calls), (200, 1));
    }
    assert!(there.location_cache.entries.borrow().is_empty());
    assert!(there.session_memory.is_empty());
    let r = here.send(
        ApiRequest::new("POST", "/auth/logout").json(&json!({"refresh_token": p["refresh_token"]})),
    );
    assert_eq!(r.status, 204);
    assert_problem(&there.me(access(&p), NOW_MS + 10), 401, "invalid_token");
}

#[test]
fn a_failing_location_cache_falls_back_to_the_database() {
    let h = registered();
    let p = pair(&h);
    h.location_cache.fail.set(true);
    for i in 0..3 {
        let (r, calls) = db_calls(&h, || h.me(access(&p), NOW_MS + i));
        assert_eq!((r.status, calls), (200, 1));
    }
    assert!(!h.events("session_cache_failed").is_empty());
    let r = h.send(
        ApiRequest::new("POST", "/auth/logout").json(&json!({"refresh_token": p["refresh_token"]})),
    );
    assert_eq!(r.status, 204);
    assert_problem(&h.me(access(&p), NOW_MS + 10), 401, "invalid_token");
}

#[test]
fn a_full_isolate_memory_drops_live_entries_but_never_a_purge_mark_in_force() {
    // Only the memory tier holds the mark here (the location cache failed when it was set, as
    // on a hostname where the Cache API stores nothing): filling the memory must not forget it.
    use edge_auth::store::session_cache::{
        MemoryLocationCache, SessionCache, SessionMemory, MEMORY_CAPACITY,
    };
    let memory = SessionMemory::default();
    let location = MemoryLocationCache::default();
    location.fail.set(true);
    let cache = SessionCache {
        memory: &memory,
        location: &location,
        ttl_ms: TTL_MS,
        memory_ttl_ms: TTL_MS,
    };
    let entry = |i: usize| edge_auth::store::session_cache::CachedSession {
        user_id: format!("u{i}"),
        email: "a@example.com".into(),
        created_at: "2026-01-01T00:00:00.000Z".into(),
        email_verified: false,
        mfa_enabled: false,
        session_expires_ms: NOW_MS + 3_600_000,
        read_ms: NOW_MS,
    };
    futures::executor::block_on(async {
        cache.purge(&["revoked".to_owned()], NOW_MS).await;
        location.fail.set(false);
        for i in 0..=MEMORY_CAPACITY {
            cache.store(&format!("s{i}"), &entry(i), NOW_MS).await;
        }
        // Full: the live entries went, the mark stayed, the newest entries are in.
        assert_eq!(memory.len(), 3);
        let lookup = cache.lookup("revoked", "u0", NOW_MS + 1).await;
        assert!(
            lookup.purged && lookup.hit.is_none(),
            "the purge mark was dropped"
        );
        // The entry stored after the eviction is served from memory.
        let last = format!("s{MEMORY_CAPACITY}");
        let lookup = cache
            .lookup(&last, &format!("u{MEMORY_CAPACITY}"), NOW_MS + 1)
            .await;
        assert!(lookup.hit.is_some());
    });
}

#[test]
fn session_memory_ttl_is_capped_by_session_cache_ttl_and_config_is_checked() {
    let c = config_with(&[("SESSION_CACHE_TTL", "5"), ("SESSION_MEMORY_TTL", "60")]);
    assert_eq!(
        (c.session_cache_ttl_secs, c.session_memory_ttl_secs),
        (5, 5)
    );
    let c = config_with(&[]);
    assert_eq!(
        (c.session_cache_ttl_secs, c.session_memory_ttl_secs),
        (30, 1)
    );
    let bad = edge_auth::config::Config::from_lookup(|n| match n {
        "JWT_SIGNING_KEYS" => Some(json!([jwk("k1", 7)]).to_string()),
        "SESSION_CACHE_TTL" => Some("-1".into()),
        _ => None,
    });
    assert!(bad.is_err());
}

#[test]
fn a_check_that_read_the_database_before_a_logout_does_not_cache_the_session_after_it() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let h = registered();
    let p = pair(&h);
    // The check misses both tiers (gets 1 and 2: the state and its purge mark), reads the
    // session (still active), and is paused at the location-cache read that precedes its put
    // (get 3).
    h.location_cache.yield_at_get.set(Some(2));
    let cache = h.session_cache();
    let outbox = edge_auth::app::mail::Outbox::default();
    let app = h.app(&outbox, &cache);
    let ctx = edge_auth::http::Ctx::new("racing-check".into(), NOW_MS);
    let check = bearer(ApiRequest::new("GET", "/auth/me"), access(&p));
    let mut racing = std::pin::pin!(app.handle(check, &ctx));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(racing.as_mut().poll(&mut cx).is_pending());
    // Meanwhile the session logs out, in this location.
    let r = h.send(
        ApiRequest::new("POST", "/auth/logout").json(&json!({"refresh_token": p["refresh_token"]})),
    );
    assert_eq!(r.status, 204);
    // The racing check answers with what it read before the logout…
    let Poll::Ready(r) = racing.as_mut().poll(&mut cx) else {
        panic!("still pending")
    };
    assert_eq!(r.status, 200);
    // …but does not put it back: every later check is refused.
    assert_problem(&h.me(access(&p), NOW_MS + 1), 401, "invalid_token");
    assert_problem(&h.me(access(&p), NOW_MS + 5_000), 401, "invalid_token");
}

#[test]
fn a_location_read_answered_before_a_logout_does_not_serve_the_session_after_it() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let h = registered();
    let p = pair(&h);
    let logout = |now| {
        h.send_at(
            ApiRequest::new("POST", "/auth/logout")
                .json(&json!({"refresh_token": p["refresh_token"]})),
            now,
        )
    };
    // The location's cache holds the live state; this isolate's memory no longer does.
    assert_eq!(h.me(access(&p), NOW_MS).status, 200);
    let later = NOW_MS + 1_500;
    // The check's location read has its answer (still live) but has not resumed yet.
    h.location_cache.yield_at_get.set(Some(0));
    h.location_cache.read_before_yield.set(true);
    let cache = h.session_cache();
    let outbox = edge_auth::app::mail::Outbox::default();
    let app = h.app(&outbox, &cache);
    let ctx = edge_auth::http::Ctx::new("racing-check".into(), later);
    let check = bearer(ApiRequest::new("GET", "/auth/me"), access(&p));
    let mut racing = std::pin::pin!(app.handle(check, &ctx));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(racing.as_mut().poll(&mut cx).is_pending());
    // Meanwhile the session logs out, in this isolate.
    assert_eq!(logout(later).status, 204);
    let Poll::Ready(r) = racing.as_mut().poll(&mut cx) else {
        panic!("still pending")
    };
    // The purge mark set during its read makes it a miss, and the primary refuses it…
    assert_problem(&r, 401, "invalid_token");
    // …and nothing was put back in memory: every later check is refused.
    assert_problem(&h.me(access(&p), later + 1), 401, "invalid_token");
    assert_problem(&h.me(access(&p), later + 500), 401, "invalid_token");
}

#[test]
fn a_session_a_lagging_replica_does_not_know_yet_is_asked_of_the_primary_and_not_refused() {
    // A fresh login checked before the replica has caught up: the primary answers, and no
    // rejection is logged for a request that succeeds.
    let h = registered();
    h.sessions.replica_lags.set(true);
    let p = pair(&h);
    let (r, reads) = session_reads(&h, || h.me(access(&p), NOW_MS));
    assert_eq!(r.status, 200);
    assert_eq!(reads, [Read::Nearest, Read::Primary]);
    assert!(
        h.events("token_rejected").is_empty(),
        "{:?}",
        h.events("token_rejected")
    );
}

/// Where the session reads of one request went.
fn session_reads(h: &Harness, send: impl FnOnce() -> ApiResponse) -> (ApiResponse, Vec<Read>) {
    h.sessions.session_reads.borrow_mut().clear();
    let resp = send();
    (resp, h.sessions.session_reads.take())
}

#[test]
fn a_check_reads_the_nearest_copy_unless_the_session_was_purged_here() {
    let h = registered();
    let p = pair(&h);
    let (r, reads) = session_reads(&h, || h.me(access(&p), NOW_MS));
    assert_eq!((r.status, reads), (200, vec![Read::Nearest]));
    let r = h.send(
        ApiRequest::new("POST", "/auth/logout").json(&json!({"refresh_token": p["refresh_token"]})),
    );
    assert_eq!(r.status, 204);
    // A replica may not have the logout yet: only the primary may answer.
    let (r, reads) = session_reads(&h, || h.me(access(&p), NOW_MS + 2));
    assert_problem(&r, 401, "invalid_token");
    assert_eq!(reads, vec![Read::Primary]);
    let (v, reads) = session_reads(&h, || {
        h.send_at(
            ApiRequest::new("POST", "/auth/verify").json(&json!({ "token": access(&p) })),
            NOW_MS + 3,
        )
    });
    assert_eq!(v.body_json(), json!({"active": false}));
    assert_eq!(reads, vec![Read::Primary]);
}

#[test]
fn a_check_after_a_verified_address_reads_the_primary() {
    let h = registered();
    let p = pair(&h);
    warm(&h, access(&p));
    let token = mail_token(&h, "/verify-email?token=");
    let r = h.send(ApiRequest::new("POST", "/auth/email/verify").json(&json!({"token": token})));
    assert_eq!(r.status, 200);
    // A replica may still say "not verified"; the primary says what the purge was for.
    let (r, reads) = session_reads(&h, || h.me(access(&p), NOW_MS + 3));
    assert_eq!(r.body_json()["email_verified"], true);
    assert_eq!((r.status, reads), (200, vec![Read::Primary]));
}
