"""Fan-out and webhook delivery, run by the worker.

``fan_out`` follows each committed event: it creates one delivery per endpoint of the recipient
that wants the event (in the recipient's unit of work, whose outbox queues the deliveries) and
publishes the event to live subscriptions. ``deliver`` makes one HTTP attempt and records it in the
delivery log; when it fails it answers when to try again, by the retry schedule, and the job
re-queues itself for that moment. A delivery still failing when its retry window ends is failed,
and its endpoint with it unless another delivery reached the endpoint meanwhile.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from backend.db import TenantScope, defer_job, utcnow
from backend.feeds import repository
from backend.feeds.live import LiveEvent, publish
from backend.feeds.models import (
    DeliveryState,
    EndpointState,
    FeedEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from backend.feeds.service import DELIVER_JOB, deliver_job_id, set_state
from backend.feeds.signing import cloud_event, envelope_body, signed_headers, unseal
from backend.logging import get_logger
from backend.services import Services
from backend.tenants.registry import UnknownTenant

log = get_logger("cbamx.feeds")

SWEEP_BATCH = 500
# a pending delivery this late has lost its job (Redis flushed, a worker died between steps)
OVERDUE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Delays between attempts: ``delays_s[n-1]`` after the n-th failure, then the last one repeated,
    each stretched or shrunk by up to ``jitter`` so that many failed deliveries do not retry at once;
    no attempt later than ``window_s`` after the delivery began."""

    delays_s: tuple[float, ...]
    window_s: float
    jitter: float

    def next_attempt_at(
        self, started_at: datetime, now: datetime, failed_attempts: int, rng: random.Random | None = None
    ) -> datetime | None:
        base = self.delays_s[min(failed_attempts, len(self.delays_s)) - 1]
        factor = 1.0 + self.jitter * (rng or random).uniform(-1.0, 1.0)
        at = now + timedelta(seconds=base * factor)
        return at if at <= started_at + timedelta(seconds=self.window_s) else None


def schedule_of(services: Services) -> RetrySchedule:
    settings = services.settings
    return RetrySchedule(
        tuple(settings.webhook_retry_delays_s), settings.webhook_retry_window_s, settings.webhook_retry_jitter
    )


def event_source(services: Services, event: FeedEvent) -> str:
    """The CloudEvents ``source``: the organisation that caused the event, on this exchange."""
    return f"{services.settings.public_url.rstrip('/')}/organizations/{event.source_tenant_id}"


async def fan_out(services: Services, event_id: uuid.UUID) -> int:
    """Deliveries for the recipient's endpoints, then the live publication; the deliveries created."""
    async with services.db.platform() as platform:
        event = await repository.event_for(platform, event_id)
    if event is None:
        log.warning("feeds.fan_out_unknown_event", event_id=str(event_id))
        return 0
    try:
        recipient = await services.tenants.get(event.recipient_tenant_id)
    except UnknownTenant:
        log.info("feeds.recipient_inactive", event_id=str(event_id), tenant_id=str(event.recipient_tenant_id))
        return 0
    async with services.db.tenant(recipient.scope) as db:
        endpoints = await repository.endpoints_for(db, event)
        created = await repository.add_first_deliveries(db, event, [e.id for e in endpoints], utcnow())
        for delivery_id in created:
            defer_job(db, DELIVER_JOB, str(recipient.id), str(delivery_id), job_id=deliver_job_id(delivery_id))
    await publish(services.redis, LiveEvent.of(event))
    return len(created)


@dataclass(frozen=True, slots=True)
class _Planned:
    url: str
    secrets: list[str]
    attempt: int


async def deliver(
    services: Services, tenant_id: uuid.UUID, delivery_id: uuid.UUID, *, rng: random.Random | None = None
) -> float | None:
    """One attempt of a pending delivery; seconds until the next one, or None when it is settled."""
    try:
        tenant = await services.tenants.get(tenant_id)
    except UnknownTenant:
        return None
    now = utcnow()
    async with services.db.tenant(tenant.scope) as db:
        delivery = await db.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + timedelta(seconds=1):
            return (delivery.next_attempt_at - now).total_seconds()
        endpoint = await db.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None or endpoint.state != EndpointState.ENABLED:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
            delivery.last_error = "the endpoint was switched off before this delivery succeeded"
            return None
        planned = _Planned(endpoint.url, _secrets(services, endpoint, now), delivery.attempts + 1)
        event_id = delivery.event_id
    async with services.db.platform() as platform:
        # only an event addressed to this organisation, whatever its delivery row names
        event = await repository.event_for(platform, event_id, tenant.id)
    if event is None:
        async with services.db.tenant(tenant.scope) as db:
            delivery = await db.get(WebhookDelivery, delivery_id, with_for_update=True)
            if delivery is not None:
                delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
                delivery.last_error = "the event no longer exists"
        return None
    status, error, duration_ms = await _post(services, planned, event)
    return await _record_attempt(services, tenant.scope, delivery_id, planned.attempt, status, error, duration_ms, rng)


def _secrets(services: Services, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    app_secret = services.settings.resolved_secret_key()
    secrets = [unseal(endpoint.sealed_secret, app_secret)]
    if (
        endpoint.previous_sealed_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(unseal(endpoint.previous_sealed_secret, app_secret))
    return secrets


async def _post(services: Services, planned: _Planned, event: FeedEvent) -> tuple[int | None, str | None, int]:
    body = envelope_body(
        cloud_event(
            event_id=str(event.id),
            source=event_source(services, event),
            type=event.type,
            subject=event.subject,
            time=event.occurred_at,
            data=event.data,
        )
    )
    headers = signed_headers(planned.secrets, str(event.id), int(time.time()), body)
    headers["user-agent"] = "cbamx-webhooks/1"
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        # redirects are not followed: a receiver moves by changing its endpoint's URL
        async with httpx.AsyncClient(timeout=services.settings.webhook_timeout_s, follow_redirects=False) as client:
            response = await client.post(planned.url, content=body, headers=headers)
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000] if str(exc) else type(exc).__name__
    return status, error, int((time.perf_counter() - started) * 1000)


async def _record_attempt(
    services: Services,
    scope: TenantScope,
    delivery_id: uuid.UUID,
    attempt: int,
    status: int | None,
    error: str | None,
    duration_ms: int,
    rng: random.Random | None,
) -> float | None:
    now = utcnow()
    async with services.db.tenant(scope) as db:
        delivery = await db.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.state != DeliveryState.PENDING or delivery.attempts >= attempt:
            return None  # another run of this delivery recorded its attempt first
        endpoint = await db.get(WebhookEndpoint, delivery.endpoint_id, with_for_update=True)
        next_at: datetime | None = None
        if error is None:
            delivery.state, delivery.delivered_at = DeliveryState.DELIVERED, now
            if endpoint is not None:
                endpoint.last_success_at = now
        else:
            next_at = schedule_of(services).next_attempt_at(delivery.created_at, now, attempt, rng)
            if next_at is None:
                delivery.state = DeliveryState.FAILED
                _fail_endpoint(services, endpoint, delivery, now)
        delivery.attempts = attempt
        delivery.last_status_code, delivery.last_error, delivery.next_attempt_at = status, error, next_at
        db.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                attempt=attempt,
                attempted_at=now,
                status_code=status,
                error=error,
                duration_ms=duration_ms,
                next_attempt_at=next_at,
            )
        )
    return (next_at - now).total_seconds() if next_at else None


def _fail_endpoint(
    services: Services, endpoint: WebhookEndpoint | None, delivery: WebhookDelivery, now: datetime
) -> None:
    """Switch the endpoint off when nothing reached it during this delivery's whole retry window."""
    if endpoint is None or endpoint.state != EndpointState.ENABLED:
        return
    if endpoint.last_success_at is not None and endpoint.last_success_at >= delivery.created_at:
        return
    hours = services.settings.webhook_retry_window_s / 3600
    set_state(
        endpoint,
        EndpointState.FAILED,
        f"switched off at {now.isoformat(timespec='seconds')}: every attempt to deliver event {delivery.event_id} "
        f"failed for the retry window ({hours:g} h) and nothing else reached this URL meanwhile; "
        "fix the receiver, enable the endpoint, then replay the failed events",
    )
    log.warning("feeds.endpoint_failed", endpoint_id=str(endpoint.id), event_id=str(delivery.event_id))


async def sweep_overdue(services: Services, tenant_id: uuid.UUID) -> int:
    """Queue again the pending deliveries of one organisation whose job was lost."""
    try:
        tenant = await services.tenants.get(tenant_id)
    except UnknownTenant:
        return 0
    async with services.db.tenant(tenant.scope) as db:
        ids = await repository.overdue_deliveries(db, utcnow() - OVERDUE, SWEEP_BATCH)
        for delivery_id in ids:
            defer_job(db, DELIVER_JOB, str(tenant.id), str(delivery_id), job_id=deliver_job_id(delivery_id))
    return len(ids)
