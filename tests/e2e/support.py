"""Helpers the e2e tiers share for rows written straight into D1 and for reading the Worker's
log lines."""
from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid


def logs_for(w, prefix: str) -> list[dict]:
    time.sleep(0.7)  # wrangler relays the Worker's lines asynchronously
    return [l for l in w.logs() if str(l.get("request_id", "")).startswith(prefix)]


def insert_user(w, email: str, phc: str, uid: str | None = None) -> str:
    uid = uid or str(uuid.uuid4())
    w.d1("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES "
         f"('{uid}', '{email}', '{phc}', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')")
    return uid


def pbkdf2_phc(password: str, iterations: int) -> str:
    salt = os.urandom(16)
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    enc = lambda b: base64.b64encode(b).rstrip(b"=").decode()
    return f"$pbkdf2-sha256$i={iterations},l=32${enc(salt)}${enc(dk)}"
