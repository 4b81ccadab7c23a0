"""Data requests received through PACT (tenant schema of the data owner asked).

A recipient's ``RequestCreatedEvent`` names what it wants (ListFootprints criteria) and, in its
``source``, the host the answer must go to. The owner fulfils or rejects it later; the event is kept
as received, once per (source, event id).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, str_enum, utcnow


class RequestStatus(enum.StrEnum):
    RECEIVED = "received"  # not yet answered
    FULFILLED = "fulfilled"
    REJECTED = "rejected"


class FootprintRequest(TenantBase):
    __tablename__ = "pact_footprint_requests"
    __table_args__ = (UniqueConstraint("source", "event_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(String(200))
    # the CloudEvent's source: the requester's host, where the fulfilled or rejected event goes
    source: Mapped[str] = mapped_column(String(2000))
    requester_tenant_id: Mapped[uuid.UUID]
    requester_client_id: Mapped[str] = mapped_column(String(200))
    requester_name: Mapped[str] = mapped_column(String(200))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONB)
    comment: Mapped[str | None] = mapped_column(Text)
    event: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, length=16), default=RequestStatus.RECEIVED)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
