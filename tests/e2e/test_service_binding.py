"""End-to-end service binding: the Rust consumer Worker protects a route by calling
/auth/verify on the auth Worker through its `AUTH` binding."""
from __future__ import annotations

from client import request
from test_core import login, register, unique_email


def protected(w, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return request(w.base, "GET", "/protected", headers=headers)


def test_a_valid_token_passes_and_invalid_or_revoked_ones_are_refused(consumer):
    email = unique_email("bound")
    # Register and log in through the consumer, which forwards /auth/* over the binding.
    assert register(consumer, email).status == 201
    pair = login(consumer, email).json()

    r = protected(consumer, pair["access_token"])
    assert r.status == 200, r.body
    body = r.json()
    assert body["email"] == email.lower() and body["revocation_checked"] is True

    for bad in (None, "not-a-token", pair["access_token"][:-4] + "AAAA"):
        r = protected(consumer, bad)
        assert r.status == 401 and r.json()["code"] == "invalid_token", (bad, r.body)

    assert request(consumer.base, "POST", "/auth/logout",
                   json={"refresh_token": pair["refresh_token"]}).status == 204
    r = protected(consumer, pair["access_token"])
    assert r.status == 401 and r.json()["code"] == "invalid_token"
    # The consumer's calls reached the auth Worker (its log lines are in the same session).
    assert any(l["event"] == "request" and l.get("path") == "/auth/verify" for l in consumer.logs())
