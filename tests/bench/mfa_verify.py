"""POST /auth/mfa/verify p50 over GET /auth/me p50; `BENCH_ONLY=mfa`."""
from __future__ import annotations

import statistics
import time
import uuid

# measure first: importing it puts tests/e2e (client) on sys.path.
from measure import PASSWORD, print_prod_rows, timed_call
from client import request


MFA_SAMPLES = 20


def mfa_rows(prod, samples: int = MFA_SAMPLES) -> list[tuple[str, str]]:
    """POST /auth/mfa/verify p50 over GET /auth/me p50, measured interleaved in the same run.
    Everything that hashes a password (registration, the logins, setup's re-authentication) is
    done beforehand: one enrolled account and one mfa_token per sample, so a measured verify
    checks a TOTP code (HMAC-SHA1 and the secret's AES-GCM on WebCrypto) and opens a session,
    and hashes nothing. The code is the next step's, which the +-1 window accepts and no earlier
    use of the account has spent."""
    import pyotp

    run = uuid.uuid4().hex[:8]
    prepared = []
    for i in range(samples):
        email = f"bench-mfa-{run}-{i}@example.com"
        assert request(prod.base, "POST", "/auth/register",
                       json={"email": email, "password": PASSWORD}).status == 201
        access = request(prod.base, "POST", "/auth/login",
                         json={"email": email, "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {access}"}
        r = request(prod.base, "POST", "/auth/mfa/totp/setup", json={"password": PASSWORD}, headers=auth)
        assert r.status == 200, r.body
        totp = pyotp.TOTP(r.json()["secret"])
        r = request(prod.base, "POST", "/auth/mfa/totp/confirm", json={"code": totp.now()}, headers=auth)
        assert r.status == 200, r.body
        r = request(prod.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status == 403, r.body
        prepared.append((r.json()["mfa_token"], totp, auth))
    me_auth = prepared[0][2]
    for _ in range(5):
        request(prod.base, "GET", "/auth/me", headers=me_auth)
    verify_ms, me_ms = [], []
    for token, totp, _ in prepared:
        code = totp.at(time.time() + 30)
        r, ms = timed_call(lambda: request(prod.base, "POST", "/auth/mfa/verify",
                                           json={"mfa_token": token, "code": code}))
        verify_ms.append(ms)
        assert r.status == 200, r.body
        r, ms = timed_call(lambda: request(prod.base, "GET", "/auth/me", headers=me_auth))
        me_ms.append(ms)
        assert r.status == 200, r.status
    mv, mm = statistics.median(verify_ms), statistics.median(me_ms)
    return [
        (f"POST /auth/mfa/verify p50 of {samples} (TOTP, no password hash)", f"{mv:.1f} ms"),
        (f"GET /auth/me p50 of {samples}, interleaved", f"{mm:.1f} ms"),
        ("/auth/mfa/verify p50 / /auth/me p50", f"{mv / mm:.2f}x"),
    ]


def mfa_only() -> None:
    print_prod_rows(mfa_rows)
