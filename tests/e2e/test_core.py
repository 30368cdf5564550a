"""End-to-end: every core endpoint and error case over real HTTP against the Worker on workerd."""
from __future__ import annotations

import base64
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from client import request
from conftest import ANSI, ROOT, SigningKey

PASSWORD = "correct horse battery"


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@Example.com"


def assert_problem(r, status: int, code: str):
    assert r.status == status, (r.status, r.body[:500])
    assert r.header("content-type") == "application/problem+json"
    body = r.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["request_id"] == r.header("x-request-id")
    return body


def register(w, email, password=PASSWORD):
    return request(w.base, "POST", "/auth/register", json={"email": email, "password": password})


def login(w, email, password=PASSWORD):
    return request(w.base, "POST", "/auth/login", json={"email": email, "password": password})


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_health_is_ok_and_not_cached(worker):
    r = request(worker.base, "GET", "/health")
    assert r.status == 200
    assert r.json() == {"status": "ok", "checks": {"database": "ok", "breaker": "closed"}}
    assert r.header("cache-control") == "no-store"


def test_register_login_me_round_trip_with_a_verifiable_token(worker):
    email = unique_email("alice")
    r = register(worker, email)
    assert r.status == 201, r.body
    assert r.header("location") == "/auth/me"
    assert r.header("cache-control") == "no-store"
    user = r.json()
    assert user["email"] == email.lower()
    uuid.UUID(user["id"])
    assert user["created_at"].endswith("Z")

    r = login(worker, email.upper())
    assert r.status == 200, r.body
    assert r.header("cache-control") == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    token = body["access_token"]

    # The token verifies against the published JWKS with an independent Ed25519 implementation.
    jwks = request(worker.base, "GET", "/.well-known/jwks.json")
    assert jwks.status == 200
    assert jwks.header("cache-control").startswith("public, max-age=")
    keys = {k["kid"]: k for k in jwks.json()["keys"]}
    assert set(keys) == {"e2e-main"}
    assert all("d" not in k and k["alg"] == "EdDSA" and k["use"] == "sig" for k in keys.values())
    h, c, s = token.split(".")
    header, claims = json.loads(b64decode(h)), json.loads(b64decode(c))
    assert header["alg"] == "EdDSA" and header["kid"] == "e2e-main"
    Ed25519PublicKey.from_public_bytes(b64decode(keys["e2e-main"]["x"])).verify(
        b64decode(s), f"{h}.{c}".encode())
    assert claims["sub"] == user["id"] and claims["email"] == email.lower()
    assert claims["iss"] == "edge-auth" and claims["aud"] == "edge-auth" and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900 and claims["nbf"] == claims["iat"]
    uuid.UUID(claims["sid"]), uuid.UUID(claims["jti"])
    assert abs(claims["iat"] - time.time()) < 120

    r = request(worker.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200
    assert r.json() == user
    assert r.header("cache-control") == "no-store"


def test_login_accepts_the_oauth2_password_form(worker):
    email = unique_email("form")
    assert register(worker, email).status == 201
    form = f"grant_type=password&username={email.replace('@', '%40')}&password=correct+horse+battery"
    r = request(worker.base, "POST", "/auth/login", body=form.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, r.body
    assert r.json()["access_token"].count(".") == 2


def test_duplicate_email_in_another_case_is_409(worker):
    email = unique_email("dup")
    assert register(worker, email).status == 201
    assert_problem(register(worker, email.upper(), "another fine password"), 409, "email_taken")


def test_concurrent_registrations_of_one_email_create_exactly_one_user(worker):
    email = unique_email("race")
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: register(worker, email), range(20)))
    statuses = sorted(r.status for r in results)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 19, statuses
    for r in results:
        if r.status == 409:
            assert r.json()["code"] == "email_taken"
    rows = worker.d1(f"SELECT COUNT(*) AS n FROM users WHERE email = '{email.lower()}'")
    assert rows[0]["n"] == 1


def test_validation_failures_name_each_field(worker):
    r = register(worker, "not-an-email", "short")
    body = assert_problem(r, 422, "validation_failed")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("email", "invalid_format"), ("password", "too_short")]
    r = register(worker, unique_email(), "password123")
    assert [e["code"] for e in assert_problem(r, 422, "validation_failed")["errors"]] == ["too_common"]
    r = request(worker.base, "POST", "/auth/register", json={"email": 42})
    assert [(e["field"], e["code"]) for e in assert_problem(r, 422, "validation_failed")["errors"]] == [
        ("email", "invalid_type"), ("password", "required")]


def test_malformed_bodies_are_400(worker):
    for ctype, body in [
        ("application/json", b"{nope"),
        ("application/json", b"[]"),
        ("application/json", b"\xff\xfe"),
        ("text/plain", b"{}"),
        ("application/x-www-form-urlencoded", b"email=a%ZZ"),
    ]:
        r = request(worker.base, "POST", "/auth/login", body=body, headers={"Content-Type": ctype})
        assert_problem(r, 400, "malformed_request")


def test_bodies_over_16_kib_are_413_with_or_without_content_length(worker):
    big = b'{"email":"' + b"a" * 17_000 + b'"}'
    r = request(worker.base, "POST", "/auth/register", body=big,
                headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "payload_too_large")
    r = request(worker.base, "POST", "/auth/login", body=big, chunked=True,
                headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "payload_too_large")


def test_unknown_email_and_wrong_password_get_the_same_answer(worker):
    email = unique_email("same")
    assert register(worker, email).status == 201
    wrong = login(worker, email, "definitely wrong")
    unknown = login(worker, unique_email("ghost"))
    a = assert_problem(wrong, 401, "invalid_credentials")
    b = assert_problem(unknown, 401, "invalid_credentials")
    a.pop("request_id"), b.pop("request_id")
    assert a == b
    assert set(wrong.headers) == set(unknown.headers)


def test_unknown_paths_and_methods(worker):
    assert_problem(request(worker.base, "GET", "/nope"), 404, "not_found")
    r = request(worker.base, "GET", "/auth/register")
    assert_problem(r, 405, "method_not_allowed")
    assert r.header("allow") == "POST"
    r = request(worker.base, "POST", "/health", json={})
    assert_problem(r, 405, "method_not_allowed")
    assert r.header("allow") == "GET"


def test_request_ids_are_echoed_or_replaced(worker):
    r = request(worker.base, "GET", "/health", headers={"X-Request-Id": "client-trace:42"})
    assert r.header("x-request-id") == "client-trace:42"
    r = request(worker.base, "GET", "/nope", headers={"X-Request-Id": "x" * 129})
    rid = r.header("x-request-id")
    uuid.UUID(rid)
    assert r.json()["request_id"] == rid


def claims_for(worker, **override):
    now = int(time.time())
    claims = {"iss": "edge-auth", "aud": "edge-auth", "sub": str(uuid.uuid4()), "email": "x@example.com",
              "sid": str(uuid.uuid4()), "jti": str(uuid.uuid4()), "typ": "access",
              "iat": now, "nbf": now, "exp": now + 600}
    claims.update(override)
    return claims


def test_me_rejects_every_kind_of_bad_token(worker):
    email = unique_email("tok")
    user = register(worker, email).json()
    issued = login(worker, email).json()["access_token"]
    sid = json.loads(b64decode(issued.split(".")[1]))["sid"]  # a live session
    key = worker.key
    good_header = {"alg": "EdDSA", "kid": "e2e-main", "typ": "JWT"}
    base_claims = dict(sub=user["id"], email=email.lower(), sid=sid)
    # A token signed by the test with the Worker's own key is accepted: the harness is right.
    ok = key.sign(good_header, claims_for(worker, **base_claims))
    assert request(worker.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {ok}"}).status == 200

    now = int(time.time())
    bad_tokens = {
        "expired": key.sign(good_header, claims_for(worker, **base_claims, iat=now - 2000, nbf=now - 2000,
                                                     exp=now - 1000)),
        "not_yet_valid": key.sign(good_header, claims_for(worker, **base_claims, nbf=now + 1000)),
        "wrong_aud": key.sign(good_header, claims_for(worker, **base_claims, aud="someone-else")),
        "wrong_iss": key.sign(good_header, claims_for(worker, **base_claims, iss="evil")),
        "wrong_typ": key.sign(good_header, claims_for(worker, **base_claims, typ="refresh")),
        "unknown_kid": key.sign({**good_header, "kid": "other"}, claims_for(worker, **base_claims)),
        "foreign_key": SigningKey("e2e-main").sign(good_header, claims_for(worker, **base_claims)),
        "alg_none": base64.urlsafe_b64encode(b'{"alg":"none","kid":"e2e-main"}').rstrip(b"=").decode()
        + "." + ok.split(".")[1] + ".",
        "garbage": "not.a.jwt",
        "oversized": "a" * 9000,
        "unknown_user": key.sign(good_header, claims_for(worker)),
        "unknown_session": key.sign(good_header, claims_for(worker, sub=user["id"], email=email.lower())),
    }
    for name, token in bad_tokens.items():
        r = request(worker.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert_problem(r, 401, "invalid_token")
        assert r.header("www-authenticate") == 'Bearer error="invalid_token"', name
    r = request(worker.base, "GET", "/auth/me")
    assert_problem(r, 401, "invalid_token")
    assert r.header("www-authenticate") == "Bearer"


def test_login_rehashes_a_weaker_stored_hash(worker):
    # A row as an older deployment (1,000 iterations) would have left it, written straight to D1.
    import hashlib, os as _os
    salt = _os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 1000)
    enc = lambda b: base64.b64encode(b).rstrip(b"=").decode()
    phc = f"$pbkdf2-sha256$i=1000,l=32${enc(salt)}${enc(dk)}"
    uid, email = str(uuid.uuid4()), unique_email("legacy").lower()
    worker.d1("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES "
              f"('{uid}', '{email}', '{phc}', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')")
    assert login(worker, email).status == 200
    stored = worker.d1(f"SELECT password_hash FROM users WHERE id = '{uid}'")[0]["password_hash"]
    assert stored.startswith("$pbkdf2-sha256$i=600000,l=32$"), stored
    assert login(worker, email).status == 200
    assert_problem(login(worker, email, "wrong password here"), 401, "invalid_credentials")


def test_a_tampered_hash_with_huge_iterations_is_refused(worker):
    uid, email = str(uuid.uuid4()), unique_email("tamper").lower()
    phc = "$pbkdf2-sha256$i=4000000000,l=32$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43
    worker.d1("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES "
              f"('{uid}', '{email}', '{phc}', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')")
    rid = "tampered-" + uuid.uuid4().hex[:8]
    r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                headers={"X-Request-Id": rid})
    assert_problem(r, 401, "invalid_credentials")
    # Refused from its parameters, not computed: the Worker says why, under this request's id.
    time.sleep(0.5)
    refused = [l for l in worker.logs() if l.get("request_id") == rid and l["event"] == "stored_hash_refused"]
    assert refused and refused[0]["reason"] == "iterations out of bounds", refused


def test_structured_logs_carry_request_ids_and_no_secrets(worker):
    email = unique_email("logs")
    secret = "a very secret passphrase"
    assert register(worker, email, secret).status == 201
    r = login(worker, email, secret)
    token = r.json()["access_token"]
    rid = "log-check-" + uuid.uuid4().hex[:8]
    request(worker.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {token}", "X-Request-Id": rid})
    time.sleep(0.5)
    logs = worker.logs()
    mine = [l for l in logs if l.get("request_id") == rid]
    assert any(l["event"] == "request" and l["status"] == 200 and l["path"] == "/auth/me"
               and isinstance(l["duration_ms"], int) and l["outcome"] == "success" for l in mine), mine
    assert any(l["event"] == "user_registered" for l in logs)
    assert any(l["event"] == "login_succeeded" for l in logs)
    text = worker.log_path.read_text()
    for leaked in [secret, token]:
        assert leaked not in text
    # The address is in the `To:` header that the simulated send_email binding prints when the
    # registration's verification mail goes out (the tests' inbox; the queue's consumer may send
    # it while this test runs), and in no other line.
    lines = [l for l in text.splitlines() if not ANSI.sub("", l).strip().startswith("To: ")]
    for leaked in [email, email.lower()]:
        assert leaked not in "\n".join(lines)


def test_openapi_document_and_docs_page_are_served_with_their_assets(worker):
    r = request(worker.base, "GET", "/openapi.json")
    assert r.status == 200 and r.header("content-type") == "application/json"
    doc = r.json()
    # The file `make openapi` generates from the types (tests/openapi.rs), without its indentation.
    assert doc == json.loads((ROOT / "src" / "api_doc" / "openapi.json").read_text())
    assert b"\n" not in r.body
    assert doc["openapi"].startswith("3.1.")
    assert "/auth/login" in doc["paths"] and "/auth/verify" in doc["paths"]
    page = request(worker.base, "GET", "/docs")
    assert page.status == 200 and page.header("content-type").startswith("text/html")
    html = page.body.decode()
    for asset, ctype in [("/docs/swagger-ui-bundle.js", "javascript"), ("/docs/swagger-ui.css", "text/css"),
                         ("/docs/init.js", "javascript")]:
        assert asset in html
        a = request(worker.base, "GET", asset)
        assert a.status == 200 and ctype in a.header("content-type"), asset
        assert len(a.body) > 100
    assert b"/openapi.json" in request(worker.base, "GET", "/docs/init.js").body
