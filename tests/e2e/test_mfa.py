"""End-to-end on workerd: two-step verification (the contract's "Two-step verification"), with
pyotp as the authenticator app. Every endpoint and code of the section, the races that D1 must
decide (two parallel verifies of one mfa_token, two parallel uses of one recovery code), five
wrong codes and the throttle, replay, the OAuth form's 403, deleting the account with a code,
and the stored row holding ciphertext, not the secret."""
from __future__ import annotations

import base64
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest

from client import request
from conftest import SigningKey, start_worker, stop
from test_amr import claims_of, refresh, verify
from test_core import PASSWORD, assert_problem, login, register, unique_email
from test_email import wait_for_mail

# A fixed key for this module's Worker (never a real one): 32 bytes, base64url.
MFA_KEY = base64.urlsafe_b64encode(bytes(range(1, 33))).decode().rstrip("=")
# One more than the contract's 5 wrong codes: a login's right password stays counted until its
# second factor is right, so 1 + 5 attempts fit in the window and the next is throttled.
MAX_FAILURES = 6
# The admin API reads the audit trail back.
ADMIN_KEY = "e2e-mfa-admin-key-" + "0123456789abcdef" * 2


def event_counts(w, access_token: str) -> Counter:
    """How many events of each type the token's user has."""
    uid = claims_of(access_token)["sub"]
    r = request(w.base, "GET", f"/admin/events?limit=200&user_id={uid}",
                headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status == 200, r.body
    return Counter(e["type"] for e in r.json()["events"])


@pytest.fixture(scope="module")
def w(e2e_dir):
    worker = start_worker(e2e_dir / "mfa", SigningKey(kid="e2e-mfa"), extra_vars={
        "MFA_ENCRYPTION_KEY": MFA_KEY, "RATE_LIMIT_BY_IP": "false", "ADMIN_API_KEY": ADMIN_KEY,
        "LOGIN_MAX_FAILURES": str(MAX_FAILURES), "MFA_ISSUER": "Edge Auth",
        # Cheap hashes: the password paths are the same, and every account here logs in often.
        "PBKDF2_ITERATIONS": "1000",
    })
    yield worker
    stop(worker.proc)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def post(w, path: str, body: dict, token: str | None = None):
    return request(w.base, "POST", path, json=body, headers=bearer(token) if token else None)


def code_at(totp: pyotp.TOTP, offset_steps: int = 0) -> str:
    """The code of the step `offset_steps` from now: the ±1 window accepts step+1 too, so each
    use can take a fresh step without waiting for the clock."""
    return totp.at(time.time() + 30 * offset_steps)


class Account:
    def __init__(self, w, tag: str):
        self.email = unique_email(tag)
        assert register(w, self.email).status == 201
        r = login(w, self.email)
        assert r.status == 200, r.body
        self.token = r.json()["access_token"]
        self.refresh_token = r.json()["refresh_token"]
        self.totp: pyotp.TOTP | None = None
        self.codes: list[str] = []

    def enable(self, w) -> "Account":
        r = post(w, "/auth/mfa/totp/setup", {"password": PASSWORD}, self.token)
        assert r.status == 200, r.body
        self.totp = pyotp.TOTP(r.json()["secret"])
        r = post(w, "/auth/mfa/totp/confirm", {"code": code_at(self.totp, -1)}, self.token)
        assert r.status == 200, r.body
        self.codes = r.json()["recovery_codes"]
        return self

    def mfa_token(self, w) -> str:
        r = login(w, self.email)
        body = assert_problem(r, 403, "mfa_required")
        return body["mfa_token"]


def test_setup_confirm_and_a_login_in_two_steps(w):
    a = Account(w, "mfa-flow")
    other = login(w, a.email).json()
    me = request(w.base, "GET", "/auth/me", headers=bearer(a.token))
    assert me.json()["mfa_enabled"] is False
    assert_problem(post(w, "/auth/mfa/totp/setup", {"password": "wrong password!"}, a.token),
                   401, "invalid_credentials")
    assert_problem(post(w, "/auth/mfa/totp/confirm", {"code": "123456"}, a.token), 409, "mfa_not_enabled")
    r = post(w, "/auth/mfa/totp/setup", {"password": PASSWORD}, a.token)
    assert r.status == 200, r.body
    secret = r.json()["secret"]
    local, domain = a.email.lower().split("@")
    assert r.json()["otpauth_uri"] == (
        f"otpauth://totp/Edge%20Auth:{local}%40{domain}?secret={secret}&issuer=Edge%20Auth"
        "&algorithm=SHA1&digits=6&period=30")
    # pyotp reads the URI as an authenticator app would.
    parsed = pyotp.parse_uri(r.json()["otpauth_uri"])
    assert parsed.secret == secret and parsed.issuer == "Edge Auth" and parsed.digits == 6
    totp = pyotp.TOTP(secret)
    assert_problem(post(w, "/auth/mfa/totp/confirm", {"code": "000000"}, a.token), 401, "invalid_mfa_code")
    r = post(w, "/auth/mfa/totp/confirm", {"code": code_at(totp, -1)}, a.token)
    assert r.status == 200, r.body
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert_problem(post(w, "/auth/mfa/totp/setup", {"password": PASSWORD}, a.token), 409, "mfa_already_enabled")
    # The other session ended; the caller's stays and says it is on.
    assert_problem(request(w.base, "GET", "/auth/me", headers=bearer(other["access_token"])),
                   401, "invalid_token")
    assert request(w.base, "GET", "/auth/me", headers=bearer(a.token)).json()["mfa_enabled"] is True
    wait_for_mail(w, a.email.lower(), "Two-step verification was turned on")

    # The stored row holds ciphertext under the key's id, not the secret.
    [row] = w.d1(f"SELECT t.sealed_secret FROM mfa_totp t JOIN users u ON u.id = t.user_id "
                 f"WHERE u.email = '{a.email.lower()}'")
    assert row["sealed_secret"].startswith("v1.") and secret not in row["sealed_secret"]
    raw = base64.b32decode(secret)
    assert raw.hex() not in row["sealed_secret"]

    assert_problem(login(w, a.email, "a wrong password"), 401, "invalid_credentials")
    r = login(w, a.email)
    body = assert_problem(r, 403, "mfa_required")
    assert body["error"] == "mfa_required" and body["mfa_methods"] == ["totp", "recovery_code"]
    assert len(body["mfa_token"]) == 43
    r = post(w, "/auth/mfa/verify", {"mfa_token": body["mfa_token"], "code": code_at(totp)})
    assert r.status == 200, r.body
    pair = r.json()
    assert claims_of(pair["access_token"])["amr"] == ["pwd", "otp", "mfa"]
    assert verify(w, pair["access_token"])["amr"] == ["pwd", "otp", "mfa"]
    renewed = refresh(w, pair["refresh_token"])
    assert verify(w, renewed["access_token"])["amr"] == ["pwd", "otp", "mfa"]
    # Used once; and the accepted step is never accepted again (replay).
    assert_problem(post(w, "/auth/mfa/verify", {"mfa_token": body["mfa_token"], "code": code_at(totp, 1)}),
                   401, "invalid_mfa_token")
    token = a.mfa_token(w)
    assert_problem(post(w, "/auth/mfa/verify", {"mfa_token": token, "code": code_at(totp)}),
                   401, "invalid_mfa_code")


def test_the_oauth_password_form_gets_the_same_403(w):
    a = Account(w, "mfa-form").enable(w)
    r = request(w.base, "POST", "/auth/login",
                body=f"grant_type=password&username={a.email}&password={PASSWORD.replace(' ', '+')}".encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    body = assert_problem(r, 403, "mfa_required")
    assert body["error"] == "mfa_required" and body["mfa_methods"] == ["totp", "recovery_code"]
    assert len(body["mfa_token"]) == 43


def test_verify_bodies_and_unknown_tokens(w):
    a = Account(w, "mfa-body").enable(w)
    token = a.mfa_token(w)
    for body, fields in [
        ({"mfa_token": token}, ["code"]),
        ({"mfa_token": token, "code": "123456", "recovery_code": a.codes[0]}, ["recovery_code"]),
        ({"mfa_token": token, "recovery_code": ""}, ["recovery_code"]),
    ]:
        r = post(w, "/auth/mfa/verify", body)
        problem = assert_problem(r, 422, "validation_failed")
        assert [e["field"] for e in problem["errors"]] == fields
    assert_problem(post(w, "/auth/mfa/verify", {"mfa_token": "A" * 43, "code": "123456"}),
                   401, "invalid_mfa_token")


def test_two_parallel_verifies_of_one_mfa_token_open_exactly_one_session(w):
    a = Account(w, "mfa-race").enable(w)
    token = a.mfa_token(w)
    bodies = [{"mfa_token": token, "code": code_at(a.totp)},
              {"mfa_token": token, "recovery_code": a.codes[0]}]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda b: post(w, "/auth/mfa/verify", b), bodies))
    statuses = sorted(r.status for r in answers)
    assert statuses == [200, 401], [r.body for r in answers]
    [loser] = [r for r in answers if r.status == 401]
    assert loser.json()["code"] in ("invalid_mfa_token", "invalid_mfa_code")
    [winner] = [r for r in answers if r.status == 200]
    by_code = "otp" not in claims_of(winner.json()["access_token"])["amr"]
    # One session, one second factor used. A loser refused at the token check (the winner had
    # used it) reserved no attempt and records nothing; one past it leaves its `mfa_failed`.
    counts = event_counts(w, winner.json()["access_token"])
    failed = counts.pop("mfa_failed", 0)
    assert failed == 1 if loser.json()["code"] == "invalid_mfa_code" else failed in (0, 1)
    expected = {"user_registered": 1, "login_succeeded": 2, "mfa_enabled": 1, "mfa_required": 1,
                "recovery_code_used": int(by_code)}
    assert counts == Counter({k: n for k, n in expected.items() if n})


def test_two_parallel_uses_of_one_recovery_code_let_exactly_one_in(w):
    a = Account(w, "mfa-code-race").enable(w)
    tokens = [a.mfa_token(w), a.mfa_token(w)]
    typed = a.codes[1].upper().replace("-", " ")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(
            lambda t: post(w, "/auth/mfa/verify", {"mfa_token": t, "recovery_code": typed}), tokens))
    assert sorted(r.status for r in answers) == [200, 401], [r.body for r in answers]
    [winner] = [r for r in answers if r.status == 200]
    [loser] = [r for r in answers if r.status == 401]
    assert loser.json()["code"] == "invalid_mfa_code"
    assert claims_of(winner.json()["access_token"])["amr"] == ["pwd", "mfa"]
    # The code was spent once, and recorded once.
    assert event_counts(w, winner.json()["access_token"]) == Counter(
        {"user_registered": 1, "login_succeeded": 2, "mfa_enabled": 1, "mfa_required": 2,
         "recovery_code_used": 1, "mfa_failed": 1})
    mail = wait_for_mail(w, a.email.lower(), "A recovery code was used")
    assert "(9 left)" in mail.text


def test_five_wrong_codes_kill_the_token_and_the_throttle_answers_429(w):
    a = Account(w, "mfa-wrong").enable(w)
    token = a.mfa_token(w)
    for _ in range(5):
        assert_problem(post(w, "/auth/mfa/verify", {"mfa_token": token, "code": "000000"}),
                       401, "invalid_mfa_code")
    # Dead, even with a right code.
    assert_problem(post(w, "/auth/mfa/verify", {"mfa_token": token, "code": code_at(a.totp)}),
                   401, "invalid_mfa_token")
    # Six failed logins of the account in the window: the next login is throttled.
    r = login(w, a.email)
    assert_problem(r, 429, "too_many_attempts")
    assert int(r.header("retry-after")) > 0


def test_new_recovery_codes_and_turning_it_off(w):
    a = Account(w, "mfa-off").enable(w)
    assert_problem(post(w, "/auth/mfa/recovery-codes", {"code": a.codes[0]}, a.token), 401, "invalid_mfa_code")
    r = post(w, "/auth/mfa/recovery-codes", {"code": code_at(a.totp)}, a.token)
    assert r.status == 200, r.body
    fresh = r.json()["recovery_codes"]
    assert len(fresh) == 10 and not set(fresh) & set(a.codes)
    token = a.mfa_token(w)
    assert_problem(post(w, "/auth/mfa/verify", {"mfa_token": token, "recovery_code": a.codes[2]}),
                   401, "invalid_mfa_code")

    off = lambda body: request(w.base, "DELETE", "/auth/mfa/totp", json=body, headers=bearer(a.token))
    assert_problem(off({"password": "not the password", "code": fresh[0]}), 401, "invalid_credentials")
    assert_problem(off({"password": PASSWORD, "code": "zzzzz-zzzzz"}), 401, "invalid_mfa_code")
    r = off({"password": PASSWORD, "code": fresh[0]})
    assert r.status == 204, r.body
    wait_for_mail(w, a.email.lower(), "Two-step verification was turned off")
    assert_problem(off({"password": PASSWORD, "code": fresh[1]}), 409, "mfa_not_enabled")
    assert_problem(post(w, "/auth/mfa/recovery-codes", {"code": "123456"}, a.token), 409, "mfa_not_enabled")
    assert login(w, a.email).status == 200


def test_deleting_the_account_asks_for_a_code(w):
    a = Account(w, "mfa-delete").enable(w)
    delete = lambda body: request(w.base, "DELETE", "/auth/me", json=body, headers=bearer(a.token))
    problem = assert_problem(delete({"password": PASSWORD}), 422, "validation_failed")
    assert [e["field"] for e in problem["errors"]] == ["code"]
    assert_problem(delete({"password": PASSWORD, "code": "000000"}), 401, "invalid_mfa_code")
    assert delete({"password": PASSWORD, "code": code_at(a.totp)}).status == 204
    assert_problem(login(w, a.email), 401, "invalid_credentials")


def test_no_log_line_holds_a_secret_code_or_token(w):
    # Runs after the tests above in this module.
    a = Account(w, "mfa-logs")
    r = post(w, "/auth/mfa/totp/setup", {"password": PASSWORD}, a.token)
    secret, uri = r.json()["secret"], r.json()["otpauth_uri"]
    totp = pyotp.TOTP(secret)
    confirm_code = code_at(totp, -1)
    codes = post(w, "/auth/mfa/totp/confirm", {"code": confirm_code}, a.token).json()["recovery_codes"]
    token = a.mfa_token(w)
    post(w, "/auth/mfa/verify", {"mfa_token": token, "recovery_code": codes[0]})
    w.lines_when(lambda l: l.get("event") == "email_sent" and l.get("kind") == "recovery_code_used")
    log = w.log_path.read_text(errors="replace")
    for needle in [secret, uri, token, *codes, *(c.replace("-", "") for c in codes)]:
        assert needle not in log, needle
