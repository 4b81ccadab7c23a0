"""Installations, grid connection points, production processes and lines (tenant schema)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, utcnow


class Installation(TenantBase):
    __tablename__ = "installations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2))
    unlocode: Mapped[str | None] = mapped_column(String(5))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    economic_activity: Mapped[str] = mapped_column(String(200), default="")
    cbam_installation_id: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Belgrade")
    interval_resolution_s: Mapped[int] = mapped_column(Integer, default=900)
    balance_tolerance: Mapped[float] = mapped_column(Float, default=0.05)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GridConnectionPoint(TenantBase):
    __tablename__ = "grid_connection_points"
    __table_args__ = (UniqueConstraint("installation_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))  # e.g. the metering point's EIC code
    name: Mapped[str] = mapped_column(String(200))
    voltage_kv: Mapped[float | None] = mapped_column(Float)
    grid_operator: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductionProcess(TenantBase):
    """A production process in the CBAM sense, with the boundary that says what it includes."""

    __tablename__ = "production_processes"
    __table_args__ = (UniqueConstraint("installation_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    goods_category: Mapped[str] = mapped_column(String(120), default="")
    boundary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductionLine(TenantBase):
    __tablename__ = "production_lines"
    __table_args__ = (UniqueConstraint("installation_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    process_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_processes.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    boundary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
