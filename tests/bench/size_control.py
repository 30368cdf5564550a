"""`BENCH_ONLY=size`: what each group of v3 endpoints weighs in the wasm, and the wasm without any
of them, against the 265 KiB gzipped budget.

The checkout (tracked and untracked files, not ignored ones) is copied to target/size-control/
and built there by `make worker`: once as it is, then once per variant. A variant adds a first arm
to `App::run_route` that answers 404 for a group of routes, so the group's handlers, and whatever
only they reach, leave the wasm. What the v3 features put into the endpoints that stay (the
login's `mfa_required` step, `amr`, audit events, disabled accounts, the passkey and MFA settings)
stays in every build. Sizes are `gzip -9c build/index_bg.wasm | wc -c` after `make worker`, the
measure docs/performance.md quotes (Python's zlib at level 9 comes out about 600 bytes smaller). The
first build compiles every crate in the copy (a few minutes); each variant is one crate again.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from measure import ROOT

BUDGET = 265 * 1024
GROUPS = {
    "two-step verification": ["MfaSetup", "MfaConfirm", "MfaVerify", "MfaRecoveryCodes", "MfaDisable"],
    "passkey": ["PasskeyRegisterOptions", "PasskeyRegister", "ListPasskeys", "DeletePasskey",
                 "PasskeyLoginOptions", "PasskeyLogin"],
    "admin API": ["AdminConsole", "AdminListUsers", "AdminGetUser", "AdminUpdateUser",
                       "AdminDeleteUser", "AdminRevokeSessions", "AdminRemoveMfa", "AdminSendReset",
                       "AdminListEvents"],
}
ROUTE_MATCH = "    async fn run_route(&self, route: Route, call: &Call<'_, B>) -> Result<ApiResponse, AppError> {\n        match route {\n"


def copy_checkout(dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    if (dest / "src").exists():
        shutil.rmtree(dest / "src")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    if not (dest / "node_modules").exists():
        (dest / "node_modules").symlink_to(ROOT / "node_modules")


def build(tree: Path, routes: list[str]) -> int:
    """`make worker` in `tree` with `routes` answering 404; the wasm's gzipped size."""
    mod = tree / "src" / "app" / "mod.rs"
    text = (ROOT / "src" / "app" / "mod.rs").read_text()
    if ROUTE_MATCH not in text:
        raise SystemExit("size: App::run_route's match not found in src/app/mod.rs")
    if routes:
        arm = " | ".join(f"Route::{r}" for r in routes)
        text = text.replace(ROUTE_MATCH, f"{ROUTE_MATCH}            {arm} => Err(AppError::NotFound),\n")
    mod.write_text(text)
    run = subprocess.run(["make", "-s", "-o", ".tools/rust", "-o", ".tools/npm", "worker"], cwd=tree,
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"size: make worker failed in {tree}:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
    gz = subprocess.run(["gzip", "-9c", "build/index_bg.wasm"], cwd=tree, capture_output=True, check=True)
    return len(gz.stdout)


def size_only() -> None:
    tree = ROOT / "target" / "size-control"
    tree.mkdir(parents=True, exist_ok=True)
    copy_checkout(tree)
    full = build(tree, [])
    print("| build (`make worker`, gzip -9) | bytes | KiB | the group's weight |")
    print("|---|---:|---:|---:|")
    print(f"| every endpoint | {full:,} | {full / 1024:.1f} | |")
    for name, routes in GROUPS.items():
        size = build(tree, routes)
        print(f"| the {name} endpoints answer 404 | {size:,} | {size / 1024:.1f} | {full - size:,} |")
    bare = build(tree, [r for routes in GROUPS.values() for r in routes])
    print(f"| every v3 endpoint answers 404 | {bare:,} | {bare / 1024:.1f} | {full - bare:,} |")
    print(f"| budget | {BUDGET:,} | {BUDGET / 1024:.1f} | |")
    print(f"\nWithout any v3 endpoint the wasm is {bare - BUDGET:+,} bytes from the budget.")
