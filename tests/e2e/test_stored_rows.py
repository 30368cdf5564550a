"""End-to-end on workerd: a user row that does not decode is bad data, never an outage."""
from __future__ import annotations

import uuid

import pytest

from client import request
from support import insert_user, logs_for, pbkdf2_phc
from test_core import PASSWORD, assert_problem, login, register, unique_email


def test_an_unreadable_user_row_fails_logins_without_opening_the_breaker(worker):
    email = unique_email("badrow").lower()
    insert_user(worker, email, pbkdf2_phc(PASSWORD, 1000), uid="not-a-uuid-" + uuid.uuid4().hex[:6])
    prefix = f"badrow-{uuid.uuid4().hex[:8]}-"
    # Five failures, none a storage failure: the fifth must not open the breaker.
    for i in range(5):
        r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                    headers={"X-Request-Id": f"{prefix}{i}"})
        assert_problem(r, 401, "invalid_credentials")
    # The sixth is throttled like any account's, not refused by an open breaker.
    r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                headers={"X-Request-Id": f"{prefix}5"})
    assert_problem(r, 429, "too_many_attempts")
    lines = logs_for(worker, prefix)
    assert sum(1 for l in lines if l["event"] == "stored_row_invalid") == 5
    assert not any(l["event"] == "storage_failure" for l in lines)
    # Other users are unaffected: the breaker is closed.
    assert register(worker, unique_email("bystander")).status == 201
    health = request(worker.base, "GET", "/health")
    assert health.status == 200 and health.json()["checks"]["breaker"] == "closed"


@pytest.mark.parametrize("column,value", [("password_version", "'seven'"), ("email_verified", "'yes'")])
def test_a_column_of_the_wrong_type_is_a_bad_row_not_an_outage(worker, column, value):
    # SQLite keeps text in an INTEGER column it cannot convert: the row reader must refuse it
    # as bad data (never a 500 or a storage failure), naming the column in the log.
    email = unique_email("badcol").lower()
    uid = insert_user(worker, email, pbkdf2_phc(PASSWORD, 1000))
    worker.d1(f"UPDATE users SET {column} = {value} WHERE id = '{uid}'")
    prefix = f"badcol-{uuid.uuid4().hex[:8]}-"
    r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                headers={"X-Request-Id": f"{prefix}0"})
    assert_problem(r, 401, "invalid_credentials")
    bad = worker.lines_when(lambda l: l.get("request_id") == f"{prefix}0"
                            and l["event"] == "stored_row_invalid")
    assert len(bad) == 1 and column in bad[0]["cause"], bad
    lines = logs_for(worker, prefix)
    assert not any(l["event"] == "storage_failure" for l in lines)
    # Fixed, the same account logs in.
    worker.d1(f"UPDATE users SET {column} = 0 WHERE id = '{uid}'")
    assert login(worker, email).status == 200
