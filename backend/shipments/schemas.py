"""Typed inputs of shipments, validated once with every field error collected."""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from backend.errors import FieldError, ValidationFailed
from backend.installations.schemas import check_text, text_errors

# member states of the European Union (ISO 3166-1 alpha-2; Greece is GR here, EL only in VAT numbers)
EU_MEMBER_STATES = frozenset(
    {
        *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
        *("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"),
    }
)
# an EORI number: the issuing state's code and up to 15 letters or digits; XI is Northern Ireland
EORI = re.compile(r"[A-Z]{2}[A-Z0-9]{1,15}")
# a Movement Reference Number: year (2 digits), declaring country, 13 characters, a check character
MRN = re.compile(r"[0-9]{2}[A-Z]{2}[A-Z0-9]{14}")
CN_CODE = re.compile(r"[0-9]{8}")
REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 /_.\-]{0,63}")
KILOGRAM = Decimal("0.001")
MAX_MASS = Decimal("999999999.999")  # what numeric(12, 3) holds
MAX_BATCHES = 500


def to_mass(value: object) -> Decimal | None:
    """A mass in tonnes from a number or its text ('19.84' or '19,84'); None when it is no finite number."""
    if isinstance(value, bool):
        return None
    try:
        mass = Decimal(str(value).strip().replace(",", ".")) if isinstance(value, str) else Decimal(str(value))
    except InvalidOperation:
        return None
    return mass if mass.is_finite() else None


def check_mass(mass: Decimal | None, *, field: str) -> FieldError | None:
    if mass is None:
        return FieldError("a number of tonnes, e.g. 19.84", field=field)
    if mass <= 0:
        return FieldError("must be more than 0 t", field=field)
    if mass > MAX_MASS:
        return FieldError(f"at most {MAX_MASS} t", field=field)
    if mass != mass.quantize(KILOGRAM):
        return FieldError("at most three decimals: tonnes to the kilogram", field=field)
    return None


@dataclass(frozen=True, slots=True)
class BatchShare:
    """The mass a shipment takes from one production batch."""

    batch_id: uuid.UUID
    mass_t: Decimal | None


@dataclass(frozen=True, slots=True)
class ShipmentData:
    installation_id: uuid.UUID
    reference: str
    customer_name: str
    customer_country: str
    cn_code: str
    net_mass_t: Decimal | None
    dispatch_date: date
    invoice_number: str
    batches: tuple[BatchShare, ...] = field(default_factory=tuple)
    customer_eori: str | None = None
    delivery_date: date | None = None
    mrn: str | None = None

    def errors(self, today: date) -> list[FieldError]:
        """Every field error of the shipment on its own (the goods list and the batches are looked up later)."""
        errors = text_errors(
            check_text(self.customer_name, field="customerName", max_length=200, required=True),
            check_text(self.reference, field="reference", max_length=64, required=True),
            check_text(self.invoice_number, field="invoiceNumber", max_length=64, required=True),
        )
        fields = {e.field for e in errors}
        if "reference" not in fields and not REFERENCE.fullmatch(self.reference):
            errors.append(FieldError("letters, digits, space, '/', '-', '_' or '.', up to 64", field="reference"))
        if "invoiceNumber" not in fields and not REFERENCE.fullmatch(self.invoice_number):
            errors.append(FieldError("letters, digits, space, '/', '-', '_' or '.', up to 64", field="invoiceNumber"))
        if self.customer_country not in EU_MEMBER_STATES:
            errors.append(
                FieldError(
                    "the ISO code of an EU member state such as DE (shipments here go to EU customers)",
                    field="customerCountry",
                )
            )
        if self.customer_eori is not None:
            if not EORI.fullmatch(self.customer_eori):
                errors.append(
                    FieldError("an EORI number: country code and up to 15 letters or digits", field="customerEori")
                )
            elif self.customer_eori[:2] not in EU_MEMBER_STATES | {"XI"}:
                errors.append(FieldError("an EORI number issued in the EU (e.g. DE...)", field="customerEori"))
        if not CN_CODE.fullmatch(self.cn_code):
            errors.append(FieldError("an 8-digit CN code such as 76042910", field="cnCode"))
        if (problem := check_mass(self.net_mass_t, field="netMassT")) is not None:
            errors.append(problem)
        if self.dispatch_date > today:
            errors.append(FieldError(f"{self.dispatch_date} is in the future", field="dispatchDate"))
        if self.delivery_date is not None:
            if self.delivery_date > today:
                errors.append(FieldError(f"{self.delivery_date} is in the future", field="deliveryDate"))
            elif self.delivery_date < self.dispatch_date:
                errors.append(FieldError("before the dispatch date", field="deliveryDate"))
        if self.mrn is not None and not MRN.fullmatch(self.mrn):
            errors.append(
                FieldError(
                    "an MRN of 18 characters: year, country code, 14 letters or digits (e.g. 26RS...)", field="mrn"
                )
            )
        errors += self._batch_errors()
        return errors

    def _batch_errors(self) -> list[FieldError]:
        if not self.batches:
            return [FieldError("name at least one batch the goods came from", field="batches")]
        if len(self.batches) > MAX_BATCHES:
            return [FieldError(f"at most {MAX_BATCHES} batches", field="batches")]
        errors: list[FieldError] = []
        seen: set[uuid.UUID] = set()
        for i, share in enumerate(self.batches):
            if share.batch_id in seen:
                errors.append(FieldError("the same batch is named twice", field=f"batches.{i}.batchId"))
            seen.add(share.batch_id)
            if (problem := check_mass(share.mass_t, field=f"batches.{i}.massT")) is not None:
                errors.append(problem)
        masses = [s.mass_t for s in self.batches]
        if not errors and self.net_mass_t is not None and check_mass(self.net_mass_t, field="") is None:
            total = sum((m for m in masses if m is not None), Decimal(0))
            if total != self.net_mass_t:
                errors.append(
                    FieldError(
                        f"the batches' masses add up to {total} t, the net mass is {self.net_mass_t} t",
                        field="batches",
                    )
                )
        return errors


@dataclass(frozen=True, slots=True)
class ShipmentDocuments:
    """What may change on a recorded shipment: its papers and dates, never its goods or batches."""

    customer_name: str
    customer_country: str
    invoice_number: str
    customer_eori: str | None = None
    delivery_date: date | None = None
    mrn: str | None = None


class Granularity(enum.StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month, quarter or year, as local dates [start, end)."""

    granularity: Granularity
    year: int
    number: int  # the month (1-12) or quarter (1-4); 1 for a year
    start: date
    end: date

    @classmethod
    def of(cls, granularity: Granularity, year: int, number: int | None) -> Period:
        errors: list[FieldError] = []
        if not 2000 <= year <= 2100:
            errors.append(FieldError("a year between 2000 and 2100", field="year"))
        count = {Granularity.MONTH: 12, Granularity.QUARTER: 4, Granularity.YEAR: 1}[granularity]
        if granularity is Granularity.YEAR:
            if number not in (None, 1):
                errors.append(FieldError("leave it out for a year", field="number"))
            number = 1
        elif number is None or not 1 <= number <= count:
            errors.append(FieldError(f"the {granularity.value}: 1 to {count}", field="number"))
        if errors:
            raise ValidationFailed(errors)
        assert number is not None
        months = 12 // count
        first = (number - 1) * months + 1
        start = date(year, first, 1)
        end = date(year + 1, 1, 1) if first + months > 12 else date(year, first + months, 1)
        return cls(granularity, year, number, start, end)
