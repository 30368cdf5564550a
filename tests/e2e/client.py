"""A small HTTP client over http.client: exact bytes in, status/headers/body out, no retries."""
from __future__ import annotations

import http.client
import json as jsonlib
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return jsonlib.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(base: str, method: str, path: str, *, json=None, body: bytes | None = None,
            headers: dict | None = None, chunked: bool = False, timeout: float = 60) -> Resp:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    headers = dict(headers or {})
    if json is not None:
        body = jsonlib.dumps(json).encode()
        headers.setdefault("Content-Type", "application/json")
    try:
        if chunked:
            conn.putrequest(method, path)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for i in range(0, len(body or b""), 4096):
                chunk = body[i:i + 4096]
                conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()
