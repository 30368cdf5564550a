"""What the parts of `make bench` share: the paths, the production Worker's variables, timing, the
bounded load generator (`load.mjs`), the table printer and a part's run alone on a production
Worker. Importing it puts tests/e2e (the Worker harness: `client`, `conftest`) on `sys.path`, so
the other parts import it first."""
from __future__ import annotations

import base64
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from conftest import SigningKey, start_worker, stop  # noqa: E402

ITERATIONS = 600_000
PASSWORD = "correct horse battery"
PROD_VARS = {
    # Throttling off (1,000 failures) so that the wrong-password samples stay real hashes; the
    # email cap raised so that every known forgot really makes a token and a mail (in the queue's
    # consumer); the per-IP limit off (every sample comes from 127.0.0.1).
    "LOGIN_MAX_FAILURES": "1000", "EMAIL_MAX_PER_HOUR": "1000", "RATE_LIMIT_BY_IP": "false",
    # A fixed key for the bench's own database only, so two-step verification can be set up.
    "MFA_ENCRYPTION_KEY": base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="),
}
FLOOR_CONFIG = ROOT / "tests" / "bench" / "floor" / "wrangler.toml"
FLOOR_HASH_CONFIG = ROOT / "tests" / "bench" / "floor" / "wrangler.hash.toml"
FLOOR_WASM = ROOT / "tests" / "bench" / "floor" / "build" / "index_bg.wasm"


def timed_call(fn):
    """What `fn()` returned, and how long it took in ms."""
    t0 = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - t0) * 1000


def timed(fn) -> float:
    return timed_call(fn)[1]


def median_ms(fn, n: int) -> float:
    return statistics.median(timed(fn) for _ in range(n))


def load(url: str, n: int, c: int, header: str | None = None, *, method: str | None = None,
         body: str | None = None, seconds: float | None = None, id_prefix: str | None = None,
         rate: float | None = None, honor_retry_after: int | None = None) -> dict:
    args = ["node", str(ROOT / "tests" / "bench" / "load.mjs"), url, str(n), str(c)]
    if header:
        args.append(header)
    for flag, value in (("--method", method), ("--body", body), ("--seconds", seconds), ("--id-prefix", id_prefix),
                        ("--rate", rate), ("--honor-retry-after", honor_retry_after)):
        if value is not None:
            args += [flag, str(value)]
    return json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)


def two_clients(call, work, warmup_s: float = 1.0):
    """Two clients `call()` back to back (it returns an HTTP status) while `work()` runs, after
    `warmup_s`; returns the times of the calls that answered 200, the statuses of the others
    (reported, not timed), and what `work` returned."""
    times: list[float] = []
    refused: list[int] = []
    halt = threading.Event()

    def client() -> None:
        while not halt.is_set():
            status, ms = timed_call(call)
            if status == 200:
                times.append(ms)
            else:
                refused.append(status)
    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(warmup_s)
        result = work()
    finally:
        halt.set()
        for t in threads:
            t.join()
    return times, refused, result


def refusals(refused: list[int]) -> str:
    return f" ({len(refused)} refused: {sorted(set(refused))})" if refused else ""


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | result |")
    print(f"|{'-' * (width + 2)}|--------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


def print_prod_rows(rows_of) -> None:
    """A part run alone: `rows_of(prod)` on a production Worker of its own, printed as a table."""
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        prod = start_worker(Path(tmp) / "prod", SigningKey("bench"), extra_vars=PROD_VARS)
        try:
            print_rows(rows_of(prod))
        finally:
            stop(prod.proc)
