"""Use cases of feeds: reading one's events, managing webhook endpoints, the delivery log, replays.

Events are read in a platform unit of work (the runtime role reads ``feeds.events``; every query
names the caller's organisation). Endpoints, deliveries and attempts are the recipient's own rows,
read and changed in its tenant unit of work. A machine client sees the events that name no client
or name it, and manages only the endpoints it registered; people see and manage all of them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.db import defer_job, tenant_scope_of, utcnow
from backend.feeds import repository
from backend.feeds.errors import (
    FeedEventNotFound,
    WebhookEndpointLimit,
    WebhookEndpointNotEnabled,
    WebhookEndpointNotFound,
)
from backend.feeds.live import LiveEvent, listen
from backend.feeds.models import (
    DeliveryState,
    EndpointState,
    FeedEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from backend.feeds.schemas import EndpointChanges, EndpointData, FeedFilter
from backend.feeds.signing import new_secret, seal
from backend.identity.principal import Principal
from backend.tenants.registry import TenantRegistry

READ_SCOPE = "feeds:read"
WRITE_SCOPE = "feeds:write"
MAX_ENDPOINTS = 20
MAX_REPLAY = 1000
# after a rotation the previous secret still signs for this long
PREVIOUS_SECRET_GRACE = timedelta(hours=24)
DELIVER_JOB = "feeds.deliver"


def client_of(principal: Principal) -> uuid.UUID | None:
    """The machine client whose view is narrowed to its own events and endpoints (None for people)."""
    return principal.client_pk if principal.kind == "client" else None


def deliver_job_id(delivery_id: uuid.UUID | str) -> str:
    return f"{DELIVER_JOB}:{delivery_id}"


# --- events -------------------------------------------------------------------------------------------


async def list_events(
    db: AsyncSession,
    principal: Principal,
    filters: FeedFilter,
    *,
    after: repository.Position | None,
    limit: int,
    settle_s: float,
) -> list[FeedEvent]:
    """The caller's organisation's events in feed order (oldest first), ``limit`` at most.

    An event is listed once every transaction that began before its own has ended, or once it is
    ``settle_s`` old: a cursor then never passes over an event that commits later, unless its
    transaction ran longer than ``settle_s``.
    """
    principal.require(READ_SCOPE)
    filters.validate()
    return await repository.events_page(
        db, principal.require_tenant(), client_of(principal), filters, after=after, limit=limit, settle_s=settle_s
    )


async def get_event(db: AsyncSession, principal: Principal, event_id: uuid.UUID) -> FeedEvent:
    principal.require(READ_SCOPE)
    event = await repository.event_for(db, event_id, principal.require_tenant(), client_of(principal))
    if event is None:
        raise FeedEventNotFound("no such event in your feed", field="eventId")
    return event


# --- endpoints ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointWithSecret:
    """An endpoint and its signing secret: shown once, when registered or rotated."""

    endpoint: WebhookEndpoint
    secret: str


def _audit_view(endpoint: WebhookEndpoint) -> dict[str, object]:
    # never the secret, sealed or not
    return {
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "description": endpoint.description,
        "state": endpoint.state.value,
        "client_id": str(endpoint.client_id) if endpoint.client_id else None,
    }


async def get_endpoint(
    db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, field: str = "endpointId"
) -> WebhookEndpoint:
    """One of the caller's endpoints; ``field`` names the input that gave its id."""
    principal.require(READ_SCOPE)
    endpoint = await db.get(WebhookEndpoint, endpoint_id)
    client = client_of(principal)
    if endpoint is None or (client is not None and endpoint.client_id != client):
        raise WebhookEndpointNotFound("no such webhook endpoint", field=field)
    return endpoint


async def list_endpoints(db: AsyncSession, principal: Principal) -> list[WebhookEndpoint]:
    principal.require(READ_SCOPE)
    statement = select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    client = client_of(principal)
    if client is not None:
        statement = statement.where(WebhookEndpoint.client_id == client)
    return list((await db.execute(statement)).scalars())


async def create_endpoint(
    db: AsyncSession, principal: Principal, data: EndpointData, *, app_secret: str
) -> EndpointWithSecret:
    principal.require(WRITE_SCOPE)
    data.validate()
    if (await db.scalar(select(func.count()).select_from(WebhookEndpoint))) >= MAX_ENDPOINTS:
        raise WebhookEndpointLimit(f"an organisation has at most {MAX_ENDPOINTS} webhook endpoints")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=data.url,
        description=data.description,
        event_types=list(data.event_types),
        client_id=client_of(principal),
        sealed_secret=seal(secret, app_secret),
        state=EndpointState.ENABLED,
        state_reason="",
        state_changed_at=utcnow(),
        created_by=principal.label,
    )
    db.add(endpoint)
    await db.flush()
    await record(
        db, principal, "webhook_endpoint.created", "webhook_endpoint", endpoint.id, after=_audit_view(endpoint)
    )
    return EndpointWithSecret(endpoint, secret)


async def update_endpoint(
    db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, changes: EndpointChanges
) -> WebhookEndpoint:
    """Change the URL, types or description; ``enabled`` switches it on (also after it failed) or off."""
    principal.require(WRITE_SCOPE)
    endpoint = await get_endpoint(db, principal, endpoint_id, field="id")
    changes.validate()
    before = _audit_view(endpoint)
    if changes.url is not None:
        endpoint.url = changes.url
    if changes.event_types is not None:
        endpoint.event_types = list(changes.event_types)
    if changes.description is not None:
        endpoint.description = changes.description
    if changes.enabled is True and endpoint.state != EndpointState.ENABLED:
        set_state(endpoint, EndpointState.ENABLED, "")
    elif changes.enabled is False and endpoint.state == EndpointState.ENABLED:
        set_state(endpoint, EndpointState.DISABLED, f"disabled by {principal.label}")
    await db.flush()
    await record(
        db,
        principal,
        "webhook_endpoint.updated",
        "webhook_endpoint",
        endpoint.id,
        before=before,
        after=_audit_view(endpoint),
    )
    return endpoint


def set_state(endpoint: WebhookEndpoint, state: EndpointState, reason: str) -> None:
    endpoint.state = state
    endpoint.state_reason = reason
    endpoint.state_changed_at = utcnow()


async def rotate_endpoint_secret(
    db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, app_secret: str
) -> EndpointWithSecret:
    """A new secret; the previous one goes on signing beside it for ``PREVIOUS_SECRET_GRACE``."""
    principal.require(WRITE_SCOPE)
    endpoint = await get_endpoint(db, principal, endpoint_id, field="id")
    secret = new_secret()
    endpoint.previous_sealed_secret = endpoint.sealed_secret
    endpoint.previous_secret_expires_at = utcnow() + PREVIOUS_SECRET_GRACE
    endpoint.sealed_secret = seal(secret, app_secret)
    await db.flush()
    await record(
        db,
        principal,
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint",
        endpoint.id,
        details={"previous_secret_expires_at": endpoint.previous_secret_expires_at.isoformat()},
    )
    return EndpointWithSecret(endpoint, secret)


# --- the delivery log and replays -------------------------------------------------------------------


async def list_deliveries(
    db: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    state: DeliveryState | None,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first."""
    await get_endpoint(db, principal, endpoint_id)
    return await repository.deliveries_page(db, endpoint_id, state, after=after, limit=limit)


async def attempts_of(db: AsyncSession, delivery_ids: list[uuid.UUID]) -> list[WebhookAttempt]:
    """The delivery log of deliveries the caller has already been shown (a loader's batch)."""
    return await repository.attempts_of(db, delivery_ids)


def _queue_delivery(
    db: AsyncSession, endpoint: WebhookEndpoint, event_id: uuid.UUID, event_type: str, replay_of: uuid.UUID | None
) -> WebhookDelivery:
    now = utcnow()
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=event_type,
        replay_of=replay_of,
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.add(delivery)
    defer_job(db, DELIVER_JOB, str(tenant_scope_of(db).tenant_id), str(delivery.id), job_id=deliver_job_id(delivery.id))
    return delivery


async def replay_event(
    db: AsyncSession,
    principal: Principal,
    events_db: AsyncSession,
    endpoint_id: uuid.UUID,
    event_id: uuid.UUID,
) -> WebhookDelivery:
    """Send one of the caller's events to an enabled endpoint again (receivers deduplicate by its id).

    ``events_db`` is a platform session, where the event is looked up among the caller's own.
    """
    principal.require(WRITE_SCOPE)
    endpoint = await get_endpoint(db, principal, endpoint_id)
    event = await get_event(events_db, principal, event_id)
    if endpoint.state != EndpointState.ENABLED:
        raise WebhookEndpointNotEnabled("enable the endpoint before replaying to it", field="endpointId")
    previous = await repository.latest_delivery(db, endpoint.id, event.id)
    delivery = _queue_delivery(db, endpoint, event.id, event.type, previous.id if previous else None)
    await db.flush()
    await record(
        db,
        principal,
        "webhook_delivery.replayed",
        "webhook_endpoint",
        endpoint.id,
        details={"event_id": str(event.id), "delivery_id": str(delivery.id)},
    )
    return delivery


async def replay_failed(
    db: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, since: datetime
) -> list[WebhookDelivery]:
    """Send again every event whose latest delivery to the endpoint failed and began at or after ``since``."""
    principal.require(WRITE_SCOPE)
    endpoint = await get_endpoint(db, principal, endpoint_id)
    if endpoint.state != EndpointState.ENABLED:
        raise WebhookEndpointNotEnabled("enable the endpoint before replaying to it", field="endpointId")
    failed = await repository.failed_since(db, endpoint.id, since, MAX_REPLAY)
    deliveries = [_queue_delivery(db, endpoint, d.event_id, d.event_type, d.id) for d in failed]
    await db.flush()
    await record(
        db,
        principal,
        "webhook_delivery.replayed",
        "webhook_endpoint",
        endpoint.id,
        details={"since": since.isoformat(), "deliveries": len(deliveries)},
    )
    return deliveries


# --- live subscriptions -------------------------------------------------------------------------------


async def stream_events(
    redis: Redis, tenants: TenantRegistry, principal: Principal, filters: FeedFilter
) -> AsyncIterator[LiveEvent]:
    """The caller's new events as they are committed, for as long as the caller listens.

    The organisation's status is checked again with every event (the registry caches it for a
    second): a subscription of an organisation suspended meanwhile ends with ``UNKNOWN_TENANT``.
    """
    principal.require(READ_SCOPE)
    filters.validate(prefix="")
    tenant_id = principal.require_tenant()
    client = client_of(principal)
    async for event in listen(redis, tenant_id):
        if not event.visible_to(tenant_id, client) or (filters.types and event.type not in filters.types):
            continue
        await tenants.get(tenant_id)
        yield event
