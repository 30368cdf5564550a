"""The passkeys page in a real browser: Debian's headless Chromium with Chrome's virtual
authenticator (CDP `WebAuthn.addVirtualAuthenticator`: ctap2, internal, resident keys, user
verification) on http://localhost:<port>, a secure context whose RP ID is `localhost` (the
default: the request's host, as the e2e Worker sets neither APP_URL nor WEBAUTHN_*). A user
signs in with the password on /passkeys, adds a passkey, signs out, logs in with the passkey
(discoverable: no email typed) and removes it. This is the proof that a browser's own
`credential.toJSON()` is accepted."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from client import request
from conftest import watched_page
from test_core import register, unique_email


@pytest.fixture
def page(browser, worker):
    """A watched page with a virtual authenticator (ctap2, internal, resident keys, verified)."""
    with watched_page(browser, 900, 900) as page:
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True}})
        page.authenticator = (cdp, authenticator["authenticatorId"])
        yield page


def test_a_passkey_is_added_on_the_page_and_logs_in_there(worker, page):
    email = unique_email("browser-passkey")
    assert register(worker, email).status == 201
    base = f"http://localhost:{urlsplit(worker.base).port}"

    response = page.goto(base + "/passkeys")
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=f"Signed in as {email.lower()}")).to_be_visible()

    page.get_by_label("Name of the new passkey (optional)").fill("Browser key")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#list li")).to_have_count(1)
    expect(page.locator("#list li")).to_contain_text("Browser key")
    cdp, authenticator_id = page.authenticator
    [stored] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert stored["isResidentCredential"] is True and stored["rpId"] == "localhost"
    token = page.evaluate("sessionStorage.getItem('edge-auth-passkeys-token')")
    listed = request(worker.base, "GET", "/auth/passkeys", headers={"Authorization": f"Bearer {token}"}).json()
    assert [p["name"] for p in listed["passkeys"]] == ["Browser key"]
    assert listed["passkeys"][0]["last_used_at"] is None

    page.get_by_role("button", name="Sign out of this page").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="Log in with a passkey").click()
    expect(page.get_by_role("heading", name=f"Signed in as {email.lower()}")).to_be_visible()
    expect(page.locator("#list li")).to_contain_text("last used")
    token = page.evaluate("sessionStorage.getItem('edge-auth-passkeys-token')")
    verified = request(worker.base, "POST", "/auth/verify", json={"token": token}).json()
    assert verified["amr"] == ["hwk", "user", "mfa"]
    assert page.locator("#error").text_content() == ""

    page.get_by_role("button", name="Remove").click()
    expect(page.locator("#list li")).to_have_count(0)
