"""Typed inputs of supply contracts, validated once with every field error collected, per kind."""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from backend.errors import FieldError
from backend.installations.schemas import check_text
from backend.supply.models import (
    FOSSIL_TECHNOLOGIES,
    BalancingResponsibility,
    ContractKind,
    DeliveryShape,
    PlantTechnology,
    PpaSettlement,
)

REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./\-]{0,63}$")
BIDDING_ZONE = re.compile(r"^[A-Z]{2}[A-Z0-9_\-]{0,29}$")
MAX_VOLUME_MWH = 100_000_000.0
MAX_CAPACITY_KW = 20_000_000.0
MAX_DELIVERY_POINTS = 50


@dataclass(frozen=True, slots=True)
class PlantFields:
    """A generating plant as a contract names it (PPA, direct link, own generation)."""

    name: str = ""
    technology: PlantTechnology | None = None
    capacity_kw: float | None = None
    commissioning_date: date | None = None
    latitude: float | None = None
    longitude: float | None = None
    country: str | None = None
    bidding_zone: str | None = None


def plant_errors(plant: PlantFields, prefix: str = "plant.", *, required: bool) -> list[FieldError]:
    """What is wrong with a plant's fields; with ``required``, the ones a PPA must name too."""
    errors: list[FieldError] = []
    if (e := check_text(plant.name, field=f"{prefix}name", max_length=200, required=required)) is not None:
        errors.append(e)
    if required and plant.technology is None:
        errors.append(FieldError("name the technology, e.g. SOLAR_PV", field=f"{prefix}technology"))
    if plant.capacity_kw is not None and not (
        math.isfinite(plant.capacity_kw) and 0 < plant.capacity_kw <= MAX_CAPACITY_KW
    ):
        errors.append(FieldError(f"above 0 and at most {MAX_CAPACITY_KW:.0f} kW", field=f"{prefix}capacityKw"))
    elif required and plant.capacity_kw is None:
        errors.append(FieldError("the installed capacity [kW]", field=f"{prefix}capacityKw"))
    if required and plant.commissioning_date is None:
        errors.append(FieldError("the commissioning date", field=f"{prefix}commissioningDate"))
    elif plant.commissioning_date is not None and not date(1900, 1, 1) <= plant.commissioning_date <= date(2100, 1, 1):
        errors.append(FieldError("a date between 1900 and 2100", field=f"{prefix}commissioningDate"))
    if plant.latitude is not None and not (math.isfinite(plant.latitude) and -90 <= plant.latitude <= 90):
        errors.append(FieldError("between -90 and 90", field=f"{prefix}latitude"))
    elif required and plant.latitude is None:
        errors.append(FieldError("the plant's latitude", field=f"{prefix}latitude"))
    if plant.longitude is not None and not (math.isfinite(plant.longitude) and -180 <= plant.longitude <= 180):
        errors.append(FieldError("between -180 and 180", field=f"{prefix}longitude"))
    elif required and plant.longitude is None:
        errors.append(FieldError("the plant's longitude", field=f"{prefix}longitude"))
    if plant.country is not None and not re.fullmatch(r"[A-Z]{2}", plant.country):
        errors.append(FieldError("an ISO 3166-1 alpha-2 code such as RS", field=f"{prefix}country"))
    elif required and plant.country is None:
        errors.append(FieldError("the plant's country", field=f"{prefix}country"))
    if plant.bidding_zone is not None and not BIDDING_ZONE.fullmatch(plant.bidding_zone):
        errors.append(FieldError("a bidding zone code such as RS or DE-LU", field=f"{prefix}biddingZone"))
    elif required and plant.bidding_zone is None:
        errors.append(FieldError("the plant's bidding zone, e.g. RS", field=f"{prefix}biddingZone"))
    return errors


def period_errors(start: datetime, end: datetime | None, *, end_required: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    if start.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="periodStart"))
    if end is None:
        if end_required:
            errors.append(FieldError("a PPA runs until a date: give its end", field="periodEnd"))
    elif end.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="periodEnd"))
    elif start.tzinfo is not None and end <= start:
        errors.append(FieldError("must be after the period start", field="periodEnd"))
    return errors


@dataclass(frozen=True, slots=True)
class ContractData:
    installation_id: uuid.UUID
    kind: ContractKind
    reference: str
    title: str
    period_start: datetime
    period_end: datetime | None = None
    counterparty: str = ""
    supplier_factor_id: uuid.UUID | None = None
    intermediary: str = ""
    settlement: PpaSettlement | None = None
    delivery_shape: DeliveryShape | None = None
    contracted_volume_mwh: float | None = None
    balancing_responsibility: BalancingResponsibility | None = None
    plant: PlantFields = field(default_factory=PlantFields)
    generator_meter_id: uuid.UUID | None = None
    fuel: str = ""
    shared_link: bool = False
    same_legal_entity: bool = False
    notes: str = ""
    meter_ids: list[uuid.UUID] = field(default_factory=list)
    grid_connection_point_ids: list[uuid.UUID] = field(default_factory=list)

    def errors(self) -> list[FieldError]:
        """Every field error of the contract; the fields a kind needs are required for it."""
        errors: list[FieldError] = []
        if not REFERENCE.fullmatch(self.reference):
            errors.append(
                FieldError("1 to 64 letters, digits and _ . / -, starting with a letter or digit", field="reference")
            )
        for value, name, length, required in (
            (self.title, "title", 200, True),
            (self.counterparty, "counterparty", 200, self.kind in (ContractKind.GRID, ContractKind.PPA)),
            (self.intermediary, "intermediary", 200, False),
            (self.fuel, "fuel", 120, False),
            (self.notes, "notes", 4000, False),
        ):
            if (e := check_text(value, field=name, max_length=length, required=required)) is not None:
                errors.append(e)
        errors += period_errors(self.period_start, self.period_end, end_required=self.kind == ContractKind.PPA)
        if self.contracted_volume_mwh is not None and not (
            math.isfinite(self.contracted_volume_mwh) and 0 < self.contracted_volume_mwh <= MAX_VOLUME_MWH
        ):
            errors.append(FieldError(f"above 0 and at most {MAX_VOLUME_MWH:.0f} MWh", field="contractedVolumeMwh"))
        if len(self.meter_ids) + len(self.grid_connection_point_ids) > MAX_DELIVERY_POINTS:
            errors.append(FieldError(f"at most {MAX_DELIVERY_POINTS} delivery points", field="meterIds"))
        kind = self.kind
        not_for = {
            "supplierFactorId": (self.supplier_factor_id is not None, {ContractKind.GRID}),
            "settlement": (self.settlement is not None, {ContractKind.PPA}),
            "deliveryShape": (self.delivery_shape is not None, {ContractKind.PPA}),
            "contractedVolumeMwh": (self.contracted_volume_mwh is not None, {ContractKind.PPA}),
            "balancingResponsibility": (self.balancing_responsibility is not None, {ContractKind.PPA}),
            "intermediary": (bool(self.intermediary), {ContractKind.PPA}),
            "plant": (
                self.plant != PlantFields(),
                {ContractKind.PPA, ContractKind.DIRECT_LINK, ContractKind.OWN_GENERATION},
            ),
            "generatorMeterId": (
                self.generator_meter_id is not None,
                {ContractKind.PPA, ContractKind.DIRECT_LINK, ContractKind.OWN_GENERATION},
            ),
            "fuel": (bool(self.fuel), {ContractKind.OWN_GENERATION}),
            "sharedLink": (self.shared_link, {ContractKind.DIRECT_LINK}),
        }
        for name, (given, kinds) in not_for.items():
            if given and kind not in kinds:
                errors.append(FieldError(f"does not apply to a {kind.value} contract", field=name))
        if kind == ContractKind.PPA:
            if self.settlement is None:
                errors.append(FieldError("PHYSICAL or FINANCIAL", field="settlement"))
            if self.delivery_shape is None:
                errors.append(FieldError("PAY_AS_PRODUCED, BASELOAD or SHAPED", field="deliveryShape"))
            if self.balancing_responsibility is None:
                errors.append(FieldError("BUYER, SELLER or SUPPLIER", field="balancingResponsibility"))
            if self.delivery_shape in (DeliveryShape.BASELOAD, DeliveryShape.SHAPED) and (
                self.contracted_volume_mwh is None
            ):
                errors.append(
                    FieldError("a baseload or shaped PPA states its contracted volume", field="contractedVolumeMwh")
                )
            errors += plant_errors(self.plant, required=True)
        elif kind in (ContractKind.DIRECT_LINK, ContractKind.OWN_GENERATION):
            errors += plant_errors(self.plant, required=False)
            named = check_text(self.plant.name, field="plant.name", max_length=200, required=True)
            if named is not None and named.field not in {x.field for x in errors}:
                errors.append(named)
            if kind == ContractKind.OWN_GENERATION and self.plant.technology is None:
                errors.append(FieldError("name the generator's technology", field="plant.technology"))
            if (
                kind == ContractKind.OWN_GENERATION
                and self.plant.technology in FOSSIL_TECHNOLOGIES
                and not self.fuel.strip()
            ):
                errors.append(FieldError("a fossil generator names its fuel, e.g. natural gas", field="fuel"))
        return errors
