"""`make bench`: the figures the README quotes, each against a baseline measured in the same run.

- wasm size, raw and gzipped;
- PBKDF2-HMAC-SHA256 at the configured count inside the Worker vs OpenSSL (Node's pbkdf2Sync);
- GET /auth/me requests/s, p50 and p99 vs an empty Worker on the same workerd;
- login p50 vs one bare hash in the Worker;
- login latency for an unknown email vs a wrong password, and vs a wrong password on an account
  whose hash is stored with fewer iterations than configured (medians, 60 samples each);
- POST /auth/password/forgot for a known vs an unknown address (medians of 40 interleaved
  requests each, and their ratio). `bench.py forgot` measures only this.

Everything talks to 127.0.0.1 only, with bounded loops. Nothing here asserts a time.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import os
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from client import request  # noqa: E402
from conftest import TEST_CONFIG, SigningKey, start_worker, stop  # noqa: E402

ITERATIONS = 600_000
PASSWORD = "correct horse battery"


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def median_ms(fn, n: int) -> float:
    return statistics.median(timed(fn) for _ in range(n))


def node_pbkdf2_ms(n: int = 10) -> float:
    script = (
        "const c=require('crypto');const t=[];"
        f"for(let i=0;i<{n};i++){{const s=process.hrtime.bigint();"
        f"c.pbkdf2Sync('benchmark password','edge-auth-dummy!',{ITERATIONS},32,'sha256');"
        "t.push(Number(process.hrtime.bigint()-s)/1e6);}"
        "t.sort((a,b)=>a-b);console.log(t[Math.floor(t.length/2)]);"
    )
    return float(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)


def load(url: str, n: int, c: int, header: str | None = None) -> dict:
    args = ["node", str(ROOT / "tests" / "bench" / "load.mjs"), url, str(n), str(c)]
    if header:
        args.append(header)
    return json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)


PROD_VARS = {
    # Throttling off (1,000 failures) so that the wrong-password samples stay real hashes; the
    # email cap raised so that every known forgot really issues a token and queues a mail; the
    # per-IP limit off (every sample comes from 127.0.0.1).
    "LOGIN_MAX_FAILURES": "1000", "EMAIL_MAX_PER_HOUR": "1000", "RATE_LIMIT_BY_IP": "false",
}
FORGOT_SAMPLES = 40


def forgot_rows(prod) -> list[tuple[str, str]]:
    """forgot for a known and an unknown address, interleaved, after a warm-up."""
    email = f"bench-forgot-{uuid.uuid4().hex[:8]}@example.com"
    assert request(prod.base, "POST", "/auth/register",
                   json={"email": email, "password": PASSWORD}).status == 201
    known, unknown = [], []

    def sample(into: list | None, address: str) -> None:
        t0 = time.perf_counter()
        r = request(prod.base, "POST", "/auth/password/forgot", json={"email": address})
        if into is not None:
            into.append((time.perf_counter() - t0) * 1000)
        assert r.status == 202, r.status

    for i in range(5):
        sample(None, email)
        sample(None, f"ghost-warm-{i}@example.com")
    for i in range(FORGOT_SAMPLES):
        # Alternate which goes first, so neither always follows the other's queued mail.
        pair = [(known, email), (unknown, f"ghost-forgot-{i}@example.com")]
        for into, address in (pair if i % 2 == 0 else pair[::-1]):
            sample(into, address)
    mk, mu = statistics.median(known), statistics.median(unknown)
    return [
        (f"forgot known address, median of {FORGOT_SAMPLES}", f"{mk:.1f} ms"),
        (f"forgot unknown address, median of {FORGOT_SAMPLES}", f"{mu:.1f} ms"),
        ("forgot unknown / known", f"{mu / mk:.3f}x"),
    ]


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


def forgot_only() -> None:
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        prod = start_worker(Path(tmp) / "prod", SigningKey("bench"), extra_vars=PROD_VARS)
        try:
            print_rows(forgot_rows(prod))
        finally:
            stop(prod.proc)


def main() -> None:
    rows: list[tuple[str, str]] = []
    wasm = (ROOT / "build" / "index_bg.wasm").read_bytes()
    rows.append(("wasm size (no wasm-opt)", f"{len(wasm) / 1024:.0f} KiB raw, "
                 f"{len(gzip.compress(wasm, 9)) / 1024:.0f} KiB gzipped"))

    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        tmp = Path(tmp)
        prod = start_worker(tmp / "prod", SigningKey("bench"), extra_vars=PROD_VARS)
        test = start_worker(tmp / "test", SigningKey("bench"), config=TEST_CONFIG)
        empty = start_worker(tmp / "empty", SigningKey("bench"),
                             config=str(ROOT / "tests" / "bench" / "wrangler.empty.toml"), migrate=False)
        try:
            # PBKDF2 in the Worker: latency of a hash route minus a no-work route, same worker.
            for _ in range(3):
                request(test.base, "GET", "/__test/hash")
            hash_req = median_ms(lambda: request(test.base, "GET", "/__test/hash"), 10)
            base_req = median_ms(lambda: request(test.base, "GET", "/.well-known/jwks.json"), 10)
            worker_hash = hash_req - base_req
            native_hash = node_pbkdf2_ms()
            rows.append((f"PBKDF2-SHA256 {ITERATIONS:,} it., Worker (wasm) median",
                         f"{worker_hash:.0f} ms"))
            rows.append(("same, OpenSSL via Node pbkdf2Sync median", f"{native_hash:.0f} ms"))
            rows.append(("Worker / OpenSSL", f"{worker_hash / native_hash:.2f}x"))

            email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
            assert request(prod.base, "POST", "/auth/register",
                           json={"email": email, "password": PASSWORD}).status == 201
            login = lambda pw=PASSWORD, em=email: request(  # noqa: E731
                prod.base, "POST", "/auth/login", json={"email": em, "password": pw})
            token = login().json()["access_token"]
            login_p50 = median_ms(login, 20)
            rows.append(("login p50 (20 sequential)", f"{login_p50:.0f} ms"))
            rows.append(("login p50 / bare hash in the Worker", f"{login_p50 / worker_hash:.2f}x"))

            # An account whose hash was stored with 1,000 iterations (before a raise of the count,
            # or by an older deployment): a wrong password does not rehash it, so it stays low.
            low_email = f"bench-low-{uuid.uuid4().hex[:8]}@example.com"
            salt = os.urandom(16)
            enc = lambda b: base64.b64encode(b).rstrip(b"=").decode()  # noqa: E731
            dk = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt, 1000)
            prod.d1("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES "
                    f"('{uuid.uuid4()}', '{low_email}', '$pbkdf2-sha256$i=1000,l=32${enc(salt)}${enc(dk)}', "
                    "'2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')")
            wrong, unknown, low = [], [], []

            def sample(into: list, *args) -> None:
                t0 = time.perf_counter()
                r = login(*args)
                into.append((time.perf_counter() - t0) * 1000)
                assert r.status == 401, r.status  # a real, unthrottled failure

            for i in range(60):
                sample(wrong, "not the password")
                sample(unknown, PASSWORD, f"ghost-{i}@example.com")
                sample(low, "not the password", low_email)
            mw, mu, ml = (statistics.median(x) for x in (wrong, unknown, low))
            rows.append(("login wrong password, median of 60", f"{mw:.1f} ms"))
            rows.append(("login unknown email, median of 60", f"{mu:.1f} ms"))
            rows.append(("unknown / wrong", f"{mu / mw:.3f}x"))
            rows.append(("login wrong password, 1,000-it. stored hash, median of 60", f"{ml:.1f} ms"))
            rows.append(("unknown / wrong on the low-count hash", f"{mu / ml:.3f}x"))
            rows.extend(forgot_rows(prod))

            me = f"{prod.base}/auth/me"
            load(me, 300, 8, f"authorization=Bearer {token}")
            load(f"{empty.base}/", 300, 8)
            m = load(me, 3000, 8, f"authorization=Bearer {token}")
            e = load(f"{empty.base}/", 3000, 8)
            rows.append(("GET /auth/me, 3000 req, 8 conc.",
                         f"{m['rps']:.0f} req/s, p50 {m['p50_ms']:.1f} ms, p99 {m['p99_ms']:.1f} ms"
                         f" ({m['errors']} errors)"))
            rows.append(("empty Worker, same load",
                         f"{e['rps']:.0f} req/s, p50 {e['p50_ms']:.1f} ms, p99 {e['p99_ms']:.1f} ms"))
            rows.append(("/auth/me vs empty: throughput, p50, p99",
                         f"{m['rps'] / e['rps']:.2f}x, {m['p50_ms'] / e['p50_ms']:.2f}x, "
                         f"{m['p99_ms'] / e['p99_ms']:.2f}x"))
        finally:
            for w in (prod, test, empty):
                stop(w.proc)

    print_rows(rows)


if __name__ == "__main__":
    forgot_only() if sys.argv[1:] == ["forgot"] else main()
