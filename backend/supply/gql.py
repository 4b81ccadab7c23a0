"""GraphQL of an exporter's electricity supply contracts."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import GrantorArg, NodeRef, gid, grantor_uuid, node_uuid
from backend.errors import PermissionDenied
from backend.evidence.gql import EvidenceDocument
from backend.identity.principal import Principal
from backend.supply import models, service
from backend.supply import shared as shared_reads
from backend.supply.loaders import delivery_points_by_contract_id, documents_by_contract_id
from backend.supply.schemas import ContractData, PlantFields

ContractKind = strawberry.enum(models.ContractKind, description="Kinds of electricity supply.")
PpaSettlement = strawberry.enum(models.PpaSettlement, description="Physical delivery or financial (virtual) PPA.")
DeliveryShape = strawberry.enum(models.DeliveryShape, description="How a PPA's volume is shaped.")
BalancingResponsibility = strawberry.enum(
    models.BalancingResponsibility, description="Who carries the imbalance of a PPA."
)
PlantTechnology = strawberry.enum(models.PlantTechnology, description="Generation technologies.")
ContractDocumentRole = strawberry.enum(models.DocumentRole, description="What a document evidences of a contract.")


@strawberry.type(description="A generating plant as a contract or a developer names it.")
class PlantDetails:
    name: str = strawberry.field(description="Name.")
    technology: PlantTechnology | None = strawberry.field(description="Technology.")
    capacity_kw: float | None = strawberry.field(description="Installed capacity [kW].")
    commissioning_date: date | None = strawberry.field(description="Commissioning date.")
    latitude: float | None = strawberry.field(description="Latitude [deg].")
    longitude: float | None = strawberry.field(description="Longitude [deg].")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    bidding_zone: str | None = strawberry.field(description="Bidding zone, e.g. RS.")


@strawberry.input(description="A generating plant (PPA: all but the name of the country are required).")
class PlantInput:
    name: str = strawberry.field(default="", description="Name.")
    technology: PlantTechnology | None = strawberry.field(default=None, description="Technology.")
    capacity_kw: float | None = strawberry.field(default=None, description="Installed capacity [kW].")
    commissioning_date: date | None = strawberry.field(default=None, description="Commissioning date.")
    latitude: float | None = strawberry.field(default=None, description="Latitude [deg].")
    longitude: float | None = strawberry.field(default=None, description="Longitude [deg].")
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2 code.")
    bidding_zone: str | None = strawberry.field(default=None, description="Bidding zone, e.g. RS.")

    def to_data(self) -> PlantFields:
        return PlantFields(
            name=self.name,
            technology=models.PlantTechnology(self.technology.value) if self.technology else None,
            capacity_kw=self.capacity_kw,
            commissioning_date=self.commissioning_date,
            latitude=self.latitude,
            longitude=self.longitude,
            country=self.country,
            bidding_zone=self.bidding_zone,
        )


@strawberry.type(description="A meter or grid connection point a contract delivers through.")
class DeliveryPoint:
    meter_id: relay.GlobalID | None = strawberry.field(description="The meter.")
    grid_connection_point_id: relay.GlobalID | None = strawberry.field(description="The grid connection point.")


@strawberry.type(description="An evidence document of a contract, in its role.")
class ContractDocument:
    role: ContractDocumentRole = strawberry.field(description="What it evidences.")
    sha256: str = strawberry.field(description="SHA-256 of the document's bytes.")
    document: EvidenceDocument = strawberry.field(description="The document.")


@strawberry.type(description="One condition of the definitive-period rules for an actual electricity factor.")
class FactorCondition:
    code: str = strawberry.field(description="Stable code, e.g. generator_metering.")
    description: str = strawberry.field(description="What the rules ask for.")
    met: bool = strawberry.field(description="Whether it is met.")
    missing: str | None = strawberry.field(description="What is missing, when not met.")


@strawberry.type(description="Whether the contract can carry an actual emission factor, and what is missing.")
class ActualFactorConditions:
    route: str = strawberry.field(description="direct_technical_link, ppa, own_generation or none.")
    legal_basis: str = strawberry.field(description="The rules applied.")
    eligible: bool = strawberry.field(description="Every condition is met.")
    missing: list[str] = strawberry.field(description="What is missing, named.")
    conditions: list[FactorCondition] = strawberry.field(description="Each condition.")

    @classmethod
    def of(cls, value: service.ActualFactorConditions) -> ActualFactorConditions:
        return cls(
            route=value.route,
            legal_basis=value.legal_basis,
            eligible=value.eligible,
            missing=value.missing,
            conditions=[
                FactorCondition(code=c.code, description=c.description, met=c.met, missing=c.missing)
                for c in value.conditions
            ],
        )


@strawberry.type(description="An electricity supply contract of an installation.")
class SupplyContract(relay.Node):
    id: relay.NodeID[str]
    installation_id: relay.GlobalID = strawberry.field(description="The installation supplied.")
    kind: ContractKind = strawberry.field(description="Grid supply, PPA, direct technical link or own generation.")
    reference: str = strawberry.field(description="Contract number, unique per installation.")
    title: str = strawberry.field(description="Title.")
    period_start: datetime = strawberry.field(description="Delivery from.")
    period_end: datetime | None = strawberry.field(description="Delivery until (open: none).")
    counterparty: str = strawberry.field(description="The supplier or PPA counterparty.")
    supplier_factor_id: relay.GlobalID | None = strawberry.field(
        description="Grid supply: the supplier-specific factor in the factor library."
    )
    intermediary: str = strawberry.field(description="PPA: the intermediary (supplier or trader), if any.")
    settlement: PpaSettlement | None = strawberry.field(description="PPA: physical or financial.")
    delivery_shape: DeliveryShape | None = strawberry.field(description="PPA: delivery shape.")
    contracted_volume_mwh: float | None = strawberry.field(description="PPA: contracted volume [MWh].")
    balancing_responsibility: BalancingResponsibility | None = strawberry.field(
        description="PPA: who carries the imbalance."
    )
    plant: PlantDetails | None = strawberry.field(description="The generating plant (not for grid supply).")
    generator_meter_id: relay.GlobalID | None = strawberry.field(description="The generator's own meter, if on site.")
    fuel: str = strawberry.field(description="Own generation: the fuel, if fossil.")
    shared_link: bool = strawberry.field(description="Direct link: shared by several generators or installations.")
    same_legal_entity: bool = strawberry.field(description="The generator belongs to the same legal entity.")
    notes: str = strawberry.field(description="Notes.")
    created_at: datetime = strawberry.field(description="When it was added.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    # read through a supply grant: its delivery points and documents came with it from the grantor
    shared: strawberry.Private[shared_reads.SharedContracts | None] = None

    @strawberry.field(description="Meters and grid connection points it delivers through.")
    async def delivery_points(self, info: strawberry.Info[Context, None]) -> list[DeliveryPoint]:
        if self.shared is not None:
            points = self.shared.points.get(uuid.UUID(self.id), [])
        else:
            loader = info.context.loader("delivery_points_by_contract_id", delivery_points_by_contract_id)
            points = await loader.load(uuid.UUID(self.id))
        return [
            DeliveryPoint(
                meter_id=gid("Meter", p.meter_id) if p.meter_id else None,
                grid_connection_point_id=(
                    gid("GridConnectionPoint", p.grid_connection_point_id) if p.grid_connection_point_id else None
                ),
            )
            for p in points
        ]

    @strawberry.field(description="Its evidence documents, by role and hash.")
    async def documents(self, info: strawberry.Info[Context, None]) -> list[ContractDocument]:
        if self.shared is not None and self.shared.shared_from is not None:
            grantor = self.shared.shared_from[0]
            return [
                ContractDocument(role=link.role, sha256=link.sha256, document=EvidenceDocument.of(doc, grantor=grantor))
                for link, doc in self.shared.documents.get(uuid.UUID(self.id), [])
            ]
        loader = info.context.loader("documents_by_contract_id", documents_by_contract_id)
        return [
            ContractDocument(role=link.role, sha256=link.sha256, document=EvidenceDocument.of(doc))
            for link, doc in await loader.load(uuid.UUID(self.id))
        ]

    @strawberry.field(
        description="The definitive-period conditions for an actual emission factor, with what is missing named. "
        "The holder's own assessment: not shared, refused on a contract read through a grant."
    )
    async def actual_factor_conditions(self, info: strawberry.Info[Context, None]) -> ActualFactorConditions:
        from backend.developers.reads import read_generator_data

        if self.shared is not None:
            raise PermissionDenied("a contract read through a grant does not share its factor conditions")
        principal = info.context.require_principal()
        contract_id = uuid.UUID(self.id)
        generator = None
        if self.kind == models.ContractKind.PPA:
            generator = await read_generator_data(
                info.context.services, principal, contract_id, principal.require_tenant()
            )

        async def run(db: AsyncSession, p: Principal) -> service.ActualFactorConditions:
            contract = await service.get_contract(db, p, contract_id)
            return await service.actual_factor_conditions(db, p, contract, generator_data=generator)

        return ActualFactorConditions.of(await info.context.in_tenant(run))

    @classmethod
    def of(cls, row: models.SupplyContract, shared: shared_reads.SharedContracts | None = None) -> SupplyContract:
        plant = None
        if row.kind != models.ContractKind.GRID:
            plant = PlantDetails(
                name=row.plant_name,
                technology=row.technology,
                capacity_kw=row.capacity_kw,
                commissioning_date=row.commissioning_date,
                latitude=row.latitude,
                longitude=row.longitude,
                country=row.plant_country,
                bidding_zone=row.bidding_zone,
            )
        return cls(
            id=str(row.id),
            installation_id=gid("Installation", row.installation_id),
            kind=row.kind,
            reference=row.reference,
            title=row.title,
            period_start=row.period_start,
            period_end=row.period_end,
            counterparty=row.counterparty,
            supplier_factor_id=gid("EmissionFactor", row.supplier_factor_id) if row.supplier_factor_id else None,
            intermediary=row.intermediary,
            settlement=row.settlement,
            delivery_shape=row.delivery_shape,
            contracted_volume_mwh=row.contracted_volume_mwh,
            balancing_responsibility=row.balancing_responsibility,
            plant=plant,
            generator_meter_id=gid("Meter", row.generator_meter_id) if row.generator_meter_id else None,
            fuel=row.fuel,
            shared_link=row.shared_link,
            same_legal_entity=row.same_legal_entity,
            notes=row.notes,
            created_at=row.created_at,
            updated_at=row.updated_at,
            shared=shared,
        )


@strawberry.input(description="An electricity supply contract; the fields a kind needs are required for it.")
class SupplyContractInput:
    installation_id: NodeRef = strawberry.field(description="The installation supplied.")
    kind: ContractKind = strawberry.field(description="GRID, PPA, DIRECT_LINK or OWN_GENERATION.")
    reference: str = strawberry.field(description="Contract number, unique per installation.")
    title: str = strawberry.field(description="Title.")
    period_start: datetime = strawberry.field(description="Delivery from (with a UTC offset).")
    period_end: datetime | None = strawberry.field(default=None, description="Delivery until (PPA: required).")
    counterparty: str = strawberry.field(default="", description="Supplier (grid) or counterparty (PPA).")
    supplier_factor_id: NodeRef | None = strawberry.field(
        default=None, description="Grid: the supplier-specific EmissionFactor."
    )
    intermediary: str = strawberry.field(default="", description="PPA: intermediary, if any.")
    settlement: PpaSettlement | None = strawberry.field(default=None, description="PPA: PHYSICAL or FINANCIAL.")
    delivery_shape: DeliveryShape | None = strawberry.field(default=None, description="PPA: delivery shape.")
    contracted_volume_mwh: float | None = strawberry.field(default=None, description="PPA: volume [MWh].")
    balancing_responsibility: BalancingResponsibility | None = strawberry.field(
        default=None, description="PPA: who carries the imbalance."
    )
    plant: PlantInput | None = strawberry.field(default=None, description="The generating plant (not for grid).")
    generator_meter_id: NodeRef | None = strawberry.field(default=None, description="The generator's meter.")
    fuel: str = strawberry.field(default="", description="Own generation: the fuel, if fossil.")
    shared_link: bool = strawberry.field(default=False, description="Direct link shared by several parties.")
    same_legal_entity: bool = strawberry.field(default=False, description="The generator is the same legal entity.")
    notes: str = strawberry.field(default="", description="Notes.")
    meter_ids: list[NodeRef] = strawberry.field(default_factory=list, description="Delivery meters.")
    grid_connection_point_ids: list[NodeRef] = strawberry.field(
        default_factory=list, description="Delivery grid connection points."
    )

    def to_data(self) -> ContractData:
        return ContractData(
            installation_id=node_uuid(self.installation_id, "Installation", field="installationId"),
            kind=models.ContractKind(self.kind.value),
            reference=self.reference,
            title=self.title,
            period_start=self.period_start,
            period_end=self.period_end,
            counterparty=self.counterparty,
            supplier_factor_id=(
                node_uuid(self.supplier_factor_id, "EmissionFactor", field="supplierFactorId")
                if self.supplier_factor_id
                else None
            ),
            intermediary=self.intermediary,
            settlement=models.PpaSettlement(self.settlement.value) if self.settlement else None,
            delivery_shape=models.DeliveryShape(self.delivery_shape.value) if self.delivery_shape else None,
            contracted_volume_mwh=self.contracted_volume_mwh,
            balancing_responsibility=(
                models.BalancingResponsibility(self.balancing_responsibility.value)
                if self.balancing_responsibility
                else None
            ),
            plant=self.plant.to_data() if self.plant else PlantFields(),
            generator_meter_id=(
                node_uuid(self.generator_meter_id, "Meter", field="generatorMeterId")
                if self.generator_meter_id
                else None
            ),
            fuel=self.fuel,
            shared_link=self.shared_link,
            same_legal_entity=self.same_legal_entity,
            notes=self.notes,
            meter_ids=[node_uuid(m, "Meter", field=f"meterIds.{i}") for i, m in enumerate(self.meter_ids)],
            grid_connection_point_ids=[
                node_uuid(p, "GridConnectionPoint", field=f"gridConnectionPointIds.{i}")
                for i, p in enumerate(self.grid_connection_point_ids)
            ],
        )


@strawberry.input(description="Change a supply contract (its kind and installation stay).")
class UpdateSupplyContractInput:
    id: NodeRef = strawberry.field(description="The contract.")
    details: SupplyContractInput = strawberry.field(description="Its new terms.")


@strawberry.input(description="Link an evidence document to a contract in a role.")
class AttachSupplyContractDocumentInput:
    contract_id: NodeRef = strawberry.field(description="The contract.")
    document_id: NodeRef = strawberry.field(description="The evidence document (upload it first).")
    role: ContractDocumentRole = strawberry.field(description="What it evidences.")


@strawberry.type(description="The contract, or why it was not saved.")
class SupplyContractPayload:
    supply_contract: SupplyContract | None = strawberry.field(description="The saved contract.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


def _payload_error(errors: list[UserError]) -> SupplyContractPayload:
    return SupplyContractPayload(supply_contract=None, errors=errors)


@strawberry.type
class SupplyQuery:
    @strawberry.field(description="Electricity supply contracts of the viewer's organisation (or one installation).")
    async def supply_contracts(
        self, info: strawberry.Info[Context, None], installation_id: NodeRef | None = None
    ) -> list[SupplyContract]:
        installation = node_uuid(installation_id, "Installation", field="installationId") if installation_id else None
        rows = await info.context.in_tenant(lambda db, p: service.list_contracts(db, p, installation_id=installation))
        return [SupplyContract.of(r) for r in rows]

    @strawberry.field(description="One supply contract.")
    async def supply_contract(self, info: strawberry.Info[Context, None], id: NodeRef) -> SupplyContract:
        contract_id = node_uuid(id, "SupplyContract")
        return SupplyContract.of(await info.context.in_tenant(lambda db, p: service.get_contract(db, p, contract_id)))

    @strawberry.field(
        description="Electricity supply contracts of another organisation's installation delivering at some time in "
        "[start, end), read through a live supply grant, with their delivery points and evidence; by start."
    )
    async def shared_supply_contracts(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
    ) -> list[SupplyContract]:
        found = await shared_reads.read_contracts(
            info.context.services,
            info.context.require_principal(),
            grantor_uuid(grantor_id),
            node_uuid(installation_id, "Installation", field="installationId"),
            (start, end),
        )
        return [SupplyContract.of(r, found) for r in found.contracts]


@strawberry.type
class SupplyMutation:
    @strawberry.mutation(description="Add an electricity supply contract.")
    async def create_supply_contract(
        self, info: strawberry.Info[Context, None], input: SupplyContractInput
    ) -> SupplyContractPayload:
        async def action(db: AsyncSession, principal: Principal) -> SupplyContractPayload:
            row = await service.create_contract(db, principal, input.to_data())
            return SupplyContractPayload(supply_contract=SupplyContract.of(row), errors=[])

        return await mutations.in_tenant(info, action, _payload_error)

    @strawberry.mutation(description="Change a supply contract's terms and delivery points.")
    async def update_supply_contract(
        self, info: strawberry.Info[Context, None], input: UpdateSupplyContractInput
    ) -> SupplyContractPayload:
        async def action(db: AsyncSession, principal: Principal) -> SupplyContractPayload:
            row = await service.update_contract(
                db, principal, node_uuid(input.id, "SupplyContract", field="id"), input.details.to_data()
            )
            return SupplyContractPayload(supply_contract=SupplyContract.of(row), errors=[])

        return await mutations.in_tenant(info, action, _payload_error)

    @strawberry.mutation(description="Link an evidence document to a supply contract in a role.")
    async def attach_supply_contract_document(
        self, info: strawberry.Info[Context, None], input: AttachSupplyContractDocumentInput
    ) -> SupplyContractPayload:
        async def action(db: AsyncSession, principal: Principal) -> SupplyContractPayload:
            contract_id = node_uuid(input.contract_id, "SupplyContract", field="contractId")
            await service.attach_document(
                db,
                principal,
                contract_id,
                node_uuid(input.document_id, "EvidenceDocument", field="documentId"),
                models.DocumentRole(input.role.value),
            )
            row = await service.get_contract(db, principal, contract_id)
            return SupplyContractPayload(supply_contract=SupplyContract.of(row), errors=[])

        return await mutations.in_tenant(info, action, _payload_error)
