"""End-to-end service binding: the Rust consumer Worker protects routes by calling
/auth/verify on the auth Worker through its `AUTH` binding: `/protected` (sensitive, fails closed
when revocation could not be checked) and `/profile` (a read, accepts that answer)."""
from __future__ import annotations

import time
import uuid

from client import request
from conftest import SigningKey
from test_core import login, register, unique_email


def get(w, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return request(w.base, "GET", path, headers=headers)


def protected(w, token: str | None):
    return get(w, "/protected", token)


def assert_refused(r, status: int, code: str):
    assert r.status == status, (r.status, r.body)
    assert r.header("content-type") == "application/problem+json"
    assert r.json()["code"] == code


def test_a_valid_token_passes_and_invalid_or_revoked_ones_are_refused(consumer):
    email = unique_email("bound")
    # Register and log in through the consumer, which forwards /auth/* over the binding.
    assert register(consumer, email).status == 201
    pair = login(consumer, email).json()

    for path in ("/protected", "/profile"):
        r = get(consumer, path, pair["access_token"])
        assert r.status == 200, r.body
        body = r.json()
        assert body["email"] == email.lower() and body["revocation_checked"] is True

    for bad in (None, "not-a-token", pair["access_token"][:-4] + "AAAA"):
        r = protected(consumer, bad)
        assert_refused(r, 401, "invalid_token")
    # Over the 8 KiB edge-auth reads, and twice that once JSON-escaped: edge-auth would answer
    # the verify call 413. The token is no good, so 401, not a 503 to retry.
    assert_refused(protected(consumer, "\\" * 8200), 401, "invalid_token")
    # The scheme in any case, extra spaces ignored, as edge-auth reads it.
    r = request(consumer.base, "GET", "/protected",
                headers={"Authorization": f"  BEARER   {pair['access_token']} "})
    assert r.status == 200, r.body

    assert request(consumer.base, "POST", "/auth/logout",
                   json={"refresh_token": pair["refresh_token"]}).status == 204
    for path in ("/protected", "/profile"):
        assert_refused(get(consumer, path, pair["access_token"]), 401, "invalid_token")
    # The consumer's calls reached the auth Worker (its log lines are in the same session).
    assert consumer.has_line(lambda l: l["event"] == "request" and l.get("path") == "/auth/verify")


def test_an_unchecked_answer_fails_closed_on_protected_and_passes_on_the_read(consumer_degraded):
    w = consumer_degraded
    now = int(time.time())
    claims = {"iss": "edge-auth", "aud": "edge-auth", "sub": str(uuid.uuid4()), "email": "x@example.com",
              "sid": str(uuid.uuid4()), "jti": str(uuid.uuid4()), "typ": "access",
              "iat": now, "nbf": now, "exp": now + 600}
    header = {"alg": "EdDSA", "kid": w.key.kid, "typ": "JWT"}
    # Validly signed by the auth Worker's key; its D1 has no schema, so no session can be looked up.
    token = w.key.sign(header, claims)
    r = protected(w, token)
    assert_refused(r, 503, "revocation_unchecked")
    assert r.header("retry-after") is not None
    r = get(w, "/profile", token)
    assert r.status == 200, r.body
    assert r.json()["revocation_checked"] is False
    # Degraded is not open: a token signed by another key is refused on both routes.
    forged = SigningKey(w.key.kid).sign(header, claims)
    for path in ("/protected", "/profile"):
        assert_refused(get(w, path, forged), 401, "invalid_token")
