"""Passkey login p50 per algorithm vs GET /auth/me p50; `BENCH_ONLY=passkeys`."""
from __future__ import annotations

import statistics
import uuid

# measure first: importing it puts tests/e2e (client) on sys.path.
from measure import PASSWORD, median_ms, print_prod_rows, timed_call
from client import request


PASSKEY_SAMPLES = 30


def passkey_rows(prod) -> list[tuple[str, str]]:
    """Passkey login p50 per algorithm over /auth/me p50, sequential requests on one Worker."""
    from support import ALGORITHMS, Authenticator  # noqa: E402 (needs `cryptography`)

    email = f"bench-passkey-{uuid.uuid4().hex[:8]}@example.com"
    assert request(prod.base, "POST", "/auth/register", json={"email": email, "password": PASSWORD}).status == 201
    token = request(prod.base, "POST", "/auth/login",
                    json={"email": email, "password": PASSWORD}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    for _ in range(5):
        request(prod.base, "GET", "/auth/me", headers=auth)
    me_p50 = median_ms(lambda: request(prod.base, "GET", "/auth/me", headers=auth), PASSKEY_SAMPLES)
    rows = [(f"GET /auth/me p50 ({PASSKEY_SAMPLES} sequential)", f"{me_p50:.1f} ms")]
    for alg, name in ALGORITHMS:
        key = Authenticator(alg)
        options = request(prod.base, "POST", "/auth/passkeys/register/options", headers=auth).json()["publicKey"]
        r = request(prod.base, "POST", "/auth/passkeys/register", headers=auth,
                    json={"credential": key.create(options, prod.base)})
        assert r.status == 201, r.body
        samples = []
        for i in range(PASSKEY_SAMPLES + 3):
            options = request(prod.base, "POST", "/auth/passkeys/login/options", json={}).json()["publicKey"]
            body = {"credential": key.get(options, prod.base)}
            r, ms = timed_call(lambda: request(prod.base, "POST", "/auth/passkeys/login", json=body))
            if i >= 3:  # the first few warm the isolate up
                samples.append(ms)
            assert r.status == 200, r.body
        p50 = statistics.median(samples)
        rows.append((f"passkey login p50, {name} ({PASSKEY_SAMPLES} sequential)", f"{p50:.1f} ms"))
        rows.append((f"passkey login {name} / GET /auth/me", f"{p50 / me_p50:.2f}x"))
    return rows


def passkeys_only() -> None:
    print_prod_rows(passkey_rows)
