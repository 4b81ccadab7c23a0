"""GraphQL of renewable developers and PPA connections: plants, invitations, settlement data, and the
offtaker's narrow view of a shared contract."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import GrantorArg, NodeRef, gid, grantor_uuid, node_uuid
from backend.db import Database
from backend.developers import connections, flows, reads, service, settlement
from backend.developers import models as dev_models
from backend.developers.errors import ConnectionNotFound
from backend.developers.schemas import PlantData, Terms
from backend.evidence.gql import EvidenceDocument
from backend.evidence.models import EvidenceDocument as EvidenceDocumentModel
from backend.identity.gql import Organization
from backend.identity.principal import Principal
from backend.sharing import organizations
from backend.supply import models as supply_models
from backend.supply import shared as supply_shared
from backend.supply.gql import DeliveryShape, PlantDetails, PlantInput, PlantTechnology, PpaSettlement
from backend.tenants.models import Tenant as TenantModel

ConnectionStatus = strawberry.enum(dev_models.ConnectionStatus, description="States of a PPA connection.")
UploadStatus = strawberry.enum(dev_models.UploadStatus, description="States of an interval-generation upload.")


@strawberry.type(description="A developer's generating plant.")
class GenerationPlant(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Name.")
    technology: PlantTechnology = strawberry.field(description="Technology.")
    capacity_kw: float = strawberry.field(description="Installed capacity [kW].")
    commissioning_date: date = strawberry.field(description="Commissioning date.")
    latitude: float = strawberry.field(description="Latitude [deg].")
    longitude: float = strawberry.field(description="Longitude [deg].")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    bidding_zone: str = strawberry.field(description="Bidding zone.")
    metering_point: str = strawberry.field(description="Delivery (metering) point code, e.g. its EIC.")
    grid_connection_sha256: str | None = strawberry.field(description="SHA-256 of the grid-connection evidence.")

    @classmethod
    def of(cls, row: dev_models.GenerationPlant) -> GenerationPlant:
        return cls(
            id=str(row.id),
            name=row.name,
            technology=row.technology,
            capacity_kw=row.capacity_kw,
            commissioning_date=row.commissioning_date,
            latitude=row.latitude,
            longitude=row.longitude,
            country=row.country,
            bidding_zone=row.bidding_zone,
            metering_point=row.metering_point,
            grid_connection_sha256=row.grid_connection_sha256,
        )


@strawberry.type(description="A PPA between a developer and an offtaker, as both see it.")
class PpaConnection(relay.Node):
    id: relay.NodeID[str]
    reference: str = strawberry.field(description="The contract's reference.")
    title: str = strawberry.field(description="Title.")
    status: ConnectionStatus = strawberry.field(description="Invited, active, declined, revoked or ended.")
    period_start: datetime = strawberry.field(description="Delivery from.")
    period_end: datetime = strawberry.field(description="Delivery until; access ends then.")
    settlement: PpaSettlement = strawberry.field(description="Physical or financial.")
    delivery_shape: DeliveryShape = strawberry.field(description="Delivery shape.")
    contracted_volume_mwh: float | None = strawberry.field(description="Contracted volume [MWh].")
    message: str = strawberry.field(description="The invitation's message.")
    developer: Organization = strawberry.field(description="The developer.")
    offtaker: Organization = strawberry.field(description="The offtaker.")
    invited_by_viewer: bool = strawberry.field(description="The viewer's organisation sent the invitation.")
    plant_id: relay.GlobalID | None = strawberry.field(description="The developer's plant (developer's view only).")
    contract_id: relay.GlobalID | None = strawberry.field(
        description="The offtaker's supply contract (offtaker's view only)."
    )
    created_at: datetime = strawberry.field(description="When the invitation was sent.")
    decided_at: datetime | None = strawberry.field(description="When it was accepted or declined.")
    ended_at: datetime | None = strawberry.field(description="When it was revoked.")

    @classmethod
    def of(
        cls, row: dev_models.PpaConnection, tenants: dict[uuid.UUID, TenantModel], viewer: uuid.UUID
    ) -> PpaConnection:
        developer_view = viewer == row.developer_tenant_id
        return cls(
            id=str(row.id),
            reference=row.reference,
            title=row.title,
            status=connections.effective_status(row),
            period_start=row.period_start,
            period_end=row.period_end,
            settlement=row.settlement,
            delivery_shape=row.delivery_shape,
            contracted_volume_mwh=row.contracted_volume_mwh,
            message=row.message,
            developer=Organization.of(tenants[row.developer_tenant_id]),
            offtaker=Organization.of(tenants[row.offtaker_tenant_id]),
            invited_by_viewer=row.invited_by_tenant_id == viewer,
            plant_id=gid("GenerationPlant", row.plant_id) if developer_view and row.plant_id else None,
            contract_id=gid("SupplyContract", row.contract_id) if not developer_view and row.contract_id else None,
            created_at=row.created_at,
            decided_at=row.decided_at,
            ended_at=row.ended_at,
        )


async def _connections_out(
    session: AsyncSession, rows: list[dev_models.PpaConnection], viewer: uuid.UUID
) -> list[PpaConnection]:
    ids = {r.developer_tenant_id for r in rows} | {r.offtaker_tenant_id for r in rows}
    tenants = await organizations.tenants_by_id(session, ids)
    return [PpaConnection.of(r, tenants, viewer) for r in rows]


@strawberry.type(description="One row of an upload's report.")
class UploadError:
    row: int = strawberry.field(description="The file's line number (1 is the header).")
    field: str = strawberry.field(description="The column at fault.")
    code: str = strawberry.field(description="Stable code, e.g. ABOVE_CAPACITY.")
    message: str = strawberry.field(description="What is wrong.")


@strawberry.type(description="An interval-generation file of a contract and its progress or report.")
class SettlementUpload(relay.Node):
    id: relay.NodeID[str]
    connection_id: relay.GlobalID = strawberry.field(description="The PPA connection.")
    status: UploadStatus = strawberry.field(description="Queued, running, completed, rejected or failed.")
    filename: str = strawberry.field(description="The file's name.")
    sha256: str = strawberry.field(description="SHA-256 of the file (kept as evidence).")
    rows_total: int = strawberry.field(description="Data rows in the file.")
    rows_checked: int = strawberry.field(description="Rows checked so far (progress).")
    rows_accepted: int = strawberry.field(description="Intervals stored.")
    resolution_seconds: int | None = strawberry.field(description="900 or 3600.")
    energy_kwh: float = strawberry.field(description="Energy of the stored intervals [kWh].")
    errors: list[UploadError] = strawberry.field(description="Why the file was rejected, row by row.")
    created_at: datetime = strawberry.field(description="When it was submitted.")
    finished_at: datetime | None = strawberry.field(description="When its check ended.")

    @classmethod
    def of(cls, row: dev_models.SettlementUpload) -> SettlementUpload:
        return cls(
            id=str(row.id),
            connection_id=gid("PpaConnection", row.connection_id),
            status=row.status,
            filename=row.filename,
            sha256=row.sha256,
            rows_total=row.rows_total,
            rows_checked=row.rows_checked,
            rows_accepted=row.rows_accepted,
            resolution_seconds=row.resolution_s,
            energy_kwh=row.energy_wh / 1000,
            errors=[
                UploadError(row=e["row"], field=e["field"], code=e["code"], message=e["message"]) for e in row.errors
            ],
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


@strawberry.type(description="A document's facts: what it is and its hash.")
class DocumentFacts:
    id: relay.GlobalID = strawberry.field(description="The document in its owner's evidence store.")
    kind: str = strawberry.field(description="Kind, e.g. settlement_statement.")
    title: str = strawberry.field(description="Title.")
    filename: str = strawberry.field(description="File name.")
    sha256: str = strawberry.field(description="SHA-256 of its bytes.")
    size_bytes: int = strawberry.field(description="Size [bytes].")
    period_start: datetime | None = strawberry.field(description="Period covered, from.")
    period_end: datetime | None = strawberry.field(description="Period covered, until.")
    uploaded_at: datetime = strawberry.field(description="When it was stored.")

    @classmethod
    def of(cls, row: EvidenceDocumentModel) -> DocumentFacts:
        return cls(
            id=gid("EvidenceDocument", row.id),
            kind=row.kind.value,
            title=row.title,
            filename=row.filename,
            sha256=row.sha256,
            size_bytes=row.size_bytes,
            period_start=row.period_start,
            period_end=row.period_end,
            uploaded_at=row.uploaded_at,
        )


@strawberry.type(description="A settlement statement: its document, period and volume.")
class SettlementStatement(relay.Node):
    id: relay.NodeID[str]
    reference: str = strawberry.field(description="Statement number.")
    period_start: datetime = strawberry.field(description="Settled period, from.")
    period_end: datetime = strawberry.field(description="Settled period, until.")
    volume_mwh: float = strawberry.field(description="Settled volume [MWh].")
    sha256: str = strawberry.field(description="SHA-256 of the statement document.")
    created_at: datetime = strawberry.field(description="When it was filed.")

    @classmethod
    def of(cls, row: dev_models.SettlementStatement) -> SettlementStatement:
        return cls(
            id=str(row.id),
            reference=row.reference,
            period_start=row.period_start,
            period_end=row.period_end,
            volume_mwh=row.volume_mwh,
            sha256=row.sha256,
            created_at=row.created_at,
        )


@strawberry.type(description="Energy delivered at the delivery point in one interval.")
class SettlementInterval:
    interval_start: datetime = strawberry.field(description="Start (UTC).")
    interval_end: datetime = strawberry.field(description="End (UTC).")
    energy_kwh: float = strawberry.field(description="Energy delivered [kWh].")
    estimated: bool = strawberry.field(description="An estimate rather than a measurement.")

    @classmethod
    def of(cls, row: dev_models.SettlementInterval) -> SettlementInterval:
        return cls(
            interval_start=row.interval_start,
            interval_end=row.interval_end,
            energy_kwh=row.energy_wh / 1000,
            estimated=row.quality == 1,
        )


@strawberry.type(description="One month of a PPA's settlement intervals (UTC months, cut to the period asked).")
class SettlementMonth:
    start: datetime = strawberry.field(description="Start (the month's first instant, or the period's start).")
    end: datetime = strawberry.field(description="End (exclusive).")
    interval_count: int = strawberry.field(description="Intervals starting in it.")
    estimated_interval_count: int = strawberry.field(description="Of which estimates.")
    energy_mwh: float = strawberry.field(description="Energy delivered [MWh].")
    coarsest_resolution_seconds: int | None = strawberry.field(description="The coarsest interval length, if any.")


@strawberry.type(
    description="A supply contract's PPA settlement over a period as its holder reads it from the developer, read "
    "through a supply grant of the holder."
)
class SharedSettlementSummary:
    contract_id: relay.GlobalID = strawberry.field(description="The holder's supply contract (a PPA).")
    reference: str = strawberry.field(description="The contract's reference.")
    connection_id: relay.GlobalID | None = strawberry.field(description="The PPA connection that shares the data.")
    source: str = strawberry.field(
        description="developer_settlement: read from the developer now; none: not shared (see note)."
    )
    note: str = strawberry.field(description="Why there is no settlement data, when there is none.")
    start: datetime = strawberry.field(description="Start of the period.")
    end: datetime = strawberry.field(description="End of the period (exclusive).")
    interval_count: int = strawberry.field(description="Intervals in the period.")
    energy_mwh: float = strawberry.field(description="Energy delivered in the period [MWh].")
    months: list[SettlementMonth] = strawberry.field(description="Month by month.")

    @classmethod
    def of(cls, s: supply_shared.SettlementSummary) -> SharedSettlementSummary:
        return cls(
            contract_id=gid("SupplyContract", s.contract.id),
            reference=s.contract.reference,
            connection_id=gid("PpaConnection", s.connection_id) if s.connection_id else None,
            source=s.source,
            note=s.note,
            start=s.period[0],
            end=s.period[1],
            interval_count=s.intervals,
            energy_mwh=s.energy_kwh / 1000,
            months=[
                SettlementMonth(
                    start=m.start,
                    end=m.end,
                    interval_count=m.intervals,
                    estimated_interval_count=m.estimated_intervals,
                    energy_mwh=m.energy_kwh / 1000,
                    coarsest_resolution_seconds=m.resolution_s,
                )
                for m in s.months
            ],
        )


@strawberry.type(description="A shared contract's data as the developer holds it, read through the contract's grant.")
class SharedPpaContract:
    connection_id: relay.GlobalID = strawberry.field(description="The PPA connection.")
    plant: PlantDetails | None = strawberry.field(description="The delivering plant.")
    statements: list[SettlementStatement] = strawberry.field(description="Settlement statements.")
    interval_count: int = strawberry.field(description="Intervals stored.")
    energy_mwh: float = strawberry.field(description="Energy of all stored intervals [MWh].")
    coarsest_resolution_seconds: int | None = strawberry.field(description="The coarsest interval length.")
    first_interval_start: datetime | None = strawberry.field(description="Data from.")
    last_interval_end: datetime | None = strawberry.field(description="Data until.")
    grid_connection_sha256: str | None = strawberry.field(
        description="SHA-256 of the plant's grid-connection evidence."
    )
    documents: list[DocumentFacts] = strawberry.field(
        description="Statements, original files, grid-connection evidence."
    )


@strawberry.type(description="The developer's data of one contract, as the developer sees it.")
class ContractSettlement:
    connection_id: relay.GlobalID = strawberry.field(description="The PPA connection.")
    uploads: list[SettlementUpload] = strawberry.field(description="Interval-generation files, newest first.")
    statements: list[SettlementStatement] = strawberry.field(description="Settlement statements.")
    interval_count: int = strawberry.field(description="Intervals stored.")
    energy_mwh: float = strawberry.field(description="Energy of all stored intervals [MWh].")
    documents: list[EvidenceDocument] = strawberry.field(description="Their evidence documents.")


@strawberry.input(description="A generating plant of the developer.")
class GenerationPlantInput:
    plant: PlantInput = strawberry.field(description="Name, technology, capacity, commissioning, location, zone.")
    metering_point: str = strawberry.field(default="", description="Delivery (metering) point code, e.g. its EIC.")
    grid_connection_document_id: NodeRef | None = strawberry.field(
        default=None, description="The TSO/DSO document proving the grid connection (upload it first)."
    )

    def to_data(self) -> PlantData:
        return PlantData(
            plant=self.plant.to_data(),
            metering_point=self.metering_point,
            grid_connection_document_id=(
                node_uuid(self.grid_connection_document_id, "EvidenceDocument", field="gridConnectionDocumentId")
                if self.grid_connection_document_id
                else None
            ),
        )


@strawberry.type(description="The plant, or why it was not saved.")
class GenerationPlantPayload:
    plant: GenerationPlant | None = strawberry.field(description="The saved plant.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


@strawberry.input(description="An exporter invites the developer of one of its PPA contracts.")
class InviteDeveloperInput:
    contract_id: NodeRef = strawberry.field(description="Your PPA contract; its terms are the invitation's.")
    developer_id: NodeRef = strawberry.field(description="The developer's organisation (see organizationLookup).")


@strawberry.input(description="A developer invites an offtaker to a PPA from one of its plants.")
class InviteOfftakerInput:
    offtaker_id: NodeRef = strawberry.field(description="The offtaker's organisation (see organizationLookup).")
    plant_id: NodeRef = strawberry.field(description="Your delivering plant.")
    reference: str = strawberry.field(description="The contract's reference.")
    title: str = strawberry.field(description="Title.")
    period_start: datetime = strawberry.field(description="Delivery from.")
    period_end: datetime = strawberry.field(description="Delivery until.")
    settlement: PpaSettlement = strawberry.field(description="PHYSICAL or FINANCIAL.")
    delivery_shape: DeliveryShape = strawberry.field(description="Delivery shape.")
    contracted_volume_mwh: float | None = strawberry.field(default=None, description="Contracted volume [MWh].")
    message: str = strawberry.field(default="", description="A message to the offtaker.")

    def to_terms(self) -> Terms:
        return Terms(
            reference=self.reference,
            title=self.title,
            period_start=self.period_start,
            period_end=self.period_end,
            settlement=supply_models.PpaSettlement(self.settlement.value),
            delivery_shape=supply_models.DeliveryShape(self.delivery_shape.value),
            contracted_volume_mwh=self.contracted_volume_mwh,
            message=self.message,
        )


@strawberry.input(description="Accept an invitation, naming your own record of the contract.")
class AcceptPpaConnectionInput:
    id: NodeRef = strawberry.field(description="The connection.")
    plant_id: NodeRef | None = strawberry.field(default=None, description="Developer: the delivering plant.")
    contract_id: NodeRef | None = strawberry.field(default=None, description="Offtaker: your PPA contract.")


@strawberry.input(description="Decline an invitation, or revoke a connection.")
class PpaConnectionIdInput:
    id: NodeRef = strawberry.field(description="The connection.")


@strawberry.type(description="The connection, or why nothing changed.")
class PpaConnectionPayload:
    connection: PpaConnection | None = strawberry.field(description="The connection.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


def _connection_id(value: NodeRef, field: str = "connectionId") -> uuid.UUID:
    return node_uuid(value, "PpaConnection", field=field)


async def _own_connection(info: strawberry.Info[Context, None], connection_id: uuid.UUID) -> dev_models.PpaConnection:
    """A connection of which the viewer's organisation is the developer, in any state."""
    principal = info.context.require_principal()
    async with info.context.services.db.platform_session() as session:
        row = await connections.get_connection(session, principal, connection_id)
        session.expunge(row)
    if row.developer_tenant_id != principal.require_tenant():
        raise ConnectionNotFound("no such PPA connection of yours as developer", field="connectionId")
    return row


@strawberry.type
class DevelopersQuery:
    @strawberry.field(description="The developer's generating plants.")
    async def generation_plants(self, info: strawberry.Info[Context, None]) -> list[GenerationPlant]:
        return [GenerationPlant.of(r) for r in await info.context.in_tenant(service.list_plants)]

    @strawberry.field(description="PPA connections the viewer's organisation is a party to (either side).")
    async def ppa_connections(self, info: strawberry.Info[Context, None]) -> list[PpaConnection]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await connections.list_connections(session, principal)
            return await _connections_out(session, rows, principal.require_tenant())

    @strawberry.field(description="The developer's own data of one contract: uploads, statements, documents.")
    async def contract_settlement(
        self, info: strawberry.Info[Context, None], connection_id: NodeRef
    ) -> ContractSettlement:
        connection = await _own_connection(info, _connection_id(connection_id))

        async def run(db: AsyncSession, p: Principal) -> ContractSettlement:
            uploads = await settlement.uploads_of(db, p, connection.id)
            data = await service.contract_data(db, p, connection)
            return ContractSettlement(
                connection_id=gid("PpaConnection", connection.id),
                uploads=[SettlementUpload.of(u) for u in uploads],
                statements=[SettlementStatement.of(s) for s in data.statements],
                interval_count=data.intervals,
                energy_mwh=data.energy_wh / 1_000_000,
                documents=[EvidenceDocument.of(d) for d in data.documents],
            )

        return await info.context.in_tenant(run)

    @strawberry.field(description="One interval-generation upload with its progress or report.")
    async def settlement_upload(self, info: strawberry.Info[Context, None], id: NodeRef) -> SettlementUpload:
        upload_id = node_uuid(id, "SettlementUpload")
        return SettlementUpload.of(await info.context.in_tenant(lambda db, p: settlement.get_upload(db, p, upload_id)))

    @strawberry.field(description="The developer's intervals of one contract in [start, end), at most 31 days.")
    async def settlement_intervals(
        self, info: strawberry.Info[Context, None], connection_id: NodeRef, start: datetime, end: datetime
    ) -> list[SettlementInterval]:
        connection = await _own_connection(info, _connection_id(connection_id))
        rows = await info.context.in_tenant(lambda db, p: service.contract_intervals(db, p, connection, start, end))
        return [SettlementInterval.of(r) for r in rows]

    @strawberry.field(
        description="Offtaker: the developer's data of a shared, active contract, read through its grant."
    )
    async def shared_ppa_contract(
        self, info: strawberry.Info[Context, None], connection_id: NodeRef
    ) -> SharedPpaContract:
        principal = info.context.require_principal()
        connection, data = await reads.read_contract_data(
            info.context.services, principal, _connection_id(connection_id)
        )
        plant = data.plant
        return SharedPpaContract(
            connection_id=gid("PpaConnection", connection.id),
            plant=PlantDetails(
                name=plant.name,
                technology=plant.technology,
                capacity_kw=plant.capacity_kw,
                commissioning_date=plant.commissioning_date,
                latitude=plant.latitude,
                longitude=plant.longitude,
                country=plant.country,
                bidding_zone=plant.bidding_zone,
            )
            if plant
            else None,
            statements=[SettlementStatement.of(s) for s in data.statements],
            interval_count=data.intervals,
            energy_mwh=data.energy_wh / 1_000_000,
            coarsest_resolution_seconds=data.max_resolution_s,
            first_interval_start=data.first_start,
            last_interval_end=data.last_end,
            grid_connection_sha256=plant.grid_connection_sha256 if plant else None,
            documents=[DocumentFacts.of(d) for d in data.documents],
        )

    @strawberry.field(description="Offtaker: a shared contract's intervals in [start, end), through its grant.")
    async def shared_settlement_intervals(
        self, info: strawberry.Info[Context, None], connection_id: NodeRef, start: datetime, end: datetime
    ) -> list[SettlementInterval]:
        principal = info.context.require_principal()
        _, rows = await reads.read_contract_intervals(
            info.context.services, principal, _connection_id(connection_id), start, end
        )
        return [SettlementInterval.of(r) for r in rows]

    @strawberry.field(
        description="Another organisation's PPA settlement over [start, end) as it reads it from the developer, "
        "summed per month; read through a live supply grant over the contract's installation and the period."
    )
    async def shared_settlement_summary(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        contract_id: Annotated[NodeRef, strawberry.argument(description="The grantor's supply contract (a PPA).")],
        start: datetime,
        end: datetime,
    ) -> SharedSettlementSummary:
        summary = await supply_shared.read_settlement_summary(
            info.context.services,
            info.context.require_principal(),
            grantor_uuid(grantor_id),
            node_uuid(contract_id, "SupplyContract", field="contractId"),
            (start, end),
        )
        return SharedSettlementSummary.of(summary)

    @strawberry.field(
        description="Another organisation's PPA settlement intervals starting in [start, end) (at most 31 days) as it "
        "reads them from the developer; read through a live supply grant."
    )
    async def shared_contract_settlement_intervals(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        contract_id: Annotated[NodeRef, strawberry.argument(description="The grantor's supply contract (a PPA).")],
        start: datetime,
        end: datetime,
    ) -> list[SettlementInterval]:
        rows = await supply_shared.read_settlement_intervals(
            info.context.services,
            info.context.require_principal(),
            grantor_uuid(grantor_id),
            node_uuid(contract_id, "SupplyContract", field="contractId"),
            (start, end),
        )
        return [SettlementInterval.of(r) for r in rows]


def _connection_payload(errors: list[UserError]) -> PpaConnectionPayload:
    return PpaConnectionPayload(connection=None, errors=errors)


async def _platform_change(
    info: strawberry.Info[Context, None],
    change: Callable[[Database, Principal], Awaitable[tuple[dev_models.PpaConnection, TenantModel]]],
) -> PpaConnectionPayload:
    """Run a connection change (``backend.developers.flows``); the payload names both organisations."""
    principal = info.context.require_principal()

    async def body() -> PpaConnectionPayload:
        row, tenant = await change(info.context.services.db, principal)
        async with info.context.services.db.platform_session() as session:
            (out,) = await _connections_out(session, [row], tenant.id)
        return PpaConnectionPayload(connection=out, errors=[])

    return await mutations.run(body, _connection_payload)


@strawberry.type
class DevelopersMutation:
    @strawberry.mutation(description="Add a generating plant (developers).")
    async def create_generation_plant(
        self, info: strawberry.Info[Context, None], input: GenerationPlantInput
    ) -> GenerationPlantPayload:
        async def action(db: AsyncSession, principal: Principal) -> GenerationPlantPayload:
            row = await service.create_plant(db, principal, input.to_data())
            return GenerationPlantPayload(plant=GenerationPlant.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: GenerationPlantPayload(plant=None, errors=e))

    @strawberry.mutation(description="Invite the developer of one of your PPA contracts (exporter admins).")
    async def invite_developer(
        self, info: strawberry.Info[Context, None], input: InviteDeveloperInput
    ) -> PpaConnectionPayload:
        async def change(db: Database, principal: Principal) -> tuple[dev_models.PpaConnection, TenantModel]:
            return await flows.invite_developer(
                db,
                principal,
                developer_id=node_uuid(input.developer_id, "Organization", field="developerId"),
                contract_id=node_uuid(input.contract_id, "SupplyContract", field="contractId"),
            )

        return await _platform_change(info, change)

    @strawberry.mutation(description="Invite an offtaker to a PPA from one of your plants (developer admins).")
    async def invite_offtaker(
        self, info: strawberry.Info[Context, None], input: InviteOfftakerInput
    ) -> PpaConnectionPayload:
        async def change(db: Database, principal: Principal) -> tuple[dev_models.PpaConnection, TenantModel]:
            return await flows.invite_offtaker(
                db,
                principal,
                offtaker_id=node_uuid(input.offtaker_id, "Organization", field="offtakerId"),
                plant_id=node_uuid(input.plant_id, "GenerationPlant", field="plantId"),
                terms=input.to_terms(),
            )

        return await _platform_change(info, change)

    @strawberry.mutation(
        description="Accept an invitation; the developer's data of this contract opens to the offtaker."
    )
    async def accept_ppa_connection(
        self, info: strawberry.Info[Context, None], input: AcceptPpaConnectionInput
    ) -> PpaConnectionPayload:
        async def change(db: Database, principal: Principal) -> tuple[dev_models.PpaConnection, TenantModel]:
            return await flows.accept(
                db,
                principal,
                connection_id=_connection_id(input.id, "id"),
                plant_id=node_uuid(input.plant_id, "GenerationPlant", field="plantId") if input.plant_id else None,
                contract_id=(
                    node_uuid(input.contract_id, "SupplyContract", field="contractId") if input.contract_id else None
                ),
            )

        return await _platform_change(info, change)

    @strawberry.mutation(description="Decline an invitation.")
    async def decline_ppa_connection(
        self, info: strawberry.Info[Context, None], input: PpaConnectionIdInput
    ) -> PpaConnectionPayload:
        async def change(db: Database, principal: Principal) -> tuple[dev_models.PpaConnection, TenantModel]:
            return await flows.decline(db, principal, connection_id=_connection_id(input.id, "id"))

        return await _platform_change(info, change)

    @strawberry.mutation(description="End a connection (either side) or withdraw an invitation: access stops at once.")
    async def revoke_ppa_connection(
        self, info: strawberry.Info[Context, None], input: PpaConnectionIdInput
    ) -> PpaConnectionPayload:
        async def change(db: Database, principal: Principal) -> tuple[dev_models.PpaConnection, TenantModel]:
            return await flows.revoke(db, principal, connection_id=_connection_id(input.id, "id"))

        return await _platform_change(info, change)
