"""The tail pair on the hashing floor (tests/bench/floor built with its `hash` feature), and
`BENCH_ONLY=slices`: that pair at each slice size."""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

# measure first: importing it puts tests/e2e (client, conftest) on sys.path.
from measure import FLOOR_HASH_CONFIG, ROOT, load, refusals, two_clients
from client import request
from conftest import SigningKey, start_worker, stop


def floor_hash_pair(floor_hash, slice_: int | None = None) -> dict:
    """The tail pair on the hashing floor, measured as ours is: `GET /` alone and while two
    clients hash back to back (`GET /hash`, the logins' PBKDF2 with nothing around it), and the
    two clients' p50 alone and beside those reads."""
    root = f"{floor_hash.base}/"
    path = "/hash" if slice_ is None else f"/hash?slice={slice_}"
    call = lambda: request(floor_hash.base, "GET", path).status  # noqa: E731
    for _ in range(3):  # warm, as our logins are by the phases before theirs
        call()
    load(root, 300, 4)
    alone = load(root, 2000, 4)
    hashes_alone, refused_alone, _ = two_clients(call, lambda: time.sleep(8), warmup_s=0)
    hashes_busy, refused_busy, busy = two_clients(call, lambda: load(root, 2000, 4))
    return {"alone": alone, "busy": busy, "hash_alone": statistics.median(hashes_alone),
            "hash_busy": statistics.median(hashes_busy), "n_alone": len(hashes_alone),
            "n_busy": len(hashes_busy), "refused_alone": refused_alone, "refused_busy": refused_busy}


def floor_hash_rows(fh: dict) -> list[tuple[str, str]]:
    a, b = fh["alone"], fh["busy"]
    return [
        ("the hashing floor: GET / p99 alone / while 2 clients hash",
         f"{a['p99_ms']:.1f} ms / {b['p99_ms']:.1f} ms (p50 {b['p50_ms']:.1f} ms, {b['rps']:.0f} req/s, "
         f"{b['errors']} errors) = {b['p99_ms'] / a['p99_ms']:.2f}x"),
        ("the hashing floor: 2 clients' /hash p50 alone / beside the reads",
         f"{fh['hash_alone']:.0f} ms ({fh['n_alone']}{refusals(fh['refused_alone'])}) / "
         f"{fh['hash_busy']:.0f} ms ({fh['n_busy']}{refusals(fh['refused_busy'])}) "
         f"= {fh['hash_busy'] / fh['hash_alone']:.2f}x"),
    ]


SLICE_ROUNDS = 2


def slices_only() -> None:
    """`BENCH_ONLY=slices`: the hashing floor's tail pair at each slice size (`BENCH_SLICES`), in
    SLICE_ROUNDS rounds, each in the other order: the trade between the two tail goals that any
    Worker with this hashing and this read load makes here, with nothing of ours in it."""
    slices = [int(x) for x in os.environ.get("BENCH_SLICES", "25000,35000,45000,60000").split(",")]
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        floor_hash = start_worker(Path(tmp) / "floor-hash", SigningKey("bench"), config=str(FLOOR_HASH_CONFIG),
                                  migrate=False)
        try:
            print("| slice | reads' p99 alone -> under hashes | p99 ratio | hash p50 alone -> beside reads | ratio |")
            print("|---:|---|---:|---|---:|")
            for r in range(SLICE_ROUNDS):
                for slice_ in slices if r % 2 == 0 else slices[::-1]:
                    fh = floor_hash_pair(floor_hash, slice_)
                    a, b = fh["alone"], fh["busy"]
                    print(f"| {slice_:,} | {a['p99_ms']:.1f} -> {b['p99_ms']:.1f} ms ({b['rps']:.0f} req/s) | "
                          f"{b['p99_ms'] / a['p99_ms']:.2f}x | {fh['hash_alone']:.0f} -> {fh['hash_busy']:.0f} ms | "
                          f"{fh['hash_busy'] / fh['hash_alone']:.2f}x |", flush=True)
        finally:
            stop(floor_hash.proc)
