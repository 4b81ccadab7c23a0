"""Renewable developers: generation plants and per-contract settlement data (tenant schema), and the
PPA connection that links a developer and an offtaker (platform schema).

The connection is the one record both sides see: the contract's terms, its period and state. The
developer's plants, interval generation and settlement statements stay in the developer's schema; the
offtaker reads those of its contract through the grant that accepting the connection created.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PlatformBase, TenantBase, new_id, str_enum, utcnow
from backend.supply.models import DeliveryShape, PlantTechnology, PpaSettlement


class GenerationPlant(TenantBase):
    """A developer's generating plant."""

    __tablename__ = "generation_plants"
    __table_args__ = (CheckConstraint("capacity_kw > 0", name="capacity_positive"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    technology: Mapped[PlantTechnology] = mapped_column(str_enum(PlantTechnology))
    capacity_kw: Mapped[float] = mapped_column(Float)  # installed capacity (AC export limit for PV)
    commissioning_date: Mapped[date] = mapped_column(Date)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    country: Mapped[str] = mapped_column(String(2))
    bidding_zone: Mapped[str] = mapped_column(String(32))
    # the delivery (metering) point code, e.g. its EIC
    metering_point: Mapped[str] = mapped_column(String(64), default="")
    # the TSO/DSO document proving the grid connection, by id and hash
    grid_connection_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("evidence_documents.id", ondelete="RESTRICT")
    )
    grid_connection_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UploadStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"


class SettlementUpload(TenantBase):
    """One interval-generation file for one contract: queued, checked by a worker, stored all or nothing."""

    __tablename__ = "settlement_uploads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connection_id: Mapped[uuid.UUID] = mapped_column(index=True)  # PpaConnection.id
    plant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("generation_plants.id", ondelete="RESTRICT"))
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_documents.id", ondelete="RESTRICT"))
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[UploadStatus] = mapped_column(str_enum(UploadStatus), default=UploadStatus.QUEUED)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_checked: Mapped[int] = mapped_column(Integer, default=0)  # progress while running
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    resolution_s: Mapped[int | None] = mapped_column(Integer)
    energy_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SettlementInterval(TenantBase):
    """Energy delivered at the delivery point in one interval of one contract (UTC, explicit end)."""

    __tablename__ = "settlement_intervals"
    __table_args__ = (
        CheckConstraint("interval_end > interval_start", name="interval_order"),
        CheckConstraint("energy_wh >= 0", name="energy_not_negative"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(primary_key=True)
    interval_end: Mapped[datetime]
    resolution_s: Mapped[int] = mapped_column(Integer)
    energy_wh: Mapped[int] = mapped_column(BigInteger)
    quality: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 actual, 1 estimated
    plant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("generation_plants.id", ondelete="RESTRICT"))
    upload_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlement_uploads.id", ondelete="RESTRICT"), index=True)


class SettlementStatement(TenantBase):
    """A settlement statement of a contract: the document, its period and the volume it settles."""

    __tablename__ = "settlement_statements"
    __table_args__ = (
        CheckConstraint("period_end > period_start", name="period_order"),
        CheckConstraint("volume_mwh >= 0", name="volume_not_negative"),
        Index("ix_settlement_statements_connection", "connection_id", "period_start"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    connection_id: Mapped[uuid.UUID]
    reference: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    volume_mwh: Mapped[float] = mapped_column(Float)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_documents.id", ondelete="RESTRICT"))
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConnectionStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DECLINED = "declined"
    REVOKED = "revoked"  # ended early by either side
    ENDED = "ended"  # the contract ran out


class PpaConnection(PlatformBase):
    """A PPA between a developer and an offtaker, as both see it; one invites, the other accepts."""

    __tablename__ = "ppa_connections"
    __table_args__ = (
        CheckConstraint("period_end > period_start", name="period_order"),
        Index("ix_ppa_connections_developer", "developer_tenant_id", "status"),
        Index("ix_ppa_connections_offtaker", "offtaker_tenant_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    developer_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    offtaker_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    invited_by_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    status: Mapped[ConnectionStatus] = mapped_column(str_enum(ConnectionStatus), default=ConnectionStatus.INVITED)
    reference: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    settlement: Mapped[PpaSettlement] = mapped_column(str_enum(PpaSettlement))
    delivery_shape: Mapped[DeliveryShape] = mapped_column(str_enum(DeliveryShape))
    contracted_volume_mwh: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    # each side's own record: the developer's plant, the offtaker's supply contract
    plant_id: Mapped[uuid.UUID | None]
    contract_id: Mapped[uuid.UUID | None]
    grant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("grants.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
