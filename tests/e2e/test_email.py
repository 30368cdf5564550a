"""End-to-end on workerd: password forgot/reset and address verification (contract v2), with mail
going through the real Queue (simulated by Miniflare) to the queue consumer and out through the
`send_email` binding, which `wrangler dev` writes to files. Each test reads its mail as a user
reads an inbox: the wrangler log names each message's From, To, Subject and text file; the link
is in the text."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from client import request
from conftest import ANSI, SigningKey, start_worker, stop
from test_core import PASSWORD, assert_problem, login, register, unique_email

NEW_PASSWORD = "a brand new passphrase"
RESET = "Reset your password"
VERIFY = "Verify your email address"
CHANGED = "Your password was changed"
MAIL_WAIT_S = 30


@dataclass
class Mail:
    sender: str
    to: str
    subject: str
    text_path: Path
    html_path: Path | None

    @property
    def text(self) -> str:
        return self.text_path.read_text()

    @property
    def link(self) -> str:
        links = [w for w in self.text.split() if "?token=" in w]
        assert len(links) == 1, self.text
        return links[0]

    @property
    def token(self) -> str:
        return self.link.split("?token=", 1)[1]


def inbox(w) -> list[Mail]:
    """Every message the send_email binding was called with, in order, from wrangler's log: the
    marker line, then `From:`, `To:`, `Subject:`, `Text: <path>` and `HTML: <path>` (other log
    lines may come in between when requests run concurrently)."""
    mails, fields = [], None
    for raw in w.log_path.read_text(errors="replace").splitlines():
        line = ANSI.sub("", raw).strip()
        if "send_email binding called with MessageBuilder:" in line:
            if fields and "Text" in fields:
                mails.append(_mail(fields))
            fields = {}
            continue
        if fields is None:
            continue
        key, sep, value = line.partition(": ")
        if sep and key in ("From", "To", "Subject", "Text", "HTML") and key not in fields:
            fields[key] = value.strip()
        if "Text" in fields and "HTML" in fields:
            mails.append(_mail(fields))
            fields = None
    if fields and "Text" in fields:
        mails.append(_mail(fields))
    return mails


def _mail(fields: dict) -> Mail:
    return Mail(fields.get("From", ""), fields.get("To", ""), fields.get("Subject", ""),
                Path(fields["Text"]), Path(fields["HTML"]) if "HTML" in fields else None)


def mails_to(w, to: str, subject: str | None = None) -> list[Mail]:
    return [m for m in inbox(w) if m.to == to.lower() and (subject is None or m.subject == subject)]


def wait_for_mail(w, to: str, subject: str, count: int = 1) -> Mail:
    """Waits until `to` has `count` mails with `subject`; returns the last one."""
    deadline = time.monotonic() + MAIL_WAIT_S
    while True:
        found = mails_to(w, to, subject)
        if len(found) >= count:
            return found[count - 1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail #{count} {subject!r} to {to}; inbox: {inbox(w)}")
        time.sleep(0.2)


def wait_for_lines(w, pick, count: int = 1) -> list[dict]:
    """The `count` (or more) JSON lines of the Worker's log that `pick` accepts, waiting for
    them as long as for a mail."""
    found = w.lines_when(pick, count, MAIL_WAIT_S)
    if len(found) < count:
        tail = "\n".join(w.log_path.read_text(errors="replace").splitlines()[-40:])
        raise AssertionError(f"{len(found)} of {count} log lines; the log ends with:\n{tail}")
    return found


def forgot(w, email, request_id=None):
    headers = {"X-Request-Id": request_id} if request_id else {}
    return request(w.base, "POST", "/auth/password/forgot", json={"email": email}, headers=headers)


def reset(w, token, password=NEW_PASSWORD, request_id=None):
    headers = {"X-Request-Id": request_id} if request_id else {}
    return request(w.base, "POST", "/auth/password/reset", json={"token": token, "new_password": password},
                   headers=headers)


def verify(w, token):
    return request(w.base, "POST", "/auth/email/verify", json={"token": token})


def access(pair) -> dict:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def user_id(w, email) -> str:
    return w.d1(f"SELECT id FROM users WHERE email = '{email.lower()}'")[0]["id"]


def test_forgot_then_the_emailed_link_resets_the_password(worker):
    email = unique_email("reset")
    assert register(worker, email).status == 201
    pair = login(worker, email).json()
    r = forgot(worker, email)
    assert r.status == 202, r.body
    assert r.header("cache-control") == "no-store"
    unknown = forgot(worker, unique_email("nobody"))
    assert (unknown.status, unknown.body) == (r.status, r.body)

    mail = wait_for_mail(worker, email, RESET)
    assert mail.sender == "noreply@example.com"
    assert mail.link.startswith(f"{worker.base}/reset-password?token="), mail.link
    assert len(mail.token) == 43
    assert mail.html_path and mail.link in mail.html_path.read_text()

    r = reset(worker, mail.token)
    assert r.status == 204, r.body
    # Every session is over, the old password too; the new one logs in, and the address counts
    # as verified.
    assert_problem(request(worker.base, "GET", "/auth/me", headers=access(pair)), 401, "invalid_token")
    assert_problem(request(worker.base, "POST", "/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
                   401, "invalid_grant")
    assert_problem(login(worker, email), 401, "invalid_credentials")
    r = login(worker, email, NEW_PASSWORD)
    assert r.status == 200, r.body
    me = request(worker.base, "GET", "/auth/me", headers=access(r.json())).json()
    assert me["email_verified"] is True
    notice = wait_for_mail(worker, email, CHANGED)
    assert "token=" not in notice.text


def test_a_reset_that_meets_a_row_of_the_wrong_type_is_bad_data_not_an_outage(worker):
    # The reset's lookup reads one user row (a single-row query). A column of the wrong type is
    # bad data: 500, logged with the column's name, never counted toward the breaker, nothing
    # spent; the same link works once the row is repaired.
    email = unique_email("badreset")
    assert register(worker, email).status == 201
    assert forgot(worker, email).status == 202
    mail = wait_for_mail(worker, email, RESET)
    uid = user_id(worker, email)
    worker.d1(f"UPDATE users SET email_verified = 'yes' WHERE id = '{uid}'")
    rid = f"badreset-{uuid.uuid4().hex[:8]}"
    r = request(worker.base, "POST", "/auth/password/reset",
                json={"token": mail.token, "new_password": NEW_PASSWORD}, headers={"X-Request-Id": rid})
    assert_problem(r, 500, "internal_error")
    assert b"email_verified" not in r.body and b"yes" not in r.body
    bad = wait_for_lines(worker, lambda l: l.get("request_id") == rid and l["event"] == "stored_row_invalid")
    assert "email_verified" in bad[0]["cause"], bad
    mine = [l for l in worker.logs() if l.get("request_id") == rid]
    assert not any(l["event"] == "storage_failure" for l in mine), mine
    worker.d1(f"UPDATE users SET email_verified = 0 WHERE id = '{uid}'")
    assert reset(worker, mail.token).status == 204


def test_forgot_makes_the_same_round_trips_for_known_and_unknown_addresses(worker):
    email = unique_email("trips")
    assert register(worker, email).status == 201
    ids = {f"trips-known-{uuid.uuid4().hex[:8]}": email, f"trips-unknown-{uuid.uuid4().hex[:8]}": unique_email("no")}
    for rid, address in ids.items():
        assert forgot(worker, address, request_id=rid).status == 202
    time.sleep(0.5)
    lines = {l["request_id"]: l for l in worker.logs() if l["event"] == "request" and l["request_id"] in ids}
    assert len(lines) == 2
    assert len({l["db_calls"] for l in lines.values()}) == 1, lines
    # Each request queued one job, and nothing else on its request path says which one had an
    # account: only the queue's consumer logs that.
    events = {rid: sorted(l["event"] for l in worker.logs() if l.get("request_id") == rid) for rid in ids}
    assert list(events.values()) == [["email_queued", "request"]] * 2, events


def test_an_unknown_address_gets_no_mail_and_a_consumer_log_line(worker):
    email, rid = unique_email("ghost").lower(), f"ghost-{uuid.uuid4().hex[:8]}"
    r = forgot(worker, email, request_id=rid)
    assert r.status == 202, r.body
    [line] = wait_for_lines(worker, lambda l: l["event"] == "email_token_not_issued"
                            and l.get("origin_request_id") == rid)
    assert line["reason"] == "unknown_email"
    assert line["purpose"] == "password_reset"
    assert line["email"].endswith("***@example.com") and email not in str(line)
    assert line["request_id"] != rid, "written by the consumer, not by the request"
    time.sleep(1)
    assert mails_to(worker, email) == []
    assert email not in worker.log_path.read_text(errors="replace")


def test_a_reset_link_used_concurrently_resets_once_and_only_that_reset_hashes(worker):
    # The link is spent before the new password is hashed: of the resets that present it at
    # once, the one that spends it hashes, and the others are refused without hashing. Each
    # request's own log line counts the passwords it hashed.
    email = unique_email("once")
    register(worker, email)
    forgot(worker, email)
    token = wait_for_mail(worker, email, RESET).token
    rids = [f"once-{i}-{uuid.uuid4().hex[:8]}" for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: reset(worker, token, f"{NEW_PASSWORD} {i}", rids[i]), range(8)))
    statuses = sorted(r.status for r in results)
    assert statuses == [204] + [400] * 7, statuses
    for r in results:
        if r.status == 400:
            assert_problem(r, 400, "invalid_email_token")
    winner = next(i for i, r in enumerate(results) if r.status == 204)
    lines = wait_for_lines(worker, lambda l: l["event"] == "request" and l["request_id"] in rids, 8)
    hashes = {l["request_id"]: l.get("new_password_hashes") for l in lines}
    assert hashes == {rid: int(rid == rids[winner]) for rid in rids}, hashes
    refused = [l for l in worker.logs() if l["event"] == "email_token_refused" and l["request_id"] in rids]
    assert sorted(l["request_id"] for l in refused) == sorted(set(rids) - {rids[winner]}), refused
    assert login(worker, email, f"{NEW_PASSWORD} {winner}").status == 200
    assert_problem(reset(worker, token), 400, "invalid_email_token")


def test_a_password_change_voids_a_pending_reset_link(worker):
    email = unique_email("voided")
    register(worker, email)
    pair = login(worker, email).json()
    assert forgot(worker, email).status == 202
    token = wait_for_mail(worker, email, RESET).token
    r = request(worker.base, "POST", "/auth/password/change", headers=access(pair),
                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status == 204, r.body
    assert_problem(reset(worker, token, "the link's own passphrase"), 400, "invalid_email_token")
    assert login(worker, email, NEW_PASSWORD).status == 200
    assert_problem(login(worker, email, "the link's own passphrase"), 401, "invalid_credentials")


def test_an_expired_reset_link_is_refused(worker):
    email = unique_email("expired")
    register(worker, email)
    forgot(worker, email)
    token = wait_for_mail(worker, email, RESET).token
    worker.d1(f"UPDATE email_tokens SET expires_at = 0 WHERE user_id = '{user_id(worker, email)}' "
              "AND purpose = 'password_reset'")
    assert_problem(reset(worker, token), 400, "invalid_email_token")
    assert login(worker, email).status == 200, "the password is unchanged"


def test_a_newer_reset_link_voids_the_older_one(worker):
    email = unique_email("newer")
    register(worker, email)
    forgot(worker, email)
    older = wait_for_mail(worker, email, RESET, 1).token
    forgot(worker, email)
    newer = wait_for_mail(worker, email, RESET, 2).token
    assert older != newer
    assert_problem(reset(worker, older), 400, "invalid_email_token")
    assert reset(worker, newer).status == 204


def test_past_the_hourly_cap_forgot_answers_the_same_and_sends_nothing(worker):
    email = unique_email("cap")
    register(worker, email)
    first = forgot(worker, email)
    for _ in range(6):
        r = forgot(worker, email)
        assert (r.status, r.body) == (202, first.body)
    wait_for_mail(worker, email, RESET, 5)
    uid = user_id(worker, email)
    rows = worker.d1(f"SELECT sent FROM email_sends WHERE user_id = '{uid}' AND purpose = 'password_reset'")
    assert rows == [{"sent": 7}]
    # The consumer counted and capped them; its lines come once its batch is done.
    capped = wait_for_lines(worker, lambda l: l["event"] == "email_capped" and l.get("user_id") == uid, 2)
    assert len(capped) == 2
    time.sleep(2.5)
    assert len(mails_to(worker, email, RESET)) == 5
    # The last of the five links is the one that works.
    assert reset(worker, mails_to(worker, email, RESET)[-1].token).status == 204


def test_registration_mails_a_verification_link_that_verifies_once(worker):
    email = unique_email("verify")
    created = register(worker, email).json()
    mail = wait_for_mail(worker, email, VERIFY)
    assert mail.link.startswith(f"{worker.base}/verify-email?token=")
    r = verify(worker, mail.token)
    assert r.status == 200, r.body
    assert r.json() == {**created, "email_verified": True}
    assert_problem(verify(worker, mail.token), 400, "invalid_email_token")
    pair = login(worker, email).json()
    r = request(worker.base, "POST", "/auth/email/verification", headers=access(pair))
    assert_problem(r, 409, "email_already_verified")


def test_asking_again_sends_a_new_link_and_voids_the_first(worker):
    email = unique_email("again")
    register(worker, email)
    first = wait_for_mail(worker, email, VERIFY).token
    pair = login(worker, email).json()
    r = request(worker.base, "POST", "/auth/email/verification", headers=access(pair))
    assert r.status == 202, r.body
    second = wait_for_mail(worker, email, VERIFY, 2).token
    assert_problem(verify(worker, first), 400, "invalid_email_token")
    assert verify(worker, second).json()["email_verified"] is True
    assert_problem(request(worker.base, "POST", "/auth/email/verification"), 401, "invalid_token")
    assert_problem(verify(worker, "not-a-token"), 400, "invalid_email_token")


def test_no_token_appears_in_any_log_line(worker):
    # Runs after the tests above in this module: every token mailed so far.
    email = unique_email("logs")
    register(worker, email)
    forgot(worker, email)
    wait_for_mail(worker, email, RESET)
    tokens = [m.token for m in inbox(worker) if "?token=" in m.text]
    assert len(tokens) >= 10
    log = worker.log_path.read_text(errors="replace")
    for token in tokens:
        assert token not in log
    sent = [l for l in worker.logs() if l["event"] == "email_sent"]
    assert len(sent) >= len(tokens)
    assert all("@" in l["to"] and "***" in l["to"] for l in sent)


# A display name around an address, a list, a quoted local part: each passes RFC 5322's wider
# grammar, and a mail service may deliver it to a mailbox other than the one it seems to name.
NOT_PLAIN_ADDRESSES = ["victim<attacker@evil.example>", "a,b@example.com", 'x"y@example.com']


def test_register_and_forgot_accept_only_a_plain_address(worker):
    for raw in NOT_PLAIN_ADDRESSES:
        for r in (register(worker, raw), forgot(worker, raw)):
            body = assert_problem(r, 422, "validation_failed")
            assert [(e["field"], e["code"]) for e in body["errors"]] == [("email", "invalid_email")], (raw, body)
    rows = worker.d1("SELECT COUNT(*) AS n FROM users WHERE email LIKE '%<%' OR email LIKE '%,%' "
                     "OR email LIKE '%\"%'")
    assert rows == [{"n": 0}], rows


def test_a_links_origin_is_the_configured_one_whatever_the_host_header(worker):
    email = unique_email("host")
    spoofed = {"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"}
    r = request(worker.base, "POST", "/auth/register", json={"email": email, "password": PASSWORD},
                headers=spoofed)
    assert r.status == 201, r.body
    r = request(worker.base, "POST", "/auth/password/forgot", json={"email": email}, headers=spoofed)
    assert r.status == 202, r.body
    verify_link = wait_for_mail(worker, email, VERIFY).link
    reset_link = wait_for_mail(worker, email, RESET).link
    assert verify_link.startswith(f"{worker.base}/verify-email?token="), verify_link
    assert reset_link.startswith(f"{worker.base}/reset-password?token="), reset_link


def test_asking_for_verification_past_the_hourly_cap_queues_nothing(worker):
    # EMAIL_MAX_PER_HOUR is 5: the sixth request of the hour and later are answered the same,
    # and no job reaches the queue. Each request logs what it did: queued, or capped.
    email = unique_email("askcap")
    assert register(worker, email).status == 201
    pair = login(worker, email).json()
    rids = [f"askcap-{i}-{uuid.uuid4().hex[:8]}" for i in range(8)]
    answers = [request(worker.base, "POST", "/auth/email/verification",
                       headers={**access(pair), "X-Request-Id": rid}) for rid in rids]
    assert {(r.status, r.body) for r in answers} == {(202, answers[0].body)}
    decided = wait_for_lines(worker, lambda l: l.get("request_id") in rids
                             and l["event"] in ("email_queued", "email_request_capped"), 8)
    assert sorted(l["request_id"] for l in decided if l["event"] == "email_queued") == sorted(rids[:5]), decided
    capped = [l for l in decided if l["event"] == "email_request_capped"]
    assert sorted(l["request_id"] for l in capped) == sorted(rids[5:]), capped
    assert all(l["purpose"] == "email_verification" and l["max_per_hour"] == 5 for l in capped), capped
    # The consumer got exactly the five queued jobs.
    handled = wait_for_lines(worker, lambda l: l.get("origin_request_id") in rids
                             and l["event"] in ("email_token_issued", "email_capped"), 5)
    assert sorted(l["origin_request_id"] for l in handled) == sorted(rids[:5]), handled


@pytest.fixture(scope="module")
def unlinked_worker(e2e_dir):
    """The production build with neither APP_URL nor PUBLIC_URL: no origin to put in a link."""
    w = start_worker(e2e_dir / "unlinked", SigningKey(kid="e2e-unlinked"),
                     extra_vars={"PUBLIC_URL": "", "RATE_LIMIT_BY_IP": "false"})
    yield w
    stop(w.proc)


def test_without_a_configured_origin_no_link_is_mailed(unlinked_worker):
    w = unlinked_worker
    email = unique_email("unlinked").lower()
    rids = {"register": f"unlinked-reg-{uuid.uuid4().hex[:8]}", "forgot": f"unlinked-fgt-{uuid.uuid4().hex[:8]}"}
    r = request(w.base, "POST", "/auth/register", json={"email": email, "password": PASSWORD},
                headers={"X-Request-Id": rids["register"], "Host": "attacker.example"})
    assert r.status == 201, r.body
    assert forgot(w, email, request_id=rids["forgot"]).status == 202
    lines = wait_for_lines(w, lambda l: l["event"] == "mail_link_unconfigured"
                           and l["request_id"] in rids.values(), 2)
    assert sorted(l["kind"] for l in lines) == ["email_verification", "password_reset"], lines
    assert all(l["level"] == "error" for l in lines), lines
    wait_for_lines(w, lambda l: l["event"] == "request" and l["request_id"] in rids.values(), 2)
    time.sleep(2)
    assert not [l for l in w.logs() if l["event"] == "email_queued" and l["request_id"] in rids.values()]
    assert mails_to(w, email) == []


@pytest.fixture(scope="module")
def limited_worker(e2e_dir):
    """The production build as deployed: RATE_LIMIT_BY_IP on (100 a minute per endpoint and IP)."""
    w = start_worker(e2e_dir / "limited", SigningKey(kid="e2e-limited"))
    yield w
    stop(w.proc)


def test_a_flood_from_one_ip_is_refused_with_429_and_retry_after(limited_worker):
    w = limited_worker
    email = unique_email("flood")
    assert register(w, email).status == 201
    # The local simulation of the binding counts in windows that start on the wall clock's
    # minute (period = 60): a flood that straddles one would be counted in two halves. Start it
    # early in a window (130 requests take a few seconds here).
    into_minute = time.time() % 60
    if into_minute > 30:
        time.sleep(60 - into_minute + 0.5)
    statuses = [forgot(w, email).status for _ in range(130)]
    assert statuses[:90] == [202] * 90, "an honest number of requests always passes"
    assert 429 in statuses, statuses
    first = statuses.index(429)
    assert first >= 100, first
    r = forgot(w, email)
    assert_problem(r, 429, "too_many_requests")
    assert r.header("retry-after") == "60"
    # The other endpoints count apart: this client can still log in.
    assert login(w, email).status == 200
    assert w.has_line(lambda l: l["event"] == "ip_rate_limited" and l["route"] == "forgot")


def test_a_flood_of_resets_from_one_ip_is_refused_with_429(limited_worker):
    w = limited_worker
    into_minute = time.time() % 60
    if into_minute > 30:
        time.sleep(60 - into_minute + 0.5)
    # A token that was never issued: each reset is refused.
    token = "A" * 43
    answers = [reset(w, token) for _ in range(130)]
    statuses = [r.status for r in answers]
    assert statuses[:90] == [400] * 90, "an honest number of requests always passes"
    assert_problem(answers[0], 400, "invalid_email_token")
    assert 429 in statuses, statuses
    first = statuses.index(429)
    assert first >= 100, first
    r = reset(w, token)
    assert_problem(r, 429, "too_many_requests")
    assert r.header("retry-after") == "60"
    assert w.has_line(lambda l: l["event"] == "ip_rate_limited" and l["route"] == "reset")


@pytest.fixture(scope="module")
def verifying_worker(e2e_dir):
    """The production build with REQUIRE_EMAIL_VERIFICATION=true."""
    w = start_worker(e2e_dir / "verifying", SigningKey(kid="e2e-verifying"),
                     extra_vars={"REQUIRE_EMAIL_VERIFICATION": "true"})
    yield w
    stop(w.proc)


def test_with_required_verification_only_a_verified_account_logs_in(verifying_worker):
    w = verifying_worker
    email = unique_email("required")
    assert register(w, email).status == 201
    assert_problem(login(w, email, "not the password"), 401, "invalid_credentials")
    body = assert_problem(login(w, email), 403, "email_not_verified")
    assert body["error"] == "invalid_grant"
    r = verify(w, wait_for_mail(w, email, VERIFY).token)
    assert r.status == 200, r.body
    assert login(w, email).status == 200
