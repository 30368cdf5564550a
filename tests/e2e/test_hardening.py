"""End-to-end hardening on workerd: login throttling and parallel logins."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from client import request
from test_core import assert_problem, login, register, unique_email


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
