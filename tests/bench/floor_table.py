"""The floor table: requests/s of four endpoints against the floor Worker (tests/bench/floor),
with the D1 calls and `db_ms` of the Worker's own request lines; `BENCH_ONLY=floor`."""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

# measure first: importing it puts tests/e2e (client, conftest) on sys.path.
from measure import FLOOR_CONFIG, PASSWORD, PROD_VARS, ROOT, load
from client import request
from conftest import SigningKey, start_worker, stop
from cold_start import cold_start_table


FLOOR_CONNECTIONS = 32  # in flight at once, as wrk -t2 -c32 would keep
FLOOR_SECONDS = 4       # each measured run
FLOOR_ROUNDS = 5        # pairs (ours, floor) per endpoint, alternating which goes first
FLOOR_SKIP = 100        # the first requests of each run are left out of the log figures
FLOOR_CAP = 200_000     # requests per run at most (the duration ends it long before)


def request_lines(worker, prefix: str) -> list[dict]:
    return [l for l in worker.logs()
            if l.get("event") == "request" and str(l.get("request_id", "")).startswith(prefix)]


def floor_table(prod, floor, tag: str) -> list[str]:
    """Requests/s of four endpoints against the floor Worker, in alternating pairs of bounded
    runs; D1 calls and db_ms per request from the Worker's own lines of the same runs."""
    email = f"bench-floor-{uuid.uuid4().hex[:8]}@example.com"
    assert request(prod.base, "POST", "/auth/register", json={"email": email, "password": PASSWORD}).status == 201
    # Login and refresh: their D1 calls per request (5 each, a refresh chain).
    tokens = None
    for i in range(5):
        r = request(prod.base, "POST", "/auth/login", json={"email": email, "password": PASSWORD},
                    headers={"X-Request-Id": f"{tag}-login-{i}"})
        assert r.status == 200, r.status
        tokens = r.json()
    refresh = tokens["refresh_token"]
    for i in range(5):
        r = request(prod.base, "POST", "/auth/refresh", json={"refresh_token": refresh},
                    headers={"X-Request-Id": f"{tag}-refresh-{i}"})
        assert r.status == 200, r.status
        refresh = r.json()["refresh_token"]
    access = r.json()["access_token"]
    assert request(prod.base, "GET", "/auth/me", headers={"Authorization": f"Bearer {access}"}).status == 200

    endpoints = [  # name, method, path, body, header, goal
        ("GET /.well-known/jwks.json", "GET", "/.well-known/jwks.json", None, None, 0.90),
        ("GET /health", "GET", "/health", None, None, 0.90),
        ("POST /auth/verify (valid token)", "POST", "/auth/verify", json.dumps({"token": access}), None, 0.85),
        ("GET /auth/me (valid token)", "GET", "/auth/me", None, f"authorization=Bearer {access}", 0.75),
    ]

    def run(i: int, which: str, rnd: str, seconds: float) -> dict:
        _, method, path, body, header, _ = endpoints[i]
        if which == "floor":
            return load(f"{floor.base}/", FLOOR_CAP, FLOOR_CONNECTIONS, seconds=seconds,
                        id_prefix=f"{tag}-f{i}-{rnd}-")
        return load(f"{prod.base}{path}", FLOOR_CAP, FLOOR_CONNECTIONS, header, method=method, body=body,
                    seconds=seconds, id_prefix=f"{tag}-e{i}-{rnd}-")

    def progress(i: int, which: str, rnd: str, seconds: float) -> dict:
        out = run(i, which, rnd, seconds)
        print(f"floor table: {endpoints[i][0]}, {which}, {rnd}: {out['rps']:.0f} req/s, "
              f"{out['requests']} requests, {out['errors']} errors", file=sys.stderr)
        return out

    for i in range(len(endpoints)):  # warm-up: JIT, the isolate's config, D1's file
        progress(i, "ours", "warm", 1)
        progress(i, "floor", "warm", 1)
    ours: dict[int, list[dict]] = {i: [] for i in range(len(endpoints))}
    base: dict[int, list[dict]] = {i: [] for i in range(len(endpoints))}
    for rnd in range(FLOOR_ROUNDS):
        for i in range(len(endpoints)):
            order = ("ours", "floor") if (rnd + i) % 2 == 0 else ("floor", "ours")
            for which in order:
                (ours if which == "ours" else base)[i].append(progress(i, which, f"r{rnd}", FLOOR_SECONDS))
    time.sleep(1.5)  # wrangler relays the Worker's lines asynchronously

    def steady(prefix: str) -> list[dict]:
        return [l for l in request_lines(prod, prefix) if int(l["request_id"].rsplit("-", 1)[1]) >= FLOOR_SKIP]

    out = [f"Floor table, {FLOOR_ROUNDS} alternating pairs of {FLOOR_SECONDS} s runs per endpoint, "
           f"{FLOOR_CONNECTIONS} connections (load.mjs); the floor is tests/bench/floor on the same wrangler dev:",
           "",
           "| endpoint | req/s (median) | floor req/s (median) | ratio: median (each pair) | goal | met | "
           "errors | D1 calls/req | db_ms p50 |",
           "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    for i, (name, *_, goal) in enumerate(endpoints):
        ratios = [o["rps"] / f["rps"] for o, f in zip(ours[i], base[i])]
        ratio = statistics.median(ratios)
        lines = steady(f"{tag}-e{i}-r")
        calls = statistics.mean(l["db_calls"] for l in lines) if lines else float("nan")
        db_ms = statistics.median(l["db_ms"] for l in lines) if lines else float("nan")
        errors = sum(o["errors"] for o in ours[i])
        out.append(f"| {name} | {statistics.median(o['rps'] for o in ours[i]):.0f} | "
                   f"{statistics.median(f['rps'] for f in base[i]):.0f} | {ratio:.2f}x "
                   f"({', '.join(f'{r:.2f}' for r in ratios)}) | >= {goal:.2f} | "
                   f"{'PASS' if ratio >= goal else 'MISS'} | {errors} | {calls:.2f} ({len(lines)} lines) | {db_ms:g} |")
    for kind in ("login", "refresh"):
        lines = request_lines(prod, f"{tag}-{kind}-")
        out.append(f"| POST /auth/{kind} (5 sequential) | | | | | | | "
                   f"{statistics.mean(l['db_calls'] for l in lines):.2f} ({len(lines)} lines) | "
                   f"{statistics.median(l['db_ms'] for l in lines):g} |")
    return out


def floor_only() -> None:
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        tmp = Path(tmp)
        prod = start_worker(tmp / "prod", SigningKey("bench"), extra_vars=PROD_VARS)
        floor = start_worker(tmp / "floor", SigningKey("bench"), config=str(FLOOR_CONFIG), migrate=False)
        try:
            table = floor_table(prod, floor, "fl")
        finally:
            for w in (prod, floor):
                stop(w.proc)
        print("\n".join(table + [""] + cold_start_table(tmp / "cold")))
