"""Configuration as `wrangler.toml` writes it: vars left unquoted arrive as JSON values, not
strings, and must mean what their quoted forms mean (or be refused), never silently fall back to
the default; a configuration that is refused answers a clean 500 and says why in the log."""

from __future__ import annotations

import uuid

import pytest

from client import request
from conftest import SigningKey, production_config, start_worker, stop
from test_core import assert_problem, login, register, unique_email


@pytest.fixture(scope="module")
def unquoted_worker(e2e_dir):
    config = production_config(e2e_dir, "unquoted", [
        ('ACCESS_TOKEN_TTL = "900"', "ACCESS_TOKEN_TTL = 120"),
        ('REQUIRE_EMAIL_VERIFICATION = "false"', "REQUIRE_EMAIL_VERIFICATION = true"),
    ])
    w = start_worker(e2e_dir / "unquoted", SigningKey(kid="e2e-unquoted"), config=config)
    yield w
    stop(w.proc)


@pytest.fixture(scope="module")
def refused_worker(e2e_dir):
    config = production_config(e2e_dir, "refused", [('ACCESS_TOKEN_TTL = "900"', "ACCESS_TOKEN_TTL = 1.5")])
    # Every API route needs the configuration, so readiness is a static file's.
    w = start_worker(e2e_dir / "refused", SigningKey(kid="e2e-refused"), config=config,
                     ready="/docs/init.js")
    yield w
    stop(w.proc)


@pytest.fixture(scope="module")
def mismatched_key_worker(e2e_dir):
    key = SigningKey(kid="e2e-mismatched")
    jwk = {**key.jwk(), "x": SigningKey(kid="other").jwk()["x"]}
    w = start_worker(e2e_dir / "mismatched", key, jwks=[jwk], ready="/docs/init.js")
    yield w
    stop(w.proc)


def test_unquoted_vars_mean_what_their_quoted_forms_mean(unquoted_worker):
    w = unquoted_worker
    email = unique_email("unquoted")
    assert register(w, email).status == 201
    # REQUIRE_EMAIL_VERIFICATION = true, unquoted: read as true, never as absent (false).
    assert_problem(login(w, email), 403, "email_not_verified")
    w.d1(f"UPDATE users SET email_verified = 1 WHERE email = '{email.lower()}'")
    r = login(w, email)
    assert r.status == 200, r.body
    assert r.json()["expires_in"] == 120


def test_a_refused_configuration_is_a_clean_500_with_the_reason_in_the_log(refused_worker):
    w = refused_worker
    rid = f"refused-{uuid.uuid4().hex[:8]}"
    r = request(w.base, "GET", "/health", headers={"X-Request-Id": rid})
    assert_problem(r, 500, "internal_error")
    assert r.header("x-content-type-options") == "nosniff"
    assert r.header("cache-control") == "no-store"
    assert b"ACCESS_TOKEN_TTL" not in r.body and b"1.5" not in r.body
    lines = w.lines_when(lambda l: l.get("request_id") == rid and l.get("event") == "config_invalid")
    assert len(lines) == 1 and "ACCESS_TOKEN_TTL" in lines[0]["cause"], lines


def test_a_signing_key_whose_x_is_not_its_d_s_is_refused_before_any_token(mismatched_key_worker):
    w = mismatched_key_worker
    rid = f"mismatched-{uuid.uuid4().hex[:8]}"
    r = request(w.base, "GET", "/.well-known/jwks.json", headers={"X-Request-Id": rid})
    assert_problem(r, 500, "internal_error")
    assert b"JWT_SIGNING_KEYS" not in r.body
    lines = w.lines_when(lambda l: l.get("request_id") == rid and l.get("event") == "config_invalid")
    assert len(lines) == 1, lines
    assert lines[0]["cause"] == "configuration JWT_SIGNING_KEYS: key 0: x does not match d", lines
