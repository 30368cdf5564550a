"""End-to-end on workerd: a mail whose sends keep failing is retried until the queue gives up,
on the real Queue (simulated by Miniflare), the real D1 and the real `send_email` binding. This
Worker's binding may only send to an address no user has (`allowed_destination_addresses`), so
every send fails; its queue retries at once, twice (`retry_delay = 0`, `max_retries = 2`), and
the hourly cap is 1. A job's own deliveries count once toward the cap: all three fail and are
retried, none is acknowledged as capped (counted per delivery, the second one was)."""
from __future__ import annotations

import time
import uuid

import pytest

from conftest import SigningKey, production_config, start_worker, stop
from test_core import register, unique_email
from test_email import forgot, wait_for_lines

DELIVERIES = 3  # the first and max_retries = 2 more


@pytest.fixture(scope="module")
def failing_mail_worker(e2e_dir):
    """The production build with the real wrangler.toml, but a mail binding that refuses every
    user's address and a queue that retries at once."""
    config = production_config(e2e_dir, "mailfail", [
        ("max_retries = 5", f"max_retries = {DELIVERIES - 1}"),
        ("retry_delay = 30", "retry_delay = 0"),
        ('name = "EMAIL"', 'name = "EMAIL"\nallowed_destination_addresses = ["nobody@example.net"]'),
    ])
    w = start_worker(e2e_dir / "mailfail", SigningKey(kid="e2e-mailfail"), config=config,
                     extra_vars={"EMAIL_MAX_PER_HOUR": "1", "RATE_LIMIT_BY_IP": "false"})
    yield w
    stop(w.proc)


def test_a_mail_that_keeps_failing_is_retried_every_time_and_counts_once(failing_mail_worker):
    w = failing_mail_worker
    email = unique_email("mailfail")
    assert register(w, email).status == 201
    rid = f"mailfail-{uuid.uuid4().hex[:10]}"
    assert forgot(w, email, request_id=rid).status == 202
    mine = lambda l: l.get("origin_request_id") == rid  # noqa: E731
    failed = wait_for_lines(w, lambda l: mine(l) and l.get("event") == "email_failed", DELIVERIES)
    assert all(l["retry"] is True and "not allowed" in l["cause"] for l in failed), failed
    # One token per delivery, the cap counted once: no delivery was refused as capped.
    issued = [l for l in w.logs() if mine(l) and l.get("event") == "email_token_issued"]
    assert len(issued) == DELIVERIES, issued
    time.sleep(3)  # the queue has given up: no further delivery comes
    lines = [l for l in w.logs() if mine(l)]
    assert not [l for l in lines if l.get("event") == "email_capped"], lines
    assert len([l for l in lines if l.get("event") == "email_failed"]) == DELIVERIES, lines
    sent = w.d1("SELECT s.sent FROM email_sends s JOIN users u ON u.id = s.user_id "
                f"WHERE u.email = '{email.lower()}' AND s.purpose = 'password_reset'")
    assert sent == [{"sent": 1}], sent
