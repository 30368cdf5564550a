"""`make bench`: the figures the README quotes, each against a baseline measured in the same run.

- wasm size, raw and gzipped;
- PBKDF2-HMAC-SHA256 at the configured count inside the Worker vs OpenSSL (Node's pbkdf2Sync);
- GET /auth/me requests/s, p50 and p99 vs an empty Worker on the same workerd;
- login p50 vs one bare hash in the Worker;
- the tail pair: GET /auth/me p50/p99 alone and while two clients log in back to back, and the
  two clients' login p50 alone and beside those reads; then the control, the same logins beside
  as many reads per second sent to the floor Worker (another process), which shows the machine's
  share of the logins' slowdown; then the same pair on the hashing floor (tests/bench/floor built
  with its `hash` feature: `GET /hash` is the logins' PBKDF2, same loop, slices, pauses and one
  hash at a time, in a Worker that does nothing else; its reads are `GET /`), which shows what
  this read load takes from any Worker's hashes here, and our logins' ratio over its ratio;
- login latency for an unknown email vs a wrong password, and vs a wrong password on an account
  whose hash is stored with fewer iterations than configured (medians, 60 samples each);
- POST /auth/mfa/verify p50 over GET /auth/me p50, interleaved in the same run (20 each; the
  accounts and their mfa_tokens are prepared beforehand, so no measured request hashes a password);
- POST /auth/password/forgot for known vs unknown addresses, each asked for the first time
  (medians of 40 interleaved requests each, and their ratio). `bench.py forgot` measures only
  this, with 200 of each (`BENCH_FORGOT_SAMPLES`).
- legacy hashes moved in by `make import` (bcrypt 10/12/13, Argon2id as pwdlib writes it, Django
  PBKDF2 600k/1M): each one's verification time inside the Worker, the work model it implies, and
  unknown email vs wrong password for each under the default configuration (the import records
  its costliest hash in D1; the Worker pads every failed login to it).

- `make import` of a generated 100,000-user JSON Lines file into a fresh local D1, then again
  (every row already present).

- the floor table: requests/s of GET /.well-known/jwks.json, GET /health, POST /auth/verify and
  GET /auth/me (valid token), each against the floor Worker (tests/bench/floor: workers-rs,
  answers 200, one JSON log line per request; same build steps, same `wrangler dev` flags), in
  alternating pairs of bounded runs, with the issue's goal for each ratio; per endpoint the D1
  calls per request and the median `db_ms` read from the Worker's own request lines of that load
  (the first requests of each run skipped); login's and refresh's D1 calls per request;
- cold start: a fresh `wrangler dev`, polled with TCP connects until its port accepts one, then
  the time of the first request (GET /health for ours, GET / for the floor), alternately, medians.
- static files in the Worker's bundle (today's build) vs Workers Static Assets (`make worker`'s
  build/assets/ and build/assets-worker/): cold start to the first GET /health and the first
  GET /docs, the warm p50 of both and the CPU time `wrangler dev` spends on each, and the deploy
  bundle's size (`wrangler deploy --dry-run`), each as assets / bundle in the same run
  (docs/static-files.md).
- passkey login p50 (EdDSA, ES256, RS256, the signature verified by the Worker's WebCrypto) vs
  GET /auth/me p50 on the same Worker, in the same run: each login needs a fresh challenge, so
  the options are fetched and the assertion signed inside the loop, and only the login request
  is timed.
- load shedding: 2, 8, 32 and 64 clients logging in back to back for SHEDDING_SECONDS each, on a
  Worker of its own with the default `MAX_HASH_QUEUE` (32): the logins' p50 (200s only) and the
  share of answers that were `503` (a shed client waits its `Retry-After` before trying again).

`BENCH_ONLY=legacy`, `BENCH_ONLY=import`, `BENCH_ONLY=floor` or `BENCH_ONLY=shedding` runs that
part alone; `BENCH_ONLY=migration` only legacy's unknown/wrong pairs under the default configuration;
`BENCH_ONLY=mfa` only `/auth/mfa/verify` p50 / `/auth/me` p50;
`BENCH_ONLY=core` all but legacy and import; `BENCH_ONLY=assets` only the static files' table;
`BENCH_ONLY=passkeys` only the passkey rows;
`BENCH_ONLY=size` only the wasm's size with each group of v3 endpoints left out (`size_control.py`);
`BENCH_ONLY=slices` only the hashing floor's tail pair at each slice size of `BENCH_SLICES`
(default 25,000 to 60,000 iterations), two rounds.

Everything talks to 127.0.0.1 only, with bounded loops. Nothing here asserts a time.

This file runs the main table and chooses the part `BENCH_ONLY` names; each part is a module of
this folder: `floor_table.py`, `cold_start.py`, `hashing_floor.py` (and the slices),
`static_assets.py`, `shedding.py`, `forgot.py`, `passkey_login.py`, `mfa_verify.py`,
`migration.py` (legacy, migration, import), `size_control.py`; `measure.py` holds what they share.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# measure first: importing it puts tests/e2e (client, conftest) on sys.path.
from measure import (FLOOR_CONFIG, FLOOR_HASH_CONFIG, ITERATIONS, PASSWORD, PROD_VARS, ROOT, load, median_ms,
                     print_rows, refusals, timed_call, two_clients)
from client import request
from conftest import TEST_CONFIG, SigningKey, start_worker, stop
from cold_start import cold_start_table
from floor_table import floor_only, floor_table
from forgot import forgot_only, forgot_rows
from hashing_floor import floor_hash_pair, floor_hash_rows, slices_only
from mfa_verify import mfa_only, mfa_rows
from migration import import_rows, legacy_rows, migration_rows
from passkey_login import passkey_rows, passkeys_only
from shedding import shedding_only, shedding_rows
from size_control import size_only
from static_assets import assets_only, assets_table


def node_pbkdf2_ms(n: int = 10) -> float:
    script = (
        "const c=require('crypto');const t=[];"
        f"for(let i=0;i<{n};i++){{const s=process.hrtime.bigint();"
        f"c.pbkdf2Sync('benchmark password','edge-auth-dummy!',{ITERATIONS},32,'sha256');"
        "t.push(Number(process.hrtime.bigint()-s)/1e6);}"
        "t.sort((a,b)=>a-b);console.log(t[Math.floor(t.length/2)]);"
    )
    return float(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)


def main() -> None:
    rows: list[tuple[str, str]] = []
    only = os.environ.get("BENCH_ONLY")
    if only == "floor":
        floor_only()
        return
    if only == "slices":
        slices_only()
        return
    if only == "shedding":
        shedding_only()
        return
    if only == "assets":
        assets_only()
        return
    if only == "passkeys":
        passkeys_only()
        return
    if only == "mfa":
        mfa_only()
        return
    if only == "size":
        size_only()
        return
    if only in ("legacy", "migration", "import"):
        part = {"legacy": legacy_rows, "migration": migration_rows, "import": import_rows}[only]
        with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
            print_rows(part(Path(tmp)))
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
        floor = start_worker(tmp / "floor", SigningKey("bench"), config=str(FLOOR_CONFIG), migrate=False)
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
                r, ms = timed_call(lambda: login(*args))
                into.append(ms)
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
            rows.extend(mfa_rows(prod))
            rows.extend(passkey_rows(prod))

            # The isolate is shared: /auth/me alone, then while two clients log in back to back
            # (a hash yields between slices, so the reads run in between); and the two clients'
            # login p50 with and without that read load beside them.
            me = f"{prod.base}/auth/me"
            auth_header = f"authorization=Bearer {token}"

            def logins_beside(work, warmup_s: float = 1.0):
                """Two clients log in back to back while `work()` runs (`two_clients`). Each
                phase logs in as an account of its own, registered here: a login opens a
                session, and past MAX_SESSIONS_PER_USER (100) it also ends the oldest (a purge
                and a log line more), which would make the phases unlike, and would end the
                reads' own session if they shared its account."""
                other = f"bench-logins-{uuid.uuid4().hex[:8]}@example.com"
                assert request(prod.base, "POST", "/auth/register",
                               json={"email": other, "password": PASSWORD}).status == 201
                return two_clients(lambda: login(PASSWORD, other).status, work, warmup_s)

            load(me, 300, 4, auth_header)
            alone = load(me, 2000, 4, auth_header)
            logins_alone, refused_alone, _ = logins_beside(lambda: time.sleep(8), warmup_s=0)
            logins_busy, refused_busy, busy = logins_beside(lambda: load(me, 2000, 4, auth_header))
            # The control: the same two clients beside reads at the same rate and for as long,
            # sent to the floor Worker, another `wrangler dev` (other processes, nothing in our
            # isolate). What the logins lose here is the machine's share (two cores for the
            # runtime, the proxies, wrangler's log relay and the load), not the isolate's.
            logins_control, refused_control, control = logins_beside(
                lambda: load(f"{floor.base}/", 100_000, 4, rate=round(busy["rps"], 1),
                             seconds=round(busy["seconds"], 1)))
            rows.append(("GET /auth/me alone, 2000 req, 4 conc.",
                         f"p50 {alone['p50_ms']:.1f} ms, p99 {alone['p99_ms']:.1f} ms, {alone['rps']:.0f} req/s"))
            rows.append(("same, while 2 clients log in continuously",
                         f"p50 {busy['p50_ms']:.1f} ms, p99 {busy['p99_ms']:.1f} ms, {busy['rps']:.0f} req/s "
                         f"({busy['errors']} errors)"))
            rows.append(("p99 under logins / p99 alone (goal <= 3x)", f"{busy['p99_ms'] / alone['p99_ms']:.2f}x"))
            la, lb = statistics.median(logins_alone), statistics.median(logins_busy)
            rows.append(("2 clients' login p50: alone / beside the reads (goal <= 1.10x)",
                         f"{la:.0f} ms ({len(logins_alone)}{refusals(refused_alone)}) / {lb:.0f} ms "
                         f"({len(logins_busy)}{refusals(refused_busy)}) = {lb / la:.2f}x"))
            lc = statistics.median(logins_control)
            rows.append(("control: login p50 beside as many reads/s sent to the floor Worker",
                         f"{lc:.0f} ms ({len(logins_control)}{refusals(refused_control)}) = {lc / la:.2f}x alone "
                         f"(reads {control['rps']:.0f}/s, p50 {control['p50_ms']:.1f} ms)"))
            # The same pair on the hashing floor: the logins' PBKDF2 (same loop, slices, pauses,
            # one at a time) in a Worker that does nothing else, beside reads of its `/`. What
            # the hashes lose there, the runtime and the machine take from any Worker that
            # shares its isolate with this read load; the rest is our Worker's.
            # Started only for its pair, so that it is not one more process beside the others.
            floor_hash = start_worker(tmp / "floor-hash", SigningKey("bench"), config=str(FLOOR_HASH_CONFIG),
                                      migrate=False)
            try:
                fh = floor_hash_pair(floor_hash)
            finally:
                stop(floor_hash.proc)
            rows += floor_hash_rows(fh)
            rows.append(("our logins' ratio / the hashing floor's",
                         f"{(lb / la) / (fh['hash_busy'] / fh['hash_alone']):.2f}x"))

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
            table = floor_table(prod, floor, "fl")
        finally:
            for w in (prod, test, empty, floor):
                stop(w.proc)
        table += [""] + cold_start_table(tmp / "cold")
        table += [""] + assets_table(tmp / "assets")
        rows += shedding_rows(tmp)
        if only != "core":
            rows += legacy_rows(tmp)
            rows += import_rows(tmp)
    print_rows(rows)
    print()
    print("\n".join(table))


if __name__ == "__main__":
    forgot_only() if sys.argv[1:] == ["forgot"] else main()
