"""End-to-end on workerd and D1: a reset that commits while another request of the same account
hashes is never undone by it. A password change, an account deletion and a login that rehashes a
moved-in hash each read the account, check the password, hash, and only then write: each write
is conditional on the password's version that its check read (migrations/0008), so a reset that
committed in between wins, and the late request answers 401 having written nothing.

Each round sends the reset, then the other request while the reset hashes: the other reads the
account before the reset's write and checks the password after it (hashes take turns whole on
the isolate). Its log line says whether it ran into the reset ("password_changed") or came too
late and met the new password ("wrong_password"). Every round must end exactly as the reset
left it, and at least one round must have raced (the rounds are few and stop on their own)."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from client import request
from test_audit import insert_user, pbkdf2_phc
from test_core import PASSWORD, assert_problem, login, register, unique_email
from test_email import NEW_PASSWORD, RESET, forgot, reset, wait_for_lines, wait_for_mail

THEIRS = "the intruder's passphrase"
ROUNDS = 3
# The reset's own D1 read comes first (a few ms), then its hash (hundreds of ms at the
# configured 600,000 iterations): the other request lands inside that hash.
STAGGER_S = 0.12


def bearer(pair) -> dict:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def race_with_reset(worker, email, send_other):
    """Mails a reset link, then sends the reset and, `STAGGER_S` later, `send_other(request_id)`.
    Returns (reset response, other response, the other's log lines)."""
    assert forgot(worker, email).status == 202
    token = wait_for_mail(worker, email, RESET).token
    rid = f"race-{uuid.uuid4().hex[:10]}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(reset, worker, token)
        time.sleep(STAGGER_S)
        second = pool.submit(send_other, rid)
        first, second = first.result(), second.result()
    lines = wait_for_lines(worker, lambda l: l.get("request_id") == rid and l.get("event") == "request")
    lines = [l for l in worker.logs() if l.get("request_id") == rid]
    return first, second, lines


def raced(lines, event) -> bool:
    """Whether the request ran into the reset (its check passed, its write found a newer
    password) rather than arriving after it (its check failed on the new password)."""
    for line in lines:
        if line.get("event") == event and line.get("reason") == "password_changed":
            return True
    assert any(l.get("event") == "login_failed" and l.get("reason") == "wrong_password" for l in lines), lines
    return False


def assert_only_the_reset_password_works(worker, email, others):
    assert login(worker, email, NEW_PASSWORD).status == 200
    for other in others:
        assert_problem(login(worker, email, other), 401, "invalid_credentials")


def test_a_password_change_never_undoes_a_reset_that_committed_while_it_hashed(worker):
    races = 0
    for _ in range(ROUNDS):
        email = unique_email("chrace")
        assert register(worker, email).status == 201
        intruder = login(worker, email).json()

        def change(rid):
            return request(worker.base, "POST", "/auth/password/change",
                           headers={**bearer(intruder), "X-Request-Id": rid},
                           json={"current_password": PASSWORD, "new_password": THEIRS})

        done, changed, lines = race_with_reset(worker, email, change)
        assert done.status == 204, done.body
        assert_problem(changed, 401, "invalid_credentials")
        races += raced(lines, "password_change_failed")
        assert_only_the_reset_password_works(worker, email, [THEIRS, PASSWORD])
        assert_problem(request(worker.base, "GET", "/auth/me", headers=bearer(intruder)), 401, "invalid_token")
    assert races >= 1, "no round raced: the change never read the account before the reset wrote"


def test_an_account_deletion_never_undoes_a_reset_that_committed_while_it_hashed(worker):
    races = 0
    for _ in range(ROUNDS):
        email = unique_email("delrace")
        assert register(worker, email).status == 201
        intruder = login(worker, email).json()

        def delete(rid):
            return request(worker.base, "DELETE", "/auth/me",
                           headers={**bearer(intruder), "X-Request-Id": rid},
                           json={"password": PASSWORD})

        done, deleted, lines = race_with_reset(worker, email, delete)
        assert done.status == 204, done.body
        assert_problem(deleted, 401, "invalid_credentials")
        races += raced(lines, "account_delete_failed")
        assert worker.d1(f"SELECT COUNT(*) AS n FROM users WHERE email = '{email.lower()}'") == [{"n": 1}]
        assert_only_the_reset_password_works(worker, email, [PASSWORD])
    assert races >= 1, "no round raced: the deletion never read the account before the reset wrote"


def test_a_login_that_rehashes_never_undoes_a_reset_that_committed_while_it_hashed(worker):
    races = 0
    for _ in range(ROUNDS):
        # Moved in with a cheaper hash: a correct login rehashes it at the configured count.
        email = unique_email("rhrace").lower()
        insert_user(worker, email, pbkdf2_phc(PASSWORD, 1000))

        def old_login(rid):
            return request(worker.base, "POST", "/auth/login", headers={"X-Request-Id": rid},
                           json={"email": email, "password": PASSWORD})

        done, logged_in, lines = race_with_reset(worker, email, old_login)
        assert done.status == 204, done.body
        assert_problem(logged_in, 401, "invalid_credentials")
        races += raced(lines, "login_failed")
        assert_only_the_reset_password_works(worker, email, [PASSWORD])
        version = worker.d1(f"SELECT password_version FROM users WHERE email = '{email}'")
        assert version == [{"password_version": 1}], version
    assert races >= 1, "no round raced: the login never read the account before the reset wrote"
