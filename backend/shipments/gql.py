"""GraphQL of shipments: shipments to EU customers with their batches, and the reconciliation of
produced against shipped mass per product and period."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.derive import derived_type
from backend.api.errors import UserError
from backend.api.relay import Connection, NodeRef, Page, decode_cursor, gid, node_uuid, page_size, to_connection
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.shipments import imports, models, service
from backend.shipments.loaders import batches_by_shipment_id
from backend.shipments.repository import BatchBalance, Mismatch, ShareRow
from backend.shipments.schemas import BatchShare, Granularity, ShipmentData, ShipmentDocuments, to_mass


@strawberry.type(description="The mass a shipment took from one production batch.")
class ShipmentBatch:
    batch_id: relay.GlobalID = strawberry.field(description="The production batch.")
    batch_number: str = strawberry.field(description="The batch's number.")
    mass_t: float = strawberry.field(description="Mass taken from the batch [t].")
    product_code: str = strawberry.field(description="The batch's product (article number).")
    product_cn_code: str = strawberry.field(description="The CN code of the batch's product.")
    ended_at: datetime = strawberry.field(description="When the batch ended.")

    @classmethod
    def of(cls, row: ShareRow) -> ShipmentBatch:
        return cls(
            batch_id=gid("ProductionBatch", row.batch_id),
            batch_number=row.batch_number,
            mass_t=float(row.mass_t),
            product_code=row.product_code,
            product_cn_code=row.product_cn_code,
            ended_at=row.ended_at,
        )


@strawberry.type(description="A shipment to a customer in the EU: goods, mass, batches, dates and papers.")
class Shipment(relay.Node):
    id: relay.NodeID[str]
    installation_id: relay.GlobalID = strawberry.field(description="The installation the goods left from.")
    reference: str = strawberry.field(description="Shipment or delivery note number, unique in the organisation.")
    customer_name: str = strawberry.field(description="The customer (consignee).")
    customer_country: str = strawberry.field(description="The customer's EU member state (ISO code).")
    customer_eori: str | None = strawberry.field(description="The customer's EORI number, where given.")
    cn_code: str = strawberry.field(description="CN code as declared to customs.")
    net_mass_t: float = strawberry.field(description="Net mass [t].")
    dispatch_date: date = strawberry.field(description="Day the goods left the installation.")
    delivery_date: date | None = strawberry.field(description="Day the customer received them, when known.")
    invoice_number: str = strawberry.field(description="Invoice number, unique in the organisation.")
    mrn: str | None = strawberry.field(description="MRN of the export customs declaration.")
    source: str = strawberry.field(description="api, or import:<id> of the CSV file it came from.")
    created_by: str = strawberry.field(description="Who recorded it.")
    created_at: datetime = strawberry.field(description="When it was recorded.")

    @strawberry.field(description="The batches the goods came from, with the mass taken from each.")
    async def batches(self, info: strawberry.Info[Context, None]) -> list[ShipmentBatch]:
        loader = info.context.loader("batches_by_shipment_id", batches_by_shipment_id)
        return [ShipmentBatch.of(r) for r in await loader.load(uuid.UUID(self.id))]

    @strawberry.field(
        description="False when a batch's product has another CN code than the shipment declares (flagged, "
        "not refused: see the reconciliation's cnCodeMismatches)."
    )
    async def cn_code_matches_batches(self, info: strawberry.Info[Context, None]) -> bool:
        loader = info.context.loader("batches_by_shipment_id", batches_by_shipment_id)
        return all(r.product_cn_code == self.cn_code for r in await loader.load(uuid.UUID(self.id)))

    @classmethod
    def of(cls, row: models.Shipment) -> Shipment:
        return cls(
            id=str(row.id),
            installation_id=gid("Installation", row.installation_id),
            reference=row.reference,
            customer_name=row.customer_name,
            customer_country=row.customer_country,
            customer_eori=row.customer_eori,
            cn_code=row.cn_code,
            net_mass_t=float(row.net_mass_t),
            dispatch_date=row.dispatch_date,
            delivery_date=row.delivery_date,
            invoice_number=row.invoice_number,
            mrn=row.mrn,
            source=row.source,
            created_by=row.created_by,
            created_at=row.created_at,
        )


def _mass(value: float) -> Decimal | None:
    return to_mass(value)


@strawberry.input(description="A batch the shipment came from and the mass taken from it.")
class ShipmentBatchInput:
    batch_id: NodeRef = strawberry.field(description="The production batch.")
    mass_t: float = strawberry.field(description="Mass taken from it [t], to the kilogram.")


@strawberry.input(description="A shipment to a customer in the EU.")
class CreateShipmentInput:
    installation_id: NodeRef = strawberry.field(description="The installation the goods left from.")
    reference: str = strawberry.field(description="Shipment or delivery note number.")
    customer_name: str = strawberry.field(description="The customer (consignee).")
    customer_country: str = strawberry.field(description="The customer's EU member state, e.g. DE.")
    cn_code: str = strawberry.field(description="8-digit CN code as declared, in the CBAM goods list.")
    net_mass_t: float = strawberry.field(description="Net mass [t]; the batches' masses add up to it.")
    dispatch_date: date = strawberry.field(description="Day the goods left; not in the future.")
    invoice_number: str = strawberry.field(description="Invoice number.")
    batches: list[ShipmentBatchInput] = strawberry.field(description="The batches, with the mass from each.")
    customer_eori: str | None = strawberry.field(default=None, description="The customer's EORI number.")
    delivery_date: date | None = strawberry.field(default=None, description="Day of delivery; not in the future.")
    mrn: str | None = strawberry.field(default=None, description="MRN of the export declaration (18 characters).")

    def to_data(self) -> ShipmentData:
        errors: list[FieldError] = []
        shares = []
        for i, share in enumerate(self.batches):
            try:
                batch_id = node_uuid(share.batch_id, "ProductionBatch", field=f"batches.{i}.batchId")
            except ValidationFailed as refused:
                errors += refused.errors
                continue
            shares.append(BatchShare(batch_id, _mass(share.mass_t)))
        installation_id = node_uuid(self.installation_id, "Installation", field="installationId")
        if errors:
            raise ValidationFailed(errors)
        return ShipmentData(
            installation_id=installation_id,
            reference=self.reference.strip(),
            customer_name=self.customer_name.strip(),
            customer_country=self.customer_country.strip().upper(),
            cn_code=self.cn_code.replace(" ", ""),
            net_mass_t=_mass(self.net_mass_t),
            dispatch_date=self.dispatch_date,
            invoice_number=self.invoice_number.strip(),
            batches=tuple(shares),
            customer_eori=(self.customer_eori or "").strip().upper() or None,
            delivery_date=self.delivery_date,
            mrn=(self.mrn or "").strip().upper() or None,
        )


@strawberry.input(description="Corrected papers of a recorded shipment; its goods and batches stay.")
class UpdateShipmentInput:
    id: NodeRef = strawberry.field(description="The shipment.")
    customer_name: str = strawberry.field(description="The customer (consignee).")
    customer_country: str = strawberry.field(description="The customer's EU member state.")
    invoice_number: str = strawberry.field(description="Invoice number.")
    customer_eori: str | None = strawberry.field(default=None, description="The customer's EORI number.")
    delivery_date: date | None = strawberry.field(default=None, description="Day of delivery.")
    mrn: str | None = strawberry.field(default=None, description="MRN of the export declaration.")

    def to_data(self) -> ShipmentDocuments:
        return ShipmentDocuments(
            customer_name=self.customer_name.strip(),
            customer_country=self.customer_country.strip().upper(),
            invoice_number=self.invoice_number.strip(),
            customer_eori=(self.customer_eori or "").strip().upper() or None,
            delivery_date=self.delivery_date,
            mrn=(self.mrn or "").strip().upper() or None,
        )


@strawberry.input(description="A shipment recorded in error.")
class DeleteShipmentInput:
    id: NodeRef = strawberry.field(description="The shipment.")


@strawberry.type(description="The shipment, or why nothing was saved.")
class ShipmentPayload:
    shipment: Shipment | None = strawberry.field(description="The saved shipment.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


@strawberry.type(description="The removed shipment's id, or why it was not removed.")
class DeleteShipmentPayload:
    deleted_id: relay.GlobalID | None = strawberry.field(description="The removed shipment.")
    errors: list[UserError] = strawberry.field(description="Why nothing was removed.")


# --- reconciliation ------------------------------------------------------------------------------------

ReconciliationGranularity = strawberry.enum(Granularity, name="ReconciliationGranularity")

ReconciliationLine = derived_type(
    service.ReconciliationLine,
    name="ReconciliationLine",
    description="Produced against shipped mass of one product (and its CN code) in the period.",
    exclude=("product_id",),
)


@strawberry.type(description="A batch of the period with the mass shipments took from it.")
class ReconciledBatch:
    batch_id: relay.GlobalID = strawberry.field(description="The production batch.")
    batch_number: str = strawberry.field(description="Its number.")
    product_code: str = strawberry.field(description="Its product.")
    ended_at: datetime = strawberry.field(description="When it ended.")
    net_mass_t: float = strawberry.field(description="Its net output mass [t].")
    shipped_t: float = strawberry.field(description="Mass all shipments took from it [t].")
    excess_t: float = strawberry.field(description="Shipped beyond its net mass [t] (0 when not).")

    @classmethod
    def of(cls, row: BatchBalance) -> ReconciledBatch:
        b = row.batch
        return cls(
            batch_id=gid("ProductionBatch", b.id),
            batch_number=b.batch_number,
            product_code=b.product_code,
            ended_at=b.ended_at,
            net_mass_t=float(b.net_mass_t),
            shipped_t=float(row.shipped_t),
            excess_t=float(max(row.shipped_t - b.net_mass_t, Decimal(0)).quantize(Decimal("0.001"))),
        )


@strawberry.type(description="A batch of a shipment whose product has another CN code than the shipment declares.")
class CnCodeMismatch:
    shipment_id: relay.GlobalID = strawberry.field(description="The shipment.")
    reference: str = strawberry.field(description="Its shipment number.")
    dispatch_date: date = strawberry.field(description="Its dispatch date.")
    shipment_cn_code: str = strawberry.field(description="The CN code the shipment declares.")
    batch_id: relay.GlobalID = strawberry.field(description="The batch.")
    batch_number: str = strawberry.field(description="Its number.")
    product_code: str = strawberry.field(description="The batch's product.")
    product_cn_code: str = strawberry.field(description="The product's CN code.")
    mass_t: float = strawberry.field(description="Mass the shipment took from the batch [t].")

    @classmethod
    def of(cls, row: Mismatch) -> CnCodeMismatch:
        return cls(
            shipment_id=gid("Shipment", row.shipment_id),
            reference=row.reference,
            dispatch_date=row.dispatch_date,
            shipment_cn_code=row.shipment_cn_code,
            batch_id=gid("ProductionBatch", row.batch.id),
            batch_number=row.batch.batch_number,
            product_code=row.batch.product_code,
            product_cn_code=row.batch.product_cn_code,
            mass_t=float(row.mass_t),
        )


@strawberry.type(description="Produced against shipped mass per product in a month, quarter or year.")
class ShipmentReconciliation:
    installation_id: relay.GlobalID = strawberry.field(description="The installation.")
    granularity: ReconciliationGranularity = strawberry.field(description="Month, quarter or year.")
    period_start: date = strawberry.field(description="First day of the period (installation's calendar).")
    period_end: date = strawberry.field(description="Day after the period's last day.")
    timezone: str = strawberry.field(description="The installation's time zone the days are in.")
    lines: list[ReconciliationLine] = strawberry.field(description="One line per product.")  # type: ignore[valid-type]
    over_shipped_batches: list[ReconciledBatch] = strawberry.field(
        description="The period's batches shipped beyond their net mass (their mass was lowered after shipping)."
    )
    cn_code_mismatches: list[CnCodeMismatch] = strawberry.field(
        description="Batches of shipments dispatched in the period whose product's CN code differs."
    )
    unshipped_batches: list[ReconciledBatch] = strawberry.field(
        description="The period's batches no shipment took anything from."
    )

    @classmethod
    def of(cls, report: service.Reconciliation) -> ShipmentReconciliation:
        return cls(
            installation_id=gid("Installation", report.installation_id),
            granularity=report.period.granularity,
            period_start=report.period.start,
            period_end=report.period.end,
            timezone=report.timezone,
            lines=[ReconciliationLine.of(line) for line in report.lines],
            over_shipped_batches=[ReconciledBatch.of(b) for b in report.over_shipped],
            cn_code_mismatches=[CnCodeMismatch.of(m) for m in report.cn_mismatches],
            unshipped_batches=[ReconciledBatch.of(b) for b in report.unshipped],
        )


@strawberry.type(description="A file of shipments: stored whole, or refused with a report and nothing stored.")
class ShipmentImport(relay.Node):
    id: relay.NodeID[str]
    document_id: relay.GlobalID = strawberry.field(description="The file, kept as evidence.")
    status: str = strawberry.field(description="completed or rejected.")
    rows_total: int = strawberry.field(description="Data rows in the file.")
    shipments_stored: int = strawberry.field(description="Shipments stored (0 when rejected).")
    errors: JSON = strawberry.field(description="Per problem: row, column, code, message, field.")
    created_by: str = strawberry.field(description="Who sent it.")
    created_at: datetime = strawberry.field(description="When.")

    @classmethod
    def of(cls, row: models.ShipmentImport) -> ShipmentImport:
        return cls(
            id=str(row.id),
            document_id=gid("EvidenceDocument", row.document_id),
            status=row.status,
            rows_total=row.rows_total,
            shipments_stored=row.shipments_stored,
            errors=row.errors,
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type
class ShipmentQuery:
    @strawberry.field(description="Shipments of the organisation, or of one installation; latest dispatch first.")
    async def shipments(
        self,
        info: strawberry.Info[Context, None],
        installation_id: NodeRef | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Shipment]:
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        position = None
        if cursor is not None:
            try:
                position = (date.fromisoformat(cursor[0]), uuid.UUID(cursor[1]))
            except (ValueError, IndexError):
                raise ValidationFailed([FieldError("not a cursor of this connection", field="after")]) from None
        installation = (
            node_uuid(installation_id, "Installation", field="installationId") if installation_id is not None else None
        )
        async with info.context.tenant_uow() as db:
            rows = await service.list_shipments(
                db, principal, installation_id=installation, after=position, limit=limit + 1
            )
        return to_connection(
            Page(rows, limit, cursor is not None), Shipment.of, lambda r: [r.dispatch_date.isoformat(), r.id]
        )

    @strawberry.field(description="Files of shipments sent for an installation, newest first, with their reports.")
    async def shipment_imports(
        self, info: strawberry.Info[Context, None], installation_id: NodeRef
    ) -> list[ShipmentImport]:
        installation = node_uuid(installation_id, "Installation", field="installationId")
        rows = await info.context.in_tenant(lambda db, p: imports.list_imports(db, p, installation))
        return [ShipmentImport.of(r) for r in rows]

    @strawberry.field(description="One shipment.")
    async def shipment(self, info: strawberry.Info[Context, None], id: NodeRef) -> Shipment:
        return Shipment.of(
            await info.context.in_tenant(lambda db, p: service.get_shipment(db, p, node_uuid(id, "Shipment")))
        )

    @strawberry.field(
        description="Produced against shipped mass per product for a month, quarter or year of an installation."
    )
    async def shipment_reconciliation(
        self,
        info: strawberry.Info[Context, None],
        installation_id: NodeRef,
        granularity: ReconciliationGranularity,
        year: int,
        number: int | None = None,
    ) -> ShipmentReconciliation:
        report = await info.context.in_tenant(
            lambda db, p: service.reconcile(
                db,
                p,
                node_uuid(installation_id, "Installation", field="installationId"),
                Granularity(granularity),
                year,
                number,
            )
        )
        return ShipmentReconciliation.of(report)


@strawberry.type
class ShipmentMutation:
    @strawberry.mutation(description="Record a shipment to an EU customer from production batches.")
    async def create_shipment(
        self, info: strawberry.Info[Context, None], input: CreateShipmentInput
    ) -> ShipmentPayload:
        async def action(db: AsyncSession, principal: Principal) -> ShipmentPayload:
            row = await service.create_shipment(db, principal, input.to_data())
            return ShipmentPayload(shipment=Shipment.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: ShipmentPayload(shipment=None, errors=e))

    @strawberry.mutation(description="Correct a shipment's customer, invoice, MRN or delivery date.")
    async def update_shipment(
        self, info: strawberry.Info[Context, None], input: UpdateShipmentInput
    ) -> ShipmentPayload:
        async def action(db: AsyncSession, principal: Principal) -> ShipmentPayload:
            row = await service.update_documents(db, principal, node_uuid(input.id, "Shipment"), input.to_data())
            return ShipmentPayload(shipment=Shipment.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: ShipmentPayload(shipment=None, errors=e))

    @strawberry.mutation(description="Remove a shipment recorded in error; its batches' mass can be shipped again.")
    async def delete_shipment(
        self, info: strawberry.Info[Context, None], input: DeleteShipmentInput
    ) -> DeleteShipmentPayload:
        async def action(db: AsyncSession, principal: Principal) -> DeleteShipmentPayload:
            removed = await service.delete_shipment(db, principal, node_uuid(input.id, "Shipment"))
            return DeleteShipmentPayload(deleted_id=gid("Shipment", removed), errors=[])

        return await mutations.in_tenant(info, action, lambda e: DeleteShipmentPayload(deleted_id=None, errors=e))
