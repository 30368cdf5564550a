"""End-to-end faults on workerd: a panic, a database that fails (circuit breaker), KV missing."""
from __future__ import annotations

import time

from client import request
from conftest import SigningKey, apply_migrations
from test_core import assert_problem, claims_for, login, register, unique_email


def test_a_panic_becomes_a_500_problem_and_the_worker_recovers(schemaless_worker):
    w = schemaless_worker
    r = request(w.base, "GET", "/__test/panic", headers={"X-Request-Id": "trap-check-1"})
    body = assert_problem(r, 500, "internal_error")
    assert body["request_id"] == "trap-check-1"
    assert "panic" not in r.body.decode().lower()
    r = request(w.base, "GET", "/__test/panic")
    assert_problem(r, 500, "internal_error")
    # The next request is served by a fresh instance.
    assert request(w.base, "GET", "/.well-known/jwks.json").status == 200
    time.sleep(0.5)
    logs = [l for l in w.logs() if l.get("request_id") == "trap-check-1"]
    assert any(l["event"] == "unhandled_exception" for l in logs), logs


def test_the_breaker_opens_on_failures_rejects_fast_and_closes_after_a_good_trial(schemaless_worker):
    w = schemaless_worker
    health = request(w.base, "GET", "/health")
    assert health.status == 503
    assert health.json()["status"] == "degraded"

    # Threshold 3 (wrangler.test.toml): the health probe above was failure 1.
    for _ in range(2):
        r = register(w, unique_email("brk"))
        assert_problem(r, 503, "service_unavailable")
        assert r.header("retry-after")
        assert "no such table" not in r.body.decode()
    r = request(w.base, "GET", "/health")
    assert r.status == 503
    assert r.json()["checks"] == {"database": "unchecked", "breaker": "open"}
    assert int(r.header("retry-after")) >= 1

    # While open, database routes answer 503 without calling D1 (no new storage_failure lines).
    time.sleep(0.5)
    failures_before = sum(1 for l in w.logs() if l["event"] == "storage_failure")
    for _ in range(5):
        assert_problem(login(w, "x@example.com"), 503, "service_unavailable")
    time.sleep(0.5)
    assert sum(1 for l in w.logs() if l["event"] == "storage_failure") == failures_before
    # Signature-only work keeps going: JWKS, and /auth/verify in its documented degraded mode.
    assert request(w.base, "GET", "/.well-known/jwks.json").status == 200
    token = w.key.sign({"alg": "EdDSA", "kid": w.key.kid}, claims_for(w))
    v = request(w.base, "POST", "/auth/verify", json={"token": token}).json()
    assert v["active"] is True and v["revocation_checked"] is False, v
    forged = SigningKey(w.key.kid).sign({"alg": "EdDSA", "kid": w.key.kid}, claims_for(w))
    assert request(w.base, "POST", "/auth/verify", json={"token": forged}).json() == {"active": False}

    # The database recovers; after the cooldown (3 s) one trial goes through and closes it.
    apply_migrations(w.state_dir, w.config_args)
    deadline = time.monotonic() + 30
    while True:
        r = request(w.base, "GET", "/health")
        if r.status == 200 or time.monotonic() > deadline:
            break
        assert r.json()["checks"]["breaker"] in ("open", "half_open")
        time.sleep(0.5)
    assert r.status == 200, r.body
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "breaker": "closed"}}
    assert register(w, unique_email("after")).status == 201
    time.sleep(0.5)
    changes = [(l["from"], l["to"]) for l in w.logs() if l["event"] == "breaker_state_changed"]
    assert ("closed", "open") in changes and ("half_open", "closed") in changes, changes


def test_missing_kv_neither_lets_a_wrong_password_in_nor_locks_users_out(no_kv_worker):
    w = no_kv_worker
    email = unique_email("nokv")
    assert register(w, email).status == 201
    assert_problem(login(w, email, "wrong password again"), 401, "invalid_credentials")
    r = login(w, email)
    assert r.status == 200
    token = r.json()["access_token"]
    assert request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {token}"}).status == 200
    time.sleep(0.5)
    assert w.has_line(lambda l: l["event"] == "breaker_store_unavailable")
