"""The OpenAPI document stays true: schemathesis generates requests from /openapi.json and runs
every check (no 5xx, statuses, content types, headers and bodies as declared, invalid data
rejected, valid data accepted, undeclared methods refused) against the live Worker on workerd."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SigningKey, start_worker, stop

HERE = Path(__file__).resolve().parent
# `make test` runs a bounded number of examples per operation; `make fuzz` raises it.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))


def test_generated_requests_match_the_openapi_document(e2e_dir):
    # Cheap hashing so that thousands of generated registrations and logins finish quickly; the
    # code paths are the same as with 600,000 iterations. The admin API is on, as the document
    # describes it (without a key every `/admin` path is a bare 404).
    w = start_worker(e2e_dir / "schemathesis", SigningKey("e2e-schema"),
                     extra_vars={"PBKDF2_ITERATIONS": "1000", "RATE_LIMIT_BY_IP": "false",
                                 "ADMIN_API_KEY": "e2e-schemathesis-admin-key-0123456789"})
    try:
        # One schemathesis worker: with two threads, hypothesis's lambda descriptions call
        # `ast.parse` concurrently, which CPython 3.11 can fail with "AST constructor recursion
        # depth mismatch", an error of the tool rather than a finding.
        out = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"),
             "--config-file", str(HERE / "schemathesis.toml"),
             "run", f"{w.base}/openapi.json", "--checks", "all",
             "--max-examples", str(MAX_EXAMPLES), "--workers", "1", "--seed", "20261126"],
            cwd=ROOT, capture_output=True, text=True, timeout=1200,
            env={**os.environ, "NO_COLOR": "1"},
        )
    finally:
        stop(w.proc)
    summary = re.search(r"(\d+) generated.*", out.stdout)
    print(summary.group(0) if summary else out.stdout[-2000:])
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert summary and int(summary.group(1)) > 0
