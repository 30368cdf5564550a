"""`make dev`'s `.dev.vars` (scripts/gen-dev-key.mjs): a fresh signing key, a fresh
`MFA_ENCRYPTION_KEY` and `PUBLIC_URL=http://127.0.0.1:8787`, each written only when the file
lacks it."""
from __future__ import annotations

import base64
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
    assert [l.split("=", 1)[0] for l in lines] == ["JWT_SIGNING_KEYS", "MFA_ENCRYPTION_KEY",
                                                   "PUBLIC_URL"]
    assert lines[2] == "PUBLIC_URL=http://127.0.0.1:8787"
    keys = json.loads(lines[0].split("=", 1)[1].strip("'"))
    assert len(keys) == 1 and keys[0]["kty"] == "OKP" and keys[0]["d"] and keys[0]["x"]
    assert len(mfa_key(first)) == 32
    assert f.stat().st_mode & 0o777 == 0o600
    fill(f)
    assert f.read_text() == first


def mfa_key(text: str) -> bytes:
    """The MFA_ENCRYPTION_KEY of a .dev.vars text, decoded as base64url without padding."""
    [value] = [l.split("=", 1)[1] for l in text.splitlines() if l.startswith("MFA_ENCRYPTION_KEY=")]
    assert "=" not in value and "+" not in value and "/" not in value
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_values_already_there_are_kept(tmp_path):
    f = tmp_path / ".dev.vars"
    f.write_text("PUBLIC_URL=http://localhost:9999")  # no final newline
    fill(f)
    lines = f.read_text().splitlines()
    assert lines[0] == "PUBLIC_URL=http://localhost:9999"
    assert [l.split("=", 1)[0] for l in lines] == ["PUBLIC_URL", "JWT_SIGNING_KEYS",
                                                   "MFA_ENCRYPTION_KEY"]


def test_each_file_gets_its_own_mfa_key_and_an_existing_one_is_kept(tmp_path):
    a, b = tmp_path / "a.vars", tmp_path / "b.vars"
    fill(a)
    fill(b)
    assert mfa_key(a.read_text()) != mfa_key(b.read_text())
    # A file from before two-step verification gets the key added; the rest stays as it was.
    older = "\n".join(l for l in a.read_text().splitlines()
                      if not l.startswith("MFA_ENCRYPTION_KEY=")) + "\n"
    a.write_text(older)
    fill(a)
    assert a.read_text().startswith(older)
    assert len(mfa_key(a.read_text())) == 32
    kept = a.read_text()
    fill(a)
    assert a.read_text() == kept
