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
    rows = worker.d1(f"SELECT failures FROM login_attempts WHERE email = '{email.lower()}'")
    assert rows == [{"failures": 5}]


def test_a_success_clears_the_failure_count(worker):
    email = unique_email("reset")
    assert register(worker, email).status == 201
    for _ in range(3):
        login(worker, email, "not my password")
    assert login(worker, email).status == 200
    assert worker.d1(f"SELECT * FROM login_attempts WHERE email = '{email.lower()}'") == []


def test_parallel_logins_of_one_account_all_succeed(worker):
    email = unique_email("parallel")
    assert register(worker, email).status == 201
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: login(worker, email), range(10)))
    assert [r.status for r in results] == [200] * 10
    sids = {request(worker.base, "POST", "/auth/verify",
                    json={"token": r.json()["access_token"]}).json()["sid"] for r in results}
    assert len(sids) == 10, "each login is its own session"
