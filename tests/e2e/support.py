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


# ---- passkeys: a software authenticator ------------------------------------------------------
# Written from WebAuthn L3 and CTAP2: it answers the service's options with the JSON a browser's
# `credential.toJSON()` gives (RegistrationResponseJSON, AuthenticationResponseJSON), signing with
# `cryptography` (EdDSA, ES256, RS256). Every part a relying party checks can be changed one at a
# time through keyword arguments.
import json  # noqa: E402
import struct  # noqa: E402

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa  # noqa: E402

EDDSA, ES256, RS256 = -8, -7, -257
ALGORITHMS = [(EDDSA, "EdDSA"), (ES256, "ES256"), (RS256, "RS256")]
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cbor(value) -> bytes:
    """CBOR (RFC 8949) of ints, bytes, text and maps, with definite lengths and shortest heads
    (CTAP2's canonical form, map keys in the order given)."""
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for extra, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 256 ** struct.calcsize(fmt):
                return bytes([major << 5 | extra]) + struct.pack(fmt, n)
        raise ValueError(n)
    if isinstance(value, bool):
        raise TypeError("no booleans here")
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        return head(3, len(value.encode())) + value.encode()
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


class Authenticator:
    """One discoverable credential of algorithm `alg` (a COSE id); `count` is its signature
    counter, raised by `step` at each assertion (0 keeps it at zero: no counter)."""

    def __init__(self, alg: int, step: int = 1):
        self.alg = alg
        self.step = step
        self.count = 0
        self.credential_id = os.urandom(16)
        self.user_handle: bytes | None = None
        if alg == EDDSA:
            self.key = ed25519.Ed25519PrivateKey.generate()
        elif alg == ES256:
            self.key = ec.generate_private_key(ec.SECP256R1())
        elif alg == RS256:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise ValueError(alg)

    def cose_key(self, alg_label: int | None = None) -> bytes:
        alg = self.alg if alg_label is None else alg_label
        pub = self.key.public_key()
        if self.alg == EDDSA:
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return cbor({1: 1, 3: alg, -1: 6, -2: raw})
        if self.alg == ES256:
            n = pub.public_numbers()
            return cbor({1: 2, 3: alg, -1: 1, -2: n.x.to_bytes(32, "big"), -3: n.y.to_bytes(32, "big")})
        n = pub.public_numbers()
        return cbor({1: 3, 3: alg, -1: n.n.to_bytes(256, "big"), -2: n.e.to_bytes(3, "big")})

    def sign(self, message: bytes) -> bytes:
        if self.alg == EDDSA:
            return self.key.sign(message)
        if self.alg == ES256:
            return self.key.sign(message, ec.ECDSA(hashes.SHA256()))  # DER, as authenticators write it
        return self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    @staticmethod
    def _client_data(kind: str, options: dict, page: str, **over) -> bytes:
        data = {"type": over.get("type", kind), "challenge": over.get("challenge", options["challenge"]),
                "origin": over.get("origin", page), "crossOrigin": False}
        return json.dumps(data, separators=(",", ":")).encode()

    @staticmethod
    def _auth_data(rp_id: str, flags: int, count: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count) + attested

    def create(self, public_key: dict, page: str, **over) -> dict:
        """The response to `navigator.credentials.create({publicKey})` on a page of origin `page`.
        `over` changes one part:
        type, challenge, origin, rp_id, flags, alg_label, fmt/att_stmt/no_auth_data, count."""
        self.user_handle = unb64(public_key["user"]["id"])
        client_data = self._client_data("webauthn.create", public_key, page, **over)
        flags = over.get("flags", UP | UV | AT)
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
                    + self.cose_key(over.get("alg_label"))) if flags & AT else b""
        self.count = over.get("count", self.count)
        auth_data = self._auth_data(over.get("rp_id", public_key["rp"]["id"]), flags, self.count, attested)
        statement = {"fmt": over.get("fmt", "none"), "attStmt": {}, "authData": auth_data}
        if over.get("no_auth_data"):
            del statement["authData"]
        return {
            "id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(cbor(statement)),
                         "transports": ["internal"]},
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
        }

    def get(self, public_key: dict, page: str, **over) -> dict:
        """The response to `navigator.credentials.get({publicKey})` on a page of origin `page`.
        `over` changes one part:
        type, challenge, origin, rp_id, flags, count, user_handle, credential_id, bad_signature."""
        client_data = self._client_data("webauthn.get", public_key, page, **over)
        if "count" in over:
            count = over["count"]
        else:
            self.count += self.step
            count = self.count
        auth_data = self._auth_data(over.get("rp_id", public_key["rpId"]), over.get("flags", UP | UV), count)
        signature = self.sign(auth_data + hashlib.sha256(client_data).digest())
        if over.get("bad_signature"):
            signature = signature[:-2] + bytes([signature[-2] ^ 1]) + signature[-1:]
        credential_id = over.get("credential_id", self.credential_id)
        handle = over.get("user_handle", self.user_handle)
        return {
            "id": b64(credential_id), "rawId": b64(credential_id), "type": "public-key",
            "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                         "signature": b64(signature), "userHandle": b64(handle) if handle else None},
            "authenticatorAttachment": "platform", "clientExtensionResults": {},
        }
