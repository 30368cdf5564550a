"""End-to-end sessions on workerd: rotation, the 20-way race, reuse revocation, logout, verify."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from client import request
from test_core import assert_problem, login, register, unique_email

REUSE_GRACE_S = 3  # REFRESH_REUSE_GRACE of the `worker` fixture


def new_session(w):
    email = unique_email("sess")
    assert register(w, email).status == 201
    r = login(w, email)
    assert r.status == 200
    body = r.json()
    assert len(body["refresh_token"]) == 43
    return email, body["access_token"], body["refresh_token"]


def refresh(w, token):
    return request(w.base, "POST", "/auth/refresh", json={"refresh_token": token})


def me(w, access):
    return request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {access}"})


def verify(w, token):
    r = request(w.base, "POST", "/auth/verify", json={"token": token})
    assert r.status == 200, r.body
    return r.json()


def test_refresh_rotates_and_the_session_row_keeps_only_a_hash(worker):
    _, access, first = new_session(worker)
    sid = verify(worker, access)["sid"]
    r = refresh(worker, first)
    assert r.status == 200, r.body
    assert r.header("cache-control") == "no-store"
    second = r.json()["refresh_token"]
    assert second != first
    assert verify(worker, r.json()["access_token"])["sid"] == sid
    row = worker.d1(f"SELECT * FROM sessions WHERE id = '{sid}'")[0]
    assert row["rotations"] == 1 and row["revoked_at"] is None
    assert first not in str(row) and second not in str(row)
    assert len(row["refresh_hash"]) == 64
    assert refresh(worker, second).status == 200


def test_twenty_concurrent_refreshes_of_one_token_let_exactly_one_through(worker):
    _, access, token = new_session(worker)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: refresh(worker, token), range(20)))
    statuses = [r.status for r in results]
    winners = [r for r in results if r.status == 200]
    assert len(winners) == 1, statuses
    assert statuses.count(401) == 19, statuses
    for r in results:
        if r.status != 200:
            assert_problem(r, 401, "invalid_grant")
    # Losing the race inside the grace window does not log the user out.
    assert refresh(worker, winners[0].json()["refresh_token"]).status == 200
    assert me(worker, winners[0].json()["access_token"]).status == 200


def test_reusing_a_spent_token_revokes_the_whole_session(worker):
    _, access, stolen = new_session(worker)
    sid = verify(worker, access)["sid"]
    victim = refresh(worker, stolen).json()
    time.sleep(REUSE_GRACE_S + 0.5)
    assert_problem(refresh(worker, stolen), 401, "invalid_grant")
    row = worker.d1(f"SELECT revoked_reason FROM sessions WHERE id = '{sid}'")[0]
    assert row["revoked_reason"] == "reuse_detected"
    assert_problem(refresh(worker, victim["refresh_token"]), 401, "invalid_grant")
    assert_problem(me(worker, victim["access_token"]), 401, "invalid_token")
    assert verify(worker, victim["access_token"]) == {"active": False}
    time.sleep(0.5)
    assert worker.has_line(lambda l: l["event"] == "refresh_reuse_detected" and l.get("sid") == sid)


def test_logout_revokes_at_once_and_is_idempotent(worker):
    _, access, token = new_session(worker)
    assert me(worker, access).status == 200
    assert verify(worker, access)["active"] is True
    r = request(worker.base, "POST", "/auth/logout", json={"refresh_token": token})
    assert r.status == 204 and r.body == b""
    r = me(worker, access)
    assert_problem(r, 401, "invalid_token")
    assert r.header("www-authenticate") == 'Bearer error="invalid_token"'
    assert verify(worker, access) == {"active": False}
    assert_problem(refresh(worker, token), 401, "invalid_grant")
    for again in (token, "A" * 43, "junk"):
        assert request(worker.base, "POST", "/auth/logout", json={"refresh_token": again}).status == 204


def test_verify_reports_the_claims_of_a_live_token(worker):
    email, access, _ = new_session(worker)
    v = verify(worker, access)
    assert v["active"] is True and v["revocation_checked"] is True
    assert v["email"] == email.lower()
    assert v["iss"] == "edge-auth" and v["aud"] == "edge-auth"
    assert v["exp"] - v["iat"] == 900
    for bad in ("", "a.b.c", "x" * 9000):
        assert verify(worker, bad) == {"active": False}
    assert_problem(request(worker.base, "POST", "/auth/verify", json={}), 422, "validation_failed")
