"""End-to-end on workerd: the audit's defects, each on the real D1 path, and the README claims
that had no test behind them."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import request
from conftest import ROOT
from test_core import PASSWORD, assert_problem, login, register, unique_email
from test_sessions import me, new_session, refresh, verify


def logs_for(w, prefix: str) -> list[dict]:
    time.sleep(0.7)  # wrangler relays the Worker's lines asynchronously
    return [l for l in w.logs() if str(l.get("request_id", "")).startswith(prefix)]


def insert_user(w, email: str, phc: str, uid: str | None = None) -> str:
    uid = uid or str(uuid.uuid4())
    w.d1("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES "
         f"('{uid}', '{email}', '{phc}', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')")
    return uid


def pbkdf2_phc(password: str, iterations: int) -> str:
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    enc = lambda b: base64.b64encode(b).rstrip(b"=").decode()
    return f"$pbkdf2-sha256$i={iterations},l=32${enc(salt)}${enc(dk)}"


@pytest.mark.parametrize("guesses", [20, 50])
def test_parallel_guesses_hash_at_most_the_limit_and_the_rest_are_throttled(worker, guesses):
    email = unique_email("guess")
    assert register(worker, email).status == 201
    prefix = f"guess-{uuid.uuid4().hex[:8]}-"

    def guess(i):
        return request(worker.base, "POST", "/auth/login",
                       json={"email": email, "password": f"wrong guess {i}"},
                       headers={"X-Request-Id": f"{prefix}{i}"})

    with ThreadPoolExecutor(max_workers=guesses) as pool:
        results = list(pool.map(guess, range(guesses)))
    statuses = [r.status for r in results]
    # Past MAX_HASH_QUEUE (32) requests that hash in the isolate at once, a login is shed with
    # 503 before its body is read; every other guess past the fifth is throttled.
    assert set(statuses) <= {401, 429, 503}, [(r.status, r.body[:200]) for r in results]
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) + statuses.count(503) == guesses - 5, statuses
    codes = {401: "invalid_credentials", 429: "too_many_attempts", 503: "service_unavailable"}
    for r in results:
        assert_problem(r, r.status, codes[r.status])
        if r.status == 503:
            assert r.header("retry-after") == "1"
    # Exactly five passwords were hashed: one login_failed line each; the rest cost no hash.
    lines = logs_for(worker, prefix)
    assert sum(1 for l in lines if l["event"] == "login_failed") == 5
    assert sum(1 for l in lines if l["event"] == "login_throttled") == statuses.count(429)
    assert_problem(login(worker, email), 429, "too_many_attempts")


def test_an_unreadable_user_row_fails_logins_without_opening_the_breaker(worker):
    email = unique_email("badrow").lower()
    insert_user(worker, email, pbkdf2_phc(PASSWORD, 1000), uid="not-a-uuid-" + uuid.uuid4().hex[:6])
    prefix = f"badrow-{uuid.uuid4().hex[:8]}-"
    # Five failures, none a storage failure: the fifth must not open the breaker.
    for i in range(5):
        r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                    headers={"X-Request-Id": f"{prefix}{i}"})
        assert_problem(r, 401, "invalid_credentials")
    # The sixth is throttled like any account's, not refused by an open breaker.
    r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                headers={"X-Request-Id": f"{prefix}5"})
    assert_problem(r, 429, "too_many_attempts")
    lines = logs_for(worker, prefix)
    assert sum(1 for l in lines if l["event"] == "stored_row_invalid") == 5
    assert not any(l["event"] == "storage_failure" for l in lines)
    # Other users are unaffected: the breaker is closed.
    assert register(worker, unique_email("bystander")).status == 201
    health = request(worker.base, "GET", "/health")
    assert health.status == 200 and health.json()["checks"]["breaker"] == "closed"


@pytest.mark.parametrize("column,value", [("password_version", "'seven'"), ("email_verified", "'yes'")])
def test_a_column_of_the_wrong_type_is_a_bad_row_not_an_outage(worker, column, value):
    # SQLite keeps text in an INTEGER column it cannot convert: the row reader must refuse it
    # as bad data (never a 500 or a storage failure), naming the column in the log.
    email = unique_email("badcol").lower()
    uid = insert_user(worker, email, pbkdf2_phc(PASSWORD, 1000))
    worker.d1(f"UPDATE users SET {column} = {value} WHERE id = '{uid}'")
    prefix = f"badcol-{uuid.uuid4().hex[:8]}-"
    r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                headers={"X-Request-Id": f"{prefix}0"})
    assert_problem(r, 401, "invalid_credentials")
    bad = worker.lines_when(lambda l: l.get("request_id") == f"{prefix}0"
                            and l["event"] == "stored_row_invalid")
    assert len(bad) == 1 and column in bad[0]["cause"], bad
    lines = logs_for(worker, prefix)
    assert not any(l["event"] == "storage_failure" for l in lines)
    # Fixed, the same account logs in.
    worker.d1(f"UPDATE users SET {column} = 0 WHERE id = '{uid}'")
    assert login(worker, email).status == 200


def test_a_wrong_password_on_a_low_count_hash_costs_the_configured_count(worker):
    email = unique_email("lowcount").lower()
    insert_user(worker, email, pbkdf2_phc(PASSWORD, 1000))
    prefix = f"lowcount-{uuid.uuid4().hex[:8]}-"
    for i, (who, pw) in enumerate([(email, "not the password"), (unique_email("nobody"), PASSWORD)]):
        r = request(worker.base, "POST", "/auth/login", json={"email": who, "password": pw},
                    headers={"X-Request-Id": f"{prefix}{i}"})
        assert_problem(r, 401, "invalid_credentials")
    failed = [l for l in logs_for(worker, prefix) if l["event"] == "login_failed"]
    assert sorted((l["reason"], l["hash_iterations"]) for l in failed) == [
        ("unknown_email", 600_000), ("wrong_password", 600_000)]


def test_the_throttle_window_resets_on_d1(worker):
    email = unique_email("window")
    assert register(worker, email).status == 201
    for _ in range(5):
        assert_problem(login(worker, email, "not my password"), 401, "invalid_credentials")
    assert_problem(login(worker, email), 429, "too_many_attempts")
    # The window started 16 minutes ago: the next attempt starts a new count.
    old = int(time.time() * 1000) - 16 * 60 * 1000
    worker.d1(f"UPDATE login_attempts SET window_start_ms = {old} WHERE email = '{email.lower()}'")
    assert_problem(login(worker, email, "not my password"), 401, "invalid_credentials")
    rows = worker.d1(f"SELECT failures, window_start_ms FROM login_attempts WHERE email = '{email.lower()}'")
    assert rows[0]["failures"] == 1 and rows[0]["window_start_ms"] > old
    assert login(worker, email).status == 200


def test_logout_with_a_spent_token_revokes_the_session(worker):
    _, access, first = new_session(worker)
    second = refresh(worker, first).json()
    assert me(worker, second["access_token"]).status == 200
    # `first` is spent: logout finds its session through spent_refresh_tokens.
    assert request(worker.base, "POST", "/auth/logout", json={"refresh_token": first}).status == 204
    assert_problem(me(worker, second["access_token"]), 401, "invalid_token")
    assert_problem(refresh(worker, second["refresh_token"]), 401, "invalid_grant")
    sid = json.loads(base64.urlsafe_b64decode(access.split(".")[1] + "=="))["sid"]
    assert worker.d1(f"SELECT revoked_reason FROM sessions WHERE id = '{sid}'") == [{"revoked_reason": "logout"}]


def test_an_expired_session_is_refused_on_d1_and_expiry_does_not_slide(worker):
    _, access, token = new_session(worker)
    # The sid from the token itself: a check (verify, me) would cache the session's state, and
    # the expiry set in D1 below is what D1's own query must see (the cached state carries the
    # session's real expiry, which the clock reaches; tests/session_cache.rs covers that).
    payload = access.split(".")[1]
    sid = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]
    before = worker.d1(f"SELECT expires_at FROM sessions WHERE id = '{sid}'")[0]["expires_at"]
    token = refresh(worker, token).json()["refresh_token"]
    after = worker.d1(f"SELECT expires_at, last_used_at FROM sessions WHERE id = '{sid}'")[0]
    assert after["expires_at"] == before and after["last_used_at"] is not None
    worker.d1(f"UPDATE sessions SET expires_at = {int(time.time() * 1000) - 1} WHERE id = '{sid}'")
    assert_problem(refresh(worker, token), 401, "invalid_grant")
    assert_problem(me(worker, access), 401, "invalid_token")
    assert verify(worker, access) == {"active": False}


def test_the_scheduled_cleanup_deletes_dead_rows_in_d1_and_keeps_live_ones(worker):
    email = unique_email("cron")
    uid = register(worker, email).json()["id"]
    now = int(time.time() * 1000)
    day = 24 * 3600 * 1000
    tag = uuid.uuid4().hex[:8]
    sessions = {  # id: (expires_at, revoked_at)
        f"old-{tag}": (now - 9 * day, "NULL"),           # expired past the 7-day retention
        f"gone-{tag}": (now + day, str(now - 8 * day)),  # revoked past the retention
        f"ended-{tag}": (now + day, str(now - day)),     # revoked, within the retention
        f"live-{tag}": (now + day, "NULL"),
    }
    for sid, (expires, revoked) in sessions.items():
        worker.d1("INSERT INTO sessions (id, user_id, refresh_hash, created_at, expires_at, revoked_at) "
                  f"VALUES ('{sid}', '{uid}', 'h-{sid}', '2026-01-01T00:00:00.000Z', {expires}, {revoked})")
        worker.d1("INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at) "
                  f"VALUES ('s-{sid}', '{sid}', {now - day})")
    worker.d1("INSERT INTO login_attempts (email, failures, window_start_ms) VALUES "
              f"('stale-{tag}@example.com', 3, {now - 16 * 60 * 1000}), ('fresh-{tag}@example.com', 3, {now})")
    worker.d1("INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at, used_at) VALUES "
              f"('dead-{tag}', '{uid}', 'password_reset', {now - day}, {now - 1}, NULL), "
              f"('used-{tag}', '{uid}', 'password_reset', {now - day}, {now + day}, {now - 5}), "
              f"('live-{tag}', '{uid}', 'password_reset', {now - day}, {now + day}, NULL)")
    worker.d1("INSERT INTO email_requests (email, purpose, requests, window_start_ms) VALUES "
              f"('old-{tag}@example.com', 'password_reset', 2, {now - 2 * 3600 * 1000}), "
              f"('new-{tag}@example.com', 'password_reset', 2, {now})")

    r = request(worker.base, "GET", "/__scheduled?cron=17+*+*+*+*")
    assert r.status == 200, r.body
    deadline = time.monotonic() + 20
    while not [l for l in worker.logs() if l["event"] == "cleanup"] and time.monotonic() < deadline:
        time.sleep(0.3)

    ids = lambda sql: sorted(v for row in worker.d1(sql) for v in row.values())
    assert ids(f"SELECT id FROM sessions WHERE user_id = '{uid}'") == sorted([f"ended-{tag}", f"live-{tag}"])
    assert ids(f"SELECT token_hash FROM spent_refresh_tokens WHERE session_id LIKE '%-{tag}'") == [f"s-live-{tag}"]
    assert ids(f"SELECT email FROM login_attempts WHERE email LIKE '%-{tag}@example.com'") == [f"fresh-{tag}@example.com"]
    # (The registration's own verification token is live too, and stays.)
    assert ids(f"SELECT token_hash FROM email_tokens WHERE user_id = '{uid}' "
               "AND purpose = 'password_reset'") == [f"live-{tag}"]
    assert ids(f"SELECT email FROM email_requests WHERE email LIKE '%-{tag}@example.com'") == [
        f"new-{tag}@example.com"]
    line = [l for l in worker.logs() if l["event"] == "cleanup"][-1]
    assert line["sessions"] >= 2 and line["spent_refresh_tokens"] >= 1
    assert line["login_attempts"] >= 1 and line["email_tokens"] >= 2 and line["incomplete"] is False
    assert line["email_requests"] >= 1


@pytest.mark.parametrize("chunked", [False, True])
def test_the_body_limit_is_exactly_16384_bytes(worker, chunked):
    def body_of(size: int) -> bytes:
        head, tail = b'{"token":"', b'"}'
        return head + b"a" * (size - len(head) - len(tail)) + tail

    at_limit = body_of(16_384)
    assert len(at_limit) == 16_384
    r = request(worker.base, "POST", "/auth/verify", body=at_limit, chunked=chunked,
                headers={"Content-Type": "application/json"})
    assert r.status == 200 and r.json() == {"active": False}, r.body[:300]
    r = request(worker.base, "POST", "/auth/verify", body=body_of(16_385), chunked=chunked,
                headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "payload_too_large")
    # The connection and the Worker are fine afterwards.
    assert request(worker.base, "GET", "/health").status == 200


def test_every_response_is_nosniff_and_only_public_documents_are_cacheable(worker):
    _, access, token = new_session(worker)
    cases = [
        ("GET", "/health", None, {}, "no-store"),
        ("GET", "/nope", None, {}, "no-store"),
        ("POST", "/auth/login", {"email": "x@example.com", "password": "wrong password"}, {}, "no-store"),
        ("POST", "/auth/refresh", {"refresh_token": token}, {}, "no-store"),
        ("GET", "/auth/me", None, {"Authorization": f"Bearer {access}"}, "no-store"),
        ("GET", "/auth/sessions", None, {"Authorization": f"Bearer {access}"}, "no-store"),
        ("POST", "/auth/verify", {"token": access}, {}, "no-store"),
        ("GET", "/.well-known/jwks.json", None, {}, "public, max-age=300"),
        ("GET", "/openapi.json", None, {}, "public, max-age=300"),
        ("GET", "/docs", None, {}, "no-store"),
    ]
    for method, path, body, headers, cache in cases:
        r = request(worker.base, method, path, json=body, headers=headers)
        assert r.header("x-content-type-options") == "nosniff", path
        assert r.header("cache-control") == cache, (path, r.header("cache-control"))
        assert r.header("x-request-id"), path
    # The static Swagger UI files are served by the entry module before the Rust Worker runs
    # (scripts/static-files.mjs), with the same protections.
    for asset in ("/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/init.js"):
        r = request(worker.base, "GET", asset)
        assert r.status == 200, asset
        assert r.header("x-content-type-options") == "nosniff", asset
        assert "default-src 'self'" in (r.header("content-security-policy") or ""), asset


def test_static_files_revalidate_with_their_etag_and_only_get_and_head_are_served(worker):
    swagger = (ROOT / "node_modules" / "swagger-ui-dist" / "swagger-ui-bundle.js").read_bytes()
    r = request(worker.base, "GET", "/docs/swagger-ui-bundle.js")
    assert r.status == 200 and r.body == swagger
    assert r.header("content-type") == "text/javascript; charset=utf-8"
    assert r.header("cache-control") == "public, max-age=0, must-revalidate"
    etag = r.header("etag")
    assert etag and etag.startswith('"') and etag.endswith('"')
    # The tag is the file's: another file has another one, and the same file the same one.
    assert request(worker.base, "GET", "/docs/init.js").header("etag") not in (None, etag)
    assert request(worker.base, "GET", "/docs/swagger-ui-bundle.js").header("etag") == etag
    for match in (etag, f'W/{etag}', f'"other", {etag}', "*"):
        r = request(worker.base, "GET", "/docs/swagger-ui-bundle.js", headers={"If-None-Match": match})
        assert r.status == 304 and r.body == b"", match
        assert r.header("etag") == etag and r.header("x-content-type-options") == "nosniff", match
    r = request(worker.base, "GET", "/docs/swagger-ui-bundle.js", headers={"If-None-Match": '"other"'})
    assert r.status == 200 and r.body == swagger
    r = request(worker.base, "HEAD", "/pages/token.js")
    assert r.status == 200 and r.body == b"" and r.header("etag")
    # A file's path is a known path: any other method is the contract's 405 with Allow.
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        r = request(worker.base, method, "/docs/init.js", json={})
        assert_problem(r, 405, "method_not_allowed")
        assert r.header("allow") == "GET, HEAD", method
        assert r.header("cache-control") == "no-store" and r.header("x-request-id"), method
        assert r.header("x-content-type-options") == "nosniff", method
    assert_problem(request(worker.base, "POST", "/reset-password", json={}), 405, "method_not_allowed")


def test_static_files_carry_a_request_id_and_log_one_request_line(worker):
    # The contract's "every response carries X-Request-Id" and the one line per request hold for
    # the files the entry module serves too: a well-formed id is echoed, anything else replaced.
    rid = f"static-{uuid.uuid4().hex[:12]}"
    r = request(worker.base, "GET", "/docs/init.js", headers={"X-Request-Id": rid})
    assert r.status == 200 and r.header("x-request-id") == rid
    r = request(worker.base, "GET", "/pages/pages.css?v=1",
                headers={"X-Request-Id": f"{rid}-304", "If-None-Match": "*"})
    assert r.status == 304 and r.header("x-request-id") == f"{rid}-304"
    r = request(worker.base, "POST", "/docs/init.js", json={}, headers={"X-Request-Id": f"{rid}-405"})
    assert r.status == 405 and r.header("x-request-id") == f"{rid}-405"
    for sent in (None, "bad id!", "x" * 129):
        headers = {} if sent is None else {"X-Request-Id": sent}
        made = request(worker.base, "HEAD", "/docs/init.js", headers=headers).header("x-request-id")
        assert made and made != sent and str(uuid.UUID(made)) == made, sent
    lines = logs_for(worker, rid)
    assert sorted((l["request_id"], l["method"], l["path"], l["status"]) for l in lines) == [
        (rid, "GET", "/docs/init.js", 200),
        (f"{rid}-304", "GET", "/pages/pages.css", 304),
        (f"{rid}-405", "POST", "/docs/init.js", 405),
    ]
    for line in lines:
        assert line["event"] == "request" and line["level"] == "info"
        assert line["outcome"] == ("client_error" if line["status"] == 405 else "success")
        assert line["db_calls"] == 0
        assert isinstance(line["ts"], int) and isinstance(line["duration_ms"], int)


def test_head_and_cors_preflight_are_not_served(worker):
    for method, path in [("HEAD", "/health"), ("HEAD", "/auth/me"), ("OPTIONS", "/auth/login")]:
        r = request(worker.base, method, path, headers={
            "Origin": "https://example.com", "Access-Control-Request-Method": "POST"})
        assert r.status == 405, (method, path, r.status)
        assert r.header("allow")
        assert r.header("access-control-allow-origin") is None
        if method != "HEAD":
            assert_problem(r, 405, "method_not_allowed")


def test_request_lines_count_database_calls(worker):
    prefix = f"dbcalls-{uuid.uuid4().hex[:8]}-"
    _, access, _ = new_session(worker)
    request(worker.base, "POST", "/auth/refresh", json={"refresh_token": "malformed"},
            headers={"X-Request-Id": prefix + "refresh"})
    request(worker.base, "GET", "/.well-known/jwks.json", headers={"X-Request-Id": prefix + "jwks"})
    request(worker.base, "GET", "/auth/me", headers={"X-Request-Id": prefix + "me",
                                                     "Authorization": f"Bearer {access}"})
    email = unique_email("dbcalls")
    assert register(worker, email).status == 201
    r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                headers={"X-Request-Id": prefix + "login"})
    assert r.status == 200
    lines = {l["request_id"][len(prefix):]: l for l in logs_for(worker, prefix) if l["event"] == "request"}
    calls = {name: l["db_calls"] for name, l in lines.items()}
    # A malformed refresh token is refused before the database is asked. A login: the
    # attempt's reservation with the user lookup, then the session with the throttle reset (one
    # batch each).
    assert calls == {"refresh": 0, "jwks": 0, "me": 1, "login": 2}, calls
    # Beside the count, the milliseconds spent awaiting D1: a whole number, none without a call.
    waited = {name: l["db_ms"] for name, l in lines.items()}
    assert all(type(ms) is int and ms >= 0 for ms in waited.values()), waited
    assert waited["refresh"] == 0 and waited["jwks"] == 0, waited
