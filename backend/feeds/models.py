"""Feed tables: the exchange-wide event log (schema ``feeds``) and each recipient's webhook endpoints,
deliveries and delivery attempts (tenant schema).

Why the events live in a shared schema and not in the source tenant's outbox: an event must commit
with the change that caused it, so it is written inside the source tenant's unit of work, as the
source tenant's role; and the recipient must be able to read it at once and forever, without a copy
job standing between them (a copy would be a second place for an event to get lost or duplicated).
The tenant roles may only INSERT into ``feeds.events`` and only the columns they are meant to set
(tenancy/ddl.py): they can neither read anyone's events nor say which role wrote a row, because
``source_role`` takes ``current_user`` from PostgreSQL. The runtime role reads the table and serves
each recipient its own rows; a row whose ``source_role`` is not the role of its ``source_tenant_id``
was forged by another tenant and is never served.

``tx_id`` is the writing transaction's id. A reader only sees rows whose transaction is older than
every transaction still running, so a cursor over ``(tx_id, occurred_at, id)`` never skips an event
that commits after a later one was read.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PlatformBase, TenantBase, new_id, str_enum, utcnow

FEEDS_SCHEMA = "feeds"
# the columns a tenant role may set when it inserts an event (everything else PostgreSQL fills in)
EMITTED_COLUMNS = (
    "id",
    "type",
    "source_tenant_id",
    "recipient_tenant_id",
    "recipient_client_id",
    "subject",
    "data",
    "occurred_at",
)
TX_ID_SQL = "pg_current_xact_id()::text::bigint"


class FeedEvent(PlatformBase):
    """One event for one recipient organisation (and, when named, one of its machine clients)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_recipient_position", "recipient_tenant_id", "tx_id", "occurred_at", "id"),
        {"schema": FEEDS_SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(120))
    source_tenant_id: Mapped[uuid.UUID]
    recipient_tenant_id: Mapped[uuid.UUID]
    recipient_client_id: Mapped[uuid.UUID | None]
    subject: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime]
    tx_id: Mapped[int] = mapped_column(BigInteger, server_default=text(TX_ID_SQL))
    source_role: Mapped[str] = mapped_column(Text, server_default=text("current_user"))


class EndpointState(enum.StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"  # switched off by the organisation
    FAILED = "failed"  # switched off by the platform: a delivery failed for the whole retry window


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # an attempt is due (the first, or a retry)
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # the retry window ended, or the endpoint was switched off meanwhile


class WebhookEndpoint(TenantBase):
    """A URL of the recipient organisation that receives its feed events, signed with its secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(300), default="")
    # empty: every event type
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(120)), default=list)
    # registered by a machine client: receives the organisation's events and those addressed to it
    client_id: Mapped[uuid.UUID | None]
    sealed_secret: Mapped[str] = mapped_column(Text)
    # after a rotation the previous secret signs too until it expires, so receivers can switch over
    previous_sealed_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    state: Mapped[EndpointState] = mapped_column(str_enum(EndpointState), default=EndpointState.ENABLED)
    state_reason: Mapped[str] = mapped_column(Text, default="")
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(TenantBase):
    """One event sent to one endpoint: the first delivery, or a replay of it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # the fan-out may run twice (at-least-once jobs): it creates the first delivery once
        Index(
            "uq_webhook_deliveries_first",
            "endpoint_id",
            "event_id",
            unique=True,
            postgresql_where=text("replay_of IS NULL"),
        ),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(120))
    replay_of: Mapped[uuid.UUID | None]
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookAttempt(TenantBase):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    # when the next attempt is due; None when this one ended the delivery
    next_attempt_at: Mapped[datetime | None]
