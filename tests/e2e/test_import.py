"""`make import` end to end: sources made by the real Python libraries, imported into the local D1
of the running Worker, then every original password logs in over HTTP.

- fastapi-users' own SQLAlchemy `user` table, its users created through its `UserManager` with
  pwdlib's Argon2id (default parameters) and bcrypt (default cost 12);
- a FastAPI-service `users` table (integer ids) hashed by passlib's bcrypt;
- Django-format JSON Lines (`pbkdf2_sha256$…`, Django's algorithm through hashlib).

Few users on purpose: bcrypt and Argon2id run in wasm, ~0.5–1 s each. Nothing here asserts a time.
"""
from __future__ import annotations

import asyncio
import base64
import csv
import hashlib
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from client import request
from conftest import ROOT, WRANGLER, SigningKey, apply_migrations, start_worker, stop, wrangler_env

SUMMARY_PREFIX = "read "
# What verifying a bcrypt-13 hash costs in the work model: 2^13 rounds of 178 PBKDF2 iterations
# each (src/password/legacy/, BCRYPT_ITERATIONS_PER_ROUND).
BCRYPT_13_WORK = 8192 * 178
IMPORTER = ROOT / "target" / "debug" / "import"


@pytest.fixture(scope="module")
def worker(e2e_dir):
    """The production build with the real wrangler.toml, migrated, for these tests alone: an
    import records its costliest hash in the database it goes into, and every failed login
    there is padded to it, which the other modules' tests (which count each failure's
    iterations) must not see."""
    w = start_worker(e2e_dir / "import", SigningKey(kid="e2e-import"),
                     extra_vars={"RATE_LIMIT_BY_IP": "false"})
    yield w
    stop(w.proc)


def importer(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The import binary itself (as `make import` runs it, without its migrations step)."""
    subprocess.run(["cargo", "build", "--quiet", "--bin", "import"], cwd=ROOT, check=True, timeout=900)
    return subprocess.run([str(IMPORTER), *args], cwd=ROOT, env={**wrangler_env(), **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def d1_at(state: Path, sql: str) -> list[dict]:
    """Runs SQL with `wrangler d1 execute --local` on the local D1 kept in `state`."""
    run = subprocess.run([WRANGLER, "d1", "execute", "DB", "--local", "--persist-to", str(state), "--json",
                          "--command", sql], cwd=ROOT, env=wrangler_env(), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads(run.stdout)[0]["results"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_import(worker, src: Path) -> list[str]:
    """`make import` into the running Worker's local D1; returns the printed lines."""
    out = subprocess.run(
        ["make", "-s", "import", f"SRC={src}", f"WRANGLER_ARGS=--persist-to {worker.state_dir}"],
        cwd=ROOT, env=wrangler_env(), capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith(SUMMARY_PREFIX), lines
    return lines


def summary(lines: list[str]) -> dict[str, int]:
    parts = dict(p.rsplit(" ", 1) for p in lines[-1].split(", "))
    return {k: int(v) for k, v in parts.items()}


def refusals(lines: list[str]) -> dict[int, str]:
    out = {}
    for line in lines:
        if line.startswith("refused row "):
            head, reason = line[len("refused row "):].split(": ", 1)
            out[int(head)] = reason
    return out


def login(worker, email: str, password: str):
    return request(worker.base, "POST", "/auth/login", json={"email": email, "password": password})


def stored(worker, email: str) -> dict:
    rows = worker.d1(f"SELECT id, password_hash, email_verified, created_at FROM users WHERE email = '{email}'")
    assert len(rows) == 1, rows
    return rows[0]


def rehashed_from(worker, user_id: str) -> list[str]:
    time.sleep(0.5)  # wrangler relays the Worker's log lines asynchronously
    return [l.get("from") for l in worker.logs()
            if l["event"] == "password_rehashed" and l.get("user_id") == user_id]


def assert_migrates(worker, email: str, password: str, algorithm: str, prefix: str) -> str:
    """Wrong password refused (hash untouched), right one logs in and the hash becomes ours."""
    before = stored(worker, email)
    assert before["password_hash"].startswith(prefix), before
    r = login(worker, email, password + "!")
    assert r.status == 401 and r.json()["code"] == "invalid_credentials", r.body
    assert stored(worker, email)["password_hash"] == before["password_hash"]
    r = login(worker, email, password)
    assert r.status == 200, r.body
    after = stored(worker, email)
    assert after["password_hash"].startswith("$pbkdf2-sha256$i=600000,l=32$"), after
    assert rehashed_from(worker, after["id"]) == [algorithm]
    # The new hash works, and the old password is still the password.
    assert login(worker, email, password).status == 200
    return after["id"]


# ---- fastapi-users, built by fastapi-users itself ---------------------------------------------

def build_fastapi_users_db(path: Path, users: list[tuple]) -> dict[str, str]:
    """Creates fastapi-users' SQLAlchemy `user` table and its users through its UserManager;
    returns email -> id (UUID) as fastapi-users stored them."""
    from fastapi_users import BaseUserManager, UUIDIDMixin, schemas
    from fastapi_users.password import PasswordHelper
    from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
    from pwdlib import PasswordHash
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        pass

    class User(SQLAlchemyBaseUserTableUUID, Base):
        pass

    class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        reset_password_token_secret = "unused"
        verification_token_secret = "unused"

    async def build() -> dict[str, str]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        ids = {}
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            db = SQLAlchemyUserDatabase(session, User)
            for email, password, hasher, verified, active in users:
                manager = UserManager(db, PasswordHelper(PasswordHash((hasher,))))
                user = await manager.create(
                    schemas.BaseUserCreate(email=email, password=password, is_verified=verified,
                                           is_active=active),
                    safe=False,
                )
                ids[email] = str(user.id)
        await engine.dispose()
        return ids

    return asyncio.run(build())


def test_fastapi_users_database_moves_in(worker, tmp_path):
    from pwdlib.hashers.argon2 import Argon2Hasher
    from pwdlib.hashers.bcrypt import BcryptHasher

    tag = uuid.uuid4().hex[:6]
    argon, bcrypt_ = Argon2Hasher(), BcryptHasher()  # pwdlib's defaults: m=65536,t=3,p=4; cost 12
    users = [
        (f"argon-{tag}@example.com", "Argon2 pass phrase", argon, True, True),
        (f"bcrypt-{tag}@example.com", "bcrypt pass phrase", bcrypt_, False, True),
        (f"gone-{tag}@example.com", "inactive pass phrase", bcrypt_, True, False),
    ]
    src = tmp_path / "fastapi_users.db"
    ids = build_fastapi_users_db(src, users)
    rows = sqlite3.connect(src).execute('SELECT email, hashed_password FROM "user" ORDER BY rowid').fetchall()
    assert rows[0][1].startswith("$argon2id$v=19$m=65536,t=3,p=4$"), rows[0]
    assert rows[1][1].startswith("$2b$12$"), rows[1]

    lines = run_import(worker, src)
    assert summary(lines) == {"read": 3, "imported": 2, "already present": 0, "refused": 1}, lines
    assert refusals(lines) == {3: "inactive account"}
    # bcrypt cost 12 is the slower of the two in wasm (README): the floor to set is its cost.
    assert any(l.startswith("slowest hash imported: bcrypt (row 2)") for l in lines), lines

    argon_email, bcrypt_email = users[0][0], users[1][0]
    # UUIDs kept (so `sub` of old tokens names the same user), is_verified carried over.
    assert stored(worker, argon_email)["id"] == ids[argon_email]
    assert stored(worker, argon_email)["email_verified"] == 1
    assert stored(worker, bcrypt_email)["email_verified"] == 0
    assert not (tmp_path / "fastapi_users.db.id-map.csv").exists()  # every id was a UUID
    assert not (tmp_path / "fastapi_users.db.d1-sql").exists()  # SQL files hold hashes: removed

    uid = assert_migrates(worker, argon_email, "Argon2 pass phrase", "argon2id", "$argon2id$")
    assert uid == ids[argon_email]
    assert_migrates(worker, bcrypt_email, "bcrypt pass phrase", "bcrypt", "$2b$12$")
    r = login(worker, users[2][0], "inactive pass phrase")
    assert r.status == 401 and r.json()["code"] == "invalid_credentials"

    again = run_import(worker, src)
    assert summary(again) == {"read": 3, "imported": 0, "already present": 2, "refused": 1}, again
    # Re-running did not bring the old hash back.
    assert stored(worker, argon_email)["password_hash"].startswith("$pbkdf2-sha256$")


# ---- the FastAPI service's `users` table, passlib bcrypt --------------------------------------

def test_fastapi_service_users_table_moves_in(worker, tmp_path):
    from passlib.context import CryptContext

    ctx = CryptContext(schemes=["bcrypt"], deprecated="auto")  # as the FastAPI tutorial does
    tag = uuid.uuid4().hex[:6]
    src = tmp_path / "app.db"
    db = sqlite3.connect(src)
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR UNIQUE, "
               "hashed_password VARCHAR, is_active BOOLEAN, created_at DATETIME)")
    rows = [
        (1, f"Carol-{tag}@Example.com", ctx.hash("carol's password"), 1, "2023-04-05 06:07:08.123456"),
        (2, "not an email", ctx.hash("whatever password"), 1, None),
        (3, f"dave-{tag}@example.com", "$2b$31$" + ctx.hash("x")[7:], 1, None),  # cost 31: refused
        (4, f"erin-{tag}@example.com", "plain text password", 1, None),
        (5, f"dup-{tag}@example.com", ctx.hash("first password"), 1, None),
        (6, f"DUP-{tag}@example.com", ctx.hash("second password"), 1, None),
    ]
    db.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()

    lines = run_import(worker, src)
    assert summary(lines) == {"read": 6, "imported": 1, "already present": 0, "refused": 5}, lines
    why = refusals(lines)
    assert why[2].startswith("invalid email"), why
    assert why[3] == "unsupported or out-of-bounds hash: bcrypt cost out of bounds", why
    assert why[4].startswith("unsupported or out-of-bounds hash"), why
    assert why[5] == "duplicate email (also rows 6)" and why[6] == "duplicate email (also rows 5)", why

    email = f"carol-{tag}@example.com"  # normalized as at registration
    row = stored(worker, email)
    assert row["created_at"] == "2023-04-05T06:07:08.123Z"
    mapping = (tmp_path / "app.db.id-map.csv").read_text().splitlines()
    assert mapping == ["old_id,new_id", f"1,{row['id']}"], mapping
    assert_migrates(worker, email, "carol's password", "bcrypt", "$2b$12$")

    again = run_import(worker, src)
    assert summary(again) == {"read": 6, "imported": 0, "already present": 1, "refused": 5}, again
    assert (tmp_path / "app.db.id-map.csv").read_text().splitlines() == mapping


# ---- Django-format JSON Lines -----------------------------------------------------------------

def django_hash(password: str, iterations: int) -> str:
    """Django's PBKDF2PasswordHasher.encode, through hashlib as Django itself does."""
    salt = base64.b64encode(os.urandom(16)).decode()[:22].replace("+", "a").replace("/", "b")
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(dk).decode()}"


def test_django_json_lines_move_in(worker, tmp_path):
    tag = uuid.uuid4().hex[:6]
    kept_id = str(uuid.uuid4())
    lines_in = [
        {"email": f"frank-{tag}@example.com", "password_hash": django_hash("frank's password", 1_000_000),
         "id": kept_id, "email_verified": True, "created_at": "2022-02-03T04:05:06+01:00"},
        {"email": f"grace-{tag}@example.com", "password_hash": django_hash("grace's password", 600_000),
         "id": 991},
        {"email": f"heidi-{tag}@example.com", "password_hash": django_hash("x", 20_000_000)},
        {"email": f"ivan-{tag}@example.com",
         "password_hash": "$argon2id$v=19$m=1048576,t=3,p=4$c2FsdHNhbHRzYWx0$" + "A" * 43},
        {"email": f"judy-{tag}@example.com", "password_hash": django_hash("judy's password", 1000),
         "email_verified": "yes"},
    ]
    src = tmp_path / "django.jsonl"
    src.write_text("\n".join(json.dumps(l) for l in lines_in) + "\nnot json\n")

    lines = run_import(worker, src)
    assert summary(lines) == {"read": 6, "imported": 2, "already present": 0, "refused": 4}, lines
    why = refusals(lines)
    assert why == {
        3: "unsupported or out-of-bounds hash: iterations out of bounds",
        4: "unsupported or out-of-bounds hash: argon2 parameters out of bounds",
        5: 'unreadable row: "email_verified" is not a boolean',
        6: why.get(6, ""),
    }, why
    assert why[6].startswith("unreadable row: not JSON"), why

    frank = stored(worker, f"frank-{tag}@example.com")
    assert frank["id"] == kept_id and frank["email_verified"] == 1
    assert frank["created_at"] == "2022-02-03T03:05:06.000Z"
    assert_migrates(worker, f"frank-{tag}@example.com", "frank's password", "django-pbkdf2-sha256",
                    "pbkdf2_sha256$1000000$")
    assert_migrates(worker, f"grace-{tag}@example.com", "grace's password", "django-pbkdf2-sha256",
                    "pbkdf2_sha256$600000$")

    again = run_import(worker, src)
    assert summary(again) == {"read": 6, "imported": 0, "already present": 2, "refused": 4}, again


def test_an_account_deleted_here_stays_deleted_when_the_import_runs_again(worker, tmp_path):
    tag = uuid.uuid4().hex[:6]
    kept_id = str(uuid.uuid4())
    people = [  # (email, password, source id): a UUID kept as is, an integer mapped to a new UUID
        (f"kate-{tag}@example.com", "kate's password", kept_id),
        (f"liam-{tag}@example.com", "liam's password", 4242),
        (f"mona-{tag}@example.com", "mona's password", 4243),
    ]
    src = tmp_path / "users.jsonl"
    src.write_text("\n".join(json.dumps({"email": e, "password_hash": django_hash(p, 1000), "id": i})
                             for e, p, i in people) + "\n")
    assert summary(run_import(worker, src)) == {"read": 3, "imported": 3, "already present": 0, "refused": 0}
    ids = {e: stored(worker, e)["id"] for e, _, _ in people}
    assert ids[people[0][0]] == kept_id

    # Kate and Liam delete their accounts over HTTP; Mona keeps hers.
    for email, password, _ in people[:2]:
        r = login(worker, email, password)
        assert r.status == 200, r.body
        r = request(worker.base, "DELETE", "/auth/me", json={"password": password},
                    headers={"Authorization": f"Bearer {r.json()['access_token']}"})
        assert r.status == 204, r.body
    # The worker's D1 is shared with the other tests (their deletions are there too): only these three.
    ours = ", ".join(f"'{i}'" for i in ids.values())
    remembered = worker.d1(f"SELECT id FROM deleted_users WHERE id IN ({ours})")
    assert sorted(r["id"] for r in remembered) == sorted(ids[e] for e, _, _ in people[:2]), remembered

    # The same source again (Liam's integer id maps to the same UUID through the id map): no row
    # comes back, and Mona's account is untouched.
    assert summary(run_import(worker, src)) == {"read": 3, "imported": 0, "already present": 3, "refused": 0}
    for email, password, _ in people[:2]:
        assert worker.d1(f"SELECT id FROM users WHERE email = '{email}'") == []
        r = login(worker, email, password)
        assert r.status == 401 and r.json()["code"] == "invalid_credentials", r.body
    assert stored(worker, people[2][0])["id"] == ids[people[2][0]]
    assert login(worker, people[2][0], people[2][1]).status == 200


# ---- is_active, read strictly -----------------------------------------------------------------

def test_is_active_is_read_strictly_and_a_value_that_says_neither_refuses_the_row(worker, tmp_path):
    import bcrypt

    tag = uuid.uuid4().hex[:6]
    password = "active pass phrase"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()
    src = tmp_path / "app.db"
    db = sqlite3.connect(src)
    # No declared type on is_active: every value stays as written (a BOOLEAN column would store
    # 0.0 as 0), as in a table some other tool filled.
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR, hashed_password VARCHAR, is_active)")
    values = [1, "yes", "T", 0, "no", "N", 0.0, None, "maybe", 2]
    db.executemany("INSERT INTO users VALUES (?, ?, ?, ?)",
                   [(i + 1, f"active{i}-{tag}@example.com", hashed, v) for i, v in enumerate(values)])
    db.commit()
    db.close()

    lines = run_import(worker, src)
    assert summary(lines) == {"read": 10, "imported": 3, "already present": 0, "refused": 7}, lines
    neither = ('unreadable row: "is_active" is {}, not one of 0, 1, true, false, t, f, yes, no, y, n '
               "(in any case)")
    assert refusals(lines) == {
        4: "inactive account",
        5: "inactive account",
        6: "inactive account",
        7: neither.format("the REAL 0.0"),
        8: neither.format("NULL"),
        9: neither.format('the TEXT "maybe"'),
        10: neither.format("the INTEGER 2"),
    }, lines
    for i, v in enumerate(values):
        r = login(worker, f"active{i}-{tag}@example.com", password)
        if i < 3:
            assert r.status == 200, (v, r.body)
        else:
            assert r.status == 401 and r.json()["code"] == "invalid_credentials", (v, r.body)


# ---- the id map: RFC 4180 CSV -----------------------------------------------------------------

def test_ids_with_commas_quotes_and_line_breaks_keep_their_uuids_and_a_deletion_stays(worker, tmp_path):
    tag = uuid.uuid4().hex[:6]
    people = [(f"odd{i}-{tag}@example.com", f"odd password {i}", old)
              for i, old in enumerate(["a,b", 'say "hi"', "two\nlines", "plain"])]
    src = tmp_path / "odd.jsonl"
    src.write_text("".join(json.dumps({"email": e, "password_hash": django_hash(p, 1000), "id": old}) + "\n"
                           for e, p, old in people))
    assert summary(run_import(worker, src)) == {"read": 4, "imported": 4, "already present": 0, "refused": 0}

    # Any CSV reader gets the old ids back exactly, each beside the UUID its account has.
    map_path = tmp_path / "odd.jsonl.id-map.csv"
    written = map_path.read_bytes()
    records = list(csv.reader(io.StringIO(written.decode(), newline="")))
    assert records[0] == ["old_id", "new_id"], records
    mapped = dict(records[1:])
    assert sorted(mapped) == sorted(old for _, _, old in people), records
    for email, _, old in people:
        assert stored(worker, email)["id"] == mapped[old]

    # The account whose old id holds a comma is deleted here; the same source again brings
    # nothing back and maps every old id to the same UUID (no new mapping, the file unchanged).
    email, password, _ = people[0]
    r = login(worker, email, password)
    assert r.status == 200, r.body
    r = request(worker.base, "DELETE", "/auth/me", json={"password": password},
                headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert r.status == 204, r.body
    again = run_import(worker, src)
    assert summary(again) == {"read": 4, "imported": 0, "already present": 4, "refused": 0}, again
    assert any(l.endswith("(0 new)") for l in again), again
    assert map_path.read_bytes() == written
    assert worker.d1(f"SELECT id FROM users WHERE email = '{email}'") == []
    r = login(worker, email, password)
    assert r.status == 401 and r.json()["code"] == "invalid_credentials", r.body


# ---- the SQL files: the operator's alone, and never left behind -------------------------------

def bcrypt_like(cost: int = 4) -> str:
    """A well-formed bcrypt string (random salt and hash): the import parses, never verifies."""
    std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    ours = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    b64 = lambda n: base64.b64encode(os.urandom(n)).decode().rstrip("=").translate(str.maketrans(std, ours))  # noqa: E731
    return f"$2b${cost:02d}${b64(16)}{b64(23)}"


def small_source(tmp_path: Path, n: int = 3) -> Path:
    src = tmp_path / "few.jsonl"
    src.write_text("".join(json.dumps({"email": f"few{i}-{uuid.uuid4().hex[:6]}@example.com",
                                       "password_hash": bcrypt_like()}) + "\n" for i in range(n)))
    return src


def test_sql_files_are_readable_by_the_operator_alone(tmp_path):
    state = tmp_path / "state"
    apply_migrations(state, [])
    src = small_source(tmp_path)
    out = importer(str(src), "--keep-sql", "--", "--persist-to", str(state))
    assert out.returncode == 0, out.stdout + out.stderr
    sql_dir = tmp_path / "few.jsonl.d1-sql"
    files = sorted(sql_dir.iterdir())
    assert [f.name for f in files] == ["batch-00001.sql"]
    assert "$2b$04$" in files[0].read_text()
    assert (oct(mode(sql_dir)), oct(mode(files[0]))) == (oct(0o700), oct(0o600))
    assert f"SQL files kept (they hold password hashes): {sql_dir}" in out.stdout, out.stdout


def test_a_run_that_fails_after_writing_its_sql_file_removes_it(tmp_path):
    # A local D1 with no tables: wrangler runs the file and fails on its first statement.
    state = tmp_path / "no-schema"
    state.mkdir()
    src = small_source(tmp_path)
    out = importer(str(src), "--", "--persist-to", str(state))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "wrangler d1 execute failed" in out.stderr and "no such table" in out.stderr, out.stderr
    assert not (tmp_path / "few.jsonl.d1-sql").exists()
    assert out.stdout.splitlines()[-1].startswith("slowest hash imported"), out.stdout  # no summary


FAKE_WRANGLER = """\
import os, sys, time
# Stands in for wrangler in one test: says which SQL file it was given, then never finishes.
args = sys.argv[1:]
with open(os.environ["FAKE_WRANGLER_SAW"], "w") as f:
    f.write(args[args.index("--file") + 1])
time.sleep(120)
"""


def test_an_interrupted_run_stops_wrangler_and_removes_its_sql_files(tmp_path):
    src = small_source(tmp_path)
    fake = tmp_path / "wrangler"
    fake.write_text(f"#!{sys.executable}\n{FAKE_WRANGLER}")
    fake.chmod(0o700)
    saw = tmp_path / "saw"
    subprocess.run(["cargo", "build", "--quiet", "--bin", "import"], cwd=ROOT, check=True, timeout=900)
    proc = subprocess.Popen([str(IMPORTER), str(src)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**wrangler_env(), "WRANGLER": str(fake), "FAKE_WRANGLER_SAW": str(saw)})
    try:
        deadline = time.monotonic() + 60
        while not saw.exists() or not saw.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, "wrangler never ran"
            time.sleep(0.1)
        sql_file = Path(saw.read_text())
        assert sql_file.parent == tmp_path / "few.jsonl.d1-sql" and sql_file.exists()
        proc.send_signal(signal.SIGTERM)  # the importer alone: the stand-in ignores nothing, sees nothing
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, out + err
    assert "import: interrupted" in err, err
    assert not sql_file.parent.exists()
    # wrangler was stopped too, not left running.
    gone = subprocess.run(["pgrep", "-f", str(fake)], capture_output=True, text=True)
    assert gone.stdout == "", gone.stdout


# ---- the generated SQL through the real `wrangler d1 execute --local` --------------------------

def test_every_row_arrives_intact_through_wrangler_d1_execute(tmp_path):
    """12,000 rows: three SQL files (5,000 rows each at most) of several INSERTs each (90,000
    bytes at most), emails and Django salts with quotes in them, run by the real wrangler."""
    n = 12_000
    state = tmp_path / "state"
    apply_migrations(state, [])
    tag = uuid.uuid4().hex[:6]

    def hash_of(i: int) -> str:
        if i % 3 == 0:
            return bcrypt_like(12 if i != 7_500 else 13)
        if i % 3 == 1:
            # Django keeps any salt; one with a quote must survive the SQL literal.
            return f"pbkdf2_sha256$600000$o'salt{i}${base64.b64encode(os.urandom(32)).decode()}"
        return ("$pbkdf2-sha256$i=600000,l=32$" + base64.b64encode(os.urandom(16)).decode().rstrip("=")
                + "$" + base64.b64encode(os.urandom(32)).decode().rstrip("="))

    rows = [{"email": f"o'brien.{i}-{tag}@example.com", "password_hash": hash_of(i), "id": str(uuid.uuid4()),
             "email_verified": i % 2 == 0, "created_at": "2024-01-02T03:04:05Z"} for i in range(n)]
    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = importer(str(src), "--keep-sql", "--", "--persist-to", str(state), timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert out.stdout.splitlines()[-1] == f"read {n}, imported {n}, already present 0, refused 0", out.stdout

    files = sorted((tmp_path / "many.jsonl.d1-sql").iterdir())
    assert [f.name for f in files] == ["batch-00001.sql", "batch-00002.sql", "batch-00003.sql"]
    for f in files:
        statements = f.read_text().split(";\n")[:-1]
        assert statements[0].startswith("INSERT INTO settings"), statements[0][:80]
        inserts = statements[1:]
        assert len(inserts) > 2 and all(len(s.encode()) + 2 <= 90_000 for s in inserts), f

    assert d1_at(state, "SELECT COUNT(*) AS n FROM users") == [{"n": n}]
    got = {r["id"]: r for r in d1_at(state, "SELECT id, email, password_hash, email_verified, created_at FROM users")}
    assert len(got) == n
    for r in rows:
        row = got[r["id"]]
        assert row["email"] == r["email"] and row["password_hash"] == r["password_hash"], (row, r)
        assert row["email_verified"] == int(r["email_verified"])
        assert row["created_at"] == "2024-01-02T03:04:05.000Z"
    # The costliest hash of all three files, bcrypt 13.
    assert d1_at(state, "SELECT key, value FROM settings") == [{"key": "imported_hash_max_work",
                                                                 "value": BCRYPT_13_WORK}]


# ---- migrated accounts' timing under the defaults ---------------------------------------------

def test_an_imported_bcrypt_13_row_pads_every_failed_login_to_its_cost(worker, tmp_path):
    import bcrypt

    tag = uuid.uuid4().hex[:6]
    src = tmp_path / "slow.jsonl"
    slow_email = f"slow-{tag}@example.com"
    src.write_text(json.dumps({"email": slow_email, "password_hash":
                               bcrypt.hashpw(b"slow pass phrase", bcrypt.gensalt(13)).decode()}) + "\n")
    assert summary(run_import(worker, src)) == {"read": 1, "imported": 1, "already present": 0, "refused": 0}
    recorded = [{"key": "imported_hash_max_work", "value": BCRYPT_13_WORK}]
    assert worker.d1("SELECT key, value FROM settings") == recorded

    # A later import of a cheaper hash leaves it where it is.
    cheap = tmp_path / "cheap.jsonl"
    cheap.write_text(json.dumps({"email": f"cheap-{tag}@example.com",
                                 "password_hash": django_hash("cheap pass phrase", 600_000)}) + "\n")
    assert summary(run_import(worker, cheap))["imported"] == 1
    assert worker.d1("SELECT key, value FROM settings") == recorded

    # Under the default configuration, an unknown email, a wrong password on one of our own
    # hashes and one on the bcrypt-13 account: the same 401, the first two padded to its cost.
    ours = f"ours-{tag}@example.com"
    r = request(worker.base, "POST", "/auth/register", json={"email": ours, "password": "our pass phrase"})
    assert r.status == 201, r.body
    prefix = f"padded-{tag}-"
    for i, (email, password) in enumerate([(f"ghost-{tag}@example.com", "any pass phrase"),
                                           (ours, "wrong pass phrase"), (slow_email, "wrong pass phrase")]):
        r = request(worker.base, "POST", "/auth/login", json={"email": email, "password": password},
                    headers={"X-Request-Id": f"{prefix}{i}"})
        assert r.status == 401 and r.json()["code"] == "invalid_credentials", r.body
    lines = worker.lines_when(lambda l: l["event"] == "login_failed"
                              and str(l.get("request_id", "")).startswith(prefix), count=3)
    work = sorted((l["reason"], l["hash_iterations"]) for l in lines)
    # bcrypt's own rounds are not PBKDF2 iterations: its wrong password pads nothing.
    assert work == [("unknown_email", BCRYPT_13_WORK), ("wrong_password", 0), ("wrong_password", BCRYPT_13_WORK)], lines
