"""Meters, their device history, data points and derived interval data.

A ``Meter`` is a measurement point: its code, place in the hierarchy and what it serves stay
when the physical device is replaced; each device it has held is a ``MeterDevice`` row with its
serial number, ratios and first and last readings.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import TenantBase, new_id, str_enum, utcnow


class Medium(enum.StrEnum):
    ELECTRICITY = "electricity"
    NATURAL_GAS = "natural_gas"
    FLOW = "flow"
    HEAT = "heat"
    COMPRESSED_AIR = "compressed_air"
    WATER = "water"


class MeterRole(enum.StrEnum):
    MAIN = "main"
    SUB = "sub"
    GENERATION = "generation"
    EXPORT = "export"
    CHECK = "check"


class Quantity(enum.StrEnum):
    ACTIVE_ENERGY_IMPORT = "active_energy_import"
    ACTIVE_ENERGY_EXPORT = "active_energy_export"
    REACTIVE_ENERGY_IMPORT = "reactive_energy_import"
    REACTIVE_ENERGY_EXPORT = "reactive_energy_export"
    ACTIVE_POWER = "active_power"
    REACTIVE_POWER = "reactive_power"
    APPARENT_POWER = "apparent_power"
    VOLTAGE_L1N = "voltage_l1n"
    VOLTAGE_L2N = "voltage_l2n"
    VOLTAGE_L3N = "voltage_l3n"
    CURRENT_L1 = "current_l1"
    CURRENT_L2 = "current_l2"
    CURRENT_L3 = "current_l3"
    CURRENT_TOTAL = "current_total"
    FREQUENCY = "frequency"
    POWER_FACTOR = "power_factor"
    GAS_VOLUME = "gas_volume"
    VOLUME = "volume"
    WATER_VOLUME = "water_volume"
    FLOW = "flow"
    HEAT_ENERGY = "heat_energy"
    TEMPERATURE = "temperature"


# quantities read from cumulative registers; interval energy is derived from their differences
COUNTER_QUANTITIES = frozenset(
    {
        Quantity.ACTIVE_ENERGY_IMPORT,
        Quantity.ACTIVE_ENERGY_EXPORT,
        Quantity.REACTIVE_ENERGY_IMPORT,
        Quantity.REACTIVE_ENERGY_EXPORT,
        Quantity.GAS_VOLUME,
        Quantity.VOLUME,
        Quantity.WATER_VOLUME,
        Quantity.HEAT_ENERGY,
    }
)


class Meter(TenantBase):
    __tablename__ = "meters"
    __table_args__ = (UniqueConstraint("installation_id", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    installation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("installations.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    medium: Mapped[Medium] = mapped_column(str_enum(Medium))
    role: Mapped[MeterRole] = mapped_column(str_enum(MeterRole))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"), index=True)
    grid_connection_point_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("grid_connection_points.id", ondelete="SET NULL")
    )
    process_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_processes.id", ondelete="SET NULL"))
    line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_lines.id", ondelete="SET NULL"))
    is_virtual: Mapped[bool] = mapped_column(default=False)
    # virtual meters: [{"meter_id": "...", "coefficient": 1.0}, ...]
    formula: Mapped[list[dict[str, object]] | None] = mapped_column(JSONB)
    max_power_kw: Mapped[float | None] = mapped_column(Float)
    counter_wrap_value: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # from then on the meter measures nothing: it stays, with its history, but leaves the balance
    retired_at: Mapped[datetime | None]


class MeterChangeKind(enum.StrEnum):
    UPDATED = "updated"
    DATA_POINTS_ADDED = "data_points_added"
    RETIRED = "retired"


class MeterChange(TenantBase):
    """One change of a meter's description, with what it was before and after: the meter's history.

    The audit trail holds the same change in its chain; this table is what the exporter reads to
    see when a meter was moved, renamed or retired and by whom.
    """

    __tablename__ = "meter_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    meter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MeterChangeKind] = mapped_column(str_enum(MeterChangeKind))
    # when the change takes effect in the plant (a retirement's time); otherwise when it was made
    effective_at: Mapped[datetime]
    before: Mapped[dict[str, object]] = mapped_column(JSONB)
    after: Mapped[dict[str, object]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeterDevice(TenantBase):
    __tablename__ = "meter_devices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    meter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), index=True)
    serial_number: Mapped[str] = mapped_column(String(64))
    manufacturer: Mapped[str] = mapped_column(String(120), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    ct_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    vt_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    # True when the device reports secondary values, so readings are multiplied by CT x VT
    readings_are_secondary: Mapped[bool] = mapped_column(default=False)
    installed_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    initial_reading: Mapped[float | None] = mapped_column(Float)
    final_reading: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def multiplier(self) -> float:
        return self.ct_ratio * self.vt_ratio if self.readings_are_secondary else 1.0


class DataPoint(TenantBase):
    __tablename__ = "data_points"
    __table_args__ = (UniqueConstraint("meter_id", "quantity"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    meter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    quantity: Mapped[Quantity] = mapped_column(str_enum(Quantity))
    unit: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntervalDay(TenantBase):
    """One meter's derived interval data for one UTC day, as packed little-endian arrays.

    ``energy`` holds float64 values (NaN where missing), ``status`` uint8 codes and ``flags``
    uint16 bit masks, one element per interval of ``resolution_s``; a plant-year loads with one
    query and ``numpy.frombuffer``.
    """

    __tablename__ = "interval_days"

    meter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    resolution_s: Mapped[int] = mapped_column(Integer)
    energy: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[bytes] = mapped_column(LargeBinary)
    flags: Mapped[bytes] = mapped_column(LargeBinary)
    unit: Mapped[str] = mapped_column(String(16))
    methodology_version: Mapped[str] = mapped_column(String(32))
    inputs_digest: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntervalEdit(TenantBase):
    """A user's correction of one interval value, with the reason; applied on every derivation."""

    __tablename__ = "interval_edits"
    __table_args__ = (UniqueConstraint("meter_id", "interval_start"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    meter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"))
    interval_start: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)
    previous_value: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    edited_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
