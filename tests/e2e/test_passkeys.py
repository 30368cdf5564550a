"""Passkeys on workerd: the endpoints driven by the software authenticator of support.py
(EdDSA, ES256, RS256), whose output an independent relying party (py_webauthn) accepts for our
options; every check of the contract fails on its own tampering with its code; one assertion
used twice in parallel logs in exactly once; the counter rule; 409, 404 and 422. Signatures are
verified by the Worker's WebCrypto."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import webauthn

from client import request
from support import AT, EDDSA, ES256, RS256, UP, UV, Authenticator, b64, unb64
from test_core import assert_problem, login, register, unique_email

ALGORITHMS = [EDDSA, ES256, RS256]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def register_options(w, token: str) -> dict:
    r = request(w.base, "POST", "/auth/passkeys/register/options", headers=bearer(token))
    assert r.status == 200, r.body
    return r.json()["publicKey"]


def login_options(w) -> dict:
    r = request(w.base, "POST", "/auth/passkeys/login/options", json={})
    assert r.status == 200, r.body
    return r.json()["publicKey"]


def add(w, token: str, credential: dict, **extra):
    return request(w.base, "POST", "/auth/passkeys/register", headers=bearer(token),
                   json={"credential": credential, **extra})


def passkey_login(w, credential: dict):
    return request(w.base, "POST", "/auth/passkeys/login", json={"credential": credential})


def passkeys(w, token: str) -> list[dict]:
    r = request(w.base, "GET", "/auth/passkeys", headers=bearer(token))
    assert r.status == 200
    return r.json()["passkeys"]


class Account:
    def __init__(self, w):
        self.email = unique_email("passkeys")
        assert register(w, self.email).status == 201
        self.token = login(w, self.email).json()["access_token"]
        self.keys: dict[int, Authenticator] = {}
        self.public_keys: dict[int, bytes] = {}


@pytest.fixture(scope="module")
def alice(worker):
    """A user with one passkey per algorithm, each registration cross-checked by py_webauthn."""
    a = Account(worker)
    for alg in ALGORITHMS:
        key = Authenticator(alg)
        key.count = 1  # a non-zero stored counter, which every later assertion must exceed
        options = register_options(worker, a.token)
        credential = key.create(options, worker.base)
        verified = webauthn.verify_registration_response(
            credential=credential, expected_challenge=unb64(options["challenge"]),
            expected_rp_id=options["rp"]["id"], expected_origin=worker.base,
            require_user_verification=True)
        assert verified.credential_id == key.credential_id
        r = add(worker, a.token, credential, name=f"key {alg}")
        assert r.status == 201, r.body
        a.keys[alg] = key
        a.public_keys[alg] = verified.credential_public_key
    return a


def test_options_are_webauthns_json_forms_for_this_origin(worker, alice):
    host = urlsplit(worker.base).hostname
    o = register_options(worker, alice.token)
    assert o["rp"] == {"id": host, "name": "edge-auth"}
    assert o["user"]["name"] == o["user"]["displayName"] == alice.email.lower()
    assert len(unb64(o["user"]["id"])) == 32
    assert o["user"]["id"] == register_options(worker, alice.token)["user"]["id"]
    assert [p["alg"] for p in o["pubKeyCredParams"]] == [-8, -7, -257]
    assert o["attestation"] == "none"
    assert o["authenticatorSelection"] == {"residentKey": "required", "userVerification": "required"}
    assert sorted(c["id"] for c in o["excludeCredentials"]) == sorted(b64(k.credential_id) for k in alice.keys.values())
    assert len(unb64(o["challenge"])) == 32
    lo = login_options(worker)
    assert lo["rpId"] == host and lo["userVerification"] == "required" and lo["allowCredentials"] == []
    assert len(unb64(lo["challenge"])) == 32


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_passkey_logs_in_with_hwk_user_mfa_and_py_webauthn_accepts_the_assertion(worker, alice, alg):
    key = alice.keys[alg]
    options = login_options(worker)
    credential = key.get(options, worker.base)
    checked = webauthn.verify_authentication_response(
        credential=credential, expected_challenge=unb64(options["challenge"]),
        expected_rp_id=options["rpId"], expected_origin=worker.base,
        credential_public_key=alice.public_keys[alg], credential_current_sign_count=key.count - 1,
        require_user_verification=True)
    assert checked.new_sign_count == key.count
    r = passkey_login(worker, credential)
    assert r.status == 200, r.body
    pair = r.json()
    v = request(worker.base, "POST", "/auth/verify", json={"token": pair["access_token"]}).json()
    assert v["active"] is True and v["amr"] == ["hwk", "user", "mfa"], v
    me = request(worker.base, "GET", "/auth/me", headers=bearer(pair["access_token"]))
    assert me.status == 200 and me.json()["email"] == alice.email.lower()
    used = [p for p in passkeys(worker, alice.token) if p["name"] == f"key {alg}"]
    assert used[0]["last_used_at"] is not None


REGISTRATION_TAMPERINGS = [
    ("type webauthn.get", {"type": "webauthn.get"}),
    ("origin not accepted", {"origin": "https://evil.example"}),
    ("rpIdHash of another RP ID", {"rp_id": "evil.example"}),
    ("user not present", {"flags": UV | AT}),
    ("user not verified", {"flags": UP | AT}),
    ("no attested credential data", {"flags": UP | UV}),
    ("algorithm not offered (ES384)", {"alg_label": -35}),
    ("attestation object without authData", {"no_auth_data": True}),
]


@pytest.mark.parametrize("name,over", REGISTRATION_TAMPERINGS, ids=[t[0] for t in REGISTRATION_TAMPERINGS])
def test_each_registration_check_refuses_its_own_tampering_with_400(worker, alice, name, over):
    key = Authenticator(ES256)
    credential = key.create(register_options(worker, alice.token), worker.base, **over)
    assert_problem(add(worker, alice.token, credential), 400, "invalid_passkey")


def test_a_registration_challenge_works_once_and_for_its_user_only(worker, alice):
    key = Authenticator(EDDSA)
    options = register_options(worker, alice.token)
    bad = key.create(options, worker.base, origin="https://evil.example")
    assert_problem(add(worker, alice.token, bad), 400, "invalid_passkey")
    # The failed attempt spent it.
    assert_problem(add(worker, alice.token, key.create(options, worker.base)), 400, "invalid_passkey")
    bob = Account(worker)
    bobs = register_options(worker, bob.token)
    assert_problem(add(worker, alice.token, key.create(bobs, worker.base)), 400, "invalid_passkey")
    # A login's challenge is not a registration's.
    stolen = key.create({**options, "challenge": login_options(worker)["challenge"]}, worker.base)
    assert_problem(add(worker, alice.token, stolen), 400, "invalid_passkey")


def test_a_registered_credential_id_is_409_and_a_bad_name_422(worker, alice):
    existing = alice.keys[EDDSA]
    assert_problem(add(worker, alice.token, existing.create(register_options(worker, alice.token), worker.base)),
                   409, "passkey_exists")
    key = Authenticator(EDDSA)
    for name in ["", "x" * 65]:
        r = add(worker, alice.token, key.create(register_options(worker, alice.token), worker.base), name=name)
        body = assert_problem(r, 422, "validation_failed")
        assert [e["field"] for e in body["errors"]] == ["name"]


def test_a_passkey_is_deleted_by_its_user_only(worker, alice):
    bob = Account(worker)
    key = Authenticator(ES256)
    assert add(worker, bob.token, key.create(register_options(worker, bob.token), worker.base)).status == 201
    [mine] = passkeys(worker, bob.token)
    assert mine["name"].startswith("Passkey ")
    r = request(worker.base, "DELETE", f"/auth/passkeys/{mine['id']}", headers=bearer(alice.token))
    assert_problem(r, 404, "not_found")
    r = request(worker.base, "DELETE", "/auth/passkeys/unknown", headers=bearer(bob.token))
    assert_problem(r, 404, "not_found")
    r = request(worker.base, "DELETE", f"/auth/passkeys/{mine['id']}", headers=bearer(bob.token))
    assert r.status == 204
    assert passkeys(worker, bob.token) == []
    # It logs in no more.
    assert_problem(passkey_login(worker, key.get(login_options(worker), worker.base)), 401, "invalid_passkey")


LOGIN_TAMPERINGS = [
    ("unknown credential", {"credential_id": b"\x05" * 16}),
    ("another user's handle", {"user_handle": b"\x01" * 32}),
    ("type webauthn.create", {"type": "webauthn.create"}),
    ("origin not accepted", {"origin": "https://evil.example"}),
    ("rpIdHash of another RP ID", {"rp_id": "evil.example"}),
    ("user not present", {"flags": UV}),
    ("user not verified", {"flags": UP}),
    ("signature", {"bad_signature": True}),
    ("counter not increased", {"count": 0}),
]


@pytest.mark.parametrize("name,over", LOGIN_TAMPERINGS, ids=[t[0] for t in LOGIN_TAMPERINGS])
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_each_login_check_refuses_its_own_tampering_with_401_and_changes_nothing(worker, alice, alg, name, over):
    key = alice.keys[alg]
    before = passkeys(worker, alice.token)
    count = key.count
    assert_problem(passkey_login(worker, key.get(login_options(worker), worker.base, **over)), 401, "invalid_passkey")
    assert passkeys(worker, alice.token) == before
    key.count = count


def test_a_login_challenge_works_once_and_only_for_a_login(worker, alice):
    key = alice.keys[EDDSA]
    options = login_options(worker)
    credential = key.get(options, worker.base)
    assert passkey_login(worker, credential).status == 200
    assert_problem(passkey_login(worker, credential), 401, "invalid_passkey")
    registration = register_options(worker, alice.token)
    stolen = key.get({**options, "challenge": registration["challenge"]}, worker.base)
    assert_problem(passkey_login(worker, stolen), 401, "invalid_passkey")
    never = key.get({**options, "challenge": b64(b"\x07" * 32)}, worker.base)
    assert_problem(passkey_login(worker, never), 401, "invalid_passkey")


def test_one_assertion_sent_twice_in_parallel_logs_in_exactly_once(worker, alice):
    credential = alice.keys[ES256].get(login_options(worker), worker.base)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: passkey_login(worker, credential), range(2)))
    statuses = sorted(r.status for r in results)
    assert statuses == [200, 401], statuses
    assert [r.json()["code"] for r in results if r.status == 401] == ["invalid_passkey"]


def test_the_counter_must_grow_unless_both_are_zero(worker):
    user = Account(worker)
    zero = Authenticator(EDDSA, step=0)
    assert add(worker, user.token, zero.create(register_options(worker, user.token), worker.base)).status == 201
    for _ in range(2):
        assert passkey_login(worker, zero.get(login_options(worker), worker.base)).status == 200
    counting = Authenticator(RS256)
    counting.count = 5
    assert add(worker, user.token, counting.create(register_options(worker, user.token), worker.base)).status == 201
    for count in (5, 4, 0):
        r = passkey_login(worker, counting.get(login_options(worker), worker.base, count=count))
        assert_problem(r, 401, "invalid_passkey")
    assert passkey_login(worker, counting.get(login_options(worker), worker.base, count=6)).status == 200


def test_malformed_credentials_are_refused_never_a_500(worker, alice):
    for credential in [{}, {"type": "public-key", "id": "!", "rawId": "!", "response": {}}, {"id": 1}]:
        assert_problem(passkey_login(worker, credential), 401, "invalid_passkey")
        assert_problem(add(worker, alice.token, credential), 400, "invalid_passkey")
    r = request(worker.base, "POST", "/auth/passkeys/login", json={"credential": "x"})
    assert_problem(r, 422, "validation_failed")
