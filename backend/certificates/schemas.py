"""Typed inputs of the certificates domain, validated once with every field error collected."""

from __future__ import annotations

import csv
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from backend.certificates.models import CertificateScheme
from backend.errors import FieldError, ValidationFailed
from backend.installations.schemas import check_text, text_errors

COUNTRY = re.compile(r"[A-Z]{2}")
EECS_SOURCE = re.compile(r"F\d{8}")
EECS_TECHNOLOGY = re.compile(r"T\d{6}")
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_IDENTIFIER = 2**63 - 2  # int8range needs end + 1 to fit in a bigint
MAX_EVIDENCE = 20
SOURCES_PATH = Path(__file__).resolve().parent / "data" / "energy_sources.csv"


@lru_cache(maxsize=1)
def energy_source_labels() -> dict[str, str]:
    lines = [ln for ln in SOURCES_PATH.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    return {row["code"]: row["label"] for row in csv.DictReader(lines)}


def normalise_body(issuing_body: str) -> str:
    """Issuing bodies are compared by their code: trimmed, upper case (EMS, AIB codes such as RS-EMS)."""
    return " ".join(issuing_body.split()).upper()


def _country(value: str, field_name: str) -> FieldError | None:
    if not COUNTRY.fullmatch(value):
        return FieldError("an ISO 3166-1 alpha-2 code such as RS", field=field_name)
    return None


def range_errors(start: int, end: int, *, prefix: str = "") -> list[FieldError]:
    errors: list[FieldError] = []
    if not 0 <= start <= MAX_IDENTIFIER:
        errors.append(FieldError(f"an identifier from 0 to {MAX_IDENTIFIER}", field=f"{prefix}rangeStart"))
    if not 0 <= end <= MAX_IDENTIFIER:
        errors.append(FieldError(f"an identifier from 0 to {MAX_IDENTIFIER}", field=f"{prefix}rangeEnd"))
    elif end < start:
        errors.append(
            FieldError("must not be before rangeStart (quantity = end - start + 1)", field=f"{prefix}rangeEnd")
        )
    return errors


@dataclass(frozen=True, slots=True)
class CertificateData:
    """A certificate range as the registry shows it (the developer's issuance record, or a holding)."""

    scheme: CertificateScheme
    issuing_body: str
    issuing_country: str
    range_start: int
    range_end: int
    device_id: str
    device_name: str
    device_country: str
    energy_source: str
    production_start_on: date
    production_end_on: date
    issued_on: date
    technology: str = ""
    registry_reference: str = ""
    supply_contract_id: uuid.UUID | None = None
    evidence_sha256: list[str] = field(default_factory=list)

    def validate(self, today: date) -> None:
        errors = text_errors(
            check_text(self.issuing_body, field="issuingBody", max_length=120, required=True),
            _country(self.issuing_country, "issuingCountry"),
            check_text(self.device_id, field="deviceId", max_length=120, required=True),
            check_text(self.device_name, field="deviceName", max_length=200, required=True),
            _country(self.device_country, "deviceCountry"),
            check_text(self.registry_reference, field="registryReference", max_length=120),
        )
        errors += range_errors(self.range_start, self.range_end)
        if self.scheme == CertificateScheme.GO_EECS:
            if not EECS_SOURCE.fullmatch(self.energy_source):
                errors.append(
                    FieldError("an EECS energy source code: F and 8 digits, e.g. F01010100", field="energySource")
                )
            if self.technology and not EECS_TECHNOLOGY.fullmatch(self.technology):
                errors.append(FieldError("an EECS technology code: T and 6 digits", field="technology"))
        else:
            errors += text_errors(
                check_text(self.energy_source, field="energySource", max_length=16, required=True),
                check_text(self.technology, field="technology", max_length=16),
            )
        if self.production_end_on <= self.production_start_on:
            errors.append(
                FieldError("must be after productionStartOn (the period's end is exclusive)", field="productionEndOn")
            )
        if self.production_end_on > today:
            errors.append(FieldError("a production period that has ended (not in the future)", field="productionEndOn"))
        if self.issued_on < self.production_start_on:
            errors.append(FieldError("must not be before the production period starts", field="issuedOn"))
        if self.issued_on > today:
            errors.append(FieldError("must not be in the future", field="issuedOn"))
        errors += evidence_errors(self.evidence_sha256)
        if errors:
            raise ValidationFailed(errors)


def evidence_errors(hashes: list[str]) -> list[FieldError]:
    if len(hashes) > MAX_EVIDENCE:
        return [FieldError(f"at most {MAX_EVIDENCE} documents", field="evidenceSha256")]
    return [
        FieldError("a SHA-256 in lower-case hex (64 characters)", field=f"evidenceSha256.{i}")
        for i, h in enumerate(hashes)
        if not SHA256.fullmatch(h)
    ]


@dataclass(frozen=True, slots=True)
class StatementData:
    """What a cancellation is for, as the registry's cancellation statement states it."""

    beneficiary: str
    consumption_start_on: date
    consumption_end_on: date
    consumption_country: str
    purpose: str
    cancelled_on: date
    installation_id: uuid.UUID | None = None
    statement_reference: str = ""

    def errors(self, today: date) -> list[FieldError]:
        errors = text_errors(
            check_text(self.beneficiary, field="beneficiary", max_length=200, required=True),
            check_text(self.purpose, field="purpose", max_length=300, required=True),
            _country(self.consumption_country, "consumptionCountry"),
            check_text(self.statement_reference, field="statementReference", max_length=120),
        )
        if self.consumption_end_on <= self.consumption_start_on:
            errors.append(
                FieldError("must be after consumptionStartOn (the period's end is exclusive)", field="consumptionEndOn")
            )
        if self.cancelled_on > today:
            errors.append(FieldError("must not be in the future", field="cancelledOn"))
        return errors


@dataclass(frozen=True, slots=True)
class ClaimData:
    """A use the holder claims a cancelled range for; the whole certificate unless a range is given."""

    certificate_id: uuid.UUID
    period_start_on: date
    period_end_on: date
    purpose: str
    installation_id: uuid.UUID | None = None
    range_start: int | None = None
    range_end: int | None = None

    def validate(self) -> None:
        errors = text_errors(check_text(self.purpose, field="purpose", max_length=300, required=True))
        if self.period_end_on <= self.period_start_on:
            errors.append(
                FieldError("must be after periodStartOn (the period's end is exclusive)", field="periodEndOn")
            )
        if (self.range_start is None) != (self.range_end is None):
            errors.append(FieldError("give both rangeStart and rangeEnd, or neither", field="rangeEnd"))
        elif self.range_start is not None and self.range_end is not None:
            errors += range_errors(self.range_start, self.range_end)
        if errors:
            raise ValidationFailed(errors)


@dataclass(frozen=True, slots=True)
class CertificateFilter:
    """List filters: all optional, combined with AND."""

    states: tuple[str, ...] = ()
    scheme: CertificateScheme | None = None
    supply_contract_id: uuid.UUID | None = None
    ppa_connection_id: uuid.UUID | None = None
    production_from: date | None = None  # production period ends after this day
    production_to: date | None = None  # production period starts before this day
    device_id: str | None = None
