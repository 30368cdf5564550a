"""End-to-end on workerd: how a session was opened (`amr`, RFC 8176) in every access token and in
/auth/verify, kept by refreshes from the session row; and the consumer examples' routes that
demand a second factor (RFC 9470's step-up)."""
from __future__ import annotations

import json

from client import request
from test_core import assert_problem, b64decode, login, register, unique_email

TOTP = ["pwd", "otp", "mfa"]
STEP_UP = 'Bearer error="insufficient_user_authentication"'


def claims_of(token: str) -> dict:
    return json.loads(b64decode(token.split(".")[1]))


def open_session(w, tag: str) -> dict:
    email = unique_email(tag)
    assert register(w, email).status == 201
    r = login(w, email)
    assert r.status == 200, r.body
    return r.json()


def verify(w, token: str) -> dict:
    r = request(w.base, "POST", "/auth/verify", json={"token": token})
    assert r.status == 200, r.body
    return r.json()


def refresh(w, token: str) -> dict:
    r = request(w.base, "POST", "/auth/refresh", json={"refresh_token": token})
    assert r.status == 200, r.body
    return r.json()


def stored_amr(w, sid: str) -> str:
    return w.d1(f"SELECT amr FROM sessions WHERE id = '{sid}'")[0]["amr"]


def opened_with_totp(w, sid: str) -> None:
    """The session row as a login with a TOTP code writes it."""
    w.d1(f"""UPDATE sessions SET amr = '{json.dumps(TOTP, separators=(",", ":"))}' WHERE id = '{sid}'""")
    assert stored_amr(w, sid) == '["pwd","otp","mfa"]'


def test_a_password_login_and_its_refreshes_say_pwd(worker):
    pair = open_session(worker, "amr")
    access = pair["access_token"]
    assert claims_of(access)["amr"] == ["pwd"]
    v = verify(worker, access)
    assert v["active"] is True and v["revocation_checked"] is True
    assert v["amr"] == ["pwd"]
    assert stored_amr(worker, v["sid"]) == '["pwd"]'

    renewed = refresh(worker, pair["refresh_token"])
    assert claims_of(renewed["access_token"])["amr"] == ["pwd"]
    assert verify(worker, renewed["access_token"])["amr"] == ["pwd"]
    again = refresh(worker, renewed["refresh_token"])
    assert claims_of(again["access_token"])["amr"] == ["pwd"]


def test_a_refresh_takes_the_methods_stored_with_its_session(worker):
    pair = open_session(worker, "amr-totp")
    sid = verify(worker, pair["access_token"])["sid"]
    opened_with_totp(worker, sid)
    # A token says what its session said when it was signed.
    assert verify(worker, pair["access_token"])["amr"] == ["pwd"]

    renewed = refresh(worker, pair["refresh_token"])
    claims = claims_of(renewed["access_token"])
    assert claims["amr"] == TOTP and claims["sid"] == sid
    v = verify(worker, renewed["access_token"])
    assert v["active"] is True and v["revocation_checked"] is True
    assert v["amr"] == TOTP
    # Every later refresh of the session keeps it.
    again = refresh(worker, renewed["refresh_token"])
    assert claims_of(again["access_token"])["amr"] == TOTP
    assert verify(worker, again["access_token"])["amr"] == TOTP
    assert stored_amr(worker, sid) == '["pwd","otp","mfa"]'


def test_verify_answers_pwd_for_a_token_signed_without_amr(worker):
    pair = open_session(worker, "amr-old")
    claims = claims_of(pair["access_token"])
    del claims["amr"]
    old = worker.key.sign({"alg": "EdDSA", "kid": worker.key.kid, "typ": "JWT"}, claims)
    v = verify(worker, old)
    assert v["active"] is True and v["revocation_checked"] is True
    assert v["sid"] == claims["sid"] and v["amr"] == ["pwd"]
    r = request(worker.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {old}"})
    assert r.status == 200, r.body


def test_a_session_row_whose_amr_does_not_read_is_bad_data_not_an_outage(worker):
    pair = open_session(worker, "amr-bad")
    sid = verify(worker, pair["access_token"])["sid"]
    worker.d1(f"""UPDATE sessions SET amr = '["sms"]' WHERE id = '{sid}'""")
    r = request(worker.base, "POST", "/auth/refresh", json={"refresh_token": pair["refresh_token"]},
                headers={"X-Request-Id": f"amr-bad-{sid[:8]}"})
    assert_problem(r, 500, "internal_error")
    bad = worker.lines_when(lambda l: l.get("request_id") == f"amr-bad-{sid[:8]}"
                            and l["event"] == "stored_row_invalid")
    assert len(bad) == 1 and "sessions.amr" in bad[0]["cause"], bad
    health = request(worker.base, "GET", "/health")
    assert health.status == 200 and health.json()["checks"]["breaker"] == "closed"


def assert_step_up(r, context) -> None:
    assert r.status == 401, (context, r.status, r.body[:300])
    assert r.header("content-type") == "application/problem+json", context
    assert r.header("www-authenticate") == STEP_UP, context
    body = r.json()
    assert body["code"] == "insufficient_user_authentication" and body["status"] == 401, (context, body)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_rust_consumers_mfa_route_asks_a_password_session_to_step_up(consumer):
    pair = open_session(consumer, "amr-rs")
    token = pair["access_token"]
    # The token is good: the sensitive route without the demand takes it, and says how.
    r = request(consumer.base, "GET", "/protected", headers=bearer(token))
    assert r.status == 200, r.body
    assert r.json()["amr"] == ["pwd"]
    assert_step_up(request(consumer.base, "GET", "/mfa-protected", headers=bearer(token)), "pwd")
    # A bad token is still a bad token there.
    r = request(consumer.base, "GET", "/mfa-protected", headers=bearer("not-a-token"))
    assert r.status == 401 and r.json()["code"] == "invalid_token"
    assert r.header("www-authenticate") == 'Bearer error="invalid_token"'

    # The session opened with a second factor: its refreshed token passes.
    sid = claims_of(token)["sid"]
    opened_with_totp(consumer, sid)
    stepped = refresh(consumer, pair["refresh_token"])["access_token"]
    r = request(consumer.base, "GET", "/mfa-protected", headers=bearer(stepped))
    assert r.status == 200, r.body
    assert r.json()["amr"] == TOTP and r.json()["revocation_checked"] is True


def test_the_ts_consumers_mfa_route_asks_a_password_session_to_step_up(ts_consumer):
    w = ts_consumer
    pair = open_session(w, "amr-ts")
    token = pair["access_token"]
    r = request(w.base, "POST", "/binding/transfer", headers=bearer(token))
    assert r.status == 200, r.body
    assert r.json()["amr"] == ["pwd"]
    r = request(w.base, "GET", "/local/profile", headers=bearer(token))
    assert r.status == 200 and r.json()["amr"] == ["pwd"], r.body
    assert_step_up(request(w.base, "POST", "/binding/mfa-protected", headers=bearer(token)), "pwd")
    r = request(w.base, "POST", "/binding/mfa-protected", headers=bearer("not-a-token"))
    assert r.status == 401 and r.json()["code"] == "invalid_token"

    sid = claims_of(token)["sid"]
    opened_with_totp(w, sid)
    stepped = refresh(w, pair["refresh_token"])["access_token"]
    r = request(w.base, "POST", "/binding/mfa-protected", headers=bearer(stepped))
    assert r.status == 200, r.body
    assert r.json()["amr"] == TOTP and r.json()["revocation_checked"] is True
    r = request(w.base, "GET", "/local/profile", headers=bearer(stepped))
    assert r.status == 200 and r.json()["amr"] == TOTP, r.body
