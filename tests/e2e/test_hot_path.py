"""The hot path on workerd. The session cache (SESSION_CACHE_TTL): `/auth/me` and `/auth/verify`
make no D1 call in steady state, answered from the isolate's memory and then from the Cache API;
every revocation is seen at once in its own location, also by checks racing it;
`SESSION_CACHE_TTL=0` reads D1 on every check. `/health` repeats a good answer for
HEALTH_CHECK_TTL without D1."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from client import request
from conftest import SigningKey, start_worker, stop
from test_core import assert_problem, login, register, unique_email
from test_sessions import new_session

MEMORY_TTL_S = 1  # SESSION_MEMORY_TTL's default


def logs_for(w, prefix: str) -> list[dict]:
    time.sleep(0.7)  # wrangler relays the Worker's lines asynchronously
    return [l for l in w.logs() if str(l.get("request_id", "")).startswith(prefix)
            and l["event"] == "request"]


def me(w, access, rid=None):
    headers = {"Authorization": f"Bearer {access}"}
    if rid:
        headers["X-Request-Id"] = rid
    return request(w.base, "GET", "/auth/me", headers=headers)


def verify(w, access, rid):
    return request(w.base, "POST", "/auth/verify", json={"token": access}, headers={"X-Request-Id": rid})


def test_me_and_verify_make_no_d1_call_in_steady_state(worker):
    prefix = f"cache-{uuid.uuid4().hex[:8]}-"
    _, access, _ = new_session(worker)
    for i in range(5):
        assert me(worker, access, f"{prefix}me{i}").status == 200
        r = verify(worker, access, f"{prefix}verify{i}")
        assert r.json()["active"] is True and r.json()["revocation_checked"] is True
    # Past the isolate's own bound, the location's cache (the Cache API) answers.
    time.sleep(MEMORY_TTL_S + 0.3)
    assert me(worker, access, f"{prefix}late").status == 200
    lines = {l["request_id"][len(prefix):]: (l["db_calls"], l.get("session_cache")) for l in logs_for(worker, prefix)}
    assert lines["me0"] == (1, "miss"), lines
    for i in range(1, 5):
        assert lines[f"me{i}"] == (0, "memory"), lines
    for i in range(5):
        assert lines[f"verify{i}"] == (0, "memory"), lines
    assert lines["late"] == (0, "location"), lines


def test_a_good_health_check_is_repeated_without_d1(worker):
    prefix = f"health-{uuid.uuid4().hex[:8]}-"
    for i in range(3):
        r = request(worker.base, "GET", "/health", headers={"X-Request-Id": f"{prefix}{i}"})
        assert r.status == 200 and r.json()["checks"] == {"database": "ok", "breaker": "closed"}
    calls = [l["db_calls"] for l in sorted(logs_for(worker, prefix), key=lambda l: l["request_id"])]
    # The first may be answered from an earlier check of this isolate (within 5 s) or ask D1.
    assert len(calls) == 3 and calls[0] in (0, 1) and calls[1:] == [0, 0], calls


def test_a_logout_is_seen_at_once_by_checks_racing_it(worker):
    """Clients hammer /auth/me with one token while it logs out: every check that starts after the
    logout's 204 is a 401, in every round (a check that read D1 before the logout must not put the
    session back into the cache)."""
    for _ in range(5):
        _, access, refresh_token = new_session(worker)
        assert me(worker, access).status == 200
        done = threading.Event()
        results: list[tuple[float, int]] = []
        lock = threading.Lock()

        def hammer():
            for _ in range(200):  # bounded
                start = time.monotonic()
                status = me(worker, access).status
                with lock:
                    results.append((start, status))
                if done.is_set() and time.monotonic() - logged_out_at[0] > 0.5:
                    return

        logged_out_at = [float("inf")]
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        r = request(worker.base, "POST", "/auth/logout", json={"refresh_token": refresh_token})
        logged_out_at[0] = time.monotonic()
        done.set()
        assert r.status == 204
        for t in threads:
            t.join(timeout=60)
        after = [s for (start, s) in results if start > logged_out_at[0]]
        before = [s for (start, s) in results if start <= logged_out_at[0]]
        assert after and set(after) == {401}, (len(after), sorted(set(after)))
        assert 200 in before and set(before) <= {200, 401}
        # And later, from memory, from the Cache API or from D1 alike.
        assert_problem(me(worker, access), 401, "invalid_token")
        time.sleep(MEMORY_TTL_S + 0.3)
        assert_problem(me(worker, access), 401, "invalid_token")


def test_every_revocation_purges_the_cached_state(worker):
    email, mine, _ = new_session(worker)
    others = [login(worker, email).json()["access_token"] for _ in range(3)]
    for token in [mine, *others]:
        assert me(worker, token).status == 200  # cached
    sid = request(worker.base, "GET", "/auth/sessions", headers={"Authorization": f"Bearer {mine}"}).json()
    # One session revoked by id.
    import base64, json as jsonlib
    def sid_of(token):
        payload = token.split(".")[1]
        return jsonlib.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]
    assert any(s["id"] == sid_of(others[0]) for s in sid["sessions"])
    r = request(worker.base, "DELETE", f"/auth/sessions/{sid_of(others[0])}",
                headers={"Authorization": f"Bearer {mine}"})
    assert r.status == 204
    assert_problem(me(worker, others[0]), 401, "invalid_token")
    assert me(worker, others[1]).status == 200
    # A password change ends every other session.
    r = request(worker.base, "POST", "/auth/password/change", headers={"Authorization": f"Bearer {mine}"},
                json={"current_password": "correct horse battery", "new_password": "another fine passphrase"})
    assert r.status == 204, r.body
    for token in others[1:]:
        assert_problem(me(worker, token), 401, "invalid_token")
        assert verify(worker, token, f"x-{uuid.uuid4().hex[:6]}").json() == {"active": False}
    assert me(worker, mine).status == 200
    # Deleting the account ends the caller's own (cached) session.
    r = request(worker.base, "DELETE", "/auth/me", headers={"Authorization": f"Bearer {mine}"},
                json={"password": "another fine passphrase"})
    assert r.status == 204
    assert_problem(me(worker, mine), 401, "invalid_token")


@pytest.fixture(scope="module")
def strict_worker(e2e_dir):
    w = start_worker(e2e_dir / "strict-cache", SigningKey(kid="e2e-strict"),
                     extra_vars={"SESSION_CACHE_TTL": "0", "RATE_LIMIT_BY_IP": "false"})
    yield w
    stop(w.proc)


def test_ttl_zero_reads_d1_on_every_check(strict_worker):
    w = strict_worker
    prefix = f"strict-{uuid.uuid4().hex[:8]}-"
    email = unique_email("strict")
    assert register(w, email).status == 201
    access = login(w, email).json()["access_token"]
    for i in range(3):
        assert me(w, access, f"{prefix}me{i}").status == 200
        assert verify(w, access, f"{prefix}verify{i}").json()["active"] is True
    lines = {l["request_id"][len(prefix):]: (l["db_calls"], l.get("session_cache")) for l in logs_for(w, prefix)}
    assert lines == {**{f"me{i}": (1, None) for i in range(3)},
                     **{f"verify{i}": (1, None) for i in range(3)}}, lines
