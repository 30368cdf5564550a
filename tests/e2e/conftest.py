"""End-to-end harness: the built Worker on workerd (`wrangler dev`), with fresh local D1 and KV.

Each test session gets its own state directory, signing keys and port, so nothing depends on an
earlier run. The server is started here and stopped when the session ends.
"""
from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[2]
WRANGLER = str(ROOT / "node_modules" / ".bin" / "wrangler")
TEST_CONFIG = ROOT / "tests" / "e2e" / "wrangler.test.toml"
NO_KV_CONFIG = ROOT / "tests" / "e2e" / "wrangler.nokv.toml"
CONSUMER_CONFIG = ROOT / "examples" / "consumer" / "wrangler.toml"
TS_CONSUMER_CONFIG = ROOT / "examples" / "ts-consumer" / "wrangler.toml"
START_TIMEOUT_S = 180
START_ATTEMPTS = 3
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    kid: str
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def jwk(self, private: bool = True) -> dict:
        from cryptography.hazmat.primitives import serialization as s

        raw_pub = self.private.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "kid": self.kid, "x": b64url(raw_pub)}
        if private:
            raw = self.private.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
            jwk["d"] = b64url(raw)
        return jwk

    @classmethod
    def from_jwk(cls, jwk: dict) -> "SigningKey":
        d = base64.urlsafe_b64decode(jwk["d"] + "=" * (-len(jwk["d"]) % 4))
        return cls(kid=jwk["kid"], private=Ed25519PrivateKey.from_private_bytes(d))

    def sign(self, header: dict, claims: dict) -> str:
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        return signing_input + "." + b64url(self.private.sign(signing_input.encode()))


PORT_BASE, PORT_SLICE = 10000, 1000


def port_slice(xdist_worker: str) -> range:
    """The ports one pytest process hands out (`xdist_worker`: "" for a run without xdist, else
    "gw0", "gw1", …): 1,000 of their own, below the kernel's ephemeral range (32768 and up by
    default). A port the kernel picks for a bind to port 0 is free only until the next such bind
    or outgoing connection anywhere on the machine (another Worker's workerd starting, for one)
    is handed the same port, and then `wrangler dev` dies with "Address already in use"."""
    start = PORT_BASE + (int(xdist_worker[2:]) + 1 if xdist_worker else 0) * PORT_SLICE
    return range(start, start + PORT_SLICE)


_SLICE = port_slice(os.environ.get("PYTEST_XDIST_WORKER", ""))
# From a random place in the slice: two sessions on one machine seldom meet.
_NEXT = itertools.count(random.randrange(PORT_SLICE))


def free_port() -> int:
    """A port of this process's slice that nothing listens on now."""
    for _ in range(PORT_SLICE):
        port = _SLICE[next(_NEXT) % PORT_SLICE]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {_SLICE}")


def wrangler_env() -> dict:
    env = dict(os.environ)
    env.update({"WRANGLER_SEND_METRICS": "false", "CI": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"})
    return env


@dataclass
class Worker:
    base: str
    state_dir: Path
    log_path: Path
    key: SigningKey
    proc: subprocess.Popen
    config_args: list[str]

    def d1(self, sql: str) -> list[dict]:
        """Runs SQL on the same local D1 the Worker uses (for setup and inspection). The SQLite
        file is shared with the running Worker (whose queue consumer may be writing at that
        moment), so a failed run is retried a few times before the test fails with its output."""
        for attempt in range(5):
            run = subprocess.run(
                [WRANGLER, "d1", "execute", "DB", "--local", *self.config_args, "--persist-to",
                 str(self.state_dir), "--json", "--command", sql],
                cwd=ROOT, env=wrangler_env(), capture_output=True, text=True, timeout=120,
            )
            if run.returncode == 0:
                return json.loads(run.stdout)[0]["results"]
            time.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"wrangler d1 execute failed:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")

    def logs(self) -> list[dict]:
        lines = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            raw = ANSI.sub("", raw)
            start = raw.find("{")
            if start < 0:
                continue
            try:
                obj = json.loads(raw[start:])
            except ValueError:
                continue
            if isinstance(obj, dict) and "event" in obj:
                lines.append(obj)
        return lines

    def lines_when(self, pick, count: int = 1, timeout: float = 15) -> list[dict]:
        """The log lines that `pick` accepts, once there are `count` of them or `timeout`
        seconds have passed (then maybe fewer): wrangler relays the Worker's lines
        asynchronously, so one written before a response may reach the log after the client has
        read that response, and the queue's consumer writes its lines when its batch is done."""
        deadline = time.monotonic() + timeout
        while True:
            found = [l for l in self.logs() if pick(l)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def has_line(self, pick, timeout: float = 15) -> bool:
        """Whether a log line that `pick` accepts appears within `timeout` seconds."""
        return bool(self.lines_when(pick, 1, timeout))


def start_worker(tmp: Path, key: SigningKey, extra_vars: dict | None = None,
                 config: str | None = None, migrate: bool = True,
                 jwks: list[dict] | None = None, configs: list[str] | None = None,
                 ready: str = "/.well-known/jwks.json") -> Worker:
    """Starts `wrangler dev` on a free port. `jwks` overrides the signing-key secret (default:
    `key` alone); `configs` runs several Workers in one session (the first is served); `ready`
    is the path that answers 200 once it is up. The Worker's public origin (`PUBLIC_URL`, where
    the emailed links point) is its own address unless `extra_vars` says otherwise (an empty
    value leaves it unset)."""
    tmp.mkdir(parents=True, exist_ok=True)
    state = tmp / "state"
    env_file = tmp / "dev.vars"
    config_args = ["-c", str(config)] if config else []
    serve_args = [a for c in configs for a in ("-c", str(c))] if configs else config_args
    if migrate:
        apply_migrations(state, config_args)
    log_path = tmp / "wrangler.log"
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        # Its own devtools port too: wrangler's default (9229, or the next free one, chosen when
        # it starts) is taken by whichever of two Workers starting at once binds first.
        inspector_port = free_port()
        base = f"http://127.0.0.1:{port}"
        lines = [f"JWT_SIGNING_KEYS='{json.dumps(jwks or [key.jwk()])}'"]
        lines += [f"{k}={v}" for k, v in {"PUBLIC_URL": base, **(extra_vars or {})}.items()]
        env_file.write_text("\n".join(lines) + "\n")
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [WRANGLER, "dev", *serve_args, "--ip", "127.0.0.1", "--port", str(port),
                 "--persist-to", str(state), "--inspector-port", str(inspector_port),
                 "--env-file", str(env_file), "--show-interactive-dev-session=false", "--test-scheduled"],
                cwd=ROOT, env=wrangler_env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        if wait_until_ready(proc, base + ready, log_path):
            break
        # A port taken between the check and wrangler's bind (by anything else on the machine)
        # is the one early exit another pair of ports mends; any other is reported as it is.
        if "Address already in use" not in log_path.read_text() or attempt == START_ATTEMPTS:
            raise RuntimeError(f"wrangler dev exited early:\n{log_path.read_text()[-4000:]}")
    return Worker(base, state, log_path, key, proc, config_args)


def wait_until_ready(proc: subprocess.Popen, url: str, log_path: Path) -> bool:
    """Whether `wrangler dev` answers 200 at `url` (False: it exited first); raises when it is
    still not healthy after START_TIMEOUT_S."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"wrangler dev did not become healthy:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.5)


def production_config(e2e_dir: Path, name: str, replacements: list[tuple[str, str]]) -> str:
    """The production `wrangler.toml` (the `make worker` build) with `replacements` made, each
    required to match, written under `e2e_dir/name`; its path, for `start_worker(config=…)`."""
    text = (ROOT / "wrangler.toml").read_text()
    for old, new in [
        ('main = "build/entry.mjs"', f'main = "{ROOT / "build" / "entry.mjs"}"'),
        ('migrations_dir = "migrations"', f'migrations_dir = "{ROOT / "migrations"}"'),
        *replacements,
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    config = e2e_dir / name / "wrangler.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)
    return str(config)


def apply_migrations(state: Path, config_args: list[str]) -> None:
    done = subprocess.run(
        [WRANGLER, "d1", "migrations", "apply", "DB", "--local", *config_args, "--persist-to", str(state)],
        cwd=ROOT, env=wrangler_env(), capture_output=True, text=True, timeout=180,
    )
    if done.returncode != 0:
        # wrangler says why on either stream; without it a failed start is a bare exit status.
        raise RuntimeError(f"wrangler d1 migrations apply exited {done.returncode}:\n"
                           f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture(scope="session")
def e2e_dir():
    path = ROOT / ".e2e" / uuid.uuid4().hex[:12]
    path.mkdir(parents=True)
    yield path
    if not os.environ.get("E2E_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def worker(e2e_dir):
    """The production build with the real wrangler.toml, migrated."""
    # A short reuse grace (3 s instead of 10) so the reuse test need not wait long. The whole
    # suite calls it from one IP, far past the per-IP limit: test_email.py proves that limit on
    # a Worker of its own.
    w = start_worker(e2e_dir / "main", SigningKey(kid="e2e-main"),
                     extra_vars={"REFRESH_REUSE_GRACE": "3", "RATE_LIMIT_BY_IP": "false"})
    yield w
    stop(w.proc)


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright, for the browser tiers (one per module)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run the e2e tier through `make test` (`make chromium`)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextlib.contextmanager
def watched_page(browser, width: int, height: int):
    """A fresh page of the browser tiers. A console error (a CSP violation included), an uncaught
    exception or a missing file (but the favicon, which there is none of) fails the test; the
    API's own error answers are checked by the tests themselves."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems: list[str] = []

    def on_console(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def on_response(response):
        if response.status == 404 and not response.url.endswith("/favicon.ico"):
            problems.append(f"404 {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", on_response)
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture(scope="module")
def schemaless_worker(e2e_dir):
    """The test-hooks build whose local D1 has no schema yet: every query fails until the test
    applies the migrations. Breaker: threshold 3, cooldown 3 s (wrangler.test.toml)."""
    w = start_worker(e2e_dir / "schemaless", SigningKey(kid="e2e-faults"), config=TEST_CONFIG,
                     migrate=False)
    yield w
    stop(w.proc)


@pytest.fixture(scope="module")
def no_kv_worker(e2e_dir):
    """The test-hooks build with no KV binding at all: the breaker's store always fails."""
    w = start_worker(e2e_dir / "nokv", SigningKey(kid="e2e-nokv"), config=NO_KV_CONFIG)
    yield w
    stop(w.proc)


def dev_vars_key() -> SigningKey:
    """The signing key in the repository's `.dev.vars`: the one an auth Worker run behind a
    consumer uses (see `consumer`), so that tests can mint its tokens."""
    path = ROOT / ".dev.vars"
    if not path.exists():
        pytest.fail(".dev.vars is missing: run the e2e tier through `make test` (or `make dev-vars`)")
    m = re.search(r"^JWT_SIGNING_KEYS='(.*)'$", path.read_text(), re.M)
    return SigningKey.from_jwk(json.loads(m.group(1))[0])


@pytest.fixture(scope="module")
def consumer(e2e_dir):
    """The example consumer Worker in front, bound to the auth Worker (production build) over a
    service binding, both in one `wrangler dev` session. With several configs, `--env-file`
    reaches only the first Worker: the auth Worker reads its key from the repository's
    git-ignored `.dev.vars`, which `make test-e2e` creates when absent (as `make dev` does)."""
    if not (ROOT / ".dev.vars").exists():
        pytest.fail(".dev.vars is missing: run the e2e tier through `make test` (or `make dev-vars`)")
    w = start_worker(e2e_dir / "consumer", SigningKey(kid="e2e-consumer"),
                     configs=[CONSUMER_CONFIG, ROOT / "wrangler.toml"])
    yield w
    stop(w.proc)


@pytest.fixture(scope="module")
def consumer_degraded(e2e_dir):
    """The Rust consumer in front of an auth Worker whose D1 has no schema: every session lookup
    fails, so `/auth/verify` answers from the signature alone (`revocation_checked: false`).
    The worker's `key` is the auth Worker's, from `.dev.vars`, to mint valid tokens."""
    w = start_worker(e2e_dir / "consumer-degraded", dev_vars_key(),
                     configs=[CONSUMER_CONFIG, ROOT / "wrangler.toml"], migrate=False)
    yield w
    stop(w.proc)


def _require_ts_deps():
    if not (ROOT / "examples" / "ts-consumer" / "node_modules" / "jose").exists():
        pytest.fail("examples/ts-consumer has no node_modules: run the e2e tier through `make test`")


@pytest.fixture(scope="module")
def ts_consumer(e2e_dir):
    """The TypeScript consumer (examples/ts-consumer, bundled by wrangler's esbuild) in front of
    the auth Worker (production build), in one `wrangler dev` session, as `consumer` is. The
    worker's `key` is the auth Worker's signing key, from `.dev.vars`."""
    _require_ts_deps()
    w = start_worker(e2e_dir / "ts-consumer", dev_vars_key(),
                     configs=[TS_CONSUMER_CONFIG, ROOT / "wrangler.toml"])
    yield w
    stop(w.proc)


@pytest.fixture(scope="module")
def ts_consumer_degraded(e2e_dir):
    """The TypeScript consumer in front of an auth Worker whose D1 has no schema (see
    `consumer_degraded`)."""
    _require_ts_deps()
    w = start_worker(e2e_dir / "ts-consumer-degraded", dev_vars_key(),
                     configs=[TS_CONSUMER_CONFIG, ROOT / "wrangler.toml"], migrate=False)
    yield w
    stop(w.proc)
