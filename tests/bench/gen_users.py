"""Writes N users as JSON Lines for `make import` timing (`make bench`): a third each of bcrypt
(cost 12), Argon2id (pwdlib's parameters) and Django PBKDF2 (1,000,000) hashes. The hashes are
well-formed random values (no password hashes to them): the import only parses, never verifies,
and hashing 100,000 real passwords would take hours.

usage: gen_users.py N OUT.jsonl
"""
from __future__ import annotations

import base64
import json
import os
import sys
import uuid

STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
TO_BCRYPT = str.maketrans(STD, BCRYPT)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def fake_hash(i: int) -> str:
    kind = i % 3
    if kind == 0:
        return "$2b$12$" + b64(os.urandom(16)).translate(TO_BCRYPT) + b64(os.urandom(23)).translate(TO_BCRYPT)
    if kind == 1:
        return f"$argon2id$v=19$m=65536,t=3,p=4${b64(os.urandom(16))}${b64(os.urandom(32))}"
    salt = uuid.uuid4().hex[:22]
    return f"pbkdf2_sha256$1000000${salt}${base64.b64encode(os.urandom(32)).decode()}"


def main() -> None:
    n, out = int(sys.argv[1]), sys.argv[2]
    with open(out, "w") as f:
        for i in range(n):
            row = {"email": f"user{i}@example.com", "password_hash": fake_hash(i),
                   "id": str(uuid.uuid4()), "email_verified": i % 2 == 0,
                   "created_at": "2024-01-01T00:00:00Z"}
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
