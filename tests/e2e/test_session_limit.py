"""`MAX_SESSIONS_PER_USER` on workerd and D1: a login over the limit ends the user's oldest
sessions in its own transaction, and parallel logins leave exactly the limit active."""
from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import request
from conftest import SigningKey, start_worker, stop
from test_core import assert_problem, b64decode, login, register, unique_email
from test_sessions import me, refresh

LIMIT = 3


def sid_of(access_token: str) -> str:
    return json.loads(b64decode(access_token.split(".")[1]))["sid"]


@pytest.fixture(scope="module")
def limited_worker(e2e_dir):
    # Logins in flight are reserved against the account's throttle (5 by default) until they
    # succeed: six at once need a higher limit.
    w = start_worker(e2e_dir / "session-limit", SigningKey(kid="e2e-limit"),
                     extra_vars={"MAX_SESSIONS_PER_USER": str(LIMIT), "RATE_LIMIT_BY_IP": "false",
                                 "LOGIN_MAX_FAILURES": "20"})
    yield w
    stop(w.proc)


def test_parallel_logins_over_the_limit_leave_exactly_the_limit_active(limited_worker):
    w = limited_worker
    email = unique_email("limit")
    r = register(w, email)
    assert r.status == 201
    user_id = r.json()["id"]
    # Neither a logged-out session nor an expired one counts toward the limit.
    gone = login(w, email).json()
    gone_sid = sid_of(gone["access_token"])
    assert request(w.base, "POST", "/auth/logout", json={"refresh_token": gone["refresh_token"]}).status == 204
    expired = f"expired-{user_id}"
    w.d1("INSERT INTO sessions (id, user_id, refresh_hash, created_at, expires_at) VALUES "
         f"('{expired}', '{user_id}', '{hashlib.sha256(expired.encode()).hexdigest()}', "
         "'2020-01-01T00:00:00.000Z', 1)")
    oldest = [login(w, email).json() for _ in range(2)]  # one after the other, before the rest
    for pair in oldest:
        assert me(w, pair["access_token"]).status == 200  # cached as active in this isolate
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: login(w, email), range(6)))
    assert [r.status for r in results] == [200] * 6, [r.body[:200] for r in results]

    # In D1: exactly LIMIT active, and of the seven ended sessions (five by the limit, the
    # logged-out and the expired one) only the newest LIMIT are kept.
    rows = w.d1(f"SELECT id, revoked_reason, expires_at FROM sessions WHERE user_id = '{user_id}'")
    now_ms = time.time() * 1000
    active = [r["id"] for r in rows if r["revoked_reason"] is None and r["expires_at"] > now_ms]
    ended = sorted(r["id"] for r in rows if r["revoked_reason"] == "session_limit")
    assert len(rows) == 2 * LIMIT and len(active) == LIMIT and len(ended) == LIMIT, rows
    assert expired not in {r["id"] for r in rows} and gone_sid not in {r["id"] for r in rows}, rows

    # The two oldest are among them, and stop working at once (this location's caches were
    # purged), access and refresh token alike.
    for pair in oldest:
        assert_problem(me(w, pair["access_token"]), 401, "invalid_token")
        assert_problem(refresh(w, pair["refresh_token"]), 401, "invalid_grant")
    alive = [r for r in results if me(w, r.json()["access_token"]).status == 200]
    assert len(alive) == LIMIT

    # Each login that went over logged what it ended, in a line of its own (D1 runs the logins'
    # batches one at a time). Neither the logged-out nor the expired session counted: of the
    # eight logins, exactly the five beyond the limit were ended, each once, and the three
    # others are the active ones.
    lines = w.lines_when(lambda l: l.get("event") == "session_limit" and l.get("user_id") == user_id,
                         8 - LIMIT)
    logged = [sid for l in lines for sid in l["sids"]]
    logins = [sid_of(p["access_token"]) for p in oldest] + [sid_of(r.json()["access_token"]) for r in results]
    assert len(logged) == 8 - LIMIT and set(ended) <= set(logged), (logged, ended)
    assert sorted(logged + active) == sorted(logins), (logged, active, logins)
