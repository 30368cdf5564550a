"""Static files in the Worker's bundle vs Workers Static Assets (docs/static-files.md):
`BENCH_ONLY=assets`."""
from __future__ import annotations

import gzip
import json
import os
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

# measure first: importing it puts tests/e2e (client, conftest) on sys.path.
from measure import PROD_VARS, ROOT, timed_call
from client import request
from conftest import (WRANGLER, SigningKey, apply_migrations, production_config, start_worker, stop,
                      wrangler_env)
from cold_start import cold_start_ms


ASSETS_COLD_REPS = 9     # fresh starts per variant and path: single starts scatter by 2x here
ASSETS_WARM = 400        # sequential requests per variant and path, the variants alternating


def assets_config(into: Path) -> str:
    """The production `wrangler.toml` serving the static files as Workers Static Assets
    (`make worker`'s build/assets/, with its `_headers`) and the entry module without them
    (build/assets-worker/). `run_worker_first` sends every path but the files' straight to the
    Worker, so the asset Worker is never asked about an API request."""
    files = [line for line in (ROOT / "build" / "assets" / "_headers").read_text().splitlines()
             if line.startswith("/")]
    config = production_config(into, "assets-config", [
        (f'main = "{ROOT / "build" / "entry.mjs"}"', f'main = "{ROOT / "build" / "assets-worker" / "entry.mjs"}"'),
    ])
    first = ", ".join(['"/*"'] + [f'"!{path}"' for path in files])
    with open(config, "a") as f:
        f.write(f'\n[assets]\ndirectory = "{ROOT / "build" / "assets"}"\nrun_worker_first = [{first}]\n')
    return config


# The headers each variant makes itself: the ETag (the bundle's SHA-256, the asset Worker's
# manifest hash), the request id (the entry module's), the asset Worker's cache status, framing.
OWN_HEADERS = {"etag", "x-request-id", "cf-cache-status", "date", "content-length", "transfer-encoding",
               "connection", "keep-alive"}


def same_static_files(bundle, assets) -> None:
    """Every path of build/assets/_headers (the files and /docs's page) answers 200 with the same
    bytes and the same headers from both variants, but for OWN_HEADERS: the table compares the
    same responses."""
    for line in (ROOT / "build" / "assets" / "_headers").read_text().splitlines():
        if not line.startswith("/"):
            continue
        b, a = request(bundle.base, "GET", line), request(assets.base, "GET", line)
        assert b.status == a.status == 200 and b.body == a.body, (line, b.status, a.status)
        kept = [{k: v for k, v in r.headers.items() if k not in OWN_HEADERS} for r in (b, a)]
        assert kept[0] == kept[1], (line, kept)


def group_cpu_ms(pgid: int) -> float:
    """CPU time (user + system) spent so far by the processes of one process group: a `wrangler
    dev` started in a session of its own, i.e. its Node processes, esbuild and both workerd
    processes."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total * 1000 / os.sysconf("SC_CLK_TCK")


def deploy_bundle_kib(config_args: list[str], outdir: Path) -> tuple[float, float]:
    """`wrangler deploy --dry-run --outdir`: the Worker bundle's (raw, gzip) KiB as wrangler
    reports them (static assets are uploaded apart and are not in it)."""
    run = subprocess.run([WRANGLER, "deploy", "--dry-run", *config_args, "--outdir", str(outdir)],
                         cwd=ROOT, env=wrangler_env(), capture_output=True, text=True, timeout=300)
    found = re.search(r"Total Upload: ([0-9.]+) KiB / gzip: ([0-9.]+) KiB", run.stdout + run.stderr)
    if run.returncode != 0 or not found:
        raise RuntimeError(f"wrangler deploy --dry-run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return float(found[1]), float(found[2])


def assets_table(tmp: Path) -> list[str]:
    """The static files in the Worker's bundle (today's build) against Workers Static Assets, in
    one run: cold starts to the first GET /health and the first GET /docs (ASSETS_COLD_REPS fresh
    `wrangler dev` starts each, alternating which goes first), the warm p50 of both paths
    (sequential requests, the variants taking turns request by request, so that the machine's
    other load falls on both alike) and the deploy bundle's size."""
    tmp.mkdir(parents=True, exist_ok=True)
    variants = {"bundle": [], "assets": ["-c", assets_config(tmp)]}
    sizes = {name: deploy_bundle_kib(args, tmp / f"dry-run-{name}") for name, args in variants.items()}

    env_file = tmp / "dev.vars"
    env_file.write_text(f"JWT_SIGNING_KEYS='{json.dumps([SigningKey('bench-assets').jwk()])}'\n"
                        + "".join(f"{k}={v}\n" for k, v in PROD_VARS.items()))
    for name, args in variants.items():
        apply_migrations(tmp / f"state-{name}", args)
    paths = ("/health", "/docs")
    cold = {(name, path): [] for name in variants for path in paths}
    order = list(variants)
    for rep in range(ASSETS_COLD_REPS):
        for path in paths:
            for name in (order if rep % 2 == 0 else order[::-1]):
                cold[name, path].append(cold_start_ms(variants[name], tmp / f"state-{name}", env_file, path,
                                                      tmp / "cold.log"))

    warm = {(name, path): [] for name in variants for path in paths}
    cpu = {}
    workers = {name: start_worker(tmp / f"warm-{name}", SigningKey("bench-assets"), extra_vars=PROD_VARS,
                                  config=args[1] if args else None, ready="/health")
               for name, args in variants.items()}
    try:
        for w in workers.values():
            for path in paths:
                for _ in range(30):
                    assert request(w.base, "GET", path).status == 200
        for path in paths:
            before = {name: group_cpu_ms(w.proc.pid) for name, w in workers.items()}
            for i in range(ASSETS_WARM):
                for name in (order if i % 2 == 0 else order[::-1]):
                    r, ms = timed_call(lambda: request(workers[name].base, "GET", path))
                    warm[name, path].append(ms)
                    assert r.status == 200, (name, path, r.status)
            for name, w in workers.items():
                cpu[name, path] = (group_cpu_ms(w.proc.pid) - before[name]) / ASSETS_WARM
        same_static_files(workers["bundle"], workers["assets"])
    finally:
        for w in workers.values():
            stop(w.proc)

    assets_dir = ROOT / "build" / "assets"
    files = [p for p in assets_dir.rglob("*") if p.is_file() and p.name != "_headers"]
    raw = sum(p.stat().st_size for p in files) / 1024
    gz = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files) / 1024

    def row(label: str, b: float, a: float, unit: str, each: tuple[list, list] | None = None) -> str:
        digits = 0 if unit == "ms" else 1
        cells = [f"{v:.{digits}f} {unit}" for v in (b, a)]
        if each:
            cells = [f"{c} ({', '.join(f'{x:.0f}' for x in xs)})" for c, xs in zip(cells, each)]
        return f"| {label} | {cells[0]} | {cells[1]} | {a / b:.2f}x |"

    out = [f"Static files: in the Worker's bundle (today) vs Workers Static Assets, one run. Cold start: "
           f"{ASSETS_COLD_REPS} fresh `wrangler dev` starts per variant and path, alternating; from the port accepting "
           "a TCP connect to the end of the first response; medians (each). Warm: "
           f"{ASSETS_WARM} sequential requests per variant and path, the variants taking turns; their "
           "CPU time is that of the Node and workerd processes of each `wrangler dev`, per request.",
           "",
           "| measure | bundle | assets | assets / bundle |",
           "|---|---:|---:|---:|"]
    for path in paths:
        b, a = cold["bundle", path], cold["assets", path]
        out.append(row(f"cold start, first GET {path}", statistics.median(x[0] for x in b),
                       statistics.median(x[0] for x in a), "ms", ([x[0] for x in b], [x[0] for x in a])))
        out.append(row(f"spawn to first GET {path}", statistics.median(x[1] for x in b) / 1000,
                       statistics.median(x[1] for x in a) / 1000, "s"))
    for path in paths:
        out.append(f"| warm p50, GET {path} | {statistics.median(warm['bundle', path]):.2f} ms | "
                   f"{statistics.median(warm['assets', path]):.2f} ms | "
                   f"{statistics.median(warm['assets', path]) / statistics.median(warm['bundle', path]):.2f}x |")
    for path in paths:
        out.append(f"| CPU per warm GET {path}, all of `wrangler dev` | {cpu['bundle', path]:.2f} ms | "
                   f"{cpu['assets', path]:.2f} ms | {cpu['assets', path] / cpu['bundle', path]:.2f}x |")
    out.append(row("deploy bundle, gzip", sizes["bundle"][1], sizes["assets"][1], "KiB"))
    out.append(row("deploy bundle, raw", sizes["bundle"][0], sizes["assets"][0], "KiB"))
    out.append(f"| static assets uploaded apart | | {raw:.0f} KiB raw, {gz:.0f} KiB gzip ({len(files)} files) | |")
    return out


def assets_only() -> None:
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        print("\n".join(assets_table(Path(tmp))))
