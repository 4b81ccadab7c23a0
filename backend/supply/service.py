"""Use cases of supply contracts: create, change, deliver through meters and grid points, evidence,
and the definitive-period conditions for an actual emission factor with what is missing named.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.db import utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.evidence.errors import DocumentNotFound
from backend.evidence.models import EvidenceDocument
from backend.evidence.service import get_document
from backend.factors.errors import FactorNotFound
from backend.factors.service import supplier_factor_by_id
from backend.identity.principal import Principal
from backend.installations.errors import InstallationNotFound
from backend.installations.service import get_installation
from backend.supply import repository
from backend.supply.errors import ContractNotFound, ContractReferenceTaken
from backend.supply.models import (
    FOSSIL_TECHNOLOGIES,
    ContractDeliveryPoint,
    ContractDocument,
    ContractKind,
    DocumentRole,
    PpaSettlement,
    SupplyContract,
)
from backend.supply.schemas import ContractData

MAX_LISTED = 500
# the definitive-period evidence asks for measurement periods of at most one hour
MAX_EVIDENCE_RESOLUTION_S = 3600


def _bound(principal: Principal) -> uuid.UUID | None:
    return principal.installation_id if principal.kind == "client" else None


async def get_contract(db: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> SupplyContract:
    """One contract; readers of the site model, a bound client only of its installation."""
    principal.require("site:read")
    row = await repository.contract(db, contract_id)
    if row is None or (_bound(principal) not in (None, row.installation_id)):
        raise ContractNotFound("no such supply contract", field="id")
    return row


async def list_contracts(
    db: AsyncSession, principal: Principal, *, installation_id: uuid.UUID | None = None
) -> list[SupplyContract]:
    principal.require("site:read")
    ids: list[uuid.UUID] | None = None
    if installation_id is not None:
        await get_installation(db, principal, installation_id)
        ids = [installation_id]
    if (bound := _bound(principal)) is not None:
        ids = [bound] if ids is None or bound in ids else []
    return await repository.contracts(db, installation_ids=ids, limit=MAX_LISTED)


async def _checked(
    db: AsyncSession, principal: Principal, data: ContractData, *, contract_id: uuid.UUID | None
) -> list[FieldError]:
    """Field errors of the data, including references to the tenant's installation, meters and points."""
    errors = data.errors()
    try:
        await get_installation(db, principal, data.installation_id)
    except InstallationNotFound:
        errors.append(FieldError("no such installation", field="installationId"))
        return errors
    if not any(e.field == "reference" for e in errors) and await repository.reference_taken(
        db, data.installation_id, data.reference, other_than=contract_id
    ):
        raise ContractReferenceTaken(
            f"the reference '{data.reference}' is already used by a contract of this installation", field="reference"
        )
    wanted_meters = [*data.meter_ids, *([data.generator_meter_id] if data.generator_meter_id else [])]
    meters = await repository.meters_of(db, wanted_meters)
    for index, meter_id in enumerate(data.meter_ids):
        meter = meters.get(meter_id)
        if meter is None or meter.installation_id != data.installation_id:
            errors.append(FieldError("no such meter of this installation", field=f"meterIds.{index}"))
    if data.generator_meter_id is not None:
        meter = meters.get(data.generator_meter_id)
        if meter is None or meter.installation_id != data.installation_id:
            errors.append(FieldError("no such meter of this installation", field="generatorMeterId"))
    if data.supplier_factor_id is not None and not any(e.field == "supplierFactorId" for e in errors):
        # one of the organisation's supplier-specific factors; on a change, this contract's own
        try:
            await supplier_factor_by_id(db, data.supplier_factor_id, contract_id=contract_id)
        except (FactorNotFound, FieldError) as refused:
            errors.append(FieldError(refused.message, field="supplierFactorId"))
    points = await repository.grid_points_of(db, data.grid_connection_point_ids)
    for index, point_id in enumerate(data.grid_connection_point_ids):
        point = points.get(point_id)
        if point is None or point.installation_id != data.installation_id:
            errors.append(
                FieldError(
                    "no such grid connection point of this installation", field=f"gridConnectionPointIds.{index}"
                )
            )
    return errors


def _columns(data: ContractData) -> dict[str, object]:
    values = dataclasses.asdict(data)
    for name in ("plant", "meter_ids", "grid_connection_point_ids"):
        values.pop(name)
    plant = data.plant
    values.update(
        plant_name=plant.name,
        technology=plant.technology,
        capacity_kw=plant.capacity_kw,
        commissioning_date=plant.commissioning_date,
        latitude=plant.latitude,
        longitude=plant.longitude,
        plant_country=plant.country,
        bidding_zone=plant.bidding_zone,
    )
    return values


def _points_snapshot(data: ContractData) -> dict[str, list[str]]:
    return {
        "meters": [str(m) for m in data.meter_ids],
        "grid_connection_points": [str(p) for p in data.grid_connection_point_ids],
    }


def _writer(principal: Principal) -> None:
    principal.require("site:write")
    if _bound(principal) is not None:
        raise PermissionDenied("a client bound to one installation cannot change supply contracts")


async def create_contract(
    db: AsyncSession, principal: Principal, data: ContractData, *, contract_id: uuid.UUID | None = None
) -> SupplyContract:
    """Add a contract with the meters and grid points it delivers through; members and up.

    ``contract_id`` gives the new contract a known id (a demo or an import naming it in advance).
    """
    _writer(principal)
    errors = await _checked(db, principal, data, contract_id=None)
    if errors:
        raise ValidationFailed(errors)
    contract = SupplyContract(**_columns(data), **({"id": contract_id} if contract_id else {}))
    db.add(contract)
    await db.flush()
    await repository.replace_delivery_points(db, contract.id, data.meter_ids, data.grid_connection_point_ids)
    await record(
        db,
        principal,
        "supply_contract.created",
        "supply_contract",
        contract.id,
        after=snapshot(contract) | {"delivery_points": _points_snapshot(data)},
    )
    return contract


async def update_contract(
    db: AsyncSession, principal: Principal, contract_id: uuid.UUID, data: ContractData
) -> SupplyContract:
    """Change a contract's terms and delivery points; its kind and installation stay."""
    _writer(principal)
    contract = await repository.contract(db, contract_id, for_update=True)
    if contract is None:
        raise ContractNotFound("no such supply contract", field="id")
    errors = await _checked(db, principal, data, contract_id=contract_id)
    if data.kind != contract.kind:
        errors.append(FieldError("a contract keeps its kind: add a new contract instead", field="kind"))
    if data.installation_id != contract.installation_id:
        errors.append(FieldError("a contract stays with its installation", field="installationId"))
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(contract)
    points_before = await repository.delivery_points(db, [contract.id])
    for key, value in _columns(data).items():
        setattr(contract, key, value)
    await db.flush()
    await repository.replace_delivery_points(db, contract.id, data.meter_ids, data.grid_connection_point_ids)
    await record(
        db,
        principal,
        "supply_contract.updated",
        "supply_contract",
        contract.id,
        before=before
        | {
            "delivery_points": {
                "meters": [str(p.meter_id) for p in points_before if p.meter_id],
                "grid_connection_points": [
                    str(p.grid_connection_point_id) for p in points_before if p.grid_connection_point_id
                ],
            }
        },
        after=snapshot(contract) | {"delivery_points": _points_snapshot(data)},
    )
    return contract


async def attach_document(
    db: AsyncSession, principal: Principal, contract_id: uuid.UUID, document_id: uuid.UUID, role: DocumentRole
) -> ContractDocument:
    """Link one of the tenant's evidence documents to a contract in a role, by id and hash."""
    _writer(principal)
    principal.require("evidence:read")
    contract = await repository.contract(db, contract_id, for_update=True)
    if contract is None:
        raise ContractNotFound("no such supply contract", field="contractId")
    try:
        document = await get_document(db, principal, document_id)
    except DocumentNotFound:
        raise DocumentNotFound("no such document", field="documentId") from None
    if await repository.document_linked(db, contract_id, document_id, role.value):
        raise ValidationFailed([FieldError(f"already linked as {role.value}", field="documentId")])
    link = ContractDocument(contract_id=contract.id, document_id=document.id, sha256=document.sha256, role=role)
    db.add(link)
    await db.flush()
    await record(
        db,
        principal,
        "supply_contract.document_attached",
        "supply_contract",
        contract.id,
        details={"document_id": str(document.id), "sha256": document.sha256, "role": role.value},
    )
    return link


async def delivery_points_of(
    db: AsyncSession, principal: Principal, contract_ids: list[uuid.UUID]
) -> list[ContractDeliveryPoint]:
    principal.require("site:read")
    return await repository.delivery_points(db, contract_ids)


async def documents_of(
    db: AsyncSession, principal: Principal, contract_ids: list[uuid.UUID]
) -> list[tuple[ContractDocument, EvidenceDocument]]:
    principal.require("site:read")
    return await repository.documents(db, contract_ids)


# --- definitive-period conditions for an actual emission factor ---------------------------------


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of the definitive-period rules: whether it is met and, if not, what is missing."""

    code: str
    description: str
    met: bool
    missing: str | None = None


@dataclass(frozen=True, slots=True)
class GeneratorData:
    """What the developer's settlement data of a connected PPA shows for the contract period."""

    intervals: int
    max_resolution_s: int | None
    grid_connection_evidence: bool


@dataclass(frozen=True, slots=True)
class ActualFactorConditions:
    """Whether the contract can carry an actual electricity emission factor in the definitive period."""

    route: str  # direct_technical_link | ppa | own_generation | none
    legal_basis: str
    conditions: list[Condition]

    @property
    def eligible(self) -> bool:
        return self.route != "none" and all(c.met for c in self.conditions)

    @property
    def missing(self) -> list[str]:
        return [c.missing for c in self.conditions if not c.met and c.missing]


def _condition(code: str, description: str, met: bool, missing: str) -> Condition:
    return Condition(code, description, met, None if met else missing)


async def actual_factor_conditions(
    db: AsyncSession,
    principal: Principal,
    contract: SupplyContract,
    *,
    generator_data: GeneratorData | None = None,
    now: datetime | None = None,
) -> ActualFactorConditions:
    """The conditions of [REG956] Annex IV point 6 and [IR2547] Annex II D.4.3 for this contract.

    ``generator_data`` is what a connected developer's settlement data shows (read through the grant
    by the caller); without it the generator's metering is looked for on the tenant's own meters.
    """
    principal.require("site:read")
    now = now or utcnow()
    start = contract.period_start
    end = min(contract.period_end or now, now)
    roles = {link.role for link, _ in await repository.documents(db, [contract.id])}
    points = await repository.delivery_points(db, [contract.id])
    delivery_meters = [p.meter_id for p in points if p.meter_id is not None]
    first_day, last_day = start.date(), (end - timedelta(microseconds=1)).date() if end > start else start.date()
    with_data = await repository.meters_with_data(
        db,
        [*delivery_meters, *([contract.generator_meter_id] if contract.generator_meter_id else [])],
        first_day,
        last_day,
        max_resolution_s=MAX_EVIDENCE_RESOLUTION_S,
    )

    def generator_metering() -> Condition:
        description = "smart-meter data of the generator's production, in periods of at most one hour"
        if generator_data is not None:
            if generator_data.intervals == 0:
                return _condition("generator_metering", description, False, "no generator meter data for the period")
            if (generator_data.max_resolution_s or 0) > MAX_EVIDENCE_RESOLUTION_S:
                return _condition(
                    "generator_metering", description, False, "the generator's data is coarser than one hour"
                )
            return _condition("generator_metering", description, True, "")
        if contract.generator_meter_id is None:
            return _condition("generator_metering", description, False, "no generator meter on the contract")
        return _condition(
            "generator_metering",
            description,
            contract.generator_meter_id in with_data,
            "no generator meter data for the period",
        )

    def delivery_metering() -> Condition:
        description = "smart-meter data of the same amount delivered to the installation within the same hour"
        if not delivery_meters:
            return _condition("delivery_metering", description, False, "no delivery meter on the contract")
        return _condition(
            "delivery_metering",
            description,
            any(m in with_data for m in delivery_meters),
            "no delivery meter data for the period",
        )

    if contract.kind == ContractKind.GRID:
        return ActualFactorConditions(
            "none",
            "IR 2025/2547 Annex II D.4: grid supply uses the country default or an adopted alternative default",
            [
                Condition(
                    "route",
                    "a direct technical link, a PPA or own generation",
                    False,
                    "grid supply is not a direct technical link or a PPA: the default factor applies",
                )
            ],
        )
    if contract.kind == ContractKind.DIRECT_LINK:
        conditions = [
            _condition(
                "single_line_diagram",
                "a single-line diagram of the link between the installation and the generator",
                DocumentRole.SINGLE_LINE_DIAGRAM in roles,
                "no single-line diagram",
            ),
            generator_metering(),
            delivery_metering(),
        ]
        if contract.shared_link or contract.same_legal_entity:
            conditions.append(
                _condition(
                    "offtake_agreement",
                    "a contract for at least the claimed amount (an intra-company off-take agreement "
                    "when both are one legal entity)",
                    DocumentRole.OFFTAKE_AGREEMENT in roles,
                    "no intra-company off-take agreement"
                    if contract.same_legal_entity
                    else "no off-take contract for the shared link",
                )
            )
        return ActualFactorConditions(
            "direct_technical_link", "REG 2023/956 Annex IV point 6; IR 2025/2547 Annex II D.4.3", conditions
        )
    if contract.kind == ContractKind.PPA:
        grid_evidence = DocumentRole.GRID_CONNECTION in roles or bool(
            generator_data and generator_data.grid_connection_evidence
        )
        conditions = [
            _condition(
                "ppa_contract",
                "contractual evidence of the PPA concluded directly with the producer",
                DocumentRole.CONTRACT in roles,
                "no PPA contract document",
            ),
            _condition(
                "physical_delivery",
                "the PPA is for physical delivery",
                contract.settlement == PpaSettlement.PHYSICAL,
                "a financial (virtual) PPA does not deliver physically",
            ),
        ]
        if contract.intermediary:
            conditions.append(
                _condition(
                    "single_contract",
                    "with an intermediary: one single contract between the three parties",
                    DocumentRole.TRIPARTITE_CONTRACT in roles,
                    "no single three-party contract with the intermediary",
                )
            )
        conditions += [
            generator_metering(),
            delivery_metering(),
            _condition(
                "grid_connection",
                "documentation of a physical grid connection between the generator and the installation",
                grid_evidence,
                "no grid-connection evidence",
            ),
        ]
        return ActualFactorConditions("ppa", "REG 2023/956 Annex IV point 6; IR 2025/2547 Annex II D.4.3", conditions)
    conditions = [generator_metering()]
    if contract.technology in FOSSIL_TECHNOLOGIES:
        conditions.append(
            _condition(
                "fuel",
                "the fuel burnt, for the factor of Eq. 38 (fuel input x NCV x EF / net electricity)",
                bool(contract.fuel.strip()),
                "no fuel named for a fossil generator",
            )
        )
    return ActualFactorConditions("own_generation", "IR 2025/2547 Annex II D.4.1 (Eq. 38) and D.4.2 (CHP)", conditions)


async def contracts_in_period(
    db: AsyncSession, principal: Principal, installation_id: uuid.UUID, start: datetime, end: datetime
) -> list[SupplyContract]:
    """An installation's contracts delivering at some time in [start, end); readers of the site model."""
    principal.require("site:read")
    await get_installation(db, principal, installation_id)
    return await repository.contracts_overlapping(db, installation_id, start, end, limit=MAX_LISTED)
