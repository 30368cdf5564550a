"""End-to-end: the TypeScript consumer Worker (examples/ts-consumer) protects routes (a) through
the service binding (`POST /auth/verify`) and (b) locally with jose against the JWKS."""
from __future__ import annotations

import json
import time
import uuid

from client import request
from conftest import SigningKey
from test_core import b64decode, login, register, unique_email

# (path, method) of each protected route of the example, and the way it checks tokens.
BINDING_READ = ("GET", "/binding/profile")
BINDING_SENSITIVE = ("POST", "/binding/transfer")
LOCAL_READ = ("GET", "/local/profile")
ROUTES = (BINDING_READ, BINDING_SENSITIVE, LOCAL_READ)


def call(w, route, token: str | None):
    method, path = route
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return request(w.base, method, path, headers=headers)


def claims(**override) -> dict:
    now = int(time.time())
    c = {"iss": "edge-auth", "aud": "edge-auth", "sub": str(uuid.uuid4()), "email": "x@example.com",
         "sid": str(uuid.uuid4()), "jti": str(uuid.uuid4()), "typ": "access",
         "iat": now, "nbf": now, "exp": now + 600}
    c.update(override)
    return c


def session(w) -> dict:
    """Registers and logs in through the consumer (it forwards /auth/* over the binding)."""
    email = unique_email("ts")
    assert register(w, email).status == 201
    r = login(w, email)
    assert r.status == 200, r.body
    return {**r.json(), "email": email.lower()}


def requests_to(w, path: str) -> int:
    """How many requests for `path` the auth Worker has logged (its lines share the session's log)."""
    return sum(1 for l in w.logs() if l["event"] == "request" and l.get("path") == path)


def verify_calls_reach(w, n: int, timeout: float = 15) -> None:
    """Waits until the auth Worker's log shows `n` verify calls. The log is one ordered stream, so
    every line of an earlier request is in by then too."""
    deadline = time.monotonic() + timeout
    while requests_to(w, "/auth/verify") < n:
        assert time.monotonic() < deadline, f"fewer than {n} verify calls logged"
        time.sleep(0.1)


def test_both_ways_accept_a_good_token(ts_consumer):
    pair = session(ts_consumer)
    payload = json.loads(b64decode(pair["access_token"].split(".")[1]))
    for route in ROUTES:
        r = call(ts_consumer, route, pair["access_token"])
        assert r.status == 200, (route, r.body)
        body = r.json()
        assert body["sub"] == payload["sub"] and body["sid"] == payload["sid"], body
        assert body["email"] == pair["email"]
        assert body["way"] == ("local" if route == LOCAL_READ else "binding")
        if body["way"] == "binding":
            assert body["revocation_checked"] is True


def test_both_ways_refuse_forged_and_bad_tokens(ts_consumer):
    pair = session(ts_consumer)
    real = json.loads(b64decode(pair["access_token"].split(".")[1]))
    key = ts_consumer.key
    header = {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}
    # The harness is right: the same claims signed with the auth Worker's own key pass.
    ok = key.sign(header, claims(sub=real["sub"], sid=real["sid"], email=real["email"]))
    assert call(ts_consumer, LOCAL_READ, ok).status == 200
    assert call(ts_consumer, BINDING_READ, ok).status == 200

    now = int(time.time())
    bad = {
        # Another Ed25519 key that claims the real key's kid.
        "forged": SigningKey(key.kid).sign(header, claims(sub=real["sub"], sid=real["sid"])),
        "wrong_aud": key.sign(header, claims(sub=real["sub"], sid=real["sid"], aud="another-service")),
        "wrong_iss": key.sign(header, claims(sub=real["sub"], sid=real["sid"], iss="evil")),
        "expired": key.sign(header, claims(sub=real["sub"], sid=real["sid"], iat=now - 2000, nbf=now - 2000,
                                           exp=now - 1000)),
        "wrong_typ": key.sign(header, claims(sub=real["sub"], sid=real["sid"], typ="refresh")),
        "tampered": pair["access_token"][:-4] + "AAAA",
        "garbage": "not-a-token",
    }
    for name, token in bad.items():
        for route in ROUTES:
            r = call(ts_consumer, route, token)
            assert_problem_loose(r, 401, "invalid_token", (name, route))
            assert r.header("www-authenticate") == 'Bearer error="invalid_token"'
    for route in ROUTES:
        assert_problem_loose(call(ts_consumer, route, None), 401, "invalid_token", route)
        # Over the 8 KiB edge-auth reads (its verify would answer 413): no good, so 401, not 503.
        assert_problem_loose(call(ts_consumer, route, "\\" * 8200), 401, "invalid_token", route)


def test_only_the_binding_refuses_a_token_whose_session_logged_out(ts_consumer):
    pair = session(ts_consumer)
    token = pair["access_token"]
    assert all(call(ts_consumer, route, token).status == 200 for route in ROUTES)
    r = request(ts_consumer.base, "POST", "/auth/logout", json={"refresh_token": pair["refresh_token"]})
    assert r.status == 204
    # (a) asks edge-auth, which sees the revoked session at once.
    for route in (BINDING_READ, BINDING_SENSITIVE):
        assert_problem_loose(call(ts_consumer, route, token), 401, "invalid_token", route)
    # (b) trusts the signature until the token expires: the trade-off for zero calls.
    r = call(ts_consumer, LOCAL_READ, token)
    assert r.status == 200 and r.json()["way"] == "local", r.body


def test_the_local_way_calls_nothing_per_request_once_the_jwks_is_cached(ts_consumer):
    pair = session(ts_consumer)
    token = pair["access_token"]
    assert call(ts_consumer, LOCAL_READ, token).status == 200  # fetches the JWKS if not cached yet
    # A binding call as a marker: once its verify line is logged, so is everything before it.
    verify = requests_to(ts_consumer, "/auth/verify")
    assert call(ts_consumer, BINDING_READ, token).status == 200
    verify_calls_reach(ts_consumer, verify + 1)
    jwks = requests_to(ts_consumer, "/.well-known/jwks.json")

    for _ in range(5):
        assert call(ts_consumer, LOCAL_READ, token).status == 200
    assert call(ts_consumer, BINDING_READ, token).status == 200  # the next marker
    verify_calls_reach(ts_consumer, verify + 2)
    assert requests_to(ts_consumer, "/.well-known/jwks.json") == jwks, "no JWKS fetch per request"
    assert requests_to(ts_consumer, "/auth/verify") == verify + 2, "no verify call from way (b)"


def test_an_unchecked_answer_fails_closed_on_the_sensitive_route_and_passes_on_reads(ts_consumer_degraded):
    w = ts_consumer_degraded
    key = w.key
    header = {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}
    # A validly signed token; the auth Worker cannot look its session up (no schema in its D1).
    token = key.sign(header, claims())
    r = call(w, BINDING_READ, token)
    assert r.status == 200, r.body
    assert r.json()["revocation_checked"] is False
    r = call(w, BINDING_SENSITIVE, token)
    assert_problem_loose(r, 503, "revocation_unchecked", "sensitive")
    assert r.header("retry-after") is not None
    assert call(w, LOCAL_READ, token).status == 200
    # Degraded is not open: a forged token is still refused on every route.
    forged = SigningKey(key.kid).sign(header, claims())
    for route in ROUTES:
        assert_problem_loose(call(w, route, forged), 401, "invalid_token", route)


def assert_problem_loose(r, status: int, code: str, context) -> None:
    """The example's own problem responses (it has no request ids): status, type and code."""
    assert r.status == status, (context, r.status, r.body[:300])
    assert r.header("content-type") == "application/problem+json", context
    body = r.json()
    assert body["code"] == code and body["status"] == status and body["type"] == "about:blank", (context, body)
