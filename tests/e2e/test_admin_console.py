"""The browser tier of the admin console: a real headless Chromium (Playwright) opens /admin,
pastes the key, finds a user by email prefix, disables the account, and the API then refuses
that user's login. The key stays in sessionStorage: never in localStorage or a cookie."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from conftest import SigningKey, start_worker, stop, watched_page
from test_core import assert_problem, login, register, unique_email

KEY = "e2e-console-key-" + "fedcba9876543210" * 2


@pytest.fixture(scope="module")
def console_worker(e2e_dir):
    w = start_worker(e2e_dir / "admin-console", SigningKey(kid="e2e-console"),
                     extra_vars={"ADMIN_API_KEY": KEY, "RATE_LIMIT_BY_IP": "false"})
    yield w
    stop(w.proc)


@pytest.fixture
def page(browser):
    with watched_page(browser, 1100, 800) as page:
        yield page


def test_an_operator_finds_a_user_by_prefix_and_disables_the_account(console_worker, page, tmp_path):
    w = console_worker
    email = unique_email("console").lower()
    assert register(w, email).status == 201
    assert login(w, email).status == 200

    response = page.goto(w.base + "/admin")
    assert response.status == 200
    page.get_by_label("Admin key").fill(KEY)
    page.get_by_role("button", name="Use this key").click()
    page.get_by_label("Email starts with").fill(email[:18].upper())
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name=email).click()
    expect(page.get_by_role("heading", name=email)).to_be_visible()
    # The user's recent events, newest first, from GET /admin/events.
    events = page.locator("#events li")
    expect(events).to_have_count(2)
    expect(events.nth(0)).to_contain_text(" login_succeeded")
    expect(events.nth(1)).to_contain_text(" user_registered")
    expect(page.locator("#events-note")).to_be_empty()
    page.get_by_role("button", name="Disable the account").click()
    expect(page.get_by_role("button", name="Enable the account")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("The account is disabled; its sessions ended.")
    # The action's events are listed at once.
    expect(events).to_have_count(4)
    expect(page.locator("#events")).to_contain_text(" account_disabled")
    expect(page.locator("#events")).to_contain_text(" admin_user_updated")
    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'console.png'}")

    assert_problem(login(w, email), 403, "account_disabled")
    # The key is in this tab's sessionStorage only.
    assert page.evaluate("sessionStorage.getItem('edge-auth-admin-key')") == KEY
    assert page.evaluate("JSON.stringify(Object.assign({}, localStorage))") == "{}"
    assert page.evaluate("document.cookie") == ""
    assert page.context.cookies() == []
