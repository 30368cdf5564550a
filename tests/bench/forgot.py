"""POST /auth/password/forgot for known vs unknown addresses; `bench.py forgot` alone."""
from __future__ import annotations

import os
import statistics
import uuid

# measure first: importing it puts tests/e2e (client) on sys.path.
from measure import print_prod_rows, timed_call
from client import request


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
        r, ms = timed_call(lambda: request(prod.base, "POST", "/auth/password/forgot", json={"email": address}))
        if into is not None:
            into.append(ms)
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
    print_prod_rows(lambda prod: forgot_rows(prod, FORGOT_ONLY_SAMPLES))
