"""GraphQL of production: the CBAM goods list, the product catalogue, batches, MES mappings and imports."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.tools import merge_types

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import (
    Connection,
    GrantorArg,
    NodeRef,
    Page,
    decode_cursor,
    gid,
    grantor_uuid,
    node_uuid,
    page_size,
    to_connection,
)
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.gql import ProductionLine
from backend.production import goods, imports, models, service, shared
from backend.production.loaders import SharedFrom, lines_by_id, precursors_by_batch_id, products_by_id
from backend.production.schemas import BatchFilter, MappingData, PrecursorData, ProductData

if TYPE_CHECKING:
    from backend.provisional.gql import ProvisionalFootprint

ProductionRouteEnum = strawberry.enum(
    models.ProductionRoute,
    name="ProductionRoute",
    description="Production route (methodology c.2): unwrought aluminium PRIMARY_SMELTING or SECONDARY_MELTING; "
    "aluminium products ALL_ROUTES; OTHER, UNKNOWN.",
)


@strawberry.type(description="A line of CBAM Annex I: a CN code or heading and what the regulation says of it.")
class CbamGood:
    cn_code: str = strawberry.field(description="Digits only, 4 to 8 (a heading covers every code it begins).")
    display_code: str = strawberry.field(description="As the regulation writes it, e.g. 7604 21 00.")
    covered: bool = strawberry.field(description="False for a code Annex I excepts from a heading it lists.")
    sector: str = strawberry.field(description="aluminium, cement, electricity, fertilisers, hydrogen, iron and steel.")
    aggregated_category: str = strawberry.field(description="Aggregated goods category (IR 2025/2547 Annex I).")
    description: str = strawberry.field(description="The goods.")
    greenhouse_gases: str = strawberry.field(description="Greenhouse gases covered.")
    indirect_emissions_count: bool = strawberry.field(
        description="Whether indirect emissions count for the CBAM obligation in the definitive period."
    )
    source: str = strawberry.field(description="Where this line comes from.")

    @classmethod
    def of(cls, e: goods.GoodsEntry) -> CbamGood:
        return cls(
            cn_code=e.cn_code,
            display_code=e.display_code,
            covered=e.covered,
            sector=e.sector,
            aggregated_category=e.aggregated_category,
            description=e.description,
            greenhouse_gases=e.greenhouse_gases,
            indirect_emissions_count=e.indirect_emissions_count,
            source=e.source,
        )


@strawberry.type(description="The CBAM goods list and its source.")
class CbamGoodsList:
    source: str = strawberry.field(description="The regulations the list is taken from.")
    goods: list[CbamGood] = strawberry.field(description="Its lines.")


@strawberry.type(description="Whether an 8-digit CN code is a CBAM good.")
class CnCodeCheck:
    cn_code: str = strawberry.field(description="The code, digits only.")
    covered: bool = strawberry.field(description="True when Annex I covers it.")
    reason: str = strawberry.field(description="Why it is not covered; empty when it is.")
    good: CbamGood | None = strawberry.field(description="The Annex I line that covers it.")


@strawberry.type(description="A product of the catalogue, with its CN code and qualifying parameters.")
class Product(relay.Node):
    id: relay.NodeID[str]
    code: str = strawberry.field(description="The exporter's article number, as the MES names it.")
    name: str = strawberry.field(description="Name.")
    cn_code: str = strawberry.field(description="8-digit CN code, a CBAM good.")
    goods_category: str = strawberry.field(description="Aggregated goods category of the CN code.")
    production_route: ProductionRouteEnum = strawberry.field(description="Production route.")  # type: ignore[valid-type]
    scrap_tonnes_per_tonne: float | None = strawberry.field(description="Scrap used per tonne of product [t/t].")
    pre_consumer_scrap_share: float | None = strawberry.field(description="Pre-consumer share of that scrap (0..1).")
    non_aluminium_share: float | None = strawberry.field(description="Share of non-aluminium elements (0..1).")
    description: str = strawberry.field(description="Free description.")

    @strawberry.field(description="The Annex I line its CN code falls under.")
    def good(self) -> CbamGood | None:
        found = goods.check_cn_code(self.cn_code)
        return CbamGood.of(found.entry) if found.entry else None

    @classmethod
    def of(cls, row: models.Product) -> Product:
        return cls(
            id=str(row.id),
            code=row.code,
            name=row.name,
            cn_code=row.cn_code,
            goods_category=row.goods_category,
            production_route=row.production_route,
            scrap_tonnes_per_tonne=row.scrap_t_per_t,
            pre_consumer_scrap_share=row.pre_consumer_scrap_share,
            non_aluminium_share=row.non_aluminium_share,
            description=row.description,
        )


@strawberry.type(description="A precursor a batch consumed.")
class BatchPrecursor:
    cn_code: str = strawberry.field(description="CN code or heading of the precursor, if given.")
    description: str = strawberry.field(description="What it is.")
    mass_t: float = strawberry.field(description="Mass consumed [t].")
    supplier_installation: str = strawberry.field(description="The installation that produced it.")
    supplier_installation_id: str = strawberry.field(description="Its CBAM installation id, when known.")
    embedded_emissions: float | None = strawberry.field(description="Specific embedded emissions [tCO2e/t], if known.")
    emissions_source: str = strawberry.field(description="Where that figure comes from.")

    @classmethod
    def of(cls, row: models.BatchPrecursor) -> BatchPrecursor:
        return cls(
            cn_code=row.cn_code,
            description=row.description,
            mass_t=row.mass_t,
            supplier_installation=row.supplier_installation,
            supplier_installation_id=row.supplier_installation_id,
            embedded_emissions=row.embedded_tco2e_per_t,
            emissions_source=row.emissions_source,
        )


@strawberry.type(description="What one line (or process) produced in one run. Times in UTC and local time.")
class ProductionBatch(relay.Node):
    id: relay.NodeID[str]
    batch_number: str = strawberry.field(description="The MES's batch number, unique in the installation.")
    alloy: str = strawberry.field(description="Alloy, e.g. 6060.")
    started_at: datetime = strawberry.field(description="Start (UTC).")
    ended_at: datetime = strawberry.field(description="End (UTC), exclusive.")
    timezone: str = strawberry.field(description="The installation's time zone.")
    net_mass_t: float = strawberry.field(description="Net output mass [t].")
    scrap_t: float = strawberry.field(description="Scrap [t].")
    order_ref: str = strawberry.field(description="Order reference.")
    shipment_ref: str = strawberry.field(description="Shipment reference.")
    source: str = strawberry.field(description="api, file or stream.")
    created_at: datetime = strawberry.field(description="When it was stored.")
    product_id: strawberry.Private[uuid.UUID]
    line_id: strawberry.Private[uuid.UUID | None]
    process_id: relay.GlobalID | None = strawberry.field(description="The process it ran in.")
    # read through a grant: (grantor id, kind); its nested records come from the grantor under that grant
    shared_from: strawberry.Private[SharedFrom] = None

    def _loader(self, info: strawberry.Info[Context, None], name: str, factory: Any) -> Any:
        key = f"{name}@{self.shared_from or 'own'}"
        return info.context.loader(key, lambda ctx: factory(ctx, self.shared_from))

    @strawberry.field(description="Start in the installation's time zone (ISO 8601 with offset).")
    def started_at_local(self) -> str:
        return self.started_at.astimezone(ZoneInfo(self.timezone)).isoformat()

    @strawberry.field(description="End in the installation's time zone (ISO 8601 with offset).")
    def ended_at_local(self) -> str:
        return self.ended_at.astimezone(ZoneInfo(self.timezone)).isoformat()

    @strawberry.field(description="The product.")
    async def product(self, info: strawberry.Info[Context, None]) -> Product | None:
        rows = await self._loader(info, "products_by_id", products_by_id).load(self.product_id)
        return Product.of(rows[0]) if rows else None

    @strawberry.field(description="The line, when it ran on one.")
    async def line(self, info: strawberry.Info[Context, None]) -> ProductionLine | None:
        if self.line_id is None:
            return None
        rows = await self._loader(info, "lines_by_id", lines_by_id).load(self.line_id)
        return ProductionLine.of(rows[0]) if rows else None

    @strawberry.field(description="Precursors consumed.")
    async def precursors(self, info: strawberry.Info[Context, None]) -> list[BatchPrecursor]:
        rows = await self._loader(info, "precursors_by_batch_id", precursors_by_batch_id).load(uuid.UUID(self.id))
        return [BatchPrecursor.of(r) for r in rows]

    @strawberry.field(
        description="The latest provisional footprint (null until computed); needs footprints:read. "
        "Not shared: null on a batch read through a grant."
    )
    async def provisional_footprint(
        self, info: strawberry.Info[Context, None]
    ) -> Annotated[ProvisionalFootprint, strawberry.lazy("backend.provisional.gql")] | None:
        from backend.provisional.gql import ProvisionalFootprint
        from backend.provisional.loaders import provisional_footprints_by_batch_id

        info.context.require_principal().require("footprints:read")
        if self.shared_from is not None:
            # a production grant opens batches, not the grantor's provisional calculations
            return None
        rows = await info.context.loader("provisional_footprints_by_batch_id", provisional_footprints_by_batch_id).load(
            uuid.UUID(self.id)
        )
        return ProvisionalFootprint.of(rows[0]) if rows else None

    @classmethod
    def of(cls, row: models.ProductionBatch, timezone: str, shared_from: SharedFrom = None) -> ProductionBatch:
        return cls(
            id=str(row.id),
            batch_number=row.batch_number,
            alloy=row.alloy,
            started_at=row.started_at,
            ended_at=row.ended_at,
            timezone=timezone,
            net_mass_t=row.net_mass_t,
            scrap_t=row.scrap_t,
            order_ref=row.order_ref,
            shipment_ref=row.shipment_ref,
            source=row.source.value,
            created_at=row.created_at,
            product_id=row.product_id,
            line_id=row.line_id,
            process_id=gid("ProductionProcess", row.process_id) if row.process_id else None,
            shared_from=shared_from,
        )


@strawberry.type(description="A saved mapping of an MES export's columns to batch fields.")
class BatchImportMapping(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Its name, given when a file is submitted.")
    columns: JSON = strawberry.field(description="Batch field -> column header.")
    timezone: str = strawberry.field(description="Time zone of times without an offset.")
    date_format: str = strawberry.field(description="'iso' or a strptime format.")
    mass_unit: str = strawberry.field(description="t or kg.")
    delimiter: str = strawberry.field(description="CSV delimiter.")
    decimal: str = strawberry.field(description="Decimal mark in CSV numbers.")
    sheet: str = strawberry.field(description="Excel: the sheet to read (empty: the first).")

    @classmethod
    def of(cls, row: models.BatchImportMapping) -> BatchImportMapping:
        return cls(
            id=str(row.id),
            name=row.name,
            columns=row.columns,
            timezone=row.timezone,
            date_format=row.date_format,
            mass_unit=row.mass_unit,
            delimiter=row.delimiter,
            decimal=row.decimal,
            sheet=row.sheet,
        )


@strawberry.type(description="An MES export being imported: progress, status and the report.")
class BatchImport(relay.Node):
    id: relay.NodeID[str]
    document_id: relay.GlobalID = strawberry.field(description="The file, kept as evidence.")
    file_format: str = strawberry.field(description="csv or xlsx.")
    mapping_name: str = strawberry.field(description="The mapping it was read with.")
    status: str = strawberry.field(description="queued, processing, completed, rejected or failed.")
    rows_total: int = strawberry.field(description="Data rows in the file (an estimate until it is read).")
    rows_done: int = strawberry.field(description="Rows read so far.")
    batches_stored: int = strawberry.field(description="Batches stored (0 unless completed).")
    errors: JSON = strawberry.field(
        description="Per problem: row, field, column, code, message. Rejected: nothing stored."
    )
    created_by: str = strawberry.field(description="Who submitted it.")
    created_at: datetime = strawberry.field(description="When.")
    finished_at: datetime | None = strawberry.field(description="When it ended.")

    @classmethod
    def of(cls, row: models.BatchImport) -> BatchImport:
        return cls(
            id=str(row.id),
            document_id=gid("EvidenceDocument", row.document_id),
            file_format=row.file_format,
            mapping_name=str(row.mapping.get("name", "")),
            status=row.status.value,
            rows_total=row.rows_total,
            rows_done=row.rows_done,
            batches_stored=row.batches_stored,
            errors=row.errors,
            created_by=row.created_by,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


# --- inputs ---------------------------------------------------------------------------------------------


@strawberry.input(description="A product's details.")
class ProductInput:
    code: str = strawberry.field(description="Article number, as the MES names the product.")
    name: str = strawberry.field(description="Name.")
    cn_code: str = strawberry.field(description="8-digit CN code of a CBAM good, e.g. 7604 21 00.")
    production_route: ProductionRouteEnum = strawberry.field(description="Production route.")  # type: ignore[valid-type]
    scrap_tonnes_per_tonne: float | None = strawberry.field(default=None, description="Scrap per tonne [t/t].")
    pre_consumer_scrap_share: float | None = strawberry.field(default=None, description="0..1 of that scrap.")
    non_aluminium_share: float | None = strawberry.field(default=None, description="0..1 non-aluminium elements.")
    description: str = strawberry.field(default="", description="Free description.")

    def to_data(self) -> ProductData:
        return ProductData(
            code=self.code,
            name=self.name,
            cn_code=self.cn_code,
            production_route=models.ProductionRoute(self.production_route),
            scrap_t_per_t=self.scrap_tonnes_per_tonne,
            pre_consumer_scrap_share=self.pre_consumer_scrap_share,
            non_aluminium_share=self.non_aluminium_share,
            description=self.description,
        )


@strawberry.input(description="Change a product.")
class UpdateProductInput:
    id: NodeRef = strawberry.field(description="The product.")
    details: ProductInput = strawberry.field(description="Its new details.")


@strawberry.type(description="The product, or why it was not saved.")
class ProductPayload:
    product: Product | None = strawberry.field(description="The saved product.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


@strawberry.input(description="A precursor consumed by a batch.")
class BatchPrecursorInput:
    mass_t: float = strawberry.field(description="Mass consumed [t].")
    cn_code: str = strawberry.field(default="", description="CN code or heading.")
    description: str = strawberry.field(default="", description="What it is.")
    supplier_installation: str = strawberry.field(default="", description="The installation that produced it.")
    supplier_installation_id: str = strawberry.field(default="", description="Its CBAM installation id.")
    embedded_emissions: float | None = strawberry.field(default=None, description="[tCO2e/t], when known.")
    emissions_source: str = strawberry.field(default="", description="Where that figure comes from (required with it).")

    def to_data(self) -> PrecursorData:
        return PrecursorData(
            mass_t=self.mass_t,
            cn_code=self.cn_code,
            description=self.description,
            supplier_installation=self.supplier_installation,
            supplier_installation_id=self.supplier_installation_id,
            embedded_tco2e_per_t=self.embedded_emissions,
            emissions_source=self.emissions_source,
        )


@strawberry.input(description="One production batch.")
class RecordProductionBatchInput:
    installation_id: NodeRef = strawberry.field(description="The installation.")
    batch_number: str = strawberry.field(description="The MES's batch number.")
    product_id: NodeRef = strawberry.field(description="The product.")
    started_at: datetime = strawberry.field(description="Start, with offset.")
    ended_at: datetime = strawberry.field(description="End, with offset (exclusive).")
    net_mass_t: float = strawberry.field(description="Net output mass [t].")
    line_id: NodeRef | None = strawberry.field(default=None, description="The line (or give processId).")
    process_id: NodeRef | None = strawberry.field(default=None, description="The process, for a batch not on a line.")
    alloy: str = strawberry.field(default="", description="Alloy.")
    scrap_t: float = strawberry.field(default=0.0, description="Scrap [t].")
    order_ref: str = strawberry.field(default="", description="Order reference.")
    shipment_ref: str = strawberry.field(default="", description="Shipment reference.")
    precursors: list[BatchPrecursorInput] = strawberry.field(default_factory=list, description="Precursors consumed.")


@strawberry.type(description="The batch, or why it was not stored.")
class ProductionBatchPayload:
    batch: ProductionBatch | None = strawberry.field(description="The stored batch.")
    created: bool = strawberry.field(description="False when the same batch was already stored.")
    errors: list[UserError] = strawberry.field(description="Why nothing was stored.")


@strawberry.input(description="A named MES column mapping.")
class SaveBatchImportMappingInput:
    name: str = strawberry.field(description="Its name.")
    columns: JSON = strawberry.field(
        description="Batch field -> column header. Fields: batch_number, line, process, product, alloy, started_at, "
        "ended_at, net_mass, scrap, order_ref, shipment_ref, precursor_mass, precursor_cn_code, precursor_supplier, "
        "precursor_supplier_installation_id, precursor_embedded_emissions, precursor_emissions_source."
    )
    timezone: str = strawberry.field(default="UTC", description="IANA time zone of times without an offset.")
    date_format: str = strawberry.field(default="iso", description="'iso' or a strptime format, e.g. %d.%m.%Y %H:%M.")
    mass_unit: str = strawberry.field(default="t", description="t or kg.")
    delimiter: str = strawberry.field(default=",", description="CSV delimiter.")
    decimal: str = strawberry.field(default=".", description="Decimal mark in CSV numbers.")
    sheet: str = strawberry.field(default="", description="Excel sheet (empty: the first).")

    def to_data(self) -> MappingData:
        columns = self.columns
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise ValidationFailed([FieldError("an object of field -> column header", field="columns")])
        return MappingData(
            name=self.name,
            columns={str(k): v for k, v in columns.items()},
            timezone=self.timezone,
            date_format=self.date_format,
            mass_unit=self.mass_unit,
            delimiter=self.delimiter,
            decimal=self.decimal,
            sheet=self.sheet,
        )


@strawberry.type(description="The mapping, or why it was not saved.")
class BatchImportMappingPayload:
    mapping: BatchImportMapping | None = strawberry.field(description="The saved mapping.")
    errors: list[UserError] = strawberry.field(description="Why nothing was saved.")


# --- resolvers ------------------------------------------------------------------------------------------


@strawberry.type
class GoodsQuery:
    @strawberry.field(description="The CBAM goods list (Annex I) with its source; filter by sector or code/text.")
    def cbam_goods(
        self, info: strawberry.Info[Context, None], sector: str | None = None, search: str | None = None
    ) -> CbamGoodsList:
        info.context.require_principal()
        return CbamGoodsList(
            source=goods.GOODS_LIST_SOURCE,
            goods=[CbamGood.of(e) for e in goods.browse(sector=sector, search=search)],
        )

    @strawberry.field(description="Whether an 8-digit CN code is a CBAM good, and under which Annex I line.")
    def check_cn_code(self, info: strawberry.Info[Context, None], cn_code: str) -> CnCodeCheck:
        info.context.require_principal()
        found = goods.check_cn_code(cn_code)
        return CnCodeCheck(
            cn_code=found.cn_code,
            covered=found.covered,
            reason=found.reason,
            good=CbamGood.of(found.entry) if found.entry else None,
        )


@strawberry.type
class ProductionQuery:
    @strawberry.field(description="The product catalogue, by code.")
    async def products(
        self, info: strawberry.Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Product]:
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        async with info.context.tenant_uow() as db:
            rows = await service.list_products(
                db, principal, after=(cursor[0], uuid.UUID(cursor[1])) if cursor else None, limit=limit + 1
            )
        return to_connection(Page(rows, limit, cursor is not None), Product.of, lambda r: [r.code, r.id])

    @strawberry.field(description="One product.")
    async def product(self, info: strawberry.Info[Context, None], id: NodeRef) -> Product:
        return Product.of(
            await info.context.in_tenant(lambda db, p: service.get_product(db, p, node_uuid(id, "Product")))
        )

    @strawberry.field(description="An installation's production batches by start time; those overlapping [start, end).")
    async def production_batches(
        self,
        info: strawberry.Info[Context, None],
        installation_id: NodeRef,
        line_id: NodeRef | None = None,
        product_id: NodeRef | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ProductionBatch]:
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        filters = BatchFilter(
            installation_id=node_uuid(installation_id, "Installation", field="installationId"),
            line_id=node_uuid(line_id, "ProductionLine", field="lineId") if line_id else None,
            product_id=node_uuid(product_id, "Product", field="productId") if product_id else None,
            start=start,
            end=end,
        )
        async with info.context.tenant_uow() as db:
            installation, rows = await service.list_batches(
                db,
                principal,
                filters,
                after=(datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None,
                limit=limit + 1,
            )
        zone = installation.timezone
        return to_connection(
            Page(rows, limit, cursor is not None),
            lambda r: ProductionBatch.of(r, zone),
            lambda r: [r.started_at.isoformat(), r.id],
        )

    @strawberry.field(
        description="Batches of another organisation's installation wholly inside [start, end), "
        "read through a live production grant; by start time."
    )
    async def shared_batches(
        self,
        info: strawberry.Info[Context, None],
        grantor_id: GrantorArg,
        installation_id: NodeRef,
        start: datetime,
        end: datetime,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ProductionBatch]:
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        if end <= start:
            raise ValidationFailed([FieldError("end must be after start", field="end")])
        installation, rows, shared_from = await shared.read_batches(
            info.context.services,
            principal,
            grantor_uuid(grantor_id),
            node_uuid(installation_id, "Installation", field="installationId"),
            (start, end),
            after=(datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None,
            limit=limit + 1,
        )
        zone = installation.timezone
        return to_connection(
            Page(rows, limit, cursor is not None),
            lambda r: ProductionBatch.of(r, zone, shared_from),
            lambda r: [r.started_at.isoformat(), r.id],
        )

    @strawberry.field(description="One production batch.")
    async def production_batch(self, info: strawberry.Info[Context, None], id: NodeRef) -> ProductionBatch:
        principal = info.context.require_principal()
        async with info.context.tenant_uow() as db:
            batch = await service.get_batch(db, principal, node_uuid(id, "ProductionBatch"))
            zone = await service.installation_timezone(db, batch.installation_id)
        return ProductionBatch.of(batch, zone)

    @strawberry.field(description="Saved MES column mappings, by name.")
    async def batch_import_mappings(self, info: strawberry.Info[Context, None]) -> list[BatchImportMapping]:
        rows = await info.context.in_tenant(imports.list_mappings)
        return [BatchImportMapping.of(r) for r in rows]

    @strawberry.field(description="An installation's MES batch imports, newest first, with progress and report.")
    async def batch_imports(self, info: strawberry.Info[Context, None], installation_id: NodeRef) -> list[BatchImport]:
        installation = node_uuid(installation_id, "Installation", field="installationId")
        rows = await info.context.in_tenant(lambda db, p: imports.list_imports(db, p, installation))
        return [BatchImport.of(r) for r in rows]

    @strawberry.field(description="One MES batch import: progress (rows done / total), status, report.")
    async def batch_import(self, info: strawberry.Info[Context, None], id: NodeRef) -> BatchImport:
        return BatchImport.of(
            await info.context.in_tenant(lambda db, p: imports.get_import(db, p, node_uuid(id, "BatchImport")))
        )


@strawberry.type
class ProductionMutation:
    @strawberry.mutation(description="Add a product to the catalogue; its CN code must be a CBAM good.")
    async def create_product(self, info: strawberry.Info[Context, None], input: ProductInput) -> ProductPayload:
        async def action(db: AsyncSession, principal: Principal) -> ProductPayload:
            row = await service.create_product(db, principal, input.to_data())
            return ProductPayload(product=Product.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: ProductPayload(product=None, errors=e))

    @strawberry.mutation(description="Change a product's details.")
    async def update_product(self, info: strawberry.Info[Context, None], input: UpdateProductInput) -> ProductPayload:
        async def action(db: AsyncSession, principal: Principal) -> ProductPayload:
            row = await service.update_product(db, principal, node_uuid(input.id, "Product"), input.details.to_data())
            return ProductPayload(product=Product.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: ProductPayload(product=None, errors=e))

    @strawberry.mutation(description="Record one production batch (checked like a file row; audited).")
    async def record_production_batch(
        self, info: strawberry.Info[Context, None], input: RecordProductionBatchInput
    ) -> ProductionBatchPayload:
        async def action(db: AsyncSession, principal: Principal) -> ProductionBatchPayload:
            installation_id = node_uuid(input.installation_id, "Installation", field="installationId")
            row = await service.batch_row_from_ids(
                db,
                installation_id=installation_id,
                batch_number=input.batch_number,
                product_id=node_uuid(input.product_id, "Product", field="productId"),
                line_id=node_uuid(input.line_id, "ProductionLine", field="lineId") if input.line_id else None,
                process_id=node_uuid(input.process_id, "ProductionProcess", field="processId")
                if input.process_id
                else None,
                started_at=input.started_at,
                ended_at=input.ended_at,
                net_mass_t=input.net_mass_t,
                alloy=input.alloy,
                scrap_t=input.scrap_t,
                order_ref=input.order_ref,
                shipment_ref=input.shipment_ref,
                precursors=tuple(p.to_data() for p in input.precursors),
            )
            batch, created = await service.record_batch(
                db, principal, installation_id, row, source=models.BatchSource.API
            )
            zone = await service.installation_timezone(db, batch.installation_id)
            return ProductionBatchPayload(batch=ProductionBatch.of(batch, zone), created=created, errors=[])

        return await mutations.in_tenant(
            info, action, lambda e: ProductionBatchPayload(batch=None, created=False, errors=e)
        )

    @strawberry.mutation(description="Save a named MES column mapping (replaces the one of that name).")
    async def save_batch_import_mapping(
        self, info: strawberry.Info[Context, None], input: SaveBatchImportMappingInput
    ) -> BatchImportMappingPayload:
        async def action(db: AsyncSession, principal: Principal) -> BatchImportMappingPayload:
            row = await imports.save_mapping(db, principal, input.to_data())
            return BatchImportMappingPayload(mapping=BatchImportMapping.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: BatchImportMappingPayload(mapping=None, errors=e))


ProductionQueries = merge_types("ProductionQueries", (GoodsQuery, ProductionQuery))
