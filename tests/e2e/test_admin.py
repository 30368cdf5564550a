"""End-to-end on workerd: the admin API (contract "Administration") behind ADMIN_API_KEY, the
gate in front of it, disabled accounts, and the two races that matter: a listing paged while
registrations run, and a disable racing refreshes."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import uuid

import pytest

from client import request
from conftest import SigningKey, start_worker, stop
from support import EDDSA, Authenticator
from test_core import assert_problem, login, register, unique_email
from test_email import NEW_PASSWORD, RESET, reset, wait_for_mail
from test_passkeys import add, login_options, passkey_login, register_options

MFA_OFF = "Two-step verification was turned off"

KEY = "e2e-admin-key-" + "0123456789abcdef" * 2
ADMIN = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def admin_worker(e2e_dir):
    """The production build with an admin key (a secret: the test's env file, as `.dev.vars` or
    `wrangler secret put` give it), and one reset mail per account per hour."""
    w = start_worker(e2e_dir / "admin", SigningKey(kid="e2e-admin"),
                     extra_vars={"ADMIN_API_KEY": KEY, "RATE_LIMIT_BY_IP": "false",
                                 "EMAIL_MAX_PER_HOUR": "1"})
    yield w
    stop(w.proc)


def admin(w, method, path, json=None):
    return request(w.base, method, path, json=json, headers=ADMIN)


def registered(w, tag) -> tuple[str, str]:
    email = unique_email(tag)
    assert register(w, email).status == 201
    found = admin(w, "GET", f"/admin/users?email={email.lower()}").json()["users"]
    assert len(found) == 1
    return email, found[0]["id"]


def refresh(w, token):
    return request(w.base, "POST", "/auth/refresh", json={"refresh_token": token})


def event_types(w, uid) -> list[str]:
    """The types of the user's events, oldest first."""
    r = admin(w, "GET", f"/admin/events?limit=200&user_id={uid}")
    assert r.status == 200, r.body
    return [e["type"] for e in reversed(r.json()["events"])]


def me(w, access_token):
    return request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {access_token}"})


def test_without_the_key_every_admin_path_and_the_console_are_not_found(worker):
    for method, path in [("GET", "/admin"), ("GET", "/admin/users"), ("GET", "/admin/"),
                         ("DELETE", "/admin/users/x/sessions"), ("POST", "/admin/anything")]:
        assert_problem(request(worker.base, method, path, headers=ADMIN), 404, "not_found")


def test_the_gate_lets_only_the_key_through_whatever_the_path_method_or_body(admin_worker):
    w = admin_worker
    email, _ = registered(w, "admin-gate")
    user_token = login(w, email).json()["access_token"]
    for headers in [{}, {"Authorization": f"Bearer {user_token}"}, {"Authorization": f"Basic {KEY}"},
                    {"Authorization": f"Bearer {KEY}x"}, {"Authorization": KEY}]:
        for method, path in [("GET", "/admin/users"), ("DELETE", "/admin/users/x"),
                             ("PUT", "/admin/nothing")]:
            r = request(w.base, method, path, headers=headers, body=b"x" * 20_000)
            assert_problem(r, 401, "invalid_token")
            assert r.header("www-authenticate") == "Bearer"
    r = request(w.base, "GET", "/admin/users?limit=1", headers={"Authorization": f"bEaReR {KEY}"})
    assert r.status == 200
    page = request(w.base, "GET", "/admin")
    assert page.status == 200
    assert page.header("content-type") == "text/html; charset=utf-8"
    csp = page.header("content-security-policy")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    for asset in ["/admin.js", "/admin.css"]:
        assert request(w.base, "GET", asset).status == 200


def test_the_user_view_and_its_changes(admin_worker):
    w = admin_worker
    email, uid = registered(w, "admin-view")
    r = admin(w, "GET", f"/admin/users/{uid}")
    assert r.status == 200
    view = r.json()
    assert set(view) == {"id", "email", "created_at", "email_verified", "mfa_enabled", "passkeys",
                         "disabled", "last_login_at"}
    assert (view["email"], view["disabled"], view["mfa_enabled"], view["passkeys"],
            view["last_login_at"]) == (email.lower(), False, False, 0, None)
    for path in [f"/admin/users/{uuid.uuid4()}", "/admin/users/not-an-id",
                 f"/admin/users/{uuid.uuid4()}/password-reset"]:
        method = "POST" if path.endswith("reset") else "GET"
        assert_problem(admin(w, method, path), 404, "not_found")
    for bad in [{"disabled": None}, {"email_verified": "yes"}, {"disabled": 0}]:
        assert_problem(admin(w, "PATCH", f"/admin/users/{uid}", bad), 422, "validation_failed")
    assert admin(w, "PATCH", f"/admin/users/{uid}", {}).json() == view
    r = admin(w, "PATCH", f"/admin/users/{uid}", {"email_verified": True, "email": "x@example.com"})
    assert (r.status, r.json()["email_verified"], r.json()["email"]) == (200, True, email.lower())
    # A login sets last_login_at; a refresh and a failed login leave it.
    pair = login(w, email).json()
    at = admin(w, "GET", f"/admin/users/{uid}").json()["last_login_at"]
    assert at is not None and at.endswith("Z")
    assert refresh(w, pair["refresh_token"]).status == 200
    assert login(w, email, "a wrong password!").status == 401
    assert admin(w, "GET", f"/admin/users/{uid}").json()["last_login_at"] == at


def test_a_disabled_account_is_refused_once_the_password_is_right_until_enabled(admin_worker):
    w = admin_worker
    email, uid = registered(w, "admin-disable")
    pair = login(w, email).json()
    assert me(w, pair["access_token"]).status == 200
    r = admin(w, "PATCH", f"/admin/users/{uid}", {"disabled": True})
    assert (r.status, r.json()["disabled"]) == (200, True)
    assert_problem(me(w, pair["access_token"]), 401, "invalid_token")
    assert_problem(refresh(w, pair["refresh_token"]), 401, "invalid_grant")
    assert_problem(login(w, email, "not the password"), 401, "invalid_credentials")
    assert_problem(login(w, email), 403, "account_disabled")
    # An operator's reset does not enable it.
    assert admin(w, "POST", f"/admin/users/{uid}/password-reset").status == 202
    assert reset(w, wait_for_mail(w, email, RESET).token).status == 204
    assert_problem(login(w, email, NEW_PASSWORD), 403, "account_disabled")
    r = admin(w, "PATCH", f"/admin/users/{uid}", {"disabled": False})
    assert (r.status, r.json()["disabled"]) == (200, False)
    assert login(w, email, NEW_PASSWORD).status == 200
    assert_problem(me(w, pair["access_token"]), 401, "invalid_token")
    # A right password of the disabled account is no failed login; the wrong one is.
    assert event_types(w, uid) == [
        "user_registered", "login_succeeded", "admin_user_updated", "account_disabled",
        "login_failed", "admin_password_reset_sent", "password_reset", "admin_user_updated",
        "account_enabled", "login_succeeded"]


def test_a_disabled_accounts_passkey_is_refused_only_once_every_check_holds(admin_worker):
    w = admin_worker
    email, uid = registered(w, "admin-passkey")
    token = login(w, email).json()["access_token"]
    key = Authenticator(EDDSA)
    assert add(w, token, key.create(register_options(w, token), w.base)).status == 201
    r = admin(w, "PATCH", f"/admin/users/{uid}", {"disabled": True})
    assert (r.status, r.json()["disabled"]) == (200, True)
    tampered = key.get(login_options(w), w.base, bad_signature=True)
    assert_problem(passkey_login(w, tampered), 401, "invalid_passkey")
    assert_problem(passkey_login(w, key.get(login_options(w), w.base)), 403, "account_disabled")
    assert admin(w, "PATCH", f"/admin/users/{uid}", {"disabled": False}).status == 200
    assert passkey_login(w, key.get(login_options(w), w.base)).status == 200
    assert event_types(w, uid) == [
        "user_registered", "login_succeeded", "passkey_added", "admin_user_updated",
        "account_disabled", "admin_user_updated", "account_enabled", "login_succeeded"]


def test_sessions_mfa_reset_and_deletion(admin_worker):
    w = admin_worker
    email, uid = registered(w, "admin-actions")
    tokens = [login(w, email).json()["access_token"] for _ in range(2)]
    assert admin(w, "DELETE", f"/admin/users/{uid}/sessions").status == 204
    for t in tokens:
        assert_problem(me(w, t), 401, "invalid_token")
    # Removing a second factor that is off is still 204; one that is on also mails the user.
    assert admin(w, "DELETE", f"/admin/users/{uid}/mfa").status == 204
    w.d1("INSERT INTO mfa_totp (user_id, sealed_secret, enabled_at, recovery_batch, updated_at) "
         f"VALUES ('{uid}', 'v1.k.x', 1, 'b1', 1)")
    assert admin(w, "GET", f"/admin/users/{uid}").json()["mfa_enabled"] is True
    assert admin(w, "DELETE", f"/admin/users/{uid}/mfa").status == 204
    assert admin(w, "GET", f"/admin/users/{uid}").json()["mfa_enabled"] is False
    wait_for_mail(w, email, MFA_OFF)
    # The account's own reset uses up its hour (EMAIL_MAX_PER_HOUR=1); the operator's do not.
    assert request(w.base, "POST", "/auth/password/forgot", json={"email": email}).status == 202
    first = wait_for_mail(w, email, RESET)
    for _ in range(2):
        r = admin(w, "POST", f"/admin/users/{uid}/password-reset", json={})
        assert r.status == 202 and r.json()["message"]
    last = wait_for_mail(w, email, RESET, count=3)
    assert_problem(reset(w, first.token), 400, "invalid_email_token")
    assert reset(w, last.token).status == 204
    assert admin(w, "DELETE", f"/admin/users/{uid}").status == 204
    assert_problem(admin(w, "GET", f"/admin/users/{uid}"), 404, "not_found")
    assert_problem(admin(w, "DELETE", f"/admin/users/{uid}/sessions"), 404, "not_found")
    assert_problem(login(w, email, NEW_PASSWORD), 401, "invalid_credentials")


def test_the_list_refuses_bad_limits_and_cursors(admin_worker):
    w = admin_worker
    for limit in ["0", "201", "x", "-3"]:
        r = admin(w, "GET", f"/admin/users?limit={limit}")
        assert assert_problem(r, 422, "validation_failed")["errors"][0]["field"] == "limit"
    prefix = f"admin-cursor-{uuid.uuid4().hex[:6]}"
    for i in range(2):
        assert register(w, f"{prefix}-{i}@example.com").status == 201
    page = admin(w, "GET", f"/admin/users?limit=1&email={prefix}").json()
    assert len(page["users"]) == 1 and page["next_cursor"]
    for query in [f"email=other&cursor={page['next_cursor']}", "cursor=not-ours", "cursor=%zz"]:
        r = admin(w, "GET", f"/admin/users?{query}")
        assert assert_problem(r, 422, "validation_failed")["errors"][0]["field"] == "cursor"
    # `_` is a literal character, not a wildcard.
    assert admin(w, "GET", f"/admin/users?email={prefix.replace('-', '_')}").json()["users"] == []


def test_paging_while_registrations_run_sees_no_user_twice_and_misses_none(admin_worker):
    w = admin_worker
    prefix = f"admin-page-{uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(8) as pool:
        existing = list(pool.map(lambda i: register(w, f"{prefix}-a{i:02}@example.com"), range(10)))
    assert [r.status for r in existing] == [201] * 10
    at_start = {r.json()["id"] for r in existing}
    seen: list[str] = []
    with ThreadPoolExecutor(4) as pool:
        later = [pool.submit(register, w, f"{prefix}-b{i:02}@example.com") for i in range(10)]
        cursor = None
        while True:
            query = f"email={prefix}&limit=3" + (f"&cursor={cursor}" if cursor else "")
            r = admin(w, "GET", f"/admin/users?{query}")
            assert r.status == 200
            seen += [u["id"] for u in r.json()["users"]]
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
        assert [f.result().status for f in later] == [201] * 10
    assert len(seen) == len(set(seen))
    assert at_start <= set(seen)


def test_a_disable_racing_refreshes_leaves_no_session_alive(admin_worker):
    w = admin_worker
    email, uid = registered(w, "admin-race")
    pairs = [login(w, email).json() for _ in range(6)]
    with ThreadPoolExecutor(7) as pool:
        refreshes = [pool.submit(refresh, w, p["refresh_token"]) for p in pairs]
        disable = pool.submit(admin, w, "PATCH", f"/admin/users/{uid}", {"disabled": True})
        assert disable.result().status == 200
        results = [f.result() for f in refreshes]
    assert all(r.status in (200, 401) for r in results), [r.status for r in results]
    new_pairs = [r.json() for r in results if r.status == 200]
    for p in pairs + new_pairs:
        assert_problem(me(w, p["access_token"]), 401, "invalid_token")
        assert_problem(refresh(w, p["refresh_token"]), 401, "invalid_grant")
    assert w.d1(f"SELECT COUNT(*) AS n FROM sessions WHERE user_id = '{uid}' "
                "AND revoked_at IS NULL")[0]["n"] == 0
    assert event_types(w, uid).count("account_disabled") == 1


def test_a_short_key_leaves_the_admin_api_off_and_is_logged_once(e2e_dir):
    short = "s" * 31
    w = start_worker(e2e_dir / "admin-short", SigningKey(kid="e2e-admin-short"),
                     extra_vars={"ADMIN_API_KEY": short})
    try:
        ids = []
        for path in ["/admin/users", "/admin"]:
            r = request(w.base, "GET", path, headers={"Authorization": f"Bearer {short}"})
            assert_problem(r, 404, "not_found")
            ids.append(r.header("x-request-id"))
        # Once both requests' own lines are in the log, every line before them is too.
        assert len(w.lines_when(lambda l: l.get("event") == "request"
                                and l.get("request_id") in ids, 2)) == 2
        lines = [l for l in w.logs() if l.get("event") == "configuration_error"]
        assert [(l["name"], l["level"]) for l in lines] == [("ADMIN_API_KEY", "error")]
        assert all(short not in str(l) for l in w.logs())
    finally:
        stop(w.proc)
