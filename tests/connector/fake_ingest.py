"""A small real HTTP server standing in for the ingest endpoint (token, readings, status).

It implements only what the uplink tests exercise: client-credentials tokens, gzip bodies,
deduplication by (meter, quantity, ts), 422 for unknown meters, and scripted failures.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Scripted = tuple[int, dict[str, Any]] | Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients killed mid-request are part of the tests


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class FakeIngest:
    client_id: str = "plant-1-agent"
    client_secret: str = "s3cret"
    token_lifetime_s: int = 3600
    known_meters: set[str] | None = None
    calls: list[Call] = field(default_factory=list)
    stored: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    statuses: list[dict[str, Any]] = field(default_factory=list)
    scripts: dict[str, deque[Scripted]] = field(default_factory=dict)
    valid_tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> FakeIngest:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def then(self, path: str, *responses: Scripted) -> None:
        """Answer the next requests to `path` with these responses, in order."""
        self.scripts.setdefault(path, deque()).extend(responses)

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def uploads(self) -> list[Call]:
        return [c for c in self.calls if c.path == "/ingest/v1/readings"]

    # ------------------------------------------------------------------ request handling
    def _token(self, headers: dict[str, str], form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != ["client_credentials"] or form.get("scope") != ["ingest"]:
            return 400, {"error": "invalid_request"}
        self.tokens_issued += 1
        token = f"token-{self.tokens_issued}"
        self.valid_tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime_s}

    def _store(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        readings = body["readings"]
        if self.known_meters is not None:
            errors = [
                {"index": i, "field": "meter", "code": "UNKNOWN_METER", "message": f"no meter {r['meter']}"}
                for i, r in enumerate(readings)
                if r["meter"] not in self.known_meters
            ]
            if errors:
                return 422, {"errors": errors}
        accepted = duplicates = 0
        for reading in readings:
            key = (reading["meter"], reading["quantity"], reading["ts"])
            if key in self.stored:
                duplicates += 1
            else:
                self.stored[key] = reading
                accepted += 1
        self.duplicates += duplicates
        return 200, {"accepted": accepted, "duplicates": duplicates}

    def _dispatch(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        if path == "/auth/token":
            form = urllib.parse.parse_qs(raw.decode())
            self.calls.append(Call(path, headers, form))
            return self._token(headers, form)
        if headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw)
        call = Call(path, headers, body)
        self.calls.append(call)
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            call.status = 401
            return 401, {"error": "invalid_token"}
        script = self.scripts.get(path)
        if script:
            scripted = script.popleft()
            call.status, answer = scripted(body) if callable(scripted) else scripted
            return call.status, answer
        if path == "/ingest/v1/status":
            self.statuses.append(body)
            call.status = 200
            return 200, {}
        call.status, answer = self._store(body)
        return call.status, answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if fake.delay_s:
                    time.sleep(fake.delay_s)
                with fake._lock:
                    status, answer = fake._dispatch(self.path, headers, raw)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
