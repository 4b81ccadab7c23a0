"""Typed inputs of metering."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from backend.metering.models import Medium, MeterRole, Quantity


@dataclass(frozen=True, slots=True)
class DataPointData:
    quantity: Quantity
    unit: str


@dataclass(frozen=True, slots=True)
class DeviceData:
    serial_number: str
    installed_at: datetime
    manufacturer: str = ""
    model: str = ""
    ct_ratio: float = 1.0
    vt_ratio: float = 1.0
    readings_are_secondary: bool = False
    initial_reading: float | None = None


@dataclass(frozen=True, slots=True)
class MeterData:
    installation_id: uuid.UUID
    code: str
    name: str
    medium: Medium
    role: MeterRole
    device: DeviceData | None = None
    parent_id: uuid.UUID | None = None
    grid_connection_point_id: uuid.UUID | None = None
    process_id: uuid.UUID | None = None
    line_id: uuid.UUID | None = None
    data_points: list[DataPointData] | None = None
    max_power_kw: float | None = None
    counter_wrap_value: float | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class FormulaTerm:
    meter_id: uuid.UUID
    coefficient: float


@dataclass(frozen=True, slots=True)
class VirtualMeterData:
    installation_id: uuid.UUID
    code: str
    name: str
    terms: list[FormulaTerm] = field(default_factory=list)
    medium: Medium = Medium.ELECTRICITY
    description: str = ""


@dataclass(frozen=True, slots=True)
class ReplacementData:
    meter_id: uuid.UUID
    removed_at: datetime
    final_reading: float
    new_device: DeviceData


class Keep(enum.Enum):
    """Marks a field of a change that was not given: the meter keeps its value."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class MeterUpdate:
    """A change of a meter's description; fields left at KEEP stay as they are, None clears."""

    meter_id: uuid.UUID
    name: str | Keep = KEEP
    role: MeterRole | Keep = KEEP
    parent_id: uuid.UUID | Keep | None = KEEP
    grid_connection_point_id: uuid.UUID | Keep | None = KEEP
    process_id: uuid.UUID | Keep | None = KEEP
    line_id: uuid.UUID | Keep | None = KEEP
    max_power_kw: float | Keep | None = KEEP
    counter_wrap_value: float | Keep | None = KEEP
    description: str | Keep = KEEP
    add_data_points: list[DataPointData] = field(default_factory=list)
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RetirementData:
    meter_id: uuid.UUID
    retired_at: datetime
    final_reading: float | None = None
    reason: str = ""
