"""End-to-end on workerd: how a session ends: logout with a spent refresh token, and the\nabsolute expiry."""
from __future__ import annotations

import base64
import json
import time

from client import request
from test_core import assert_problem
from test_sessions import me, new_session, refresh, verify


def test_logout_with_a_spent_token_revokes_the_session(worker):
    _, access, first = new_session(worker)
    second = refresh(worker, first).json()
    assert me(worker, second["access_token"]).status == 200
    # `first` is spent: logout finds its session through spent_refresh_tokens.
    assert request(worker.base, "POST", "/auth/logout", json={"refresh_token": first}).status == 204
    assert_problem(me(worker, second["access_token"]), 401, "invalid_token")
    assert_problem(refresh(worker, second["refresh_token"]), 401, "invalid_grant")
    sid = json.loads(base64.urlsafe_b64decode(access.split(".")[1] + "=="))["sid"]
    assert worker.d1(f"SELECT revoked_reason FROM sessions WHERE id = '{sid}'") == [{"revoked_reason": "logout"}]


def test_an_expired_session_is_refused_on_d1_and_expiry_does_not_slide(worker):
    _, access, token = new_session(worker)
    # The sid from the token itself: a check (verify, me) would cache the session's state, and
    # the expiry set in D1 below is what D1's own query must see (the cached state carries the
    # session's real expiry, which the clock reaches; tests/session_cache.rs covers that).
    payload = access.split(".")[1]
    sid = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]
    before = worker.d1(f"SELECT expires_at FROM sessions WHERE id = '{sid}'")[0]["expires_at"]
    token = refresh(worker, token).json()["refresh_token"]
    after = worker.d1(f"SELECT expires_at, last_used_at FROM sessions WHERE id = '{sid}'")[0]
    assert after["expires_at"] == before and after["last_used_at"] is not None
    worker.d1(f"UPDATE sessions SET expires_at = {int(time.time() * 1000) - 1} WHERE id = '{sid}'")
    assert_problem(refresh(worker, token), 401, "invalid_grant")
    assert_problem(me(worker, access), 401, "invalid_token")
    assert verify(worker, access) == {"active": False}
