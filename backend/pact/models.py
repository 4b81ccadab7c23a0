"""Answering data requests received through PACT.

A requester's ``RequestCreatedEvent`` becomes an exchange data request (``backend.exchange.models
.FootprintRequest`` with ``origin`` PACT, the one record of it); what is stored here is how its answer
reaches the requester's own PACT host:

- ``PactHostCredential`` (tenant schema of the requester): the client credentials the requester gave
  us for its host, the secret sealed like a webhook secret and never shown again;
- ``PactAnswer`` (platform schema, beside the request, read by both sides): the one answer event of a
  request (RequestFulfilledEvent or RequestRejectedEvent), built once with its event id, and where its
  delivery stands; ``PactAnswerAttempt`` is its delivery log.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PlatformBase, TenantBase, new_id, str_enum, utcnow


class PactHostCredential(TenantBase):
    """The client credentials for one PACT host of the organisation (where answers to its requests go)."""

    __tablename__ = "pact_host_credentials"
    __table_args__ = (UniqueConstraint("host_url"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # the host's base URL, normalised (``backend.pact.callbacks.normal_host``): what a request's source names
    host_url: Mapped[str] = mapped_column(String(2000))
    client_id: Mapped[str] = mapped_column(String(200))
    sealed_secret: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerState(enum.StrEnum):
    PENDING = "pending"  # an attempt is due (the first, or a retry)
    DELIVERED = "delivered"  # the requester's host answered 2xx
    FAILED = "failed"  # still failing when the retry window (3 days) ended


class PactAnswer(PlatformBase):
    """The answer event of one PACT request and its delivery to the requester's host."""

    __tablename__ = "pact_answers"
    __table_args__ = (
        UniqueConstraint("request_id"),
        Index("ix_pact_answers_pending", "next_attempt_at", postgresql_where=text("state = 'pending'")),
        Index("ix_pact_answers_importer_target", "importer_tenant_id", "target"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("footprint_requests.id", ondelete="CASCADE"))
    importer_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    supplier_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # the CloudEvent's id: a new UUID, the same in every attempt so the receiver can de-duplicate
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(120))
    # the requester's host (the request's source, normalised); the event goes to <target>/3/events
    target: Mapped[str] = mapped_column(String(2000))
    event: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[AnswerState] = mapped_column(str_enum(AnswerState, length=16), default=AnswerState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PactAnswerAttempt(PlatformBase):
    """The delivery log of an answer: one row per attempt (credentials, token, then the event)."""

    __tablename__ = "pact_answer_attempts"
    __table_args__ = (UniqueConstraint("answer_id", "attempt"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    answer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pact_answers.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime]
    # where it ended: "credentials" (none registered), "token" (the token endpoint), "event" (POST /3/events)
    stage: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None]
