"""A small HTTP client over http.client: exact bytes in, status/headers/body out. It retries one
answer only, which `wrangler dev`'s proxy gives itself (`STALE_CONNECTION`)."""
from __future__ import annotations

import functools
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


# `wrangler dev` puts a proxy Worker in front of ours, and it keeps its connections to our Worker
# open between requests. Our side closes one after 5 s idle, so a request that the proxy sends on
# one just then is lost before our Worker reads it. The proxy then answers this itself, for any
# method but GET and HEAD (docs/testing.md, "A limit of local runs": 6 of 40 POSTs sent 4.990 to
# 5.002 s after the previous request). Our Worker never saw the request, so sending it again is its
# first delivery. A real restart of the Worker would answer the same, but the tests' Workers are
# never rebuilt or reloaded while they serve (wrangler.toml has no [build]).
STALE_CONNECTION = b"Your worker restarted mid-request."


def request(base: str, method: str, path: str, *, json=None, body: bytes | None = None,
            headers: dict | None = None, chunked: bool = False, timeout: float = 60) -> Resp:
    send = functools.partial(_send, base, method, path, json=json, body=body, headers=headers,
                             chunked=chunked, timeout=timeout)
    r = send()
    return send() if r.status == 503 and r.body.startswith(STALE_CONNECTION) else r


def _send(base: str, method: str, path: str, *, json, body: bytes | None, headers: dict | None,
          chunked: bool, timeout: float) -> Resp:
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
