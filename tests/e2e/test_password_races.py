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
from support import pbkdf2_phc
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
    The reset must answer `204` and the other `401 invalid_credentials`. Returns the other's
    log lines."""
    assert forgot(worker, email).status == 202
    try:
        token = wait_for_mail(worker, email, RESET).token
    except AssertionError:
        # The consumer can find the local SQLite file busy (a `d1` call from a test) and retry
        # after the queue's 30 s delay: one more wait covers that.
        token = wait_for_mail(worker, email, RESET).token
    rid = f"race-{uuid.uuid4().hex[:10]}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(reset, worker, token)
        time.sleep(STAGGER_S)
        second = pool.submit(send_other, rid)
        first, second = first.result(), second.result()
    # The answers first: a missing log line is then known to belong to a request that answered.
    assert first.status == 204, first.body
    assert_problem(second, 401, "invalid_credentials")
    wait_for_lines(worker, lambda l: l.get("request_id") == rid and l.get("event") == "request")
    return [l for l in worker.logs() if l.get("request_id") == rid]


def raced(lines, event) -> bool:
    """Whether the request ran into the reset (its check passed, its write found a newer
    password) rather than arriving after it (its check failed on the new password)."""
    if any(l.get("event") == event and l.get("reason") == "password_changed" for l in lines):
        return True
    assert any(l.get("event") == "login_failed" and l.get("reason") == "wrong_password" for l in lines), lines
    return False


def rounds(worker, tag, make_accounts, make_request, event, old_passwords, after=None,
           after_all=None):
    """`ROUNDS` races of a fresh account's request against its reset. Each must answer `401
    invalid_credentials` and leave only the reset's password working; at least one must have
    read the account before the reset wrote (`event` with reason `password_changed`). The
    accounts are made first and D1 is inspected only after the last round (`after_all`), so no
    test query holds the SQLite file while the Worker writes."""
    emails = [unique_email(tag).lower() for _ in range(ROUNDS)]
    accounts = make_accounts(emails)
    races = 0
    for email in emails:
        account = accounts[email]
        lines = race_with_reset(worker, email, lambda rid: make_request(email, account, rid))
        races += raced(lines, event)
        assert login(worker, email, NEW_PASSWORD).status == 200
        for old in old_passwords:
            assert_problem(login(worker, email, old), 401, "invalid_credentials")
        if after:
            after(account)
    if after_all:
        after_all(emails)
    assert races >= 1, f"no round raced: the {tag} request never read the account before the reset wrote"


def registered(worker):
    """New accounts, each with an intruder's session on it (the intruder knows the password)."""
    def make(emails):
        pairs = {}
        for email in emails:
            assert register(worker, email).status == 201
            pairs[email] = login(worker, email).json()
        return pairs
    return make


def in_list(emails) -> str:
    return ", ".join(f"'{e}'" for e in emails)


def test_a_password_change_never_undoes_a_reset_that_committed_while_it_hashed(worker):
    def change(email, intruder, rid):
        return request(worker.base, "POST", "/auth/password/change",
                       headers={**bearer(intruder), "X-Request-Id": rid},
                       json={"current_password": PASSWORD, "new_password": THEIRS})

    def intruder_is_out(intruder):
        me = request(worker.base, "GET", "/auth/me", headers=bearer(intruder))
        assert_problem(me, 401, "invalid_token")

    rounds(worker, "chrace", registered(worker), change, "password_change_failed",
           [THEIRS, PASSWORD], after=intruder_is_out)


def test_an_account_deletion_never_undoes_a_reset_that_committed_while_it_hashed(worker):
    def delete(email, intruder, rid):
        return request(worker.base, "DELETE", "/auth/me",
                       headers={**bearer(intruder), "X-Request-Id": rid},
                       json={"password": PASSWORD})

    def accounts_are_there(emails):
        count = worker.d1(f"SELECT COUNT(*) AS n FROM users WHERE email IN ({in_list(emails)})")
        assert count == [{"n": len(emails)}], count

    rounds(worker, "delrace", registered(worker), delete, "account_delete_failed", [PASSWORD],
           after_all=accounts_are_there)


def test_a_login_that_rehashes_never_undoes_a_reset_that_committed_while_it_hashed(worker):
    def moved_in(emails):
        # Cheaper hashes than the configured one, in one statement: a correct login rehashes.
        rows = {e: (str(uuid.uuid4()), pbkdf2_phc(PASSWORD, 1000)) for e in emails}
        values = ", ".join(f"('{uid}', '{e}', '{phc}', '2020-01-01T00:00:00.000Z', "
                           "'2020-01-01T00:00:00.000Z')" for e, (uid, phc) in rows.items())
        worker.d1(f"INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES {values}")
        return {e: uid for e, (uid, _) in rows.items()}

    def old_login(email, _uid, rid):
        return request(worker.base, "POST", "/auth/login", headers={"X-Request-Id": rid},
                       json={"email": email, "password": PASSWORD})

    def each_reset_once(emails):
        versions = worker.d1(f"SELECT password_version FROM users WHERE email IN ({in_list(emails)})")
        assert versions == [{"password_version": 1}] * len(emails), versions

    rounds(worker, "rhrace", moved_in, old_login, "login_failed", [PASSWORD],
           after_all=each_reset_once)
