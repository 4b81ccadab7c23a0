"""PACT events other hosts send to an organisation (tenant schema of the organisation that received them).

A data owner's host answers the organisation's requests (``RequestFulfilledEvent`` with the footprints,
``RequestRejectedEvent`` with the error) and tells it of new or changed footprints (``PublishedEvent``)
by posting to ``/3/events`` with a client the organisation created for it. Each event is kept as received,
once per (source, event id): the organisation's inbox.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, str_enum, utcnow


class ReceivedEventType(enum.StrEnum):
    PUBLISHED = "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"
    REQUEST_FULFILLED = "org.wbcsd.pact.ProductFootprint.RequestFulfilledEvent.3"
    REQUEST_REJECTED = "org.wbcsd.pact.ProductFootprint.RequestRejectedEvent.3"


class ReceivedPactEvent(TenantBase):
    __tablename__ = "pact_received_events"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    type: Mapped[ReceivedEventType] = mapped_column(str_enum(ReceivedEventType, length=80))
    # the CloudEvent's source: the sending host
    source: Mapped[str] = mapped_column(String(2000))
    event_id: Mapped[str] = mapped_column(String(200))
    event_time: Mapped[datetime]
    # the request an answer is to (our RequestCreatedEvent's id; it may be one we do not know)
    request_event_id: Mapped[str | None] = mapped_column(String(200))
    # the footprints it names: PublishedEvent's pfIds, or the ids of a RequestFulfilledEvent's pfs
    pf_ids: Mapped[list[str] | None] = mapped_column(JSONB)
    pfs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    event: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # the client (of this organisation) that posted it
    client_id: Mapped[str] = mapped_column(String(200))
    client_name: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
