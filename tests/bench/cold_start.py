"""Cold start: a fresh `wrangler dev` per sample, the time to its first response."""
from __future__ import annotations

import gzip
import http.client
import json
import socket
import statistics
import subprocess
import time
from pathlib import Path

# measure first: importing it puts tests/e2e (client, conftest) on sys.path.
from measure import FLOOR_CONFIG, FLOOR_WASM, PROD_VARS, ROOT
from conftest import WRANGLER, SigningKey, apply_migrations, free_port, stop, wrangler_env


COLD_REPS = 5


def cold_start_ms(config_args: list[str], state: Path, env_file: Path, path: str, log_path: Path) -> tuple[float, float]:
    """One fresh `wrangler dev` with the flags `start_worker` uses: (ms from the port accepting a
    TCP connect to the end of the first response to GET `path`, ms from the spawn to then)."""
    port = free_port()
    with open(log_path, "w") as log:
        spawned = time.perf_counter()
        proc = subprocess.Popen(
            [WRANGLER, "dev", *config_args, "--ip", "127.0.0.1", "--port", str(port), "--persist-to", str(state),
             "--env-file", str(env_file), "--show-interactive-dev-session=false", "--test-scheduled"],
            cwd=ROOT, env=wrangler_env(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
    try:
        deadline = spawned + 180
        while True:
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"wrangler dev did not listen:\n{log_path.read_text()[-4000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.02)
        listening = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
        finally:
            conn.close()
        done = time.perf_counter()
        assert r.status == 200, r.status
        return (done - listening) * 1000, (done - spawned) * 1000
    finally:
        stop(proc)


def cold_start_table(tmp: Path) -> list[str]:
    """First-request latency after a fresh start, ours (GET /health, a D1 query) and the floor's
    (GET /), alternately, COLD_REPS each; the D1 is migrated once, before the first start."""
    tmp.mkdir(parents=True, exist_ok=True)
    env_file = tmp / "dev.vars"
    env_file.write_text(f"JWT_SIGNING_KEYS='{json.dumps([SigningKey('bench-cold').jwk()])}'\n"
                        + "".join(f"{k}={v}\n" for k, v in PROD_VARS.items()))
    apply_migrations(tmp / "state-ours", [])
    ours, floor = [], []
    for rep in range(COLD_REPS):
        pair = [(ours, [], tmp / "state-ours", "/health"),
                (floor, ["-c", str(FLOOR_CONFIG)], tmp / "state-floor", "/")]
        for into, args, state, path in (pair if rep % 2 == 0 else pair[::-1]):
            into.append(cold_start_ms(args, state, env_file, path, tmp / "cold.log"))
    mo, mf = (statistics.median(x[0] for x in v) for v in (ours, floor))
    so, sf = (statistics.median(x[1] for x in v) for v in (ours, floor))
    gz = lambda p: len(gzip.compress(p.read_bytes(), 9)) / 1024  # noqa: E731
    return [f"Cold start, {COLD_REPS} fresh `wrangler dev` starts each, alternating; first request = from the "
            "port accepting a TCP connect to the end of the first response:",
            "",
            "| Worker | first request, median | (each) | spawn to first response, median | wasm gzip |",
            "|---|---:|---|---:|---:|",
            f"| ours, GET /health | {mo:.0f} ms | {', '.join(f'{x[0]:.0f}' for x in ours)} | {so / 1000:.1f} s | "
            f"{gz(ROOT / 'build' / 'index_bg.wasm'):.0f} KiB |",
            f"| floor, GET / | {mf:.0f} ms | {', '.join(f'{x[0]:.0f}' for x in floor)} | {sf / 1000:.1f} s | "
            f"{gz(FLOOR_WASM):.0f} KiB |",
            f"| ours / floor | {mo / mf:.2f}x | | {so / sf:.2f}x | |"]
