"""`make deploy` refuses to deploy a Worker whose emailed links would have no configured origin:
`wrangler.toml`'s `[vars]` must hold `PUBLIC_URL` or `APP_URL` with an https origin."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "wrangler.toml").read_text()


def deploy_vars(tmp_path: Path, toml: str) -> subprocess.CompletedProcess:
    (tmp_path / "wrangler.toml").write_text(toml)
    return subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "deploy-vars"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)


def with_var(line: str) -> str:
    return SHIPPED.replace("[vars]\n", f"[vars]\n{line}\n", 1)


def test_the_shipped_configuration_is_refused_until_an_origin_is_set(tmp_path):
    r = deploy_vars(tmp_path, SHIPPED)
    assert r.returncode != 0
    assert "PUBLIC_URL" in r.stderr and "APP_URL" in r.stderr


@pytest.mark.parametrize("line", ['PUBLIC_URL = "https://auth.example.com"',
                                  'APP_URL = "https://app.example.com"'])
def test_an_https_origin_under_vars_lets_it_deploy(tmp_path, line):
    assert deploy_vars(tmp_path, with_var(line)).returncode == 0


@pytest.mark.parametrize("toml", [
    with_var('PUBLIC_URL = "http://auth.example.com"'),
    with_var('PUBLIC_URL = ""'),
    with_var('# PUBLIC_URL = "https://auth.example.com"'),
    SHIPPED + '\n[env.staging.vars]\nPUBLIC_URL = "https://auth.example.com"\n',
])
def test_plain_http_an_empty_or_commented_value_or_another_section_is_refused(tmp_path, toml):
    assert deploy_vars(tmp_path, toml).returncode != 0
