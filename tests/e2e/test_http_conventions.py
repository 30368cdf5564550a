"""End-to-end on workerd: what every response shares: the body limit, `nosniff` and caching, the\nstatic files' revalidation, request ids and request lines, and no HEAD or CORS."""
from __future__ import annotations

import uuid

import pytest

from client import request
from conftest import ROOT
from support import logs_for
from test_core import PASSWORD, assert_problem, register, unique_email
from test_sessions import new_session


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
