"""What moving users in costs, for `bench.py` (`BENCH_ONLY=legacy`, `BENCH_ONLY=import`): each
legacy hash's time in the Worker and the work model behind `LOGIN_FAILURE_ITERATIONS`, a wrong
password on a migrated account against an unknown email (default and padded), and the wall time
of `make import` for 100,000 users. Everything talks to 127.0.0.1 only; nothing asserts a time."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from client import request  # noqa: E402
from conftest import SigningKey, apply_migrations, start_worker, stop, wrangler_env  # noqa: E402

LEGACY_PASSWORD = "legacy pass phrase"
# Every sample a real failure: the account throttle at 1,000, and the per-IP limit off (every
# sample comes from 127.0.0.1; at 100 a minute it answered 429 halfway through).
NO_LIMITS = {"LOGIN_MAX_FAILURES": "1000", "RATE_LIMIT_BY_IP": "false"}
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
                       extra_vars={**NO_LIMITS, "PBKDF2_ITERATIONS": "1000"})
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
                         extra_vars={**NO_LIMITS, **extra})
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
