"""`make bench`: the figures the README quotes, each against a baseline measured in the same run.

- wasm size, raw and gzipped;
- PBKDF2-HMAC-SHA256 at the configured count inside the Worker vs OpenSSL (Node's pbkdf2Sync);
- GET /auth/me requests/s, p50 and p99 vs an empty Worker on the same workerd;
- login p50 vs one bare hash in the Worker;
- login latency for an unknown email vs a wrong password, and vs a wrong password on an account
  whose hash is stored with fewer iterations than configured (medians, 60 samples each);
- POST /auth/password/forgot for known vs unknown addresses, each asked for the first time
  (medians of 40 interleaved requests each, and their ratio). `bench.py forgot` measures only
  this, with 200 of each (`BENCH_FORGOT_SAMPLES`).
- legacy hashes moved in by `make import` (bcrypt 12/13, Argon2id as pwdlib writes it, Django
  PBKDF2 600k/1M): each one's verification time inside the Worker, the work model it implies, and
  wrong password vs unknown email for each, without and with `LOGIN_FAILURE_ITERATIONS`.

- `make import` of a generated 100,000-user JSON Lines file into a fresh local D1, then again
  (every row already present).

`BENCH_ONLY=legacy` or `BENCH_ONLY=import` runs that part alone; `BENCH_ONLY=core` all but them.

Everything talks to 127.0.0.1 only, with bounded loops. Nothing here asserts a time.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import threading
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


LEGACY_PASSWORD = "legacy pass phrase"
LEGACY_SAMPLES = 11


def django_hash(password: str, iterations: int) -> str:
    salt = base64.b64encode(os.urandom(16)).decode()[:22].replace("+", "a").replace("/", "b")
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(dk).decode()}"


def our_hash(password: str, iterations: int) -> str:
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    enc = lambda b: base64.b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return f"$pbkdf2-sha256$i={iterations},l=32${enc(salt)}${enc(dk)}"


def legacy_accounts() -> list[tuple[str, str, str]]:
    """(label, email, hash) per algorithm, hashed by the libraries the old services use."""
    import bcrypt
    from pwdlib.hashers.argon2 import Argon2Hasher

    pw = LEGACY_PASSWORD
    made = [
        ("pbkdf2-sha256 600,000 (ours)", our_hash(pw, 600_000)),
        ("bcrypt cost 12 (passlib / pwdlib default)", bcrypt.hashpw(pw.encode(), bcrypt.gensalt(12)).decode()),
        ("bcrypt cost 13", bcrypt.hashpw(pw.encode(), bcrypt.gensalt(13)).decode()),
        ("argon2id m=65536,t=3,p=4 (pwdlib default)", Argon2Hasher().hash(pw)),
        ("django pbkdf2_sha256 600,000", django_hash(pw, 600_000)),
        ("django pbkdf2_sha256 1,000,000", django_hash(pw, 1_000_000)),
    ]
    tag = uuid.uuid4().hex[:6]
    return [(label, f"legacy{i}-{tag}@example.com", h) for i, (label, h) in enumerate(made)]


def import_into(worker, accounts, tmp: Path) -> list[str]:
    src = tmp / f"legacy-{uuid.uuid4().hex[:6]}.jsonl"
    src.write_text("".join(json.dumps({"email": e, "password_hash": h}) + "\n" for _, e, h in accounts))
    subprocess.run(["cargo", "build", "--quiet", "--bin", "import"], cwd=ROOT, check=True)
    out = subprocess.run([str(ROOT / "target" / "debug" / "import"), str(src), "--",
                          "--persist-to", str(worker.state_dir)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == f"read {len(accounts)}, imported {len(accounts)}, already present 0, refused 0", out
    return out


def failure_pairs(worker, accounts, n: int) -> dict[str, tuple[float, float]]:
    """Median ms of a wrong password on each account and of an unknown email, interleaved."""
    def once(email: str) -> float:
        t0 = time.perf_counter()
        r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": "wrong " + LEGACY_PASSWORD})
        ms = (time.perf_counter() - t0) * 1000
        assert r.status == 401, r.status  # a real, unthrottled failure
        return ms

    out = {}
    for label, email, _ in accounts:
        wrong, unknown = [], []
        once(email)  # warm-up
        for i in range(n):
            wrong.append(once(email))
            unknown.append(once(f"ghost-{uuid.uuid4().hex[:8]}@example.com"))
        out[label] = (statistics.median(wrong), statistics.median(unknown))
    return out


def legacy_rows(tmp: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    accounts = legacy_accounts()
    # 1. Each algorithm's own time in the Worker: a wrong password on it, minus an unknown email,
    #    on a Worker whose own PBKDF2 (and so the failure floor) is a negligible 1,000 iterations.
    raw = start_worker(tmp / "legacy-raw", SigningKey("bench"),
                       extra_vars={"LOGIN_MAX_FAILURES": "1000", "PBKDF2_ITERATIONS": "1000"})
    try:
        lines = import_into(raw, accounts, tmp)
        floor = int(re.search(r"LOGIN_FAILURE_ITERATIONS=(\d+)", "\n".join(lines)).group(1))
        pairs = failure_pairs(raw, accounts, LEGACY_SAMPLES)
    finally:
        stop(raw.proc)
    own = {label: wrong - unknown for label, (wrong, unknown) in pairs.items()}
    for label, ms in own.items():
        rows.append((f"verify {label}, in the Worker, median of {LEGACY_SAMPLES}", f"{ms:.0f} ms"))
    per_iter = own[accounts[0][0]] / 600_000
    rows.append(("work model: bcrypt, PBKDF2 it. per 2^cost round",
                 f"{own[accounts[2][0]] / 2**13 / per_iter:.2f} (cost 13), "
                 f"{own[accounts[1][0]] / 2**12 / per_iter:.2f} (cost 12)"))
    rows.append(("work model: argon2id, PBKDF2 it. per KiB x pass",
                 f"{own[accounts[3][0]] / (65536 * 3) / per_iter:.2f}"))
    rows.append(("LOGIN_FAILURE_ITERATIONS printed by make import", f"{floor:,}"))

    # 2. Wrong password vs unknown email, default configuration, then with the printed floor.
    for title, extra in (("default", {}), ("padded", {"LOGIN_FAILURE_ITERATIONS": str(floor)})):
        w = start_worker(tmp / f"legacy-{title}", SigningKey("bench"),
                         extra_vars={"LOGIN_MAX_FAILURES": "1000", **extra})
        try:
            import_into(w, accounts, tmp)
            for label, (wrong, unknown) in failure_pairs(w, accounts, LEGACY_SAMPLES).items():
                rows.append((f"{title}: wrong password on {label} / unknown email",
                             f"{wrong:.0f} / {unknown:.0f} ms = {wrong / unknown:.2f}x"))
        finally:
            stop(w.proc)
    return rows


IMPORT_USERS = 100_000


def import_rows(tmp: Path) -> list[tuple[str, str]]:
    """Wall time of `make import` for IMPORT_USERS generated users into a fresh local D1."""
    from conftest import apply_migrations, wrangler_env

    src, state = tmp / "users-100k.jsonl", tmp / "import-state"
    subprocess.run([sys.executable, str(ROOT / "tests" / "bench" / "gen_users.py"), str(IMPORT_USERS), str(src)],
                   check=True)
    apply_migrations(state, [])
    rows = []
    for run in ("first run", "second run"):
        t0 = time.perf_counter()
        out = subprocess.run(["make", "-s", "import", f"SRC={src}", f"WRANGLER_ARGS=--persist-to {state}"],
                             cwd=ROOT, env=wrangler_env(), capture_output=True, text=True, check=True)
        secs = time.perf_counter() - t0
        rows.append((f"make import, {IMPORT_USERS:,} JSONL users, local D1, {run}",
                     f"{secs:.1f} s ({out.stdout.strip().splitlines()[-1]})"))
    return rows


PROD_VARS = {
    # Throttling off (1,000 failures) so that the wrong-password samples stay real hashes; the
    # email cap raised so that every known forgot really makes a token and a mail (in the queue's
    # consumer); the per-IP limit off (every sample comes from 127.0.0.1).
    "LOGIN_MAX_FAILURES": "1000", "EMAIL_MAX_PER_HOUR": "1000", "RATE_LIMIT_BY_IP": "false",
}
FORGOT_SAMPLES = 40
# `bench.py forgot` alone takes more samples (BENCH_FORGOT_SAMPLES overrides): its ratio is the
# figure of interest, and on a shared machine 40 samples of ~10 ms move with every neighbour.
FORGOT_ONLY_SAMPLES = int(os.environ.get("BENCH_FORGOT_SAMPLES", "200"))
FORGOT_WARMUP = 5


def forgot_rows(prod, samples: int = FORGOT_SAMPLES) -> list[tuple[str, str]]:
    """forgot for known and unknown addresses, interleaved, after a warm-up. Every sample asks for
    an address nobody asked for before, known or not: the request path counts each request in
    its address's `email_requests` row, and a repeated address updates that row where a new one
    inserts it (whether an account has the address is never asked on the request path). The
    accounts are inserted into D1 directly beforehand, so no registration (nor its verification
    mail) runs during the samples; forgot never reads their password hash."""
    run = uuid.uuid4().hex[:8]
    known = [f"bench-forgot-{run}-{i}@example.com" for i in range(FORGOT_WARMUP + samples)]
    fake_hash = "$pbkdf2-sha256$i=600000,l=32$" + "A" * 22 + "$" + "A" * 43
    prod.d1("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES " + ", ".join(
        f"('{uuid.uuid4()}', '{email}', '{fake_hash}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
        for email in known))
    known_ms, unknown_ms = [], []

    def sample(into: list | None, address: str) -> None:
        t0 = time.perf_counter()
        r = request(prod.base, "POST", "/auth/password/forgot", json={"email": address})
        if into is not None:
            into.append((time.perf_counter() - t0) * 1000)
        assert r.status == 202, r.status

    for i in range(FORGOT_WARMUP):
        sample(None, known[samples + i])
        sample(None, f"ghost-warm-{run}-{i}@example.com")
    for i in range(samples):
        # Alternate which goes first, so neither always follows the other's queued mail.
        pair = [(known_ms, known[i]), (unknown_ms, f"ghost-forgot-{run}-{i}@example.com")]
        for into, address in (pair if i % 2 == 0 else pair[::-1]):
            sample(into, address)
    mk, mu = statistics.median(known_ms), statistics.median(unknown_ms)
    return [
        (f"forgot known address, median of {samples}", f"{mk:.1f} ms"),
        (f"forgot unknown address, median of {samples}", f"{mu:.1f} ms"),
        ("forgot unknown / known", f"{mu / mk:.3f}x"),
    ]


def forgot_only() -> None:
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        prod = start_worker(Path(tmp) / "prod", SigningKey("bench"), extra_vars=PROD_VARS)
        try:
            print_rows(forgot_rows(prod, FORGOT_ONLY_SAMPLES))
        finally:
            stop(prod.proc)


def main() -> None:
    rows: list[tuple[str, str]] = []
    only = os.environ.get("BENCH_ONLY")
    if only in ("legacy", "import"):
        with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
            print_rows((legacy_rows if only == "legacy" else import_rows)(Path(tmp)))
        return
    wasm = (ROOT / "build" / "index_bg.wasm").read_bytes()
    rows.append(("wasm size (wasm-opt -Oz)", f"{len(wasm) / 1024:.0f} KiB raw, "
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

            # The isolate is shared: /auth/me alone, then while two clients log in back to back
            # (a hash yields between slices, so the reads run in between); and the two clients'
            # login p50 with and without that read load beside them.
            me = f"{prod.base}/auth/me"
            auth_header = f"authorization=Bearer {token}"

            def two_clients_logging_in(stop: threading.Event, into: list) -> list:
                def run() -> None:
                    while not stop.is_set():
                        into.append(timed(login))
                threads = [threading.Thread(target=run) for _ in range(2)]
                for t in threads:
                    t.start()
                return threads

            load(me, 300, 4, auth_header)
            alone = load(me, 2000, 4, auth_header)
            logins_alone: list[float] = []
            halt = threading.Event()
            threads = two_clients_logging_in(halt, logins_alone)
            time.sleep(8)
            halt.set()
            for t in threads:
                t.join()
            logins_busy: list[float] = []
            halt = threading.Event()
            threads = two_clients_logging_in(halt, logins_busy)
            time.sleep(1.0)
            busy = load(me, 2000, 4, auth_header)
            halt.set()
            for t in threads:
                t.join()
            rows.append(("GET /auth/me alone, 2000 req, 4 conc.",
                         f"p50 {alone['p50_ms']:.1f} ms, p99 {alone['p99_ms']:.1f} ms, {alone['rps']:.0f} req/s"))
            rows.append(("same, while 2 clients log in continuously",
                         f"p50 {busy['p50_ms']:.1f} ms, p99 {busy['p99_ms']:.1f} ms, {busy['rps']:.0f} req/s "
                         f"({busy['errors']} errors)"))
            rows.append(("p99 under logins / p99 alone (goal <= 3x)", f"{busy['p99_ms'] / alone['p99_ms']:.2f}x"))
            la, lb = statistics.median(logins_alone), statistics.median(logins_busy)
            rows.append(("2 clients' login p50: alone / beside the reads (goal <= 1.10x)",
                         f"{la:.0f} ms ({len(logins_alone)}) / {lb:.0f} ms ({len(logins_busy)}) = {lb / la:.2f}x"))


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
        if only != "core":
            rows += legacy_rows(tmp)
            rows += import_rows(tmp)
    print_rows(rows)


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    forgot_only() if sys.argv[1:] == ["forgot"] else main()
