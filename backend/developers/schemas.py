"""Typed inputs of developers: plants, invitations, statements."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from backend.errors import FieldError
from backend.installations.schemas import check_text
from backend.supply.models import DeliveryShape, PpaSettlement
from backend.supply.schemas import MAX_VOLUME_MWH, REFERENCE, PlantFields, period_errors, plant_errors


@dataclass(frozen=True, slots=True)
class PlantData:
    plant: PlantFields
    metering_point: str = ""
    grid_connection_document_id: uuid.UUID | None = None

    def errors(self) -> list[FieldError]:
        errors = plant_errors(self.plant, "", required=True)
        if (e := check_text(self.metering_point, field="meteringPoint", max_length=64)) is not None:
            errors.append(e)
        return errors


@dataclass(frozen=True, slots=True)
class Terms:
    """A PPA's terms as the connection states them to both sides."""

    reference: str
    title: str
    period_start: datetime
    period_end: datetime | None
    settlement: PpaSettlement
    delivery_shape: DeliveryShape
    contracted_volume_mwh: float | None = None
    message: str = ""

    def errors(self) -> list[FieldError]:
        errors: list[FieldError] = []
        if not REFERENCE.fullmatch(self.reference):
            errors.append(
                FieldError("1 to 64 letters, digits and _ . / -, starting with a letter or digit", field="reference")
            )
        for value, name, length, required in ((self.title, "title", 200, True), (self.message, "message", 2000, False)):
            if (e := check_text(value, field=name, max_length=length, required=required)) is not None:
                errors.append(e)
        errors += period_errors(self.period_start, self.period_end, end_required=True)
        if self.contracted_volume_mwh is not None and not (
            math.isfinite(self.contracted_volume_mwh) and 0 < self.contracted_volume_mwh <= MAX_VOLUME_MWH
        ):
            errors.append(FieldError(f"above 0 and at most {MAX_VOLUME_MWH:.0f} MWh", field="contractedVolumeMwh"))
        return errors


@dataclass(frozen=True, slots=True)
class StatementData:
    reference: str
    period_start: datetime
    period_end: datetime
    volume_mwh: float

    def errors(self) -> list[FieldError]:
        errors: list[FieldError] = []
        if not REFERENCE.fullmatch(self.reference):
            errors.append(
                FieldError("1 to 64 letters, digits and _ . / -, starting with a letter or digit", field="reference")
            )
        errors += period_errors(self.period_start, self.period_end, end_required=True)
        if not (math.isfinite(self.volume_mwh) and 0 <= self.volume_mwh <= MAX_VOLUME_MWH):
            errors.append(FieldError(f"between 0 and {MAX_VOLUME_MWH:.0f} MWh", field="volumeMwh"))
        return errors


@dataclass(slots=True)
class IntervalColumns:
    """A contract's settlement intervals as columns (a calculation reads a year of them at once)."""

    start_s: list[int] = field(default_factory=list)
    end_s: list[int] = field(default_factory=list)
    resolution_s: list[int] = field(default_factory=list)
    energy_wh: list[int] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    upload_id: list[uuid.UUID] = field(default_factory=list)

    def extend(self, other: IntervalColumns) -> None:
        for name in ("start_s", "end_s", "resolution_s", "energy_wh", "quality", "upload_id"):
            getattr(self, name).extend(getattr(other, name))

    def __len__(self) -> int:
        return len(self.start_s)
