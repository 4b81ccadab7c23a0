"""GraphQL types and fields of the site model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import Connection, NodeRef, Page, decode_cursor, node_uuid, page_size, to_connection
from backend.identity.principal import Principal
from backend.installations import models, service
from backend.installations.loaders import (
    grid_points_by_installation_id,
    lines_by_process_id,
    processes_by_installation_id,
)
from backend.installations.schemas import GridPointData, InstallationData, LineData, ProcessData


@strawberry.type(description="A production line inside a process, with its boundary.")
class ProductionLine(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="Short code, unique in the installation.")
    name: str = strawberry.field(description="Name.")
    boundary: str = strawberry.field(description="What the line's boundary includes and excludes.")

    @classmethod
    def of(cls, row: models.ProductionLine) -> ProductionLine:
        return cls(id=str(row.id), code=row.code, name=row.name, boundary=row.boundary)


def _loader(info: strawberry.Info[Context, None], name: str, factory: Any, grantor_id: uuid.UUID | None) -> Any:
    """The operation's loader for the viewer's tenant, or for a grantor's tenant read through a grant."""
    return info.context.loader(f"{name}@{grantor_id or 'own'}", lambda ctx: factory(ctx, grantor_id))


@strawberry.type(description="A production process (CBAM sense) with its boundary and lines.")
class ProductionProcess(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="Short code, unique in the installation.")
    name: str = strawberry.field(description="Name.")
    goods_category: str = strawberry.field(description="Aggregated goods category, e.g. Aluminium products.")
    boundary: str = strawberry.field(description="What the process boundary includes and excludes.")
    grantor_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="Lines of this process.")
    async def lines(self, info: strawberry.Info[Context, None]) -> list[ProductionLine]:
        loader = _loader(info, "lines_by_process_id", lines_by_process_id, self.grantor_id)
        return [ProductionLine.of(r) for r in await loader.load(uuid.UUID(self.id))]

    @classmethod
    def of(cls, row: models.ProductionProcess, grantor_id: uuid.UUID | None = None) -> ProductionProcess:
        return cls(
            id=str(row.id),
            code=row.code,
            name=row.name,
            goods_category=row.goods_category,
            boundary=row.boundary,
            grantor_id=grantor_id,
        )


@strawberry.type(description="A grid connection point of an installation.")
class GridConnectionPoint(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="Metering point code, e.g. its EIC.")
    name: str = strawberry.field(description="Name.")
    voltage_kv: float | None = strawberry.field(description="Connection voltage [kV].")
    grid_operator: str = strawberry.field(description="Grid operator.")

    @classmethod
    def of(cls, row: models.GridConnectionPoint) -> GridConnectionPoint:
        return cls(
            id=str(row.id),
            code=row.code,
            name=row.name,
            voltage_kv=row.voltage_kv,
            grid_operator=row.grid_operator,
        )


@strawberry.type(description="A plant (installation in the CBAM sense).")
class Installation(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Name.")
    address: str = strawberry.field(description="Street address.")
    city: str = strawberry.field(description="City.")
    postal_code: str = strawberry.field(description="Postal code.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    unlocode: str | None = strawberry.field(description="UN/LOCODE of the location.")
    latitude: float | None = strawberry.field(description="Latitude [deg].")
    longitude: float | None = strawberry.field(description="Longitude [deg].")
    economic_activity: str = strawberry.field(description="Main economic activity (e.g. NACE code).")
    cbam_installation_id: str | None = strawberry.field(description="Installation id in the CBAM registry.")
    timezone: str = strawberry.field(description="IANA time zone of the plant.")
    interval_resolution_seconds: int = strawberry.field(description="Base resolution of interval data [s].")
    balance_tolerance: float = strawberry.field(description="Allowed meter balance residual (fraction).")
    created_at: datetime = strawberry.field(description="When it was added.")
    # set when the installation belongs to another organisation and was read through a grant
    grantor_id: strawberry.Private[uuid.UUID | None] = None

    @strawberry.field(description="Production processes of the installation.")
    async def processes(self, info: strawberry.Info[Context, None]) -> list[ProductionProcess]:
        loader = _loader(info, "processes_by_installation_id", processes_by_installation_id, self.grantor_id)
        return [ProductionProcess.of(r, self.grantor_id) for r in await loader.load(uuid.UUID(self.id))]

    @strawberry.field(description="Grid connection points of the installation.")
    async def grid_connection_points(self, info: strawberry.Info[Context, None]) -> list[GridConnectionPoint]:
        loader = _loader(info, "grid_points_by_installation_id", grid_points_by_installation_id, self.grantor_id)
        return [GridConnectionPoint.of(r) for r in await loader.load(uuid.UUID(self.id))]

    @classmethod
    def of(cls, row: models.Installation, grantor_id: uuid.UUID | None = None) -> Installation:
        return cls(
            id=str(row.id),
            name=row.name,
            address=row.address,
            city=row.city,
            postal_code=row.postal_code,
            country=row.country,
            unlocode=row.unlocode,
            latitude=row.latitude,
            longitude=row.longitude,
            economic_activity=row.economic_activity,
            cbam_installation_id=row.cbam_installation_id,
            timezone=row.timezone,
            interval_resolution_seconds=row.interval_resolution_s,
            balance_tolerance=row.balance_tolerance,
            created_at=row.created_at,
            grantor_id=grantor_id,
        )


@strawberry.input(description="An installation's details.")
class InstallationInput:
    name: str = strawberry.field(description="Name.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, e.g. RS.")
    address: str = strawberry.field(default="", description="Street address.")
    city: str = strawberry.field(default="", description="City.")
    postal_code: str = strawberry.field(default="", description="Postal code.")
    unlocode: str | None = strawberry.field(default=None, description="UN/LOCODE, e.g. RSBEG.")
    latitude: float | None = strawberry.field(default=None, description="Latitude [deg].")
    longitude: float | None = strawberry.field(default=None, description="Longitude [deg].")
    economic_activity: str = strawberry.field(default="", description="Main economic activity.")
    cbam_installation_id: str | None = strawberry.field(default=None, description="CBAM registry id.")
    timezone: str = strawberry.field(default="Europe/Belgrade", description="IANA time zone.")
    interval_resolution_seconds: int = strawberry.field(default=900, description="300 to 3600 seconds.")
    balance_tolerance: float = strawberry.field(default=0.05, description="Allowed balance residual.")

    def to_data(self) -> InstallationData:
        return InstallationData(
            name=self.name,
            country=self.country,
            address=self.address,
            city=self.city,
            postal_code=self.postal_code,
            unlocode=self.unlocode,
            latitude=self.latitude,
            longitude=self.longitude,
            economic_activity=self.economic_activity,
            cbam_installation_id=self.cbam_installation_id,
            timezone=self.timezone,
            interval_resolution_s=self.interval_resolution_seconds,
            balance_tolerance=self.balance_tolerance,
        )


@strawberry.type(description="The installation, or why it was not saved.")
class InstallationPayload:
    installation: Installation | None = strawberry.field(description="The saved installation.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


@strawberry.input(description="Change an installation.")
class UpdateInstallationInput:
    id: NodeRef = strawberry.field(description="The installation.")
    details: InstallationInput = strawberry.field(description="Its new details.")


@strawberry.input(description="A production process.")
class CreateProductionProcessInput:
    installation_id: NodeRef = strawberry.field(description="The installation.")
    code: str = strawberry.field(description="Short code.")
    name: str = strawberry.field(description="Name.")
    goods_category: str = strawberry.field(default="", description="Aggregated goods category.")
    boundary: str = strawberry.field(default="", description="What the boundary includes.")

    def to_data(self) -> ProcessData:
        return ProcessData(
            installation_id=node_uuid(self.installation_id, "Installation", field="installationId"),
            code=self.code,
            name=self.name,
            goods_category=self.goods_category,
            boundary=self.boundary,
        )


@strawberry.type(description="The process, or why it was not saved.")
class ProductionProcessPayload:
    process: ProductionProcess | None = strawberry.field(description="The saved process.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


@strawberry.input(description="A production line.")
class CreateProductionLineInput:
    process_id: NodeRef = strawberry.field(description="The process it belongs to.")
    code: str = strawberry.field(description="Short code.")
    name: str = strawberry.field(description="Name.")
    boundary: str = strawberry.field(default="", description="What the boundary includes.")

    def to_data(self) -> LineData:
        return LineData(
            process_id=node_uuid(self.process_id, "ProductionProcess", field="processId"),
            code=self.code,
            name=self.name,
            boundary=self.boundary,
        )


@strawberry.type(description="The line, or why it was not saved.")
class ProductionLinePayload:
    line: ProductionLine | None = strawberry.field(description="The saved line.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


@strawberry.input(description="A grid connection point.")
class CreateGridConnectionPointInput:
    installation_id: NodeRef = strawberry.field(description="The installation.")
    code: str = strawberry.field(description="Metering point code.")
    name: str = strawberry.field(description="Name.")
    voltage_kv: float | None = strawberry.field(default=None, description="Voltage [kV].")
    grid_operator: str = strawberry.field(default="", description="Grid operator.")

    def to_data(self) -> GridPointData:
        return GridPointData(
            installation_id=node_uuid(self.installation_id, "Installation", field="installationId"),
            code=self.code,
            name=self.name,
            voltage_kv=self.voltage_kv,
            grid_operator=self.grid_operator,
        )


@strawberry.type(description="The connection point, or why it was not saved.")
class GridConnectionPointPayload:
    grid_connection_point: GridConnectionPoint | None = strawberry.field(description="The saved point.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


@strawberry.type
class InstallationQuery:
    @strawberry.field(description="Installations of the viewer's organisation.")
    async def installations(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Installation]:
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        async with info.context.tenant_uow() as db:
            rows = await service.list_installations(
                db, principal, after=(cursor[0], cursor[1]) if cursor else None, limit=limit + 1
            )
        return to_connection(
            Page(rows, limit, cursor is not None), Installation.of, lambda r: [r.created_at.isoformat(), r.id]
        )

    @strawberry.field(description="One installation.")
    async def installation(self, info: strawberry.Info[Context, None], id: NodeRef) -> Installation:
        return Installation.of(
            await info.context.in_tenant(lambda db, p: service.get_installation(db, p, node_uuid(id, "Installation")))
        )


@strawberry.type
class InstallationMutation:
    @strawberry.mutation(description="Add an installation.")
    async def create_installation(
        self, info: strawberry.Info[Context, None], input: InstallationInput
    ) -> InstallationPayload:
        async def action(db: AsyncSession, principal: Principal) -> InstallationPayload:
            row = await service.create_installation(db, principal, input.to_data())
            return InstallationPayload(installation=Installation.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: InstallationPayload(installation=None, errors=e))

    @strawberry.mutation(description="Change an installation's details.")
    async def update_installation(
        self, info: strawberry.Info[Context, None], input: UpdateInstallationInput
    ) -> InstallationPayload:
        async def action(db: AsyncSession, principal: Principal) -> InstallationPayload:
            row = await service.update_installation(
                db, principal, node_uuid(input.id, "Installation"), input.details.to_data()
            )
            return InstallationPayload(installation=Installation.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: InstallationPayload(installation=None, errors=e))

    @strawberry.mutation(description="Add a production process to an installation.")
    async def create_production_process(
        self, info: strawberry.Info[Context, None], input: CreateProductionProcessInput
    ) -> ProductionProcessPayload:
        async def action(db: AsyncSession, principal: Principal) -> ProductionProcessPayload:
            row = await service.create_process(db, principal, input.to_data())
            return ProductionProcessPayload(process=ProductionProcess.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: ProductionProcessPayload(process=None, errors=e))

    @strawberry.mutation(description="Add a production line to a process.")
    async def create_production_line(
        self, info: strawberry.Info[Context, None], input: CreateProductionLineInput
    ) -> ProductionLinePayload:
        async def action(db: AsyncSession, principal: Principal) -> ProductionLinePayload:
            row = await service.create_line(db, principal, input.to_data())
            return ProductionLinePayload(line=ProductionLine.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: ProductionLinePayload(line=None, errors=e))

    @strawberry.mutation(description="Add a grid connection point to an installation.")
    async def create_grid_connection_point(
        self, info: strawberry.Info[Context, None], input: CreateGridConnectionPointInput
    ) -> GridConnectionPointPayload:
        async def action(db: AsyncSession, principal: Principal) -> GridConnectionPointPayload:
            row = await service.create_grid_point(db, principal, input.to_data())
            return GridConnectionPointPayload(grid_connection_point=GridConnectionPoint.of(row), errors=[])

        return await mutations.in_tenant(
            info, action, lambda e: GridConnectionPointPayload(grid_connection_point=None, errors=e)
        )
