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
    """The server did not take the request.

    The subclasses are the outcomes the agent acts on; each says what to do with the batch.
    """


class TransientUplinkError(UplinkError):
    """Network trouble or timeouts: nothing is known about the batch; retry it with back-off."""


class ServerUnavailable(TransientUplinkError):
    """429, 502 or 503: the server (or its gateway) asks to come back later; retry with back-off."""

    def __init__(self, status: int, answer: str) -> None:
        super().__init__(f"{status} from the server: {answer[:200]}")
        self.status = status
        self.answer = answer


class ServerError(TransientUplinkError):
    """Another 5xx: the server failed on this request. Retried with back-off; when the same batch
    keeps failing, the agent narrows it down to the reading that makes the server fail."""

    def __init__(self, status: int, answer: str) -> None:
        super().__init__(f"{status} from the server: {answer[:200]}")
        self.status = status
        self.answer = answer


class AuthError(UplinkError):
    """Credentials refused (token endpoint, or 401 after a fresh token, or 403)."""


class PayloadTooLarge(UplinkError):
    """HTTP 413: the batch must be split."""


class BatchRefused(UplinkError):
    """A 4xx for the batch as a whole: the server stored nothing and sending it again will not help.

    `answer` is the server's answer as received, `summary` one line of it. The agent sets the whole
    batch aside with the answer and goes on with the rest.
    """

    def __init__(self, status: int, answer: str, summary: str) -> None:
        super().__init__(f"{status}: {summary}")
        self.status = status
        self.answer = answer
        self.summary = summary


class BatchRejected(BatchRefused):
    """A 4xx naming the refused readings: `reasons` maps batch index -> why that reading was refused.

    The server stored nothing; the agent sets the named readings aside and sends the others again.
    """

    def __init__(self, status: int, answer: str, reasons: Mapping[int, str]) -> None:
        super().__init__(status, answer, f"{len(reasons)} reading(s) refused")
        self.reasons = dict(reasons)


# 4xx answers that are about the request rather than its readings: they have outcomes of their own.
_NOT_ABOUT_THE_READINGS = frozenset({401, 403, 408, 413, 429})
# At most this much of an answer is kept with readings set aside.
MAX_ANSWER_CHARS = 64 * 1024


@dataclass(frozen=True, slots=True)
class UploadResult:
    accepted: int
    duplicates: int
    # readings whose value differs from the one cbamx already holds: kept apart there for the
    # exporter to decide, not an error of the agent (index, meter, quantity, ts, stored_value, value)
    conflicts: tuple[dict[str, object], ...] = ()


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


def _error_text(error: Mapping[str, object]) -> str:
    text = f"{error.get('code', 'REJECTED')}"
    if field := error.get("field"):
        text += f" ({field})"
    if message := error.get("message"):
        text += f": {message}"
    return text


def _rejection_reasons(body: object, batch_size: int) -> dict[int, str]:
    """Per-reading reasons when every error of the answer names a reading of the batch, else {}.

    An error without a usable index is about the batch as a whole (its size, its agent_id, ...):
    then sending the other readings again would be refused as well.
    """
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return {}
    reasons: dict[int, list[str]] = {}
    for error in errors:
        if not isinstance(error, dict):
            return {}
        index = error.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < batch_size:
            return {}
        reasons.setdefault(index, []).append(_error_text(error))
    return {index: "; ".join(texts) for index, texts in reasons.items()}


def _answer_summary(status: int, body: object, text: str) -> str:
    """One line out of an answer: problem details (RFC 9457) when it is one, else its text."""
    if not isinstance(body, dict):
        return f"HTTP {status}: {text[:300]}" if text else f"HTTP {status}"
    head = str(body.get("code") or body.get("title") or f"HTTP {status}")
    if detail := body.get("detail"):
        head += f": {detail}"
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        head += " [" + "; ".join(_error_text(e) for e in errors[:5] if isinstance(e, dict))
        head += f"; and {len(errors) - 5} more]" if len(errors) > 5 else "]"
    return head


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
        """Send one batch; returns the server's count or raises the outcome the agent acts on."""
        response = await self._post(READINGS_PATH, readings_body(self.agent_id, payloads))
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
                conflicts = tuple(c for c in body.get("conflicts") or () if isinstance(c, dict))
                return UploadResult(int(body.get("accepted", 0)), int(body.get("duplicates", 0)), conflicts)
            except (ValueError, TypeError, AttributeError):
                # The server said 200: the batch is stored even if the summary is unreadable.
                log.warning("upload: unreadable 200 response body %r", response.text[:200])
                return UploadResult(len(payloads), 0)
        answer = response.text[:MAX_ANSWER_CHARS]
        if status in (401, 403):
            raise AuthError(f"{status} from {READINGS_PATH}: {answer[:200]}")
        if status == 413:
            raise PayloadTooLarge(f"413 for a batch of {len(payloads)}")
        if 400 <= status < 500 and status not in _NOT_ABOUT_THE_READINGS:
            try:
                body: object = response.json()
            except ValueError:
                body = None
            if reasons := _rejection_reasons(body, len(payloads)):
                raise BatchRejected(status, answer, reasons)
            raise BatchRefused(status, answer, _answer_summary(status, body, answer))
        if status in (429, 502, 503):
            raise ServerUnavailable(status, answer)
        if status >= 500:
            raise ServerError(status, answer)
        # 408 and anything unexpected (1xx, 3xx): nothing is known about the batch.
        raise TransientUplinkError(f"{status} from {READINGS_PATH}: {answer[:200]}")

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
