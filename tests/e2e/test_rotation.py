"""End-to-end key rotation: tokens of the old key keep working while it is listed."""
from __future__ import annotations

import base64
import json

from client import request
from conftest import SigningKey, start_worker, stop
from test_core import assert_problem, login, register, unique_email


def kid_of(token: str) -> str:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def test_rotating_to_a_new_key_keeps_old_tokens_valid(e2e_dir):
    a, b = SigningKey("key-a"), SigningKey("key-b")
    tmp = e2e_dir / "rotation"
    w = start_worker(tmp, a)
    try:
        email = unique_email("rot")
        assert register(w, email).status == 201
        first = login(w, email).json()
        assert kid_of(first["access_token"]) == "key-a"
    finally:
        stop(w.proc)

    # Same database, new secret: B signs, A (public part only) still verifies.
    w = start_worker(tmp, b, jwks=[b.jwk(), a.jwk(private=False)], migrate=False)
    try:
        old = first["access_token"]
        assert request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {old}"}).status == 200
        assert request(w.base, "POST", "/auth/verify", json={"token": old}).json()["active"] is True
        fresh = login(w, email).json()
        assert kid_of(fresh["access_token"]) == "key-b"
        rotated = request(w.base, "POST", "/auth/refresh",
                          json={"refresh_token": first["refresh_token"]}).json()
        assert kid_of(rotated["access_token"]) == "key-b"
        keys = request(w.base, "GET", "/.well-known/jwks.json").json()["keys"]
        assert [k["kid"] for k in keys] == ["key-b", "key-a"]
        assert all("d" not in k for k in keys)
        # A kid that is not configured at all is refused.
        stranger = SigningKey("key-c").sign({"alg": "EdDSA", "kid": "key-c"}, {"sub": "x"})
        assert_problem(request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {stranger}"}),
                       401, "invalid_token")
    finally:
        stop(w.proc)

    # A removed: its tokens stop working.
    w = start_worker(tmp, b, migrate=False)
    try:
        r = request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {first['access_token']}"})
        assert_problem(r, 401, "invalid_token")
    finally:
        stop(w.proc)
