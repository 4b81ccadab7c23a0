"""Typed inputs of the production domain: products, batches (from any way in), MES column mappings."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import available_timezones

from backend.errors import FieldError, ValidationFailed
from backend.installations.schemas import check_code, check_text, text_errors
from backend.production.goods import check_cn_code, normalise_cn
from backend.production.models import ProductionRoute

_TIMEZONES = available_timezones() | {"UTC"}
UNWROUGHT_ROUTES = frozenset(
    {
        ProductionRoute.PRIMARY_SMELTING,
        ProductionRoute.SECONDARY_MELTING,
        ProductionRoute.OTHER,
        ProductionRoute.UNKNOWN,
    }
)
PRODUCT_ROUTES = frozenset({ProductionRoute.ALL_ROUTES})


@dataclass(frozen=True, slots=True)
class ProductData:
    code: str
    name: str
    cn_code: str
    production_route: ProductionRoute
    scrap_t_per_t: float | None = None
    pre_consumer_scrap_share: float | None = None
    non_aluminium_share: float | None = None
    description: str = ""

    def validate(self) -> str:
        """Every field checked at once; the aggregated goods category of the CN code when all are fine."""
        errors = text_errors(
            check_code(self.code),
            check_text(self.name, field="name", max_length=200, required=True),
            check_text(self.description, field="description", max_length=2000),
        )
        found = check_cn_code(self.cn_code)
        category = found.entry.aggregated_category if found.entry else ""
        if not found.covered:
            errors.append(FieldError(found.reason, field="cnCode"))
        elif found.entry is not None and found.entry.sector == "aluminium":
            # [TPL] Parameters_Constants: unwrought aluminium has its routes; aluminium products "All production routes"
            allowed = (
                UNWROUGHT_ROUTES if category == "Unwrought aluminium" else PRODUCT_ROUTES | {ProductionRoute.OTHER}
            )
            if self.production_route not in allowed:
                names = ", ".join(sorted(r.value.upper() for r in allowed))
                errors.append(FieldError(f"for {category} one of {names}", field="productionRoute"))
        for value, name in (
            (self.scrap_t_per_t, "scrapTonnesPerTonne"),
            (self.pre_consumer_scrap_share, "preConsumerScrapShare"),
            (self.non_aluminium_share, "nonAluminiumShare"),
        ):
            if value is not None and not math.isfinite(value):
                errors.append(FieldError("a finite number", field=name))
        if self.scrap_t_per_t is not None and math.isfinite(self.scrap_t_per_t) and self.scrap_t_per_t < 0:
            errors.append(FieldError("tonnes of scrap per tonne of product, 0 or more", field="scrapTonnesPerTonne"))
        for value, name in (
            (self.pre_consumer_scrap_share, "preConsumerScrapShare"),
            (self.non_aluminium_share, "nonAluminiumShare"),
        ):
            if value is not None and math.isfinite(value) and not 0 <= value <= 1:
                errors.append(FieldError("a share between 0 and 1 (0.25 is 25 %)", field=name))
        if self.pre_consumer_scrap_share is not None and not self.scrap_t_per_t:
            errors.append(
                FieldError(
                    "a pre-consumer share needs the scrap used per tonne (above 0)", field="preConsumerScrapShare"
                )
            )
        if found.entry is not None and found.entry.sector != "aluminium":
            for value, name in (
                (self.scrap_t_per_t, "scrapTonnesPerTonne"),
                (self.pre_consumer_scrap_share, "preConsumerScrapShare"),
                (self.non_aluminium_share, "nonAluminiumShare"),
            ):
                if value is not None:
                    errors.append(
                        FieldError("an aluminium qualifying parameter; this CN code is not aluminium", field=name)
                    )
        if errors:
            raise ValidationFailed(errors)
        return category

    @property
    def normalised_cn(self) -> str:
        return normalise_cn(self.cn_code)


@dataclass(frozen=True, slots=True)
class PrecursorData:
    mass_t: float
    cn_code: str = ""
    description: str = ""
    supplier_installation: str = ""
    supplier_installation_id: str = ""
    embedded_tco2e_per_t: float | None = None
    emissions_source: str = ""


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One batch as it arrived (API, file row or stream), before its line and product are looked up by code."""

    batch_number: str
    product: str  # the product's code
    started_at: datetime
    ended_at: datetime
    net_mass_t: float
    line: str = ""  # the line's code, or empty when the batch is recorded on a process
    process: str = ""  # the process's code (optional when a line is given: the line's own process)
    alloy: str = ""
    scrap_t: float = 0.0
    order_ref: str = ""
    shipment_ref: str = ""
    precursors: tuple[PrecursorData, ...] = field(default_factory=tuple)

    def same_as(self, other: BatchRow) -> bool:
        return self == other


# the batch fields a file mapping may name, with the field name errors use
BATCH_FIELDS = {
    "batch_number": "batchNumber",
    "line": "line",
    "process": "process",
    "product": "product",
    "alloy": "alloy",
    "started_at": "startedAt",
    "ended_at": "endedAt",
    "net_mass": "netMassT",
    "scrap": "scrapT",
    "order_ref": "orderRef",
    "shipment_ref": "shipmentRef",
    "precursor_mass": "precursorMass",
    "precursor_cn_code": "precursorCnCode",
    "precursor_supplier": "precursorSupplier",
    "precursor_supplier_installation_id": "precursorSupplierInstallationId",
    "precursor_embedded_emissions": "precursorEmbeddedEmissions",
    "precursor_emissions_source": "precursorEmissionsSource",
}
REQUIRED_FIELDS = ("batch_number", "product", "started_at", "ended_at", "net_mass")
MASS_UNITS = {"t": 1.0, "kg": 0.001}


@dataclass(frozen=True, slots=True)
class MappingData:
    name: str
    columns: dict[str, str]  # batch field -> column header
    timezone: str = "UTC"
    date_format: str = "iso"
    mass_unit: str = "t"
    delimiter: str = ","
    decimal: str = "."
    sheet: str = ""

    def validate(self) -> None:
        errors = text_errors(
            check_text(self.name, field="name", max_length=120, required=True),
            check_text(self.sheet, field="sheet", max_length=120),
        )
        for key, header in self.columns.items():
            if key not in BATCH_FIELDS:
                errors.append(
                    FieldError(f"'{key[:40]}' is not a batch field; one of {', '.join(BATCH_FIELDS)}", field="columns")
                )
            problem = check_text(header, field=f"columns.{key[:40]}", max_length=200, required=True)
            if problem is not None:
                errors.append(problem)
        missing = [f for f in REQUIRED_FIELDS if f not in self.columns]
        if missing:
            errors.append(FieldError(f"map a column to {', '.join(missing)}", field="columns"))
        if "line" not in self.columns and "process" not in self.columns:
            errors.append(FieldError("map a column to line or to process", field="columns"))
        if len(set(self.columns.values())) != len(self.columns):
            errors.append(FieldError("one column maps to one field", field="columns"))
        if self.timezone not in _TIMEZONES:
            errors.append(FieldError("an IANA time zone such as Europe/Belgrade", field="timezone"))
        if self.date_format != "iso":
            try:
                datetime.strptime(datetime(2026, 1, 2, 3, 4, 5).strftime(self.date_format), self.date_format)
            except (ValueError, TypeError):
                errors.append(FieldError("'iso' or a strptime format such as %d.%m.%Y %H:%M", field="dateFormat"))
            if "%" not in self.date_format:
                errors.append(FieldError("'iso' or a strptime format such as %d.%m.%Y %H:%M", field="dateFormat"))
        if self.mass_unit not in MASS_UNITS:
            errors.append(FieldError("t or kg", field="massUnit"))
        if len(self.delimiter) != 1 or self.delimiter in ('"', "\n", "\r"):
            errors.append(FieldError("one character such as , or ;", field="delimiter"))
        if self.decimal not in (".", ","):
            errors.append(FieldError("'.' or ','", field="decimal"))
        if self.decimal == self.delimiter:
            errors.append(FieldError("the decimal mark cannot be the delimiter", field="decimal"))
        if errors:
            raise ValidationFailed(errors)


@dataclass(frozen=True, slots=True)
class BatchFilter:
    installation_id: uuid.UUID
    line_id: uuid.UUID | None = None
    product_id: uuid.UUID | None = None
    start: datetime | None = None  # batches ending after this
    end: datetime | None = None  # batches starting before this
    # only batches wholly inside [start, end), as a grant's period limits them
    inside: bool = False
