"""The browser tier: a real headless Chromium (Debian's, driven by Playwright for Python) walks the
pages as a person would. It opens the emailed reset link, types the new password twice, submits,
sees the success state and then logs in with it; it opens the verification link and confirms;
and it signs in through Swagger UI's "Authorize" on /docs and runs "Try it out" on /auth/me.
Each page is screenshotted into the test's temporary directory (the paths are printed)."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from client import request
from conftest import watched_page
from test_core import PASSWORD, login, register, unique_email
from test_email import NEW_PASSWORD, RESET, VERIFY, forgot, wait_for_mail

LINK_SPENT = "This link is invalid, has expired or was already used. Ask for a new email."


@pytest.fixture
def page(browser):
    with watched_page(browser, 900, 720) as page:
        yield page


def shot(page, tmp_path: Path, name: str, full_page: bool = True) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")


def test_the_emailed_reset_link_opens_a_page_that_resets_the_password(worker, page, tmp_path):
    email = unique_email("browser-reset")
    register(worker, email)
    forgot(worker, email)
    link = wait_for_mail(worker, email, RESET).link
    response = page.goto(link)
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    # The token leaves the address bar (and the history) at once.
    assert "token" not in page.url
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    shot(page, tmp_path, "reset-empty")

    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_have_text("The two passwords are not the same.")
    expect(page.get_by_label("New password, again")).to_have_attribute("aria-invalid", "true")
    shot(page, tmp_path, "reset-mismatch")

    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Your password was changed")).to_be_visible()
    shot(page, tmp_path, "reset-done")
    assert login(worker, email, NEW_PASSWORD).status == 200
    assert login(worker, email, PASSWORD).status == 401

    # The same link a second time: the page says why it cannot work.
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("yet another passphrase")
    page.get_by_label("New password, again").fill("yet another passphrase")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_have_text(LINK_SPENT)
    shot(page, tmp_path, "reset-spent")


def test_the_reset_page_shows_the_apis_password_rules(worker, page, tmp_path):
    email = unique_email("browser-rules")
    register(worker, email)
    forgot(worker, email)
    page.goto(wait_for_mail(worker, email, RESET).link)
    page.get_by_label("New password", exact=True).fill("password1")
    page.get_by_label("New password, again").fill("password1")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("common")
    shot(page, tmp_path, "reset-too-common")


def test_the_emailed_verification_link_confirms_the_address(worker, page, tmp_path):
    email = unique_email("browser-verify")
    register(worker, email)
    link = wait_for_mail(worker, email, VERIFY).link
    page.goto(link)
    assert "token" not in page.url
    shot(page, tmp_path, "verify-before")
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.get_by_role("heading", name="Email address confirmed")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(email.lower())
    shot(page, tmp_path, "verify-done")
    pair = login(worker, email).json()
    me = request(worker.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.json()["email_verified"] is True


def test_swagger_ui_authorize_then_try_it_out_on_me(worker, page, tmp_path):
    email = unique_email("browser-docs")
    register(worker, email)
    page.goto(f"{worker.base}/docs")
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_be_visible()
    oauth = dialog.locator(".auth-container").filter(has_text="OAuth2")
    oauth.locator("#oauth_username").fill(email)
    oauth.locator("#oauth_password").fill(PASSWORD)
    shot(page, tmp_path, "docs-authorize", full_page=False)
    # Swagger UI names its buttons by aria-label ("Apply credentials", "Remove authorization").
    oauth.locator("button.authorize").click()
    expect(oauth.locator("button", has_text="Logout")).to_be_visible()
    shot(page, tmp_path, "docs-authorized", full_page=False)
    page.locator(".close-modal").click()

    op = page.locator("#operations-auth-me")
    op.locator(".opblock-summary").click()
    op.get_by_role("button", name="Try it out").click()
    op.get_by_role("button", name="Execute").click()
    live = op.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_have_text("200")
    expect(live.locator(".response-col_description")).to_contain_text(email.lower())
    live.scroll_into_view_if_needed()
    shot(page, tmp_path, "docs-me", full_page=False)


def test_the_pages_and_their_files_carry_their_security_headers(worker):
    for path in ("/reset-password", "/verify-email"):
        r = request(worker.base, "GET", path + "?token=abc")
        assert r.status == 200, path
        assert r.header("content-type").startswith("text/html"), path
        csp = r.header("content-security-policy") or ""
        assert "default-src 'none'" in csp and "script-src 'self'" in csp, (path, csp)
        assert "frame-ancestors 'none'" in csp, path
        assert r.header("referrer-policy") == "no-referrer", path
        assert r.header("cache-control") == "no-store", path
        assert r.header("x-content-type-options") == "nosniff", path
        assert b"<script>" not in r.body and b"style=" not in r.body, path
    for asset in ("/pages/token.js", "/pages/reset-password.js", "/pages/verify-email.js", "/pages/pages.css"):
        r = request(worker.base, "GET", asset)
        assert r.status == 200, asset
        assert r.header("x-content-type-options") == "nosniff", asset
