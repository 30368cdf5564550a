"""End-to-end with a stock OAuth2 client, unchanged: authlib's `OAuth2Session` (requests) logs in
with the password grant, calls `/auth/me`, refreshes by itself through the RFC 6749 §6 form when
the access token has expired, and recognises the RFC 6749 §5.2 errors."""
from __future__ import annotations

import json
import time

import pytest
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from client import request
from conftest import SigningKey, start_worker, stop
from test_core import PASSWORD, b64decode, register, unique_email

ACCESS_TOKEN_TTL = 60  # the shortest the service allows (src/config/mod.rs)


@pytest.fixture(scope="module")
def oauth_worker(e2e_dir):
    """The production build with the shortest access-token lifetime and strict reuse detection."""
    w = start_worker(e2e_dir / "oauth", SigningKey(kid="e2e-oauth"),
                     extra_vars={"ACCESS_TOKEN_TTL": str(ACCESS_TOKEN_TTL), "REFRESH_REUSE_GRACE": "0"})
    yield w
    stop(w.proc)


def session(w, updates: list | None = None) -> OAuth2Session:
    # A public client as a mobile app or a CLI would be: a client_id, no secret, a scope. The
    # service ignores both (and authlib sends them in the form).
    return OAuth2Session(
        client_id="edge-auth-demo", token_endpoint_auth_method="none", scope="profile",
        token_endpoint=f"{w.base}/auth/refresh", leeway=10,
        update_token=(lambda token, refresh_token=None, access_token=None: updates.append(refresh_token))
        if updates is not None else None,
    )


def claims(access_token: str) -> dict:
    return json.loads(b64decode(access_token.split(".")[1]))


def test_password_grant_me_and_automatic_refresh_when_the_token_expires(oauth_worker):
    w = oauth_worker
    email = unique_email("authlib")
    assert register(w, email).status == 201
    updates: list = []
    client = session(w, updates)

    token = client.fetch_token(f"{w.base}/auth/login", username=email, password=PASSWORD)
    assert token["token_type"] == "Bearer" and token["expires_in"] == ACCESS_TOKEN_TTL
    first = claims(token["access_token"])
    assert first["exp"] - first["iat"] == ACCESS_TOKEN_TTL
    first_refresh = token["refresh_token"]

    r = client.get(f"{w.base}/auth/me")
    assert r.status_code == 200, r.text
    assert r.json()["email"] == email.lower()
    assert updates == [], "a fresh token is not refreshed"

    # The access token has expired, as far as the client knows (instead of sleeping 60 s): the
    # next call refreshes first, with grant_type=refresh_token as a form to the token endpoint.
    client.token["expires_at"] = int(time.time()) - 1
    r = client.get(f"{w.base}/auth/me")
    assert r.status_code == 200, r.text
    assert updates == [first_refresh], "authlib refreshed exactly once, with the login's token"
    second = claims(client.token["access_token"])
    assert second["sid"] == first["sid"] and second["jti"] != first["jti"]
    assert client.token["refresh_token"] != first_refresh
    assert w.has_line(lambda l: l["event"] == "refresh_succeeded" and l.get("sid") == first["sid"])

    # An unusable refresh token is recognised as invalid_grant. The login's token is spent, so this
    # is reuse: the whole session is revoked (REFRESH_REUSE_GRACE=0), the current tokens too.
    with pytest.raises(OAuthError) as e:
        client.refresh_token(f"{w.base}/auth/refresh", refresh_token=first_refresh)
    assert e.value.error == "invalid_grant"
    assert e.value.description.startswith("The refresh token is invalid")
    r = request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {client.token['access_token']}"})
    assert r.status == 401 and r.json()["code"] == "invalid_token"


def test_wrong_password_and_other_grant_types_are_recognised_oauth_errors(oauth_worker):
    w = oauth_worker
    email = unique_email("authlib-err")
    assert register(w, email).status == 201
    with pytest.raises(OAuthError) as e:
        session(w).fetch_token(f"{w.base}/auth/login", username=email, password="not the password")
    assert e.value.error == "invalid_grant"
    assert e.value.description == "Email or password is incorrect."

    with pytest.raises(OAuthError) as e:
        session(w).fetch_token(f"{w.base}/auth/login", grant_type="client_credentials")
    assert e.value.error == "unsupported_grant_type"

    with pytest.raises(OAuthError) as e:
        session(w).refresh_token(f"{w.base}/auth/refresh", refresh_token="not-a-refresh-token")
    assert e.value.error == "invalid_grant"


def test_token_endpoint_errors_keep_the_problem_details_and_add_the_oauth_members(oauth_worker):
    w = oauth_worker
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    cases = [
        ("/auth/login", b"grant_type=password&username=nobody%40example.com&password=whatever-it-is",
         401, "invalid_credentials", "invalid_grant"),
        ("/auth/login", b"grant_type=authorization_code&code=x", 400, "unsupported_grant_type",
         "unsupported_grant_type"),
        ("/auth/refresh", b"grant_type=password&refresh_token=x", 400, "unsupported_grant_type",
         "unsupported_grant_type"),
        ("/auth/refresh", b"grant_type=refresh_token", 422, "validation_failed", "invalid_request"),
        ("/auth/refresh", b"grant_type=refresh_token&refresh_token=%zz", 400, "malformed_request",
         "invalid_request"),
    ]
    for path, body, status, code, error in cases:
        r = request(w.base, "POST", path, body=body, headers=form)
        assert r.status == status, (path, body, r.body)
        assert r.header("content-type") == "application/problem+json"
        problem = r.json()
        assert problem["code"] == code and problem["status"] == status
        assert problem["request_id"] == r.header("x-request-id")
        assert problem["error"] == error, problem
        assert problem["error_description"].startswith(problem["detail"])
    # Other endpoints are not token endpoints: plain problem details.
    r = request(w.base, "GET", "/auth/me")
    assert r.status == 401 and r.json()["code"] == "invalid_token" and "error" not in r.json()
