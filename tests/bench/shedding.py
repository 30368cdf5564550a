"""Load shedding: logins by 2 to 64 clients at once on the default `MAX_HASH_QUEUE`;
`BENCH_ONLY=shedding`."""
from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path

# measure first: importing it puts tests/e2e (client, conftest) on sys.path.
from measure import PASSWORD, PROD_VARS, ROOT, load, print_rows
from client import request
from conftest import SigningKey, start_worker, stop


SHEDDING_CLIENTS = (2, 8, 32, 64)
SHEDDING_SECONDS = 20


def shedding_rows(tmp: Path) -> list[tuple[str, str]]:
    """Logins by 2 to 64 clients at once, each back to back, on a production Worker with the
    default queue bound: their p50 and the share shed. Its own Worker, so that no other load of
    the bench shares its isolate."""
    w = start_worker(tmp / "shedding", SigningKey("bench"), extra_vars=PROD_VARS)
    rows: list[tuple[str, str]] = []
    try:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        assert request(w.base, "POST", "/auth/register",
                       json={"email": email, "password": PASSWORD}).status == 201
        body = json.dumps({"email": email, "password": PASSWORD})
        load(w.base + "/auth/login", 4, 2, method="POST", body=body)  # warm-up
        for clients in SHEDDING_CLIENTS:
            r = load(w.base + "/auth/login", 100_000, clients, method="POST", body=body,
                     seconds=SHEDDING_SECONDS, honor_retry_after=1)
            answered = sum(r["statuses"].values())
            shed = r["statuses"].get("503", 0)
            other = {k: v for k, v in r["statuses"].items() if k not in ("200", "503")}
            p50 = f"{r['ok_p50_ms']:.0f} ms" if r["ok_p50_ms"] is not None else "none answered 200"
            rows.append((f"login, {clients} clients (MAX_HASH_QUEUE 32): p50 of 200s, 503 share",
                         f"{p50}, {shed / answered:.0%} of {answered} answers shed"
                         + (f" (other statuses: {other})" if other else "")))
    finally:
        stop(w.proc)
    return rows


def shedding_only() -> None:
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        print_rows(shedding_rows(Path(tmp)))
