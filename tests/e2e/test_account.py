"""End-to-end on workerd: the account's life after registration (contract v2): password change,
the list of devices, deletion, and a password change racing a refresh."""
from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

from client import request
from test_core import PASSWORD, assert_problem, login, register, unique_email

NEW_PASSWORD = "a brand new passphrase"


def claims(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login_as(w, email, password=PASSWORD, ua=None):
    headers = {"User-Agent": ua} if ua else {}
    r = request(w.base, "POST", "/auth/login", json={"email": email, "password": password}, headers=headers)
    assert r.status == 200, r.body
    return r.json()


def me(w, pair):
    return request(w.base, "GET", "/auth/me", headers=auth(pair["access_token"]))


def refresh(w, pair):
    return request(w.base, "POST", "/auth/refresh", json={"refresh_token": pair["refresh_token"]})


def change(w, pair, current, new):
    return request(w.base, "POST", "/auth/password/change", headers=auth(pair["access_token"]),
                   json={"current_password": current, "new_password": new})


def test_me_and_verify_show_email_verified(worker):
    email = unique_email("view")
    created = register(worker, email).json()
    assert created["email_verified"] is False
    pair = login_as(worker, email)
    assert me(worker, pair).json() == created
    v = request(worker.base, "POST", "/auth/verify", json={"token": pair["access_token"]}).json()
    assert v["email_verified"] is False and v["active"] is True


def test_password_change_kills_other_sessions_at_once_and_keeps_the_callers(worker):
    email = unique_email("change")
    assert register(worker, email).status == 201
    mine, other, third = (login_as(worker, email) for _ in range(3))
    assert me(worker, other).status == 200
    r = change(worker, mine, PASSWORD, NEW_PASSWORD)
    assert r.status == 204 and r.body == b"", r.body
    assert r.header("cache-control") == "no-store"
    for dead in (other, third):
        assert_problem(me(worker, dead), 401, "invalid_token")
        assert_problem(refresh(worker, dead), 401, "invalid_grant")
        assert request(worker.base, "POST", "/auth/verify",
                       json={"token": dead["access_token"]}).json() == {"active": False}
    assert me(worker, mine).status == 200
    assert refresh(worker, mine).status == 200
    assert_problem(login(worker, email), 401, "invalid_credentials")
    assert login(worker, email, NEW_PASSWORD).status == 200
    # A wrong current password is a failed login (and 422 names new_password).
    assert_problem(change(worker, mine, "not my password", "another new passphrase"), 401, "invalid_credentials")
    r = change(worker, mine, NEW_PASSWORD, "short")
    body = assert_problem(r, 422, "validation_failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("new_password", "too_short")]
    rows = worker.d1(f"SELECT failures FROM login_attempts WHERE email = '{email.lower()}'")
    assert rows == [{"failures": 1}]


def test_sessions_are_listed_and_revoked_one_by_one_or_all_but_this_one(worker):
    email = unique_email("devices")
    assert register(worker, email).status == 201
    laptop = login_as(worker, email, ua="Laptop/1.0 " + "x" * 300)
    phone = login_as(worker, email, ua="Phone/2.0")
    tablet = login_as(worker, email)
    assert refresh(worker, phone).status == 200
    r = request(worker.base, "GET", "/auth/sessions", headers=auth(laptop["access_token"]))
    assert r.status == 200 and r.header("cache-control") == "no-store"
    sessions = r.json()["sessions"]
    assert [s["id"] for s in sessions] == [claims(p["access_token"])["sid"] for p in (tablet, phone, laptop)]
    assert [s["current"] for s in sessions] == [False, False, True]
    assert sessions[0]["user_agent"] == "python-urllib" or sessions[0]["user_agent"] is None or \
        isinstance(sessions[0]["user_agent"], str)
    assert sessions[1]["user_agent"] == "Phone/2.0" and sessions[1]["last_used_at"] is not None
    assert len(sessions[2]["user_agent"]) == 256 and sessions[2]["last_used_at"] is None
    assert all(s["created_at"].endswith("Z") and s["expires_at"].endswith("Z") for s in sessions)

    phone_sid = claims(phone["access_token"])["sid"]
    # Someone else's session is a 404, like an unknown id.
    stranger = unique_email("stranger")
    assert register(worker, stranger).status == 201
    theirs = login_as(worker, stranger)
    assert_problem(request(worker.base, "DELETE", f"/auth/sessions/{phone_sid}", headers=auth(theirs["access_token"])),
                   404, "not_found")
    assert_problem(request(worker.base, "DELETE", "/auth/sessions/00000000-0000-0000-0000-000000000000",
                           headers=auth(laptop["access_token"])), 404, "not_found")
    assert me(worker, phone).status == 200
    r = request(worker.base, "DELETE", f"/auth/sessions/{phone_sid}", headers=auth(laptop["access_token"]))
    assert r.status == 204
    assert_problem(me(worker, phone), 401, "invalid_token")
    assert_problem(refresh(worker, phone), 401, "invalid_grant")

    r = request(worker.base, "DELETE", "/auth/sessions", headers=auth(laptop["access_token"]))
    assert r.status == 204
    assert_problem(me(worker, tablet), 401, "invalid_token")
    assert me(worker, laptop).status == 200
    left = request(worker.base, "GET", "/auth/sessions", headers=auth(laptop["access_token"])).json()["sessions"]
    assert [s["current"] for s in left] == [True]
    assert me(worker, theirs).status == 200


def test_deleting_the_account_leaves_nothing_behind_and_frees_the_email(worker):
    email = unique_email("leaver")
    uid = register(worker, email).json()["id"]
    first, second = login_as(worker, email), login_as(worker, email)
    assert refresh(worker, second).status == 200  # a spent token row
    worker.d1("INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES "
              f"('pending-{uid}', '{uid}', 'email_verification', 0, 9999999999999)")
    # A forgot request leaves a request row keyed by the address.
    assert request(worker.base, "POST", "/auth/password/forgot", json={"email": email}).status == 202
    r = request(worker.base, "DELETE", "/auth/me", headers=auth(first["access_token"]),
                json={"password": "not my password"})
    assert_problem(r, 401, "invalid_credentials")
    assert me(worker, first).status == 200
    r = request(worker.base, "DELETE", "/auth/me", headers=auth(first["access_token"]), json={"password": PASSWORD})
    assert r.status == 204 and r.body == b""
    for pair in (first, second):
        assert_problem(me(worker, pair), 401, "invalid_token")
    counts = worker.d1(
        f"SELECT (SELECT COUNT(*) FROM users WHERE id = '{uid}') AS users, "
        f"(SELECT COUNT(*) FROM sessions WHERE user_id = '{uid}') AS sessions, "
        "(SELECT COUNT(*) FROM spent_refresh_tokens WHERE session_id IN "
        f"  ('{claims(first['access_token'])['sid']}', '{claims(second['access_token'])['sid']}')) AS spent, "
        f"(SELECT COUNT(*) FROM email_tokens WHERE user_id = '{uid}') AS email_tokens, "
        f"(SELECT COUNT(*) FROM login_attempts WHERE email = '{email.lower()}') AS attempts, "
        f"(SELECT COUNT(*) FROM email_requests WHERE email = '{email.lower()}') AS requests, "
        f"(SELECT COUNT(*) FROM email_sends WHERE user_id = '{uid}') AS sends")
    assert counts == [{"users": 0, "sessions": 0, "spent": 0, "email_tokens": 0, "attempts": 0,
                       "requests": 0, "sends": 0}]
    assert worker.has_line(lambda l: l["event"] == "account_deleted" and l.get("user_id") == uid)
    again = register(worker, email)
    assert again.status == 201 and again.json()["id"] != uid


def test_a_password_change_racing_a_refresh_never_leaves_the_other_session_alive(worker):
    email = unique_email("race")
    assert register(worker, email).status == 201
    password = PASSWORD
    for round_no in range(10):
        mine, other = login_as(worker, email, password), login_as(worker, email, password)
        new = f"{NEW_PASSWORD} {round_no}"
        with ThreadPoolExecutor(max_workers=2) as pool:
            changed = pool.submit(change, worker, mine, password, new)
            refreshed = pool.submit(refresh, worker, other)
            changed, refreshed = changed.result(), refreshed.result()
        assert changed.status == 204, (round_no, changed.body)
        assert refreshed.status in (200, 401), (round_no, refreshed.status)
        password = new
        # Whichever ran first, the other session is dead: its old tokens and any new ones.
        assert_problem(me(worker, other), 401, "invalid_token")
        if refreshed.status == 200:
            assert_problem(me(worker, refreshed.json()), 401, "invalid_token")
            assert_problem(refresh(worker, refreshed.json()), 401, "invalid_grant")
        sid = claims(other["access_token"])["sid"]
        row = worker.d1(f"SELECT revoked_reason FROM sessions WHERE id = '{sid}'")
        assert row == [{"revoked_reason": "password_changed"}], (round_no, row)
        assert me(worker, mine).status == 200
