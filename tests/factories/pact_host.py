"""A real PACT host receiving answers, in the test's event loop: ``/auth/token`` (client credentials with
HTTP Basic, as the conformance suite's own host: test_client_id / test_client_secret) and ``/3/events``
(records each event with its Authorization). Without ``discovery`` it has no discovery document, so
the data owner falls back to ``/auth/token``; with it, ``/.well-known/openid-configuration`` names
``/oauth2/token`` as the token endpoint and ``/auth/token`` is not served."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tests.factories.receiver import Received, Receiver

CLIENT_ID = "test_client_id"
CLIENT_SECRET = "test_client_secret"
TOKEN = "token-of-the-requesters-host"


@dataclass
class PactHost(Receiver):
    token_requests: list[Received] = field(default_factory=list)
    events: list[Received] = field(default_factory=list)
    discovery: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(e.body) for e in self.events]

    def respond(self, message: Received) -> tuple[int, bytes, str]:
        self.received.append(message)
        token_path = "/oauth2/token" if self.discovery else "/auth/token"
        if message.path == "/.well-known/openid-configuration" and self.discovery:
            document = {"issuer": self.url, "token_endpoint": f"{self.url}{token_path}"}
            return 200, json.dumps(document).encode(), "application/json"
        if message.path == token_path:
            self.token_requests.append(message)
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            form = dict(parse_qsl(message.body.decode()))
            if message.headers.get("authorization") != expected or form.get("grant_type") != "client_credentials":
                return 401, b'{"error": "invalid_client"}', "application/json"
            return 200, json.dumps({"access_token": TOKEN, "token_type": "bearer"}).encode(), "application/json"
        if message.path == "/3/events":
            if message.headers.get("authorization") != f"Bearer {TOKEN}":
                return 400, b'{"code": "BadRequest", "message": "no valid token"}', "application/json"
            self.events.append(message)
            return self.status, b"", "text/plain"
        return 404, b'{"code": "NotFound"}', "application/json"
