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
        errors: list[FieldError] = text_errors(
            check_text(self.name, field="name", max_length=200, required=True),
            check_text(self.address, field="address", max_length=500),
            check_text(self.city, field="city", max_length=120),
            check_text(self.postal_code, field="postalCode", max_length=20),
            check_text(self.economic_activity, field="economicActivity", max_length=200),
            check_text(self.cbam_installation_id, field="cbamInstallationId", max_length=64),
        )
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
    # fullmatch: ``$`` alone would let a trailing newline through
    if not CODE.fullmatch(code):
        return FieldError("letters, digits, '-', '_' or '.', up to 64 characters", field=field)
    return None


def check_text(value: str | None, *, field: str, max_length: int, required: bool = False) -> FieldError | None:
    """A free-text field that its column can hold: no NUL character (PostgreSQL text cannot), bounded length."""
    if value is None:
        return FieldError("must not be empty", field=field) if required else None
    if "\x00" in value:
        return FieldError("must not contain NUL characters", field=field)
    if required and not value.strip():
        return FieldError("must not be empty", field=field)
    if len(value) > max_length:
        return FieldError(f"at most {max_length} characters", field=field)
    return None


def text_errors(*checks: FieldError | None) -> list[FieldError]:
    return [c for c in checks if c is not None]


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
