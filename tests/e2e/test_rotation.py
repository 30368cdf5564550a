"""End-to-end key rotation, done the safe way: the new key is published before it signs, so a
verifier holding a JWKS fetched before any step (cached for up to JWKS_MAX_AGE) still accepts
every token issued after it."""
from __future__ import annotations

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from client import request
from conftest import SigningKey, start_worker, stop
from test_core import assert_problem, login, register, unique_email


def b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def kid_of(token: str) -> str:
    return json.loads(b64d(token.split(".")[0]))["kid"]


def verifies(token: str, jwks: dict) -> bool:
    """What a cached verifier does: find the kid in its copy of the JWKS, check the signature."""
    keys = {k["kid"]: k for k in jwks["keys"]}
    key = keys.get(kid_of(token))
    if key is None:
        return False
    h, c, s = token.split(".")
    try:
        Ed25519PublicKey.from_public_bytes(b64d(key["x"])).verify(b64d(s), f"{h}.{c}".encode())
        return True
    except InvalidSignature:
        return False


def test_rotation_in_three_steps_keeps_every_token_verifiable_against_a_cached_jwks(e2e_dir):
    a, b = SigningKey("key-a"), SigningKey("key-b")
    tmp = e2e_dir / "rotation"
    email = unique_email("rot")

    # Step 0: A alone.
    w = start_worker(tmp, a)
    try:
        assert register(w, email).status == 201
        first = login(w, email).json()
        assert kid_of(first["access_token"]) == "key-a"
        jwks0 = request(w.base, "GET", "/.well-known/jwks.json").json()
    finally:
        stop(w.proc)

    # Step 1: publish B *after* A. A still signs, so tokens verify against the old cache too.
    w = start_worker(tmp, a, jwks=[a.jwk(), b.jwk()], migrate=False)
    try:
        t1 = login(w, email).json()["access_token"]
        assert kid_of(t1) == "key-a" and verifies(t1, jwks0)
        jwks1 = request(w.base, "GET", "/.well-known/jwks.json").json()
        assert [k["kid"] for k in jwks1["keys"]] == ["key-a", "key-b"]
        assert all("d" not in k for k in jwks1["keys"])
    finally:
        stop(w.proc)

    # Step 2 (at least JWKS_MAX_AGE later): promote B. Its tokens verify against the JWKS cached
    # in step 1; a verifier still on step 0's copy would refuse them, which is why step 1 exists.
    w = start_worker(tmp, b, jwks=[b.jwk(), a.jwk(private=False)], migrate=False)
    try:
        fresh = login(w, email).json()
        t2 = fresh["access_token"]
        assert kid_of(t2) == "key-b"
        assert verifies(t2, jwks1) and not verifies(t2, jwks0)
        rotated = request(w.base, "POST", "/auth/refresh",
                          json={"refresh_token": first["refresh_token"]}).json()
        assert kid_of(rotated["access_token"]) == "key-b" and verifies(rotated["access_token"], jwks1)
        # Tokens of A keep working while A is listed.
        old = first["access_token"]
        assert request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {t1}"}).status == 200
        assert request(w.base, "POST", "/auth/verify", json={"token": old}).json()["active"] is True
        jwks2 = request(w.base, "GET", "/.well-known/jwks.json").json()
        assert [k["kid"] for k in jwks2["keys"]] == ["key-b", "key-a"]
        stranger = SigningKey("key-c").sign({"alg": "EdDSA", "kid": "key-c"}, {"sub": "x"})
        assert_problem(request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {stranger}"}),
                       401, "invalid_token")
    finally:
        stop(w.proc)

    # Step 3 (at least ACCESS_TOKEN_TTL later): retire A. B's tokens verify against step 2's cache;
    # A's stop working.
    w = start_worker(tmp, b, migrate=False)
    try:
        t3 = login(w, email).json()["access_token"]
        assert verifies(t3, jwks2) and verifies(t3, jwks1)
        assert request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {t3}"}).status == 200
        r = request(w.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {t1}"})
        assert_problem(r, 401, "invalid_token")
    finally:
        stop(w.proc)
