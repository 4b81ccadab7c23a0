"""Typed inputs of the site model, validated once with every field error collected."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from zoneinfo import available_timezones

from backend.errors import FieldError, ValidationFailed

ALLOWED_RESOLUTIONS_S = (300, 600, 900, 1200, 1800, 3600)
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_TIMEZONES = available_timezones()


@dataclass(frozen=True, slots=True)
class InstallationData:
    name: str
    country: str
    address: str = ""
    city: str = ""
    postal_code: str = ""
    unlocode: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    economic_activity: str = ""
    cbam_installation_id: str | None = None
    timezone: str = "Europe/Belgrade"
    interval_resolution_s: int = 900
    balance_tolerance: float = 0.05

    def validate(self) -> None:
        errors: list[FieldError] = []
        if not self.name.strip() or len(self.name) > 200:
            errors.append(FieldError("must be 1 to 200 characters", field="name"))
        if not re.fullmatch(r"[A-Z]{2}", self.country):
            errors.append(FieldError("an ISO 3166-1 alpha-2 code such as RS", field="country"))
        if self.unlocode is not None and not re.fullmatch(r"[A-Z]{2}[A-Z2-9]{3}", self.unlocode):
            errors.append(
                FieldError("a UN/LOCODE: country code and three letters or digits, e.g. RSBEG", field="unlocode")
            )
        elif self.unlocode is not None and self.unlocode[:2] != self.country:
            errors.append(FieldError("must start with the installation's country code", field="unlocode"))
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            errors.append(FieldError("between -90 and 90", field="latitude"))
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            errors.append(FieldError("between -180 and 180", field="longitude"))
        if self.timezone not in _TIMEZONES:
            errors.append(FieldError("an IANA time zone such as Europe/Belgrade", field="timezone"))
        if self.interval_resolution_s not in ALLOWED_RESOLUTIONS_S:
            errors.append(
                FieldError(
                    "one of 300, 600, 900, 1200, 1800, 3600 seconds (5 to 60 minutes)",
                    field="intervalResolutionSeconds",
                )
            )
        if not 0 < self.balance_tolerance < 1:
            errors.append(FieldError("a fraction between 0 and 1, e.g. 0.05", field="balanceTolerance"))
        if errors:
            raise ValidationFailed(errors)


def check_code(code: str, *, field: str = "code") -> FieldError | None:
    if not CODE.match(code):
        return FieldError("letters, digits, '-', '_' or '.', up to 64 characters", field=field)
    return None


@dataclass(frozen=True, slots=True)
class ProcessData:
    installation_id: uuid.UUID
    code: str
    name: str
    goods_category: str = ""
    boundary: str = ""


@dataclass(frozen=True, slots=True)
class LineData:
    process_id: uuid.UUID
    code: str
    name: str
    boundary: str = ""


@dataclass(frozen=True, slots=True)
class GridPointData:
    installation_id: uuid.UUID
    code: str
    name: str
    voltage_kv: float | None = None
    grid_operator: str = ""
