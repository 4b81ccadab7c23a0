"""Provisional footprints (tenant schema): a batch's embedded emissions computed from the data received
by the time it ended, before the period's calculation run gives the final figure.

A batch gets a new version whenever more of its interval data has arrived; every version is kept,
the latest is the one shown.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, utcnow


class ProvisionalFootprint(TenantBase):
    """One provisional version of a batch's footprint: its figures, the data it saw, and digests to check it."""

    __tablename__ = "provisional_footprints"
    __table_args__ = (
        UniqueConstraint("batch_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("matched_share BETWEEN 0 AND 1", name="matched_share_0_1"),
        Index("ix_provisional_footprints_installation_id_computed_at", "installation_id", "computed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_batches.id", ondelete="CASCADE"))
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the end of the last interval that had data when it was computed (None: none yet)
    data_until: Mapped[datetime | None]
    # the window of interval data loaded: the batch's local day(s), up to the computation
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    energy_kwh: Mapped[float] = mapped_column(Float)
    electricity_kwh_per_t: Mapped[float] = mapped_column(Float)
    matched_kwh: Mapped[float] = mapped_column(Float)
    matched_share: Mapped[float] = mapped_column(Float)  # matched kWh / energy kWh (0 without energy)
    # tCO2e of the batch: the installation's own direct (fuel), indirect (electricity), and precursors'
    direct_tco2: Mapped[float] = mapped_column(Float)
    indirect_tco2: Mapped[float] = mapped_column(Float)
    precursor_direct_tco2: Mapped[float] = mapped_column(Float)
    precursor_indirect_tco2: Mapped[float] = mapped_column(Float)
    # specific embedded emissions, tCO2e per tonne of the batch's net output
    see_direct: Mapped[float] = mapped_column(Float)
    see_indirect: Mapped[float] = mapped_column(Float)
    see_total: Mapped[float] = mapped_column(Float)
    # shares of the batch's energy that was measured, estimated, missing (0..1 each)
    measured_share: Mapped[float] = mapped_column(Float)
    estimated_share: Mapped[float] = mapped_column(Float)
    missing_share: Mapped[float] = mapped_column(Float)
    factor_refs: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # [{"code": ..., "message": ...}] from the engine
    warnings: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    methodology_version: Mapped[str] = mapped_column(String(16))
    inputs_digest: Mapped[str] = mapped_column(String(64))
    output_digest: Mapped[str] = mapped_column(String(64))
