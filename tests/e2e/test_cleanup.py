"""End-to-end on workerd: the scheduled cleanup deletes dead rows in D1 and keeps live ones."""
from __future__ import annotations

import time
import uuid

from client import request
from test_core import register, unique_email


def test_the_scheduled_cleanup_deletes_dead_rows_in_d1_and_keeps_live_ones(worker):
    email = unique_email("cron")
    uid = register(worker, email).json()["id"]
    now = int(time.time() * 1000)
    day = 24 * 3600 * 1000
    tag = uuid.uuid4().hex[:8]
    sessions = {  # id: (expires_at, revoked_at)
        f"old-{tag}": (now - 9 * day, "NULL"),           # expired past the 7-day retention
        f"gone-{tag}": (now + day, str(now - 8 * day)),  # revoked past the retention
        f"ended-{tag}": (now + day, str(now - day)),     # revoked, within the retention
        f"live-{tag}": (now + day, "NULL"),
    }
    for sid, (expires, revoked) in sessions.items():
        worker.d1("INSERT INTO sessions (id, user_id, refresh_hash, created_at, expires_at, revoked_at) "
                  f"VALUES ('{sid}', '{uid}', 'h-{sid}', '2026-01-01T00:00:00.000Z', {expires}, {revoked})")
        worker.d1("INSERT INTO spent_refresh_tokens (token_hash, session_id, spent_at) "
                  f"VALUES ('s-{sid}', '{sid}', {now - day})")
    worker.d1("INSERT INTO login_attempts (email, failures, window_start_ms) VALUES "
              f"('stale-{tag}@example.com', 3, {now - 16 * 60 * 1000}), ('fresh-{tag}@example.com', 3, {now})")
    worker.d1("INSERT INTO email_tokens (token_hash, user_id, purpose, created_at, expires_at, used_at) VALUES "
              f"('dead-{tag}', '{uid}', 'password_reset', {now - day}, {now - 1}, NULL), "
              f"('used-{tag}', '{uid}', 'password_reset', {now - day}, {now + day}, {now - 5}), "
              f"('live-{tag}', '{uid}', 'password_reset', {now - day}, {now + day}, NULL)")
    worker.d1("INSERT INTO email_requests (email, purpose, requests, window_start_ms) VALUES "
              f"('old-{tag}@example.com', 'password_reset', 2, {now - 2 * 3600 * 1000}), "
              f"('new-{tag}@example.com', 'password_reset', 2, {now})")
    # Audit events past the 90-day retention go; younger ones stay, also of a deleted account.
    worker.d1("INSERT INTO audit_events (at, type, user_id, request_id) VALUES "
              f"({now - 91 * day}, 'login_failed', '{uid}', 'old-{tag}'), "
              f"({now - 89 * day}, 'login_failed', 'deleted-{tag}', 'kept-{tag}')")

    r = request(worker.base, "GET", "/__scheduled?cron=17+*+*+*+*")
    assert r.status == 200, r.body
    deadline = time.monotonic() + 20
    while not [l for l in worker.logs() if l["event"] == "cleanup"] and time.monotonic() < deadline:
        time.sleep(0.3)

    ids = lambda sql: sorted(v for row in worker.d1(sql) for v in row.values())
    assert ids(f"SELECT id FROM sessions WHERE user_id = '{uid}'") == sorted([f"ended-{tag}", f"live-{tag}"])
    assert ids(f"SELECT token_hash FROM spent_refresh_tokens WHERE session_id LIKE '%-{tag}'") == [f"s-live-{tag}"]
    assert ids(f"SELECT email FROM login_attempts WHERE email LIKE '%-{tag}@example.com'") == [f"fresh-{tag}@example.com"]
    # (The registration's own verification token is live too, and stays.)
    assert ids(f"SELECT token_hash FROM email_tokens WHERE user_id = '{uid}' "
               "AND purpose = 'password_reset'") == [f"live-{tag}"]
    assert ids(f"SELECT email FROM email_requests WHERE email LIKE '%-{tag}@example.com'") == [
        f"new-{tag}@example.com"]
    line = [l for l in worker.logs() if l["event"] == "cleanup"][-1]
    assert line["sessions"] >= 2 and line["spent_refresh_tokens"] >= 1
    assert line["login_attempts"] >= 1 and line["email_tokens"] >= 2 and line["incomplete"] is False
    assert line["email_requests"] >= 1
    assert ids(f"SELECT request_id FROM audit_events WHERE request_id LIKE '%-{tag}'") == [f"kept-{tag}"]
    assert line["audit_events"] >= 1
