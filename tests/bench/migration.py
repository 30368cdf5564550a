"""What moving users in costs, for `bench.py` (`BENCH_ONLY=legacy`, `BENCH_ONLY=migration`,
`BENCH_ONLY=import`): each legacy hash's time in the Worker and the work model behind the
padding of failed logins, an unknown email against a wrong password on each migrated account
under the default configuration (the import records its costliest hash in D1 and the Worker pads
every failure to it, with no operator setting), and the wall time of `make import` for 100,000
users. Everything talks to 127.0.0.1 only; nothing asserts a time."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from client import request  # noqa: E402
from measure import timed_call  # noqa: E402
from conftest import SigningKey, apply_migrations, start_worker, stop, wrangler_env  # noqa: E402

LEGACY_PASSWORD = "legacy pass phrase"
# Every sample a real failure: the account throttle at 1,000, and the per-IP limit off (every
# sample comes from 127.0.0.1; at 100 a minute it answered 429 halfway through).
NO_LIMITS = {"LOGIN_MAX_FAILURES": "1000", "RATE_LIMIT_BY_IP": "false"}
# Rounds of the verification times (every account once a round).
VERIFY_ROUNDS = 25
# The unknown/wrong pairs of the default configuration: their ratios are the goal (0.95-1.05),
# so more pairs than for the verification times (`BENCH_MIGRATION_SAMPLES` to change it).
MIGRATION_SAMPLES = int(os.environ.get("BENCH_MIGRATION_SAMPLES", "21"))


def django_hash(password: str, iterations: int) -> str:
    salt = base64.b64encode(os.urandom(16)).decode()[:22].replace("+", "a").replace("/", "b")
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(dk).decode()}"


def our_hash(password: str, iterations: int) -> str:
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    enc = lambda b: base64.b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return f"$pbkdf2-sha256$i={iterations},l=32${enc(salt)}${enc(dk)}"


def legacy_accounts() -> dict[str, tuple[str, str]]:
    """label -> (email, hash) per algorithm, hashed by the libraries the old services use."""
    import bcrypt
    from pwdlib.hashers.argon2 import Argon2Hasher

    pw = LEGACY_PASSWORD
    made = {
        "pbkdf2-sha256 600,000 (ours)": our_hash(pw, 600_000),
        "bcrypt cost 10": bcrypt.hashpw(pw.encode(), bcrypt.gensalt(10)).decode(),
        "bcrypt cost 12 (passlib / pwdlib default)": bcrypt.hashpw(pw.encode(), bcrypt.gensalt(12)).decode(),
        "bcrypt cost 13": bcrypt.hashpw(pw.encode(), bcrypt.gensalt(13)).decode(),
        "argon2id m=65536,t=3,p=4 (pwdlib default)": Argon2Hasher().hash(pw),
        "django pbkdf2_sha256 600,000": django_hash(pw, 600_000),
        "django pbkdf2_sha256 1,000,000": django_hash(pw, 1_000_000),
    }
    tag = uuid.uuid4().hex[:6]
    return {label: (f"legacy{i}-{tag}@example.com", h) for i, (label, h) in enumerate(made.items())}


OURS, BCRYPT10, BCRYPT12, BCRYPT13, ARGON2 = (
    "pbkdf2-sha256 600,000 (ours)", "bcrypt cost 10", "bcrypt cost 12 (passlib / pwdlib default)",
    "bcrypt cost 13", "argon2id m=65536,t=3,p=4 (pwdlib default)")


def import_into(worker, accounts: dict[str, tuple[str, str]], tmp: Path) -> int:
    """`make import` of `accounts` into the worker's local D1; the cost it recorded there for
    the padding (the costliest hash, in PBKDF2 iterations)."""
    src = tmp / f"legacy-{uuid.uuid4().hex[:6]}.jsonl"
    src.write_text("".join(json.dumps({"email": e, "password_hash": h}) + "\n" for e, h in accounts.values()))
    subprocess.run(["cargo", "build", "--quiet", "--bin", "import"], cwd=ROOT, check=True)
    out = subprocess.run([str(ROOT / "target" / "debug" / "import"), str(src), "--",
                          "--persist-to", str(worker.state_dir)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[-1] == f"read {len(accounts)}, imported {len(accounts)}, already present 0, refused 0", out
    rows = worker.d1("SELECT value FROM settings WHERE key = 'imported_hash_max_work'")
    return rows[0]["value"]


def wrong_login_ms(worker, email: str) -> float:
    """One login with a wrong password (or an unknown `email`): its time, in ms."""
    r, ms = timed_call(lambda: request(worker.base, "POST", "/auth/login",
                                       json={"email": email, "password": "wrong " + LEGACY_PASSWORD}))
    assert r.status == 401, r.status  # a real, unthrottled failure
    return ms


def failure_pairs(worker, accounts, n: int) -> dict[str, tuple[float, float, float]]:
    """Per account: the median ms of a wrong password on it, of an unknown email, and the median
    of each pair's unknown / wrong. The two of a pair run back to back, in alternating order, so
    that a load that comes and goes on a shared machine weighs on both sides alike."""
    out = {}
    for label, (email, _) in accounts.items():
        wrong, unknown = [], []
        wrong_login_ms(worker, email)  # warm-up
        for i in range(n):
            ghost = f"ghost-{uuid.uuid4().hex[:8]}@example.com"
            if i % 2 == 0:
                wrong.append(wrong_login_ms(worker, email))
                unknown.append(wrong_login_ms(worker, ghost))
            else:
                unknown.append(wrong_login_ms(worker, ghost))
                wrong.append(wrong_login_ms(worker, email))
        ratio = statistics.median(u / w for u, w in zip(unknown, wrong))
        out[label] = (statistics.median(wrong), statistics.median(unknown), ratio)
    return out


def verify_rounds(worker, accounts, rounds: int) -> dict[str, tuple[float, float]]:
    """Per account: the median ms a wrong password on it takes beyond an unknown email's
    request (its verification), and the median over rounds of that time over our PBKDF2
    600,000's in the same round. Each round runs one unknown email and then one wrong password
    on every account in turn, so that a load that comes and goes weighs on all alike."""
    for email, _ in accounts.values():
        wrong_login_ms(worker, email)  # warm-up
    base, times = [], {label: [] for label in accounts}
    for _ in range(rounds):
        base.append(wrong_login_ms(worker, f"ghost-{uuid.uuid4().hex[:8]}@example.com"))
        for label, (email, _) in accounts.items():
            times[label].append(wrong_login_ms(worker, email))
    overhead = statistics.median(base)
    own = {label: [t - overhead for t in ts] for label, ts in times.items()}
    return {label: (statistics.median(ts), statistics.median(a / b for a, b in zip(ts, own[OURS])))
            for label, ts in own.items()}


def legacy_rows(tmp: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    accounts = legacy_accounts()
    # 1. Each algorithm's own time in the Worker: a wrong password on it beyond an unknown
    #    email, on a Worker whose own PBKDF2 is a negligible 1,000 iterations and whose padding
    #    record is removed after the import (so the unknown email costs those 1,000 alone).
    raw = start_worker(tmp / "legacy-raw", SigningKey("bench"),
                       extra_vars={**NO_LIMITS, "PBKDF2_ITERATIONS": "1000"})
    try:
        recorded = import_into(raw, accounts, tmp)
        raw.d1("DELETE FROM settings")
        verify = verify_rounds(raw, accounts, VERIFY_ROUNDS)
    finally:
        stop(raw.proc)
    for label, (ms, _) in verify.items():
        rows.append((f"verify {label}, in the Worker, median of {VERIFY_ROUNDS}", f"{ms:.0f} ms"))
    per_round = lambda label, cost: verify[label][1] * 600_000 / 2**cost  # noqa: E731
    rows.append(("work model: bcrypt, PBKDF2 it. per 2^cost round (vs ours in the same round)",
                 f"{per_round(BCRYPT13, 13):.0f} (cost 13), {per_round(BCRYPT12, 12):.0f} (cost 12), "
                 f"{per_round(BCRYPT10, 10):.0f} (cost 10)"))
    rows.append(("work model: argon2id, PBKDF2 it. per KiB x pass",
                 f"{verify[ARGON2][1] * 600_000 / (65536 * 3):.2f}"))
    rows.append(("padding recorded by make import (settings.imported_hash_max_work)", f"{recorded:,}"))
    # 2. Unknown email vs wrong password on each, under the default configuration.
    return rows + migration_rows(tmp, accounts)


def migration_rows(tmp: Path, accounts: dict[str, tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """`BENCH_ONLY=migration`: a Worker with the default configuration (no timing setting: only
    the login throttle and the per-IP limit lifted so that every sample is a real failure), the
    legacy accounts imported by `make import`, then an unknown email against a wrong password on
    each, interleaved. The import recorded the costliest hash (bcrypt 13) and the Worker pads
    every failed login to it, so each ratio should be near 1."""
    accounts = accounts or legacy_accounts()
    w = start_worker(tmp / f"migration-{uuid.uuid4().hex[:6]}", SigningKey("bench"), extra_vars=NO_LIMITS)
    try:
        recorded = import_into(w, accounts, tmp)
        rows = [("default config, after make import: padding recorded in D1", f"{recorded:,} PBKDF2 it.")]
        for label, (wrong, unknown, ratio) in failure_pairs(w, accounts, MIGRATION_SAMPLES).items():
            rows.append((f"default: unknown email / wrong password on {label}, {MIGRATION_SAMPLES} pairs",
                         f"medians {unknown:.0f} / {wrong:.0f} ms; median pair ratio {ratio:.2f}x"))
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
