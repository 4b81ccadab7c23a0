"""The SQL of feeds: events a recipient may read, and the deliveries that go with them.

Its fetchers check no authorisation: only ``backend.feeds.service`` and ``backend.feeds.delivery``
import it, with the caller's organisation and client already established.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.feeds.models import (
    DeliveryState,
    EndpointState,
    FeedEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from backend.feeds.schemas import FeedFilter
from backend.tenants.models import Tenant, role_name

Position = tuple[int, datetime, uuid.UUID]


def _settled(settle_s: float) -> ColumnElement[bool]:
    """Events no earlier position can still appear before: written by a transaction older than every
    running one, or at least ``settle_s`` old (so that one long transaction anywhere in the cluster,
    a migration or a bulk import, holds the feed back by ``settle_s`` at most)."""
    return or_(
        FeedEvent.tx_id < text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"),
        FeedEvent.occurred_at < func.now() - timedelta(seconds=settle_s),
    )


def _authentic() -> ColumnElement[bool]:
    """The row was written by its source organisation's own role (see ``backend.feeds.models``)."""
    return FeedEvent.source_role == literal(role_name("")) + Tenant.key


def _for(recipient: uuid.UUID, client_pk: uuid.UUID | None) -> ColumnElement[bool]:
    """Addressed to the organisation; a machine client also sees only what names no other client."""
    condition = FeedEvent.recipient_tenant_id == recipient
    if client_pk is not None:
        condition = and_(
            condition, or_(FeedEvent.recipient_client_id.is_(None), FeedEvent.recipient_client_id == client_pk)
        )
    return condition


async def events_page(
    db: AsyncSession,
    recipient: uuid.UUID,
    client_pk: uuid.UUID | None,
    filters: FeedFilter,
    *,
    after: Position | None,
    limit: int,
    settle_s: float,
) -> list[FeedEvent]:
    statement = (
        select(FeedEvent)
        .join(Tenant, Tenant.id == FeedEvent.source_tenant_id)
        .where(_for(recipient, client_pk), _authentic(), _settled(settle_s))
        .order_by(FeedEvent.tx_id, FeedEvent.occurred_at, FeedEvent.id)
        .limit(limit)
    )
    if filters.types:
        statement = statement.where(FeedEvent.type.in_(filters.types))
    if filters.since is not None:
        statement = statement.where(FeedEvent.occurred_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(FeedEvent.occurred_at < filters.until)
    if after is not None:
        statement = statement.where(tuple_(FeedEvent.tx_id, FeedEvent.occurred_at, FeedEvent.id) > tuple_(*after))
    return list((await db.execute(statement)).scalars())


async def event_for(
    db: AsyncSession, event_id: uuid.UUID, recipient: uuid.UUID | None = None, client_pk: uuid.UUID | None = None
) -> FeedEvent | None:
    """The authentic event with this id (addressed to ``recipient`` when given), settled or not."""
    statement = (
        select(FeedEvent)
        .join(Tenant, Tenant.id == FeedEvent.source_tenant_id)
        .where(FeedEvent.id == event_id, _authentic())
    )
    if recipient is not None:
        statement = statement.where(_for(recipient, client_pk))
    return (await db.execute(statement)).scalar_one_or_none()


async def endpoints_for(db: AsyncSession, event: FeedEvent) -> list[WebhookEndpoint]:
    """The recipient's enabled endpoints that want this event."""
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.state == EndpointState.ENABLED,
        or_(func.cardinality(WebhookEndpoint.event_types) == 0, WebhookEndpoint.event_types.any(event.type)),
    )
    if event.recipient_client_id is not None:
        statement = statement.where(
            or_(WebhookEndpoint.client_id.is_(None), WebhookEndpoint.client_id == event.recipient_client_id)
        )
    return list((await db.execute(statement.order_by(WebhookEndpoint.created_at))).scalars())


async def add_first_deliveries(
    db: AsyncSession, event: FeedEvent, endpoint_ids: Sequence[uuid.UUID], now: datetime
) -> list[uuid.UUID]:
    """One delivery per endpoint, unless the fan-out already made it; the ids of those made now."""
    if not endpoint_ids:
        return []
    rows = [
        {"id": uuid.uuid4(), "endpoint_id": e, "event_id": event.id, "event_type": event.type} for e in endpoint_ids
    ]
    statement = (
        insert(WebhookDelivery)
        .values(
            [
                {**row, "state": DeliveryState.PENDING.value, "attempts": 0, "created_at": now, "next_attempt_at": now}
                for row in rows
            ]
        )
        .on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"], index_where=WebhookDelivery.replay_of.is_(None)
        )
        .returning(WebhookDelivery.id)
    )
    return list((await db.execute(statement)).scalars())


async def latest_delivery(db: AsyncSession, endpoint_id: uuid.UUID, event_id: uuid.UUID) -> WebhookDelivery | None:
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.event_id == event_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(1)
    )
    return (await db.execute(statement)).scalar_one_or_none()


async def failed_since(db: AsyncSession, endpoint_id: uuid.UUID, since: datetime, limit: int) -> list[WebhookDelivery]:
    """Per event, its latest delivery to the endpoint, where that one failed and began at or after ``since``."""
    latest = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .distinct(WebhookDelivery.event_id)
        .order_by(WebhookDelivery.event_id, WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .subquery()
    )
    statement = (
        select(WebhookDelivery)
        .join(latest, latest.c.id == WebhookDelivery.id)
        .where(latest.c.state == DeliveryState.FAILED.value, latest.c.created_at >= since)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list((await db.execute(statement)).scalars())


async def deliveries_page(
    db: AsyncSession,
    endpoint_id: uuid.UUID,
    state: DeliveryState | None,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[WebhookDelivery]:
    """Newest first."""
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if state is not None:
        statement = statement.where(WebhookDelivery.state == state)
    if after is not None:
        statement = statement.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < tuple_(*after))
    statement = statement.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)
    return list((await db.execute(statement)).scalars())


async def attempts_of(db: AsyncSession, delivery_ids: Sequence[uuid.UUID]) -> list[WebhookAttempt]:
    statement = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)
    )
    return list((await db.execute(statement)).scalars())


async def overdue_deliveries(db: AsyncSession, before: datetime, limit: int) -> list[uuid.UUID]:
    statement = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.next_attempt_at < before)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return list((await db.execute(statement)).scalars())
