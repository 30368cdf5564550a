"""End-to-end load shedding on workerd: a Worker of its own with `MAX_HASH_QUEUE=2`, so that
of a burst of parallel logins exactly two are admitted (one hashes, one waits its turn) and
every other answers `503 service_unavailable` with `Retry-After: 1` at once.

What makes the split exact under `wrangler dev`: one isolate serves every request, and it
decides each admission synchronously when the request reaches it. The first admitted login
keeps its place for the whole of its own hash (PBKDF2 at 2,000,000 iterations here, about a
second of the isolate's CPU), while the burst's requests, sent together on connections opened
beforehand, reach the isolate between the first few slices of that hash."""
from __future__ import annotations

import http.client
import json
import threading
from urllib.parse import urlsplit

import pytest

from client import Resp
from conftest import SigningKey, start_worker, stop
from test_core import PASSWORD, assert_problem, login, register, unique_email

BOUND = 2
BURST = 8


@pytest.fixture(scope="module")
def shedding_worker(e2e_dir):
    w = start_worker(e2e_dir / "shedding", SigningKey(kid="e2e-shedding"),
                     extra_vars={"MAX_HASH_QUEUE": str(BOUND), "PBKDF2_ITERATIONS": "2000000",
                                 "RATE_LIMIT_BY_IP": "false"})
    yield w
    stop(w.proc)


def burst(base: str, path: str, bodies: list[dict]) -> list[Resp]:
    """Sends one POST per body at the same moment, each on a connection opened beforehand."""
    url = urlsplit(base)
    conns = [http.client.HTTPConnection(url.hostname, url.port, timeout=120) for _ in bodies]
    for conn in conns:
        conn.connect()
    go = threading.Barrier(len(bodies))
    answers: list[Resp | None] = [None] * len(bodies)

    def send(i: int) -> None:
        go.wait()
        conns[i].request("POST", path, body=json.dumps(bodies[i]),
                         headers={"Content-Type": "application/json"})
        r = conns[i].getresponse()
        answers[i] = Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for conn in conns:
        conn.close()
    assert all(a is not None for a in answers)
    return answers


def test_a_login_burst_past_the_queue_bound_is_shed_at_once(shedding_worker):
    email = unique_email("burst")
    assert register(shedding_worker, email).status == 201
    answers = burst(shedding_worker.base, "/auth/login",
                    [{"email": email, "password": PASSWORD}] * BURST)
    statuses = sorted(a.status for a in answers)
    assert statuses == [200] * BOUND + [503] * (BURST - BOUND), statuses
    for a in answers:
        if a.status == 200:
            assert a.json()["token_type"] == "Bearer" and a.json()["access_token"]
        else:
            assert_problem(a, 503, "service_unavailable")
            assert a.header("retry-after") == "1"
    # Only the admitted ones reached the database: the account's throttle saw two attempts,
    # both cleared by their success.
    assert shedding_worker.d1(
        f"SELECT * FROM login_attempts WHERE email = '{email.lower()}'") == []
    # Every place is free again once the burst is answered.
    assert login(shedding_worker, email).status == 200
    assert_problem(login(shedding_worker, email, "not the password"), 401, "invalid_credentials")
