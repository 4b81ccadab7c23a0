"""Typed inputs of metering."""

from __future__ import annotations

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
