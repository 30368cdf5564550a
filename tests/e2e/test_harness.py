"""The harness's own promises: the ports it hands `wrangler dev` cannot be taken by the kernel in
the meantime, and a start that loses its port anyway is made again on other ports."""
from __future__ import annotations

import os
import socket
import urllib.request

import conftest
from conftest import SigningKey, start_worker, stop


def test_ports_come_from_below_the_kernels_range_in_this_workers_own_slice():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) + 1 if worker.startswith("gw") else 0
    low = conftest.PORT_BASE + index * conftest.PORT_SLICE
    ports = [conftest.free_port() for _ in range(50)]
    assert all(low <= p < low + conftest.PORT_SLICE for p in ports), ports
    assert max(ports) < conftest._ephemeral_low()
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
