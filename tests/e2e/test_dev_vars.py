"""`make dev`'s `.dev.vars` (scripts/gen-dev-key.mjs): a fresh signing key and
`PUBLIC_URL=http://127.0.0.1:8787`, each written only when the file lacks it."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fill(path: Path) -> None:
    subprocess.run(["node", str(ROOT / "scripts" / "gen-dev-key.mjs"), str(path)], check=True,
                   capture_output=True, timeout=60)


def test_a_new_file_gets_a_key_and_the_local_origin_once(tmp_path):
    f = tmp_path / ".dev.vars"
    fill(f)
    first = f.read_text()
    lines = first.splitlines()
    assert [l.split("=", 1)[0] for l in lines] == ["JWT_SIGNING_KEYS", "PUBLIC_URL"]
    assert lines[1] == "PUBLIC_URL=http://127.0.0.1:8787"
    keys = json.loads(lines[0].split("=", 1)[1].strip("'"))
    assert len(keys) == 1 and keys[0]["kty"] == "OKP" and keys[0]["d"] and keys[0]["x"]
    assert f.stat().st_mode & 0o777 == 0o600
    fill(f)
    assert f.read_text() == first


def test_values_already_there_are_kept(tmp_path):
    f = tmp_path / ".dev.vars"
    f.write_text("PUBLIC_URL=http://localhost:9999")  # no final newline
    fill(f)
    lines = f.read_text().splitlines()
    assert lines[0] == "PUBLIC_URL=http://localhost:9999"
    assert [l.split("=", 1)[0] for l in lines] == ["PUBLIC_URL", "JWT_SIGNING_KEYS"]
