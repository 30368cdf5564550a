"""End-to-end on workerd: the per-account login throttle (parallel guesses, the window, the\ncost of a wrong password) and parallel logins of one account."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import request
from support import insert_user, logs_for, pbkdf2_phc
from test_core import PASSWORD, assert_problem, login, register, unique_email


def test_login_is_throttled_after_five_failures_per_account(worker):
    email = unique_email("throttle")
    other = unique_email("bystander")
    assert register(worker, email).status == 201
    assert register(worker, other).status == 201
    for _ in range(5):
        assert_problem(login(worker, email, "not my password"), 401, "invalid_credentials")
    for variant in (email, email.upper(), email.lower()):
        r = login(worker, variant)  # the right password
        assert_problem(r, 429, "too_many_attempts")
        assert 1 <= int(r.header("retry-after")) <= 900
    # Another account is unaffected, and an unknown email is throttled just the same.
    assert login(worker, other).status == 200
    ghost = unique_email("ghost")
    for _ in range(5):
        assert_problem(login(worker, ghost), 401, "invalid_credentials")
    assert_problem(login(worker, ghost), 429, "too_many_attempts")
    # Every attempt is reserved before hashing, so the row counts the five failures and the three
    # throttled attempts after them.
    rows = worker.d1(f"SELECT failures FROM login_attempts WHERE email = '{email.lower()}'")
    assert rows == [{"failures": 8}]


def test_a_success_clears_the_failure_count(worker):
    email = unique_email("reset")
    assert register(worker, email).status == 201
    for _ in range(3):
        login(worker, email, "not my password")
    assert login(worker, email).status == 200
    assert worker.d1(f"SELECT * FROM login_attempts WHERE email = '{email.lower()}'") == []


def test_parallel_logins_of_one_account_up_to_the_limit_all_succeed(worker):
    # Each attempt is reserved before its hash, so at most LOGIN_MAX_FAILURES (5) logins of one
    # account are checked at once; up to that many in parallel all succeed.
    email = unique_email("parallel")
    assert register(worker, email).status == 201
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(lambda _: login(worker, email), range(5)))
    assert [r.status for r in results] == [200] * 5
    sids = {request(worker.base, "POST", "/auth/verify",
                    json={"token": r.json()["access_token"]}).json()["sid"] for r in results}
    assert len(sids) == 5, "each login is its own session"


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
