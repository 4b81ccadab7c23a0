"""HTTPS uplink: OAuth2 client-credentials token, gzip batch upload, status report."""

from __future__ import annotations

import gzip
import json
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from connectors import __version__
from connectors.config import ServerConfig
from connectors.readings import iso_ms, utc_now

log = logging.getLogger(__name__)

READINGS_PATH = "/ingest/v1/readings"
STATUS_PATH = "/ingest/v1/status"
DEFAULT_TOKEN_LIFETIME_S = 300.0


class UplinkError(Exception):
    """The server did not take the request; try again later."""


class TransientUplinkError(UplinkError):
    """Network trouble, timeouts, 5xx: retry with back-off."""


class AuthError(UplinkError):
    """Credentials refused (token endpoint, or 401 after a fresh token, or 403)."""


class PayloadTooLarge(UplinkError):
    """HTTP 413: the batch must be split."""


class BatchRejected(UplinkError):
    """HTTP 422: the server stored nothing; `reasons` maps batch index -> why that reading was refused."""

    def __init__(self, reasons: Mapping[int, str]) -> None:
        super().__init__(f"{len(reasons)} reading(s) rejected")
        self.reasons = dict(reasons)


@dataclass(frozen=True, slots=True)
class UploadResult:
    accepted: int
    duplicates: int


class Backoff:
    """Exponential back-off with full jitter: sleep uniform(0, min(cap, base * 2**attempt))."""

    def __init__(self, base_s: float = 1.0, cap_s: float = 300.0, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * (2**self.attempt))
        self.attempt = min(self.attempt + 1, 62)
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class TokenSource:
    """OAuth2 client credentials grant (RFC 6749 section 4.4), cached until shortly before expiry."""

    def __init__(self, http: httpx.AsyncClient, server: ServerConfig, client_secret: str) -> None:
        self._http = http
        self._server = server
        self._secret = client_secret
        self._token: str | None = None
        self._expires_at = 0.0

    def invalidate(self) -> None:
        self._token = None

    async def get(self) -> str:
        if self._token is not None and time.monotonic() < self._expires_at:
            return self._token
        assert self._server.token_url is not None
        try:
            response = await self._http.post(
                self._server.token_url,
                # RFC 6749 section 2.3.1: form-encode id and secret before HTTP Basic encoding.
                auth=(quote(self._server.client_id, safe=""), quote(self._secret, safe="")),
                data={"grant_type": "client_credentials", "scope": self._server.scope},
            )
        except httpx.TimeoutException as exc:
            raise TransientUplinkError(f"token endpoint timeout: {exc}")
        except httpx.TransportError as exc:
            raise TransientUplinkError(f"token endpoint unreachable: {exc}")
        if response.status_code in (400, 401, 403):
            raise AuthError(f"token endpoint refused the client credentials: {response.status_code} {response.text}")
        if response.status_code != 200:
            raise TransientUplinkError(f"token endpoint answered {response.status_code}")
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME_S)
        except (ValueError, KeyError, TypeError) as exc:
            raise TransientUplinkError(f"unusable token response: {exc}")
        # Refresh a little early so a request never leaves with a token that expires in flight.
        margin = min(60.0, lifetime * 0.1)
        self._token, self._expires_at = token, time.monotonic() + lifetime - margin
        return token


def readings_body(agent_id: str, payloads: Sequence[str], sent_at: str | None = None) -> bytes:
    """Assemble the upload body from stored JSON payloads without re-encoding each reading."""
    head = json.dumps(
        {"agent_id": agent_id, "agent_version": __version__, "sent_at": sent_at or iso_ms(utc_now())},
        separators=(",", ":"),
    )
    return (head[:-1] + ',"readings":[' + ",".join(payloads) + "]}").encode("utf-8")


def _rejection_reasons(body: object, batch_size: int) -> dict[int, str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    reasons: dict[int, list[str]] = {}
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict):
            continue
        index = error.get("index")
        if not isinstance(index, int) or not 0 <= index < batch_size:
            continue
        text = f"{error.get('code', 'REJECTED')}"
        if field := error.get("field"):
            text += f" ({field})"
        if message := error.get("message"):
            text += f": {message}"
        reasons.setdefault(index, []).append(text)
    return {index: "; ".join(texts) for index, texts in reasons.items()}


class Uplink:
    def __init__(
        self,
        server: ServerConfig,
        client_secret: str,
        agent_id: str,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.server = server
        self.agent_id = agent_id
        verify: str | bool = str(server.ca_bundle) if server.ca_bundle else True
        self._http = http or httpx.AsyncClient(timeout=server.timeout_s, verify=verify)
        self._tokens = TokenSource(self._http, server, client_secret)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: bytes) -> httpx.Response:
        content = gzip.compress(body, compresslevel=6)
        url = self.server.url + path
        for attempt in (1, 2):
            token = await self._tokens.get()
            try:
                response = await self._http.post(
                    url,
                    content=content,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                        "Content-Encoding": "gzip",
                    },
                )
            except httpx.TimeoutException as exc:
                raise TransientUplinkError(f"timeout posting to {path}: {exc}")
            except httpx.TransportError as exc:
                raise TransientUplinkError(f"cannot reach {url}: {exc}")
            if response.status_code == 401 and attempt == 1:
                self._tokens.invalidate()  # revoked or expired early: fetch a new one, once
                continue
            return response
        return response

    async def upload(self, payloads: Sequence[str]) -> UploadResult:
        response = await self._post(READINGS_PATH, readings_body(self.agent_id, payloads))
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
                return UploadResult(int(body.get("accepted", 0)), int(body.get("duplicates", 0)))
            except (ValueError, TypeError, AttributeError):
                # The server said 200: the batch is stored even if the summary is unreadable.
                log.warning("upload: unreadable 200 response body %r", response.text[:200])
                return UploadResult(len(payloads), 0)
        if status == 422:
            try:
                reasons = _rejection_reasons(response.json(), len(payloads))
            except ValueError:
                reasons = {}
            if not reasons:
                raise TransientUplinkError(f"422 without usable per-reading errors: {response.text[:200]}")
            raise BatchRejected(reasons)
        if status in (401, 403):
            raise AuthError(f"{status} from {READINGS_PATH}: {response.text[:200]}")
        if status == 413:
            raise PayloadTooLarge(f"413 for a batch of {len(payloads)}")
        raise TransientUplinkError(f"{status} from {READINGS_PATH}: {response.text[:200]}")

    async def report_status(self, status: Mapping[str, object]) -> dict[str, object]:
        """Send a status report; returns the server's answer (e.g. the clock offset it measured)."""
        response = await self._post(STATUS_PATH, json.dumps(status, separators=(",", ":")).encode("utf-8"))
        if response.status_code in (401, 403):
            raise AuthError(f"{response.status_code} from {STATUS_PATH}")
        if response.status_code >= 300:
            raise TransientUplinkError(f"{response.status_code} from {STATUS_PATH}")
        try:
            answer = response.json()
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}
