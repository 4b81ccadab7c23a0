"""GraphQL of the metering hierarchy: meters, devices, data points, connectors, quarantined deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import NodeRef, gid, node_uuid
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.ingest import models as ingest_models
from backend.metering import models, quarantine, service
from backend.metering.loaders import SharedFrom, changes_by_meter_id, data_points_by_meter_id, devices_by_meter_id
from backend.metering.schemas import (
    KEEP,
    DataPointData,
    DeviceData,
    FormulaTerm,
    MeterData,
    MeterUpdate,
    ReplacementData,
    RetirementData,
    VirtualMeterData,
)

Medium = strawberry.enum(models.Medium, description="What a meter measures.")
MeterRole = strawberry.enum(models.MeterRole, description="A meter's role in the hierarchy.")
Quantity = strawberry.enum(models.Quantity, description="A measured quantity.")
BatchStatus = strawberry.enum(ingest_models.BatchStatus, description="Where a delivery stands in interval derivation.")


@strawberry.type(description="A quantity a meter reports, with its unit.")
class DataPoint:
    quantity: Quantity = strawberry.field(description="The quantity.")
    unit: str = strawberry.field(description="Its unit, e.g. kWh.")


@strawberry.type(description="A physical device that has served a meter, with its ratios and readings.")
class MeterDevice:
    serial_number: str = strawberry.field(description="Serial number.")
    manufacturer: str = strawberry.field(description="Manufacturer.")
    model: str = strawberry.field(description="Model.")
    ct_ratio: float = strawberry.field(description="Current transformer ratio.")
    vt_ratio: float = strawberry.field(description="Voltage transformer ratio.")
    readings_are_secondary: bool = strawberry.field(description="Readings are multiplied by CT x VT.")
    installed_at: datetime = strawberry.field(description="Installed.")
    removed_at: datetime | None = strawberry.field(description="Removed (replaced).")
    initial_reading: float | None = strawberry.field(description="Counter at installation.")
    final_reading: float | None = strawberry.field(description="Counter at removal.")

    @classmethod
    def of(cls, row: models.MeterDevice) -> MeterDevice:
        return cls(
            serial_number=row.serial_number,
            manufacturer=row.manufacturer,
            model=row.model,
            ct_ratio=row.ct_ratio,
            vt_ratio=row.vt_ratio,
            readings_are_secondary=row.readings_are_secondary,
            installed_at=row.installed_at,
            removed_at=row.removed_at,
            initial_reading=row.initial_reading,
            final_reading=row.final_reading,
        )


MeterChangeKind = strawberry.enum(models.MeterChangeKind, description="What kind of change a meter went through.")


@strawberry.type(description="One change of a meter: the fields changed, as they were and as they became.")
class MeterChange:
    kind: MeterChangeKind = strawberry.field(description="Updated, data points added, or retired.")
    effective_at: datetime = strawberry.field(description="When it takes effect (a retirement's time).")
    before: JSON = strawberry.field(description="The changed fields before.")
    after: JSON = strawberry.field(description="The changed fields after.")
    reason: str = strawberry.field(description="Why, as given.")
    changed_by: str = strawberry.field(description="Who made the change.")
    changed_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def of(cls, row: models.MeterChange) -> MeterChange:
        return cls(
            kind=row.kind,
            effective_at=row.effective_at,
            before=row.before,
            after=row.after,
            reason=row.reason,
            changed_by=row.changed_by,
            changed_at=row.created_at,
        )


@strawberry.type(description="A measurement point: keeps its identity and history when its device is replaced.")
class Meter(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="Code, unique in the installation; agents name meters by it.")
    name: str = strawberry.field(description="Name.")
    medium: Medium = strawberry.field(description="What it measures.")
    role: MeterRole = strawberry.field(description="Main, sub-meter, generation, export or check meter.")
    parent_id: relay.GlobalID | None = strawberry.field(description="The meter above it in the hierarchy.")
    process_id: relay.GlobalID | None = strawberry.field(description="The process it serves.")
    line_id: relay.GlobalID | None = strawberry.field(description="The line it serves.")
    is_virtual: bool = strawberry.field(description="Computed from other meters by a formula.")
    formula: JSON | None = strawberry.field(description="Terms of a virtual meter: meter id and coefficient.")
    max_power_kw: float | None = strawberry.field(description="Above this mean power an interval is a spike [kW].")
    counter_wrap_value: float | None = strawberry.field(description="Where the counter rolls over.")
    description: str = strawberry.field(description="Notes.")
    retired_at: datetime | None = strawberry.field(description="Out of service from then on; null while in service.")

    @strawberry.field(description="Changes of its description, oldest first: what was changed, before and after.")
    async def history(self, info: strawberry.Info[Context, None]) -> list[MeterChange]:
        rows = await info.context.loader("changes_by_meter_id", changes_by_meter_id).load(uuid.UUID(self.id))
        return [MeterChange.of(r) for r in rows]

    # set when the meter belongs to another organisation and was read through a grant
    shared_from: strawberry.Private[SharedFrom] = None

    def _loader(self, info: strawberry.Info[Context, None], name: str, factory: Any) -> Any:
        """The operation's loader for the viewer's tenant, or for the grantor's read through the grant."""
        key = f"{name}@{self.shared_from or 'own'}"
        return info.context.loader(key, lambda ctx: factory(ctx, self.shared_from))

    @strawberry.field(description="Quantities it reports.")
    async def data_points(self, info: strawberry.Info[Context, None]) -> list[DataPoint]:
        rows = await self._loader(info, "data_points_by_meter_id", data_points_by_meter_id).load(uuid.UUID(self.id))
        return [DataPoint(quantity=r.quantity, unit=r.unit) for r in rows]

    @strawberry.field(description="Devices it has held, oldest first.")
    async def devices(self, info: strawberry.Info[Context, None]) -> list[MeterDevice]:
        rows = await self._loader(info, "devices_by_meter_id", devices_by_meter_id).load(uuid.UUID(self.id))
        return [MeterDevice.of(r) for r in rows]

    @classmethod
    def of(cls, row: models.Meter, shared_from: SharedFrom = None) -> Meter:
        return cls(
            id=str(row.id),
            code=row.code,
            name=row.name,
            medium=row.medium,
            role=row.role,
            parent_id=gid("Meter", row.parent_id) if row.parent_id else None,
            process_id=gid("ProductionProcess", row.process_id) if row.process_id else None,
            line_id=gid("ProductionLine", row.line_id) if row.line_id else None,
            is_virtual=row.is_virtual,
            formula=row.formula,
            max_power_kw=row.max_power_kw,
            counter_wrap_value=row.counter_wrap_value,
            description=row.description,
            retired_at=row.retired_at,
            shared_from=shared_from,
        )


@strawberry.type(description="A meter's place in the hierarchy, in reading order.")
class HierarchyEntry:
    depth: int = strawberry.field(description="0 for a root meter.")
    meter: Meter = strawberry.field(description="The meter.")


@strawberry.type(description="What an on-site connector agent last reported.")
class ConnectorAgent:
    agent_id: str = strawberry.field(description="The agent's name.")
    client_id: str = strawberry.field(description="The OAuth2 client it uses.")
    agent_version: str = strawberry.field(description="Software version.")
    last_contact_at: datetime = strawberry.field(description="Last report received.")
    last_upload_at: datetime | None = strawberry.field(description="Last readings delivered.")
    clock_offset_seconds: float | None = strawberry.field(description="Agent clock minus server clock [s].")
    buffer_depth: int = strawberry.field(description="Readings waiting on site.")
    oldest_pending_at: datetime | None = strawberry.field(description="Oldest reading waiting on site.")
    rejected_count: int = strawberry.field(description="Readings the server refused, kept on site.")
    devices: JSON = strawberry.field(description="Per device: ok, last error, error count.")


@strawberry.input(description="A data point: quantity and unit.")
class DataPointInput:
    quantity: Quantity = strawberry.field(description="The quantity.")
    unit: str = strawberry.field(description="Its unit, e.g. kWh or Wh.")


@strawberry.input(description="A physical meter device.")
class MeterDeviceInput:
    serial_number: str = strawberry.field(description="Serial number.")
    installed_at: datetime = strawberry.field(description="When it was installed.")
    manufacturer: str = strawberry.field(default="", description="Manufacturer.")
    model: str = strawberry.field(default="", description="Model.")
    ct_ratio: float = strawberry.field(default=1.0, description="Current transformer ratio.")
    vt_ratio: float = strawberry.field(default=1.0, description="Voltage transformer ratio.")
    readings_are_secondary: bool = strawberry.field(default=False, description="Multiply readings by CT x VT.")
    initial_reading: float | None = strawberry.field(default=None, description="Counter at installation.")

    def to_data(self) -> DeviceData:
        return DeviceData(
            serial_number=self.serial_number,
            installed_at=self.installed_at,
            manufacturer=self.manufacturer,
            model=self.model,
            ct_ratio=self.ct_ratio,
            vt_ratio=self.vt_ratio,
            readings_are_secondary=self.readings_are_secondary,
            initial_reading=self.initial_reading,
        )


@strawberry.input(description="A new physical meter.")
class CreateMeterInput:
    installation_id: NodeRef = strawberry.field(description="The installation.")
    code: str = strawberry.field(description="Code, unique in the installation.")
    name: str = strawberry.field(description="Name.")
    medium: Medium = strawberry.field(description="What it measures.")
    role: MeterRole = strawberry.field(description="Its role.")
    device: MeterDeviceInput | None = strawberry.field(default=None, description="The device installed.")
    parent_id: NodeRef | None = strawberry.field(default=None, description="The meter above it.")
    grid_connection_point_id: NodeRef | None = strawberry.field(default=None, description="Its grid point.")
    process_id: NodeRef | None = strawberry.field(default=None, description="The process it serves.")
    line_id: NodeRef | None = strawberry.field(default=None, description="The line it serves.")
    data_points: list[DataPointInput] | None = strawberry.field(default=None, description="Defaults by medium.")
    max_power_kw: float | None = strawberry.field(default=None, description="Spike threshold [kW].")
    counter_wrap_value: float | None = strawberry.field(default=None, description="Where the counter rolls over.")
    description: str = strawberry.field(default="", description="Notes.")

    def to_data(self) -> MeterData:
        return MeterData(
            installation_id=node_uuid(self.installation_id, "Installation", field="installationId"),
            code=self.code,
            name=self.name,
            medium=models.Medium(self.medium.value),
            role=models.MeterRole(self.role.value),
            device=self.device.to_data() if self.device else None,
            parent_id=_opt(self.parent_id, "Meter", "parentId"),
            grid_connection_point_id=_opt(
                self.grid_connection_point_id, "GridConnectionPoint", "gridConnectionPointId"
            ),
            process_id=_opt(self.process_id, "ProductionProcess", "processId"),
            line_id=_opt(self.line_id, "ProductionLine", "lineId"),
            data_points=[DataPointData(models.Quantity(p.quantity.value), p.unit) for p in self.data_points]
            if self.data_points
            else None,
            max_power_kw=self.max_power_kw,
            counter_wrap_value=self.counter_wrap_value,
            description=self.description,
        )


@strawberry.type(description="The meter, or why it was not saved.")
class MeterPayload:
    meter: Meter | None = strawberry.field(description="The saved meter.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


@strawberry.input(description="One term of a virtual meter's formula.")
class FormulaTermInput:
    meter_id: NodeRef = strawberry.field(description="A meter.")
    coefficient: float = strawberry.field(description="Its coefficient, e.g. 1 or -1.")


@strawberry.input(description="A virtual meter defined by a formula over other meters.")
class CreateVirtualMeterInput:
    installation_id: NodeRef = strawberry.field(description="The installation.")
    code: str = strawberry.field(description="Code.")
    name: str = strawberry.field(description="Name, e.g. 'Unmetered and losses'.")
    terms: list[FormulaTermInput] = strawberry.field(description="Sum of coefficient x meter.")
    description: str = strawberry.field(default="", description="Notes.")

    def to_data(self) -> VirtualMeterData:
        return VirtualMeterData(
            installation_id=node_uuid(self.installation_id, "Installation", field="installationId"),
            code=self.code,
            name=self.name,
            description=self.description,
            terms=[
                FormulaTerm(node_uuid(t.meter_id, "Meter", field=f"terms.{i}.meterId"), t.coefficient)
                for i, t in enumerate(self.terms)
            ],
        )


@strawberry.input(description="A meter exchange.")
class ReplaceMeterDeviceInput:
    meter_id: NodeRef = strawberry.field(description="The meter.")
    removed_at: datetime = strawberry.field(description="When the old device was removed.")
    final_reading: float = strawberry.field(description="The old device's last counter reading.")
    new_device: MeterDeviceInput = strawberry.field(description="The new device, with its first reading.")

    def to_data(self) -> ReplacementData:
        return ReplacementData(
            meter_id=node_uuid(self.meter_id, "Meter", field="meterId"),
            removed_at=self.removed_at,
            final_reading=self.final_reading,
            new_device=self.new_device.to_data(),
        )


def _opt(value: NodeRef | None, type_name: str, field: str) -> uuid.UUID | None:
    return node_uuid(value, type_name, field=field) if value is not None else None


def _change(value: Any, type_name: str | None = None, field: str = "") -> Any:
    """A field of a change: left out keeps the value, null clears it, an id is read as ``type_name``."""
    if value is strawberry.UNSET:
        return KEEP
    if type_name is not None and value is not None:
        return node_uuid(value, type_name, field=field)
    return value


@strawberry.input(description="Corrections to a meter; fields left out stay as they are, null clears them.")
class UpdateMeterInput:
    id: NodeRef = strawberry.field(description="The meter.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="New name.")
    role: MeterRole | None = strawberry.field(default=strawberry.UNSET, description="New role.")
    parent_id: NodeRef | None = strawberry.field(
        default=strawberry.UNSET, description="New parent meter; null makes it a root."
    )
    grid_connection_point_id: NodeRef | None = strawberry.field(
        default=strawberry.UNSET, description="Its grid point; null clears."
    )
    process_id: NodeRef | None = strawberry.field(
        default=strawberry.UNSET, description="The process it serves; null clears."
    )
    line_id: NodeRef | None = strawberry.field(default=strawberry.UNSET, description="The line it serves; null clears.")
    max_power_kw: float | None = strawberry.field(
        default=strawberry.UNSET, description="Spike threshold [kW]; null clears."
    )
    counter_wrap_value: float | None = strawberry.field(
        default=strawberry.UNSET, description="Where the counter rolls over; null clears."
    )
    description: str | None = strawberry.field(default=strawberry.UNSET, description="Notes.")
    add_data_points: list[DataPointInput] | None = strawberry.field(
        default=None, description="Quantities it reports from now on, in addition to its data points."
    )
    reason: str = strawberry.field(default="", description="Why: kept in the meter's history and the audit trail.")

    def to_data(self) -> MeterUpdate:
        for name in ("name", "role", "description"):
            if getattr(self, name) is None:
                raise ValidationFailed([FieldError("cannot be cleared", field=name)])
        return MeterUpdate(
            meter_id=node_uuid(self.id, "Meter", field="id"),
            name=_change(self.name),
            role=KEEP if self.role is strawberry.UNSET else models.MeterRole(self.role.value),  # type: ignore[union-attr]
            parent_id=_change(self.parent_id, "Meter", "parentId"),
            grid_connection_point_id=_change(
                self.grid_connection_point_id, "GridConnectionPoint", "gridConnectionPointId"
            ),
            process_id=_change(self.process_id, "ProductionProcess", "processId"),
            line_id=_change(self.line_id, "ProductionLine", "lineId"),
            max_power_kw=_change(self.max_power_kw),
            counter_wrap_value=_change(self.counter_wrap_value),
            description=_change(self.description),
            add_data_points=[
                DataPointData(models.Quantity(p.quantity.value), p.unit) for p in self.add_data_points or []
            ],
            reason=self.reason,
        )


@strawberry.input(description="Take a meter out of service from a time on; its history stays.")
class RetireMeterInput:
    id: NodeRef = strawberry.field(description="The meter.")
    retired_at: datetime = strawberry.field(description="From when it measures nothing (UTC offset required).")
    final_reading: float | None = strawberry.field(default=None, description="Its device's last counter reading.")
    reason: str = strawberry.field(default="", description="Why: kept in the meter's history and the audit trail.")

    def to_data(self) -> RetirementData:
        return RetirementData(
            meter_id=node_uuid(self.id, "Meter", field="id"),
            retired_at=self.retired_at,
            final_reading=self.final_reading,
            reason=self.reason,
        )


async def _meters_of(info: strawberry.Info[Context, None], installation_id: NodeRef) -> list[models.Meter]:
    return await info.context.in_tenant(
        lambda db, p: service.list_meters(db, p, node_uuid(installation_id, "Installation", field="installationId"))
    )


@strawberry.type
class MeteringQuery:
    @strawberry.field(description="Meters of an installation, ordered by code.")
    async def meters(self, info: strawberry.Info[Context, None], installation_id: NodeRef) -> list[Meter]:
        return [Meter.of(r) for r in await _meters_of(info, installation_id)]

    @strawberry.field(description="One meter.")
    async def meter(self, info: strawberry.Info[Context, None], id: NodeRef) -> Meter:
        return Meter.of(await info.context.in_tenant(lambda db, p: service.get_meter(db, p, node_uuid(id, "Meter"))))

    @strawberry.field(description="The metering hierarchy of an installation, depth-first, as an auditor reads it.")
    async def metering_hierarchy(
        self, info: strawberry.Info[Context, None], installation_id: NodeRef
    ) -> list[HierarchyEntry]:
        rows = await _meters_of(info, installation_id)
        entries: list[HierarchyEntry] = []

        def walk(node: service.HierarchyNode) -> None:
            entries.append(HierarchyEntry(depth=node.depth, meter=Meter.of(node.meter)))
            for child in node.children:
                walk(child)

        for root in service.build_hierarchy(rows):
            walk(root)
        return entries

    @strawberry.field(description="Connector agents of an installation and what they last reported.")
    async def connectors(self, info: strawberry.Info[Context, None], installation_id: NodeRef) -> list[ConnectorAgent]:
        principal = info.context.require_principal()
        installation = node_uuid(installation_id, "Installation", field="installationId")
        async with info.context.tenant_uow() as db:
            rows = await service.list_connectors(db, principal, installation)
            return [
                ConnectorAgent(
                    agent_id=r.agent_id,
                    client_id=r.client_id,
                    agent_version=r.agent_version,
                    last_contact_at=r.last_contact_at,
                    last_upload_at=r.last_upload_at,
                    clock_offset_seconds=r.clock_offset_s,
                    buffer_depth=r.buffer_depth,
                    oldest_pending_at=r.oldest_pending_at,
                    rejected_count=r.rejected_count,
                    devices=r.devices,
                )
                for r in rows
            ]

    @strawberry.field(
        description="Deliveries of an installation that interval derivation set aside (quarantined), oldest first."
    )
    async def quarantined_batches(
        self, info: strawberry.Info[Context, None], installation_id: NodeRef
    ) -> list[IngestBatch]:
        principal = info.context.require_principal()
        installation = node_uuid(installation_id, "Installation", field="installationId")
        async with info.context.tenant_uow() as db:
            return [IngestBatch.of(r) for r in await quarantine.list_quarantined(db, principal, installation)]


@strawberry.type(description="A delivery of readings that interval derivation set aside, with the reason.")
class IngestBatch(relay.Node):
    id: relay.NodeID[str]
    source: str = strawberry.field(description="agent or file.")
    source_ref: str = strawberry.field(description="The agent's name or the import's file.")
    received_at: datetime = strawberry.field(description="When it arrived.")
    readings: int = strawberry.field(description="Readings it held.")
    first_reading_at: datetime | None = strawberry.field(description="Its earliest time stamp, as stored.")
    last_reading_at: datetime | None = strawberry.field(description="Its latest time stamp, as stored.")
    status: BatchStatus = strawberry.field(description="Quarantined, or what an operator decided.")
    reason: str | None = strawberry.field(description="Why it was set aside, and what to do about it.")
    status_changed_at: datetime | None = strawberry.field(description="When it was set aside.")

    @classmethod
    def of(cls, row: ingest_models.IngestBatch) -> IngestBatch:
        return cls(
            id=str(row.id),
            source=row.source,
            source_ref=row.source_ref,
            received_at=row.received_at,
            readings=row.readings,
            first_reading_at=row.first_ts,
            last_reading_at=row.last_ts,
            status=row.status,
            reason=row.status_reason,
            status_changed_at=row.status_changed_at,
        )


async def _saved_meter(info: strawberry.Info[Context, None], action: mutations.Action[models.Meter]) -> MeterPayload:
    """Run a meter mutation: the payload holds the meter it saved, or why nothing was saved."""

    async def saved(db: AsyncSession, principal: Principal) -> MeterPayload:
        return MeterPayload(meter=Meter.of(await action(db, principal)), errors=[])

    return await mutations.in_tenant(info, saved, lambda e: MeterPayload(meter=None, errors=e))


@strawberry.type
class MeteringMutation:
    @strawberry.mutation(description="Add a physical meter with its device and data points.")
    async def create_meter(self, info: strawberry.Info[Context, None], input: CreateMeterInput) -> MeterPayload:
        return await _saved_meter(info, lambda db, principal: service.create_meter(db, principal, input.to_data()))

    @strawberry.mutation(description="Add a virtual meter computed from other meters.")
    async def create_virtual_meter(
        self, info: strawberry.Info[Context, None], input: CreateVirtualMeterInput
    ) -> MeterPayload:
        return await _saved_meter(
            info, lambda db, principal: service.create_virtual_meter(db, principal, input.to_data())
        )

    @strawberry.mutation(description="Correct a meter or add data points; the change is kept in its history, audited.")
    async def update_meter(self, info: strawberry.Info[Context, None], input: UpdateMeterInput) -> MeterPayload:
        return await _saved_meter(info, lambda db, principal: service.update_meter(db, principal, input.to_data()))

    @strawberry.mutation(description="Retire a meter from a time on: it leaves the balance, its history stays.")
    async def retire_meter(self, info: strawberry.Info[Context, None], input: RetireMeterInput) -> MeterPayload:
        return await _saved_meter(info, lambda db, principal: service.retire_meter(db, principal, input.to_data()))

    @strawberry.mutation(description="Record a meter exchange; the meter keeps its history.")
    async def replace_meter_device(
        self, info: strawberry.Info[Context, None], input: ReplaceMeterDeviceInput
    ) -> MeterPayload:
        async def action(db: AsyncSession, principal: Principal) -> models.Meter:
            data = input.to_data()
            await service.replace_device(db, principal, data)
            return await service.get_meter(db, principal, data.meter_id)

        return await _saved_meter(info, action)
