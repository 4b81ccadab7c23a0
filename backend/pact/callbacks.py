"""Answers to PACT data requests, sent to the requester's own PACT host.

The requester (an importer) registers the client credentials of its host (``PactHostCredential``,
secret sealed like a webhook secret). Answering a PACT request (automatically or through the exchange's
fulfil / reject) writes its one answer event (``PactAnswer``: a RequestFulfilledEvent or
RequestRejectedEvent with a new event id) in the answer's own platform transaction and defers the
``pact.answer`` job through the outbox. The job authenticates at the host (client credentials at the
``token_endpoint`` of ``{source}/.well-known/openid-configuration``, otherwise ``{source}/auth/token``),
POSTs the event to ``{source}/3/events`` and logs the attempt; a failure is retried with exponential
back-off for up to three days, every attempt with the same event id. A 2xx ends it.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, utcnow
from backend.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from backend.exchange.models import FootprintRequest
from backend.feeds.delivery import RetrySchedule
from backend.feeds.signing import seal, unseal
from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.logging import get_logger
from backend.pact.models import AnswerState, PactAnswer, PactAnswerAttempt, PactHostCredential
from backend.services import Services
from backend.settings import Settings
from backend.tenants.registry import UnknownTenant

log = get_logger("cbamx.pact")

ANSWER_JOB = "pact.answer"
REQUEST_FULFILLED = "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
REQUEST_REJECTED = "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"
CLOUDEVENTS_JSON = "application/cloudevents+json; charset=UTF-8"
MAX_CREDENTIALS = 50
MAX_SECRET = 1000
SWEEP_BATCH = 500
# a pending answer this late has lost its job (Redis flushed, a worker died between steps)
OVERDUE = timedelta(minutes=2)
# a scheduled run that finds another run attempting the answer looks again after this long (more than
# one attempt takes: a token request and an event, each within the answer timeout)
IN_FLIGHT_RECHECK_S = 60.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CredentialNotFound(NotFound):
    code = "PACT_CREDENTIAL_NOT_FOUND"


def answer_job_id(answer_id: uuid.UUID | str) -> str:
    return f"{ANSWER_JOB}:{answer_id}"


# hosts on this machine: outside production they may speak plain HTTP (a conformance runner's listener
# beside a demo served over HTTPS)
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def peer_url_allowed(url: str, settings: Settings) -> bool:
    """Whether another PACT host may be named by ``url``: HTTPS always; plain HTTP when this platform
    itself runs on HTTP, or, outside production, for a host on this machine."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme == "https":
        return True
    if scheme != "http":
        return False
    if not settings.public_url.startswith("https://"):
        return True
    return not settings.is_production and (parts.hostname or "").lower() in LOOPBACK_HOSTS


def normal_host(url: str) -> str | None:
    """A PACT host's base URL as compared: scheme and host in lower case, no default port, no trailing
    slash, no query or fragment; None when it is not an absolute http(s) URL without user info."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    if parts.query or parts.fragment:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


# --- the requester's credentials ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CredentialData:
    host_url: str
    client_id: str
    client_secret: str


def _require_admin(principal: Principal) -> None:
    principal.require_tenant()
    if principal.kind == "client":
        raise PermissionDenied("an organisation's people manage its PACT host credentials, not its clients")
    principal.require_role(MembershipRole.ADMIN)


def _check(data: CredentialData, settings: Settings) -> str:
    errors: list[FieldError] = []
    host = normal_host(data.host_url)
    if host is None or not peer_url_allowed(host, settings) or len(data.host_url) > 2000:
        allowed = "http or https" if host is None or host.startswith("https://") else "https"
        errors.append(FieldError(f"the absolute {allowed} base URL of your PACT host", field="hostUrl"))
    if not data.client_id.strip() or len(data.client_id) > 200 or _CONTROL.search(data.client_id):
        errors.append(FieldError("1 to 200 characters, no control characters", field="clientId"))
    if not data.client_secret or len(data.client_secret) > MAX_SECRET or _CONTROL.search(data.client_secret):
        errors.append(FieldError(f"1 to {MAX_SECRET} characters, no control characters", field="clientSecret"))
    if errors:
        raise ValidationFailed(errors)
    assert host is not None
    return host


def _audit_view(row: PactHostCredential) -> dict[str, object]:
    return {"host_url": row.host_url, "client_id": row.client_id}  # never the secret, sealed or not


async def list_credentials(db: AsyncSession, principal: Principal) -> list[PactHostCredential]:
    """The organisation's PACT host credentials (without their secrets); its people read them."""
    principal.require_tenant()
    if principal.kind == "client":
        raise PermissionDenied("an organisation's people read its PACT host credentials, not its clients")
    rows = await db.execute(select(PactHostCredential).order_by(PactHostCredential.host_url))
    return list(rows.scalars())


async def register_credentials(
    services: Services, db: AsyncSession, principal: Principal, data: CredentialData
) -> PactHostCredential:
    """Store (or replace) the credentials for one of the organisation's PACT hosts (its admins); answers
    waiting for that host are tried again at once, after the commit."""
    _require_admin(principal)
    host = _check(data, services.settings)
    sealed = seal(data.client_secret, services.settings.resolved_secret_key())
    row = await db.scalar(select(PactHostCredential).where(PactHostCredential.host_url == host).with_for_update())
    if row is None:
        if len(await list_credentials(db, principal)) >= MAX_CREDENTIALS:
            raise ValidationFailed([FieldError(f"at most {MAX_CREDENTIALS} PACT hosts", field="hostUrl")])
        row = PactHostCredential(host_url=host, client_id=data.client_id.strip(), sealed_secret=sealed)
        row.created_by, row.created_at = principal.label, utcnow()
        db.add(row)
        await db.flush()
        await record(
            db, principal, "pact_credentials.registered", "pact_host_credential", row.id, after=_audit_view(row)
        )
    else:
        before = _audit_view(row)
        row.client_id, row.sealed_secret = data.client_id.strip(), sealed
        row.created_by, row.created_at = principal.label, utcnow()
        await db.flush()
        await record(
            db,
            principal,
            "pact_credentials.replaced",
            "pact_host_credential",
            row.id,
            before=before,
            after=_audit_view(row),
        )
    async with services.db.platform_session() as platform:
        waiting = await platform.scalars(
            select(PactAnswer.id).where(
                PactAnswer.importer_tenant_id == principal.tenant_id,
                PactAnswer.target == host,
                PactAnswer.state == AnswerState.PENDING,
            )
        )
        for answer_id in waiting:
            # its own job id: the retry already deferred keeps its place and finds the answer settled
            defer_job(db, ANSWER_JOB, str(answer_id), True, job_id=f"{answer_job_id(answer_id)}:now:{uuid.uuid4()}")
    return row


async def remove_credentials(db: AsyncSession, principal: Principal, credential_id: uuid.UUID) -> None:
    _require_admin(principal)
    row = await db.get(PactHostCredential, credential_id, with_for_update=True)
    if row is None:
        raise CredentialNotFound("no such PACT host credentials", field="id")
    await record(db, principal, "pact_credentials.removed", "pact_host_credential", row.id, before=_audit_view(row))
    await db.delete(row)
    await db.flush()


# --- answers --------------------------------------------------------------------------------------------


def fulfilled_data(request: FootprintRequest, pfs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"requestEventId": request.pact_event_id, "pfs": pfs}


def rejected_data(request: FootprintRequest, code: str, message: str) -> dict[str, Any]:
    return {"requestEventId": request.pact_event_id, "error": {"code": code, "message": message}}


def queue_answer(
    db: AsyncSession, services: Services, request: FootprintRequest, event_type: str, data: dict[str, Any]
) -> PactAnswer:
    """The request's answer event, written in the caller's platform transaction; its delivery job follows
    the commit (outbox)."""
    assert request.pact_source is not None
    now = utcnow()
    event_id = uuid.uuid4()
    answer = PactAnswer(
        id=uuid.uuid4(),
        request_id=request.id,
        importer_tenant_id=request.importer_tenant_id,
        supplier_tenant_id=request.supplier_tenant_id,
        event_id=event_id,
        event_type=event_type,
        target=normal_host(request.pact_source) or request.pact_source,
        event={
            "type": event_type,
            "specversion": "1.0",
            "id": str(event_id),
            "source": services.settings.public_url.rstrip("/"),
            "time": now.isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        state=AnswerState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.add(answer)
    defer_job(db, ANSWER_JOB, str(answer.id), False, job_id=answer_job_id(answer.id))
    return answer


async def answers_with_log(
    db: AsyncSession, request_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[PactAnswer, list[PactAnswerAttempt]]]:
    """The answers of requests the caller may read (it got them from ``backend.exchange.requests``)."""
    if not request_ids:
        return {}
    answers = list((await db.scalars(select(PactAnswer).where(PactAnswer.request_id.in_(request_ids)))).all())
    attempts: dict[uuid.UUID, list[PactAnswerAttempt]] = {a.id: [] for a in answers}
    if answers:
        rows = await db.scalars(
            select(PactAnswerAttempt)
            .where(PactAnswerAttempt.answer_id.in_(list(attempts)))
            .order_by(PactAnswerAttempt.answer_id, PactAnswerAttempt.attempt)
        )
        for row in rows:
            attempts[row.answer_id].append(row)
    return {a.request_id: (a, attempts[a.id]) for a in answers}


# --- delivery (the worker) ------------------------------------------------------------------------------


def schedule_of(services: Services) -> RetrySchedule:
    s = services.settings
    return RetrySchedule(tuple(s.pact_answer_retry_delays_s), s.pact_answer_retry_window_s, s.pact_answer_retry_jitter)


@dataclass(frozen=True, slots=True)
class _Outcome:
    stage: str
    status: int | None
    error: str | None


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000] if str(exc) else type(exc).__name__


async def _token_endpoint(client: httpx.AsyncClient, target: str) -> str:
    try:
        found = await client.get(f"{target}/.well-known/openid-configuration")
        if found.status_code == 200:
            endpoint = found.json().get("token_endpoint")
            if isinstance(endpoint, str) and normal_host(endpoint) is not None:
                return endpoint
    except (httpx.HTTPError, ValueError, AttributeError):
        pass  # no discovery: the conventional path
    return f"{target}/auth/token"


async def _send(services: Services, target: str, event: dict[str, Any], client_id: str, secret: str) -> _Outcome:
    async with httpx.AsyncClient(timeout=services.settings.pact_answer_timeout_s, follow_redirects=False) as client:
        endpoint = await _token_endpoint(client, target)
        try:
            got = await client.post(
                endpoint,
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
                headers={"accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            return _Outcome("token", None, f"token endpoint {endpoint}: {_failure(exc)}")
        if not 200 <= got.status_code < 300:
            return _Outcome(
                "token",
                got.status_code,
                f"token endpoint {endpoint} refused the credentials: HTTP {got.status_code}: {got.text[:200]}",
            )
        try:
            token = got.json()["access_token"]
            assert isinstance(token, str) and token
        except (ValueError, KeyError, TypeError, AssertionError):
            return _Outcome("token", got.status_code, f"token endpoint {endpoint} answered no access_token")
        try:
            posted = await client.post(
                f"{target}/3/events",
                content=json.dumps(event).encode(),
                headers={
                    "authorization": f"Bearer {token}",
                    "content-type": CLOUDEVENTS_JSON,
                    "user-agent": "cbamx-pact/3",
                },
            )
        except httpx.HTTPError as exc:
            return _Outcome("event", None, _failure(exc))
        if not 200 <= posted.status_code < 300:
            return _Outcome("event", posted.status_code, f"HTTP {posted.status_code}: {posted.text[:200]}")
        return _Outcome("event", posted.status_code, None)


async def _credentials(services: Services, importer_id: uuid.UUID, target: str) -> tuple[str, str] | None:
    try:
        importer = await services.tenants.get(importer_id)
    except UnknownTenant:
        return None
    async with services.db.tenant(importer.scope) as db:
        row = await db.scalar(select(PactHostCredential).where(PactHostCredential.host_url == target))
        if row is None:
            return None
        return row.client_id, unseal(row.sealed_secret, services.settings.resolved_secret_key())


async def deliver_answer(
    services: Services, answer_id: uuid.UUID, *, now_: bool = False, rng: random.Random | None = None
) -> float | None:
    """One attempt of a pending answer; seconds until the next one, or None when settled (or when ``now_``:
    an extra attempt, after credentials appeared, that leaves the scheduled retries to their own job).

    The attempt holds the answer's row lock from its start until it is recorded: a second run at the same
    moment (the extra attempt and a due retry) finds the row locked and does not post the event again.
    """
    async with services.db.platform() as db:
        answer = await db.scalar(select(PactAnswer).where(PactAnswer.id == answer_id).with_for_update(skip_locked=True))
        if answer is None:
            # gone, or another run is attempting it now: a scheduled run looks again after that one
            pending = await db.scalar(select(PactAnswer.state).where(PactAnswer.id == answer_id))
            return IN_FLIGHT_RECHECK_S if pending == AnswerState.PENDING and not now_ else None
        now = utcnow()
        if answer.state != AnswerState.PENDING:
            return None
        if not now_ and answer.next_attempt_at is not None and answer.next_attempt_at > now + timedelta(seconds=1):
            return (answer.next_attempt_at - now).total_seconds()
        started = time.perf_counter()
        credentials = await _credentials(services, answer.importer_tenant_id, answer.target)
        if credentials is None:
            outcome = _Outcome("credentials", None, f"no credentials for {answer.target}")
        else:
            outcome = await _send(services, answer.target, answer.event, *credentials)
        duration_ms = int((time.perf_counter() - started) * 1000)
        delay = _record(services, db, answer, outcome, duration_ms, rng)
    return None if now_ else delay


def _record(
    services: Services,
    db: AsyncSession,
    answer: PactAnswer,
    outcome: _Outcome,
    duration_ms: int,
    rng: random.Random | None,
) -> float | None:
    """The attempt's outcome on the locked answer and in its log; seconds until the next attempt."""
    now = utcnow()
    attempt = answer.attempts + 1
    next_at: datetime | None = None
    if outcome.error is None:
        answer.state, answer.delivered_at = AnswerState.DELIVERED, now
    else:
        next_at = schedule_of(services).next_attempt_at(answer.created_at, now, attempt, rng)
        if next_at is None:
            answer.state = AnswerState.FAILED
            log.warning("pact.answer_failed", answer_id=str(answer.id), error=outcome.error)
    answer.attempts = attempt
    answer.last_status_code, answer.last_error, answer.next_attempt_at = outcome.status, outcome.error, next_at
    db.add(
        PactAnswerAttempt(
            answer_id=answer.id,
            attempt=attempt,
            attempted_at=now,
            stage=outcome.stage,
            status_code=outcome.status,
            error=outcome.error,
            duration_ms=duration_ms,
            next_attempt_at=next_at,
        )
    )
    return (next_at - now).total_seconds() if next_at else None


async def sweep_overdue(services: Services) -> int:
    """Queue again the pending answers whose job was lost."""
    async with services.db.platform() as db:
        ids = list(
            await db.scalars(
                select(PactAnswer.id)
                .where(PactAnswer.state == AnswerState.PENDING, PactAnswer.next_attempt_at < utcnow() - OVERDUE)
                .limit(SWEEP_BATCH)
            )
        )
        for answer_id in ids:
            defer_job(db, ANSWER_JOB, str(answer_id), False, job_id=answer_job_id(answer_id))
    return len(ids)
