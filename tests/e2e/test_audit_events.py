"""The audit trail on workerd: the events of a login sequence, read back through
`GET /admin/events`, each with the `X-Request-Id` of the response to its request, the client's
address and user agent, and no secret anywhere in the listing's raw JSON."""
from __future__ import annotations

import uuid

import pytest

from client import request
from conftest import SigningKey, start_worker, stop

ADMIN_KEY = "audit-e2e-admin-key-" + "k" * 24
AGENT = "audit-e2e/1.0 (events)"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def admin_worker(e2e_dir):
    """The production build with the admin API on; a strict reuse grace, so a replay needs no
    wait."""
    w = start_worker(e2e_dir / "audit", SigningKey(kid="e2e-audit"),
                     extra_vars={"ADMIN_API_KEY": ADMIN_KEY, "REFRESH_REUSE_GRACE": "0",
                                 "RATE_LIMIT_BY_IP": "false"})
    yield w
    stop(w.proc)


def call(w, method: str, path: str, **kw):
    return request(w.base, method, path, headers={"User-Agent": AGENT}, **kw)


def events(w, query: str):
    return request(w.base, "GET", f"/admin/events{query}",
                   headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def test_a_login_sequence_is_recorded_with_each_responses_request_id_and_no_secret(admin_worker):
    w = admin_worker
    email = f"audit-{uuid.uuid4().hex[:8]}@example.com"
    registered = call(w, "POST", "/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status == 201, registered.body
    uid = registered.json()["id"]
    wrong = call(w, "POST", "/auth/login", json={"email": email, "password": PASSWORD + "!"})
    assert (wrong.status, wrong.json()["code"]) == (401, "invalid_credentials")
    right = call(w, "POST", "/auth/login", json={"email": email, "password": PASSWORD})
    assert right.status == 200, right.body
    pair = right.json()
    rotated = call(w, "POST", "/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status == 200, rotated.body
    replay = call(w, "POST", "/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert (replay.status, replay.json()["code"]) == (401, "invalid_grant")

    listed = events(w, f"?user_id={uid}")
    assert listed.status == 200, listed.body
    page = listed.json()
    assert page["next_cursor"] is None
    got = [(e["type"], e["request_id"]) for e in page["events"]]
    assert got == [
        ("refresh_reuse_detected", replay.header("x-request-id")),
        ("login_succeeded", right.header("x-request-id")),
        ("login_failed", wrong.header("x-request-id")),
        ("user_registered", registered.header("x-request-id")),
    ]
    for e in page["events"]:
        assert e["user_id"] == uid
        assert e["user_agent"] == AGENT
        assert e["ip"], e
        assert isinstance(e["id"], str)
        assert e["at"].endswith("Z") and len(e["at"]) == len("2026-12-07T03:00:00.000Z")

    raw = listed.body.decode()
    secrets = [PASSWORD, email, pair["access_token"], pair["refresh_token"],
               rotated.json()["refresh_token"], rotated.json()["access_token"], ADMIN_KEY]
    assert [s for s in secrets if s in raw] == []

    # One type, across users; an unknown type is an empty list.
    failed = events(w, "?type=login_failed&limit=200").json()["events"]
    assert wrong.header("x-request-id") in [e["request_id"] for e in failed]
    assert {e["type"] for e in failed} == {"login_failed"}
    assert events(w, "?type=no_such_type").json() == {"events": [], "next_cursor": None}
    bad = events(w, "?user_id=not-a-user")
    assert (bad.status, bad.json()["code"]) == (422, "validation_failed")
