"""The harness's own promises: the ports it hands `wrangler dev` cannot be taken by the kernel in
the meantime, and a start that loses its port anyway is made again on other ports."""
from __future__ import annotations

import os
import socket
import urllib.request
from pathlib import Path

import conftest
from conftest import SigningKey, start_worker, stop


def test_ports_come_from_below_the_kernels_range_in_this_processs_own_slice():
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    slices = [conftest.port_slice(w) for w in ("", "gw0", "gw1")]
    assert all(s.stop <= low for s in slices), (slices, low)
    every = [p for s in slices for p in s]
    assert len(set(every)) == len(every), "the slices overlap"
    ports = [conftest.free_port() for _ in range(50)]
    assert set(ports) <= set(conftest.port_slice(os.environ.get("PYTEST_XDIST_WORKER", "")))
    assert len(set(ports)) == 50


def test_a_start_whose_port_was_taken_before_wrangler_bound_it_starts_again_elsewhere(
        e2e_dir, monkeypatch):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    taken_port = taken.getsockname()[1]
    handed = iter([taken_port])
    real = conftest.free_port
    monkeypatch.setattr(conftest, "free_port", lambda: next(handed, None) or real())
    try:
        w = start_worker(e2e_dir / "port-taken", SigningKey(kid="e2e-port-taken"))
    finally:
        taken.close()
    try:
        assert w.base != f"http://127.0.0.1:{taken_port}"
        with urllib.request.urlopen(w.base + "/health", timeout=10) as r:
            assert r.status == 200
    finally:
        stop(w.proc)
