"""The ingest domain's tables (tenant schema): raw counter readings, the deliveries that brought
them, the agents that sent them, file imports with their reports, and conflicting readings.

Metering reads the readings and deliveries to derive interval data; only ingest writes them.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, str_enum, utcnow


class ReadingQuality(enum.IntEnum):
    GOOD = 0
    UNCERTAIN = 1
    MISSING = 2


class CounterReading(TenantBase):
    """A raw reading as the agent or file sent it: evidence, append-only, stored once."""

    __tablename__ = "counter_readings"

    data_point_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str | None] = mapped_column(String(64))
    # when it arrived is the batch's received_at: one value per delivery, not per reading
    batch_id: Mapped[uuid.UUID]
    # the register words as read on the wire, big-endian 16-bit each (Modbus); null for OPC UA
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)


class BatchStatus(enum.StrEnum):
    """Where a delivery stands in interval derivation."""

    PENDING = "pending"  # its readings wait for derivation (or for the rest of their days)
    DERIVED = "derived"
    QUARANTINED = "quarantined"  # derivation failed or found nothing derivable; an operator decides
    DISCARDED = "discarded"  # an operator set it aside: its readings stay as evidence, never derived


class IngestBatch(TenantBase):
    """One accepted delivery of readings: who sent it, when, how many, and its digest."""

    __tablename__ = "ingest_batches"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # agent | file
    source_ref: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    readings: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    first_ts: Mapped[datetime | None]
    last_ts: Mapped[datetime | None]
    body_sha256: Mapped[str] = mapped_column(String(64))
    # set when interval data have been derived from this batch's readings
    derived_at: Mapped[datetime | None] = mapped_column(index=True)
    status: Mapped[BatchStatus] = mapped_column(
        str_enum(BatchStatus, length=16), default=BatchStatus.PENDING, server_default=BatchStatus.PENDING.value
    )
    # why it was quarantined or discarded, in words an operator can act on
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    # derivation runs in bounded chunks of days: the last UTC day derived so far for this batch
    derived_through: Mapped[date | None] = mapped_column(Date)


class ConnectorAgent(TenantBase):
    """What an on-site agent last reported about itself."""

    __tablename__ = "connector_agents"
    __table_args__ = (UniqueConstraint("installation_id", "agent_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(120))
    client_id: Mapped[str] = mapped_column(String(64))
    agent_version: Mapped[str] = mapped_column(String(32), default="")
    last_contact_at: Mapped[datetime]
    last_upload_at: Mapped[datetime | None]
    clock_offset_s: Mapped[float | None] = mapped_column(Float)
    buffer_depth: Mapped[int] = mapped_column(BigInteger, default=0)
    oldest_pending_at: Mapped[datetime | None]
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    devices: Mapped[list[dict[str, object]]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    # the import could not run to its end (an unexpected error, a job lost): nothing was stored
    FAILED = "failed"


class FileImport(TenantBase):
    __tablename__ = "file_imports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_documents.id", ondelete="RESTRICT"))
    mapping: Mapped[dict[str, object]] = mapped_column(JSONB)
    status: Mapped[ImportStatus] = mapped_column(str_enum(ImportStatus), default=ImportStatus.QUEUED)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    # [{"row": 17, "column": "value", "code": "NOT_A_NUMBER", "message": "..."}]
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSONB, default=list)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ConflictStatus(enum.StrEnum):
    OPEN = "open"
    KEPT_STORED = "kept_stored"
    TOOK_NEW = "took_new"


class ReadingConflict(TenantBase):
    """A reading that arrived with another value for a data point and time already holding one.

    The stored raw reading is evidence and is never changed; this row keeps the value that
    arrived, from which delivery, and the exporter's decision. A value taken over the stored one
    (``TOOK_NEW``) is applied over the stored one when readings are read for derivation
    (``backend.metering.repository.load_readings``).
    """

    __tablename__ = "reading_conflicts"
    # the same conflicting value sent again (an agent resending after a lost answer) is recorded once
    __table_args__ = (UniqueConstraint("data_point_id", "ts", "received_value"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"), index=True)
    data_point_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("data_points.id", ondelete="CASCADE"))
    ts: Mapped[datetime]
    stored_value: Mapped[float | None] = mapped_column(Float)
    received_value: Mapped[float] = mapped_column(Float)
    received_quality: Mapped[int] = mapped_column(SmallInteger)
    received_raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    # the delivery that brought the received value, and the reading's index in it
    batch_id: Mapped[uuid.UUID]
    item_index: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # agent | file | history
    status: Mapped[ConflictStatus] = mapped_column(str_enum(ConflictStatus), default=ConflictStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    resolved_at: Mapped[datetime | None]
