"""GraphQL of the exchange: publishing, the supplier directory, connections, shares and received footprints.

Resolvers parse and convert only; every rule is in the exchange's services.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.relay import Connection, NodeRef, Page, decode_cursor, gid, node_uuid, page_size, to_connection
from backend.errors import FieldError, ValidationFailed
from backend.exchange import connections, directory, reads, service
from backend.exchange.mirror_gql import MirrorCheckResult, checks_of
from backend.exchange.models import PublicationStatus as PublicationStatusModel
from backend.exchange.models import PublishedFootprint as PublishedFootprintRow
from backend.exchange.models import VerificationStatus as VerificationStatusModel
from backend.exchange.reads import SharedPublication
from backend.exchange.repository import PublicationFilter
from backend.identity.gql import Organization
from backend.identity.principal import Principal
from backend.sharing import organizations
from backend.sharing.models import DirectoryEntry as DirectoryEntryModel
from backend.sharing.models import Grant as GrantModel
from backend.sharing.models import Subscription as SubscriptionModel
from backend.sharing.models import SubscriptionStatus as SubscriptionStatusModel
from backend.tenants.models import Tenant as TenantModel

PublicationStatus = strawberry.enum(
    PublicationStatusModel, description="ACTIVE, or DEPRECATED once a later publication supersedes it."
)
VerificationStatus = strawberry.enum(
    VerificationStatusModel, description="UNVERIFIED until a signed verification statement attaches."
)
ConnectionStatus = strawberry.enum(
    SubscriptionStatusModel,
    name="SupplierConnectionStatus",
    description="REQUESTED, ACTIVE (accepted), DECLINED, or CANCELLED (ended by either side).",
)


@strawberry.type(description="A published footprint: the immutable document and the state beside it.")
class PublishedFootprint(relay.Node):
    id: relay.NodeID[str]
    supplier_id: relay.GlobalID = strawberry.field(description="The exporter that published it.")
    document: JSON = strawberry.field(
        description="The document as published (cbamx.published-footprint/1), contentHash included."
    )
    content_hash: str = strawberry.field(description="sha256:<hex> of the canonical JSON without contentHash.")
    status: PublicationStatus = strawberry.field(description="Active or deprecated.")
    deprecated_at: datetime | None = strawberry.field(description="When a later publication superseded it.")
    verification_status: VerificationStatus = strawberry.field(description="Verified or not.")
    published_at: datetime = strawberry.field(description="When it was published.")
    version: int = strawberry.field(description="Publication number for its product, installation and period.")
    product_code: str = strawberry.field(description="The exporter's product code.")
    cn_code: str = strawberry.field(description="CN code of the product (8 digits).")
    period_start: datetime = strawberry.field(description="Start of the period (UTC).")
    period_end: datetime = strawberry.field(description="End of the period (UTC, exclusive).")
    supersedes_id: relay.GlobalID | None = strawberry.field(description="The publication it supersedes.")

    @strawberry.field(description="The viewer's organisation's own mirror check results of it, newest first.")
    async def mirror_checks(self, info: strawberry.Info[Context, None]) -> list[MirrorCheckResult]:
        return await checks_of(info, uuid.UUID(str(self.id)))

    @classmethod
    def of(cls, p: SharedPublication) -> PublishedFootprint:
        d = p.document
        return cls(
            id=str(p.id),
            supplier_id=gid("Organization", p.supplier_id),
            document=d,
            content_hash=p.content_hash,
            status=p.status,
            deprecated_at=p.deprecated_at,
            verification_status=p.verification_status,
            published_at=p.published_at,
            version=int(d["version"]),
            product_code=str(d["product"]["code"]),
            cn_code=str(d["product"]["cnCode"]),
            period_start=datetime.fromisoformat(d["period"]["start"].replace("Z", "+00:00")),
            period_end=datetime.fromisoformat(d["period"]["end"].replace("Z", "+00:00")),
            supersedes_id=gid("PublishedFootprint", d["supersedes"]) if d.get("supersedes") else None,
        )


@strawberry.type(description="An organisation's entry in the supplier directory.")
class DirectoryEntry:
    organization_id: relay.GlobalID = strawberry.field(description="The organisation (use it to connect).")
    display_name: str = strawberry.field(description="The name it shows.")
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    sectors: list[str] = strawberry.field(description="Sectors it works in.")
    cn_codes: list[str] = strawberry.field(description="CN codes (or their first digits) of what it supplies.")
    description: str = strawberry.field(description="What it says about itself.")
    contact_email: str | None = strawberry.field(description="Where to write.")
    listed: bool = strawberry.field(description="Shown in the directory (false: withdrawn).")
    updated_at: datetime = strawberry.field(description="Last change.")

    @classmethod
    def of(cls, row: DirectoryEntryModel) -> DirectoryEntry:
        return cls(
            organization_id=gid("Organization", row.tenant_id),
            display_name=row.display_name,
            country=row.country,
            sectors=list(row.sectors or []),
            cn_codes=list(row.cn_codes or []),
            description=row.description,
            contact_email=row.contact_email,
            listed=row.listed,
            updated_at=row.updated_at,
        )


@strawberry.type(name="SupplierConnection", description="A connection between a customer and a supplier.")
class SupplierConnection(relay.Node):
    id: relay.NodeID[str]
    supplier: Organization = strawberry.field(description="The supplier (exporter).")
    customer: Organization = strawberry.field(description="The customer (importer) that asked.")
    status: ConnectionStatus = strawberry.field(description="Where the connection stands.")
    message: str = strawberry.field(description="The customer's message with its request.")
    requested_at: datetime = strawberry.field(description="When it was (last) requested.")
    decided_at: datetime | None = strawberry.field(description="When it was accepted, declined or ended.")

    @classmethod
    def of(cls, row: SubscriptionModel, tenants: dict[uuid.UUID, TenantModel]) -> SupplierConnection:
        return cls(
            id=str(row.id),
            supplier=Organization.of(tenants[row.supplier_tenant_id]),
            customer=Organization.of(tenants[row.subscriber_tenant_id]),
            status=row.status,
            message=row.message,
            requested_at=row.created_at,
            decided_at=row.decided_at,
        )


@strawberry.type(description="Published footprints shared with a connected customer: a footprint grant.")
class FootprintShare(relay.Node):
    id: relay.NodeID[str]
    customer: Organization = strawberry.field(description="The customer that may read.")
    client_only: bool = strawberry.field(description="Limited to one machine client of the customer.")
    connection_id: relay.GlobalID | None = strawberry.field(description="The connection it was made under.")
    product_ids: list[relay.GlobalID] = strawberry.field(description="Only these products (empty: all).")
    cn_codes: list[str] = strawberry.field(description="Only CN codes starting so (empty: all).")
    installation_ids: list[relay.GlobalID] = strawberry.field(description="Only these installations (empty: all).")
    period_start: datetime | None = strawberry.field(description="Only periods from this time on.")
    period_end: datetime | None = strawberry.field(description="Only periods ending by this time.")
    expires_at: datetime = strawberry.field(description="Access ends then.")
    revoked_at: datetime | None = strawberry.field(description="Access ended early then.")
    created_at: datetime = strawberry.field(description="When it was made.")

    @classmethod
    def of(cls, row: GrantModel, tenants: dict[uuid.UUID, TenantModel]) -> FootprintShare:
        return cls(
            id=str(row.id),
            customer=Organization.of(tenants[row.grantee_tenant_id]),
            client_only=row.grantee_client_id is not None,
            connection_id=gid("SupplierConnection", row.subscription_id) if row.subscription_id else None,
            product_ids=[gid("Product", p) for p in row.product_ids or []],
            cn_codes=list(row.cn_codes or []),
            installation_ids=[gid("Installation", i) for i in row.installation_ids or []],
            period_start=row.period_start,
            period_end=row.period_end,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            created_at=row.created_at,
        )


# --- inputs and payloads ---------------------------------------------------------------------------------


@strawberry.input(description="Publish one footprint version.")
class PublishFootprintInput:
    footprint_version_id: NodeRef = strawberry.field(description="The footprint version to publish.")


@strawberry.type(description="The publication, or why nothing was published.")
class PublishFootprintPayload:
    published_footprint: PublishedFootprint | None = strawberry.field(description="The publication.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="How the organisation shows itself in the supplier directory.")
class DirectoryListingInput:
    display_name: str = strawberry.field(description="The name to show.")
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2 code, such as RS.")
    sectors: list[str] = strawberry.field(default_factory=list, description="Sectors, such as 'aluminium'.")
    cn_codes: list[str] = strawberry.field(default_factory=list, description="CN codes or their first 2 to 8 digits.")
    description: str = strawberry.field(default="", description="What the organisation supplies.")
    contact_email: str | None = strawberry.field(default=None, description="Where customers write.")

    def to_data(self) -> directory.ListingData:
        return directory.ListingData(
            display_name=self.display_name,
            country=self.country,
            sectors=list(self.sectors),
            cn_codes=list(self.cn_codes),
            description=self.description,
            contact_email=self.contact_email,
        )


@strawberry.type(description="The directory entry, or why nothing changed.")
class DirectoryEntryPayload:
    entry: DirectoryEntry | None = strawberry.field(description="The entry.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Ask a listed supplier to connect.")
class RequestConnectionInput:
    supplier_id: NodeRef = strawberry.field(description="The supplier, as the directory names it.")
    message: str = strawberry.field(default="", description="A note to the supplier.")


@strawberry.input(description="One connection.")
class ConnectionIdInput:
    id: NodeRef = strawberry.field(description="The connection.")


@strawberry.type(description="The connection, or why nothing changed.")
class ConnectionPayload:
    connection: SupplierConnection | None = strawberry.field(description="The connection.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Share published footprints with a connected customer, narrowed as given.")
class ShareFootprintsInput:
    customer_id: NodeRef = strawberry.field(description="The connected customer (organisation).")
    customer_client_id: str | None = strawberry.field(
        default=None, description="Only this machine client of the customer (its client_id)."
    )
    product_ids: list[NodeRef] = strawberry.field(default_factory=list, description="Only these products.")
    cn_codes: list[str] = strawberry.field(default_factory=list, description="Only CN codes starting so.")
    installation_ids: list[NodeRef] = strawberry.field(default_factory=list, description="Only these installations.")
    period_start: datetime | None = strawberry.field(default=None, description="Only periods from this time on.")
    period_end: datetime | None = strawberry.field(default=None, description="Only periods ending by this time.")
    expires_at: datetime | None = strawberry.field(default=None, description="When access ends (default: a year).")
    purpose: str = strawberry.field(default="", description="Why, such as 'CBAM declaration 2026'.")

    def to_data(self) -> connections.ShareData:
        return connections.ShareData(
            customer_id=node_uuid(self.customer_id, "Organization", field="customerId"),
            customer_client_id=self.customer_client_id,
            product_ids=_uuids(self.product_ids, "Product", "productIds"),
            cn_codes=list(self.cn_codes),
            installation_ids=_uuids(self.installation_ids, "Installation", "installationIds"),
            period_start=self.period_start,
            period_end=self.period_end,
            expires_at=self.expires_at,
            purpose=self.purpose,
        )


@strawberry.input(description="Replace a share by a narrower one for the same customer.")
class NarrowFootprintShareInput:
    id: NodeRef = strawberry.field(description="The share to replace.")
    product_ids: list[NodeRef] = strawberry.field(default_factory=list, description="Only these products.")
    cn_codes: list[str] = strawberry.field(default_factory=list, description="Only CN codes starting so.")
    installation_ids: list[NodeRef] = strawberry.field(default_factory=list, description="Only these installations.")
    period_start: datetime | None = strawberry.field(default=None, description="Only periods from this time on.")
    period_end: datetime | None = strawberry.field(default=None, description="Only periods ending by this time.")
    expires_at: datetime | None = strawberry.field(default=None, description="When access ends (default: a year).")
    purpose: str = strawberry.field(default="", description="Why.")


@strawberry.input(description="One share.")
class ShareIdInput:
    id: NodeRef = strawberry.field(description="The share.")


@strawberry.type(description="The share, or why nothing changed.")
class FootprintSharePayload:
    share: FootprintShare | None = strawberry.field(description="The share.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


def _uuids(values: list[NodeRef], type_name: str, field: str) -> list[uuid.UUID]:
    return [node_uuid(v, type_name, field=f"{field}.{i}") for i, v in enumerate(values)]


def _filter(
    *,
    supplier_id: NodeRef | None = None,
    product_id: NodeRef | None,
    cn_code: str | None,
    start: datetime | None,
    end: datetime | None,
    status: PublicationStatusModel | None,
) -> PublicationFilter:
    return PublicationFilter(
        supplier_id=node_uuid(supplier_id, "Organization", field="supplierId") if supplier_id else None,
        product_id=node_uuid(product_id, "Product", field="productId") if product_id else None,
        cn_code=cn_code,
        start=start,
        end=end,
        status=PublicationStatusModel(status.value) if status else None,
    )


def _after(after: str | None) -> tuple[datetime, uuid.UUID] | None:
    cursor = decode_cursor(after)
    if cursor is None:
        return None
    try:
        return datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])
    except (ValueError, IndexError):
        raise ValidationFailed([FieldError("not a cursor of this connection", field="after")])


def _publications_page(rows: list[SharedPublication], limit: int, after: str | None) -> Connection[PublishedFootprint]:
    return to_connection(
        Page(rows=rows, limit=limit, had_cursor=after is not None),
        PublishedFootprint.of,
        lambda p: (p.published_at.isoformat(), p.id),
    )


async def _tenants(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, TenantModel]:
    return await organizations.tenants_by_id(session, ids)


async def _connection_out(session: AsyncSession, row: SubscriptionModel) -> SupplierConnection:
    tenants = await _tenants(session, {row.supplier_tenant_id, row.subscriber_tenant_id})
    return SupplierConnection.of(row, tenants)


async def _share_out(session: AsyncSession, row: GrantModel) -> FootprintShare:
    return FootprintShare.of(row, await _tenants(session, {row.grantee_tenant_id}))


async def _share_payload(info: strawberry.Info[Context, None], row: GrantModel) -> FootprintSharePayload:
    async with info.context.services.db.platform_session() as session:
        return FootprintSharePayload(share=await _share_out(session, row), errors=[])


async def _own_tenant(session: AsyncSession, principal: Principal) -> TenantModel:
    row = await session.get(TenantModel, principal.require_tenant())
    assert row is not None
    return row


@strawberry.type
class ExchangeQuery:
    @strawberry.field(description="The organisation's own published footprints, newest first.")
    async def published_footprints(
        self,
        info: strawberry.Info[Context, None],
        product_id: NodeRef | None = None,
        cn_code: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        status: PublicationStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PublishedFootprint]:
        principal = info.context.require_principal()
        limit = page_size(first)
        f = _filter(product_id=product_id, cn_code=cn_code, start=start, end=end, status=status)
        cursor = _after(after)
        tenant_id = principal.require_tenant()
        async with info.context.tenant_uow() as db:
            rows = await service.list_publications(db, principal, f, after=cursor, limit=limit + 1)
        shown = await reads.with_verification(info.context.services, [(tenant_id, r) for r in rows])
        return _publications_page(shown, limit, after)

    @strawberry.field(description="One of the organisation's own published footprints.")
    async def published_footprint(self, info: strawberry.Info[Context, None], id: NodeRef) -> PublishedFootprint:
        async def action(db: AsyncSession, principal: Principal) -> tuple[uuid.UUID, PublishedFootprintRow]:
            row = await service.get_publication(db, principal, node_uuid(id, "PublishedFootprint"))
            return principal.require_tenant(), row

        (shown,) = await reads.with_verification(info.context.services, [await info.context.in_tenant(action)])
        return PublishedFootprint.of(shown)

    @strawberry.field(
        description="Footprints suppliers publish and share with the viewer's organisation (or client), newest first."
    )
    async def received_footprints(
        self,
        info: strawberry.Info[Context, None],
        supplier_id: NodeRef | None = None,
        product_id: NodeRef | None = None,
        cn_code: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        status: PublicationStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PublishedFootprint]:
        principal = info.context.require_principal()
        limit = page_size(first)
        f = _filter(
            supplier_id=supplier_id, product_id=product_id, cn_code=cn_code, start=start, end=end, status=status
        )
        rows = await reads.list_shared_publications(
            info.context.services, principal, f, after=_after(after), limit=limit + 1
        )
        return _publications_page(rows, limit, after)

    @strawberry.field(description="One footprint a supplier shares with the viewer's organisation (or client).")
    async def received_footprint(self, info: strawberry.Info[Context, None], id: NodeRef) -> PublishedFootprint:
        principal = info.context.require_principal()
        publication_id = node_uuid(id, "PublishedFootprint")
        return PublishedFootprint.of(
            await reads.get_shared_publication(info.context.services, principal, publication_id)
        )

    @strawberry.field(description="Listed suppliers, by name; filter by name, country, sector and CN code prefix.")
    async def supplier_directory(
        self,
        info: strawberry.Info[Context, None],
        name: str | None = None,
        country: str | None = None,
        sector: str | None = None,
        cn_code: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[DirectoryEntry]:
        principal = info.context.require_principal()
        limit = page_size(first)
        cursor = decode_cursor(after)
        try:
            position = (cursor[0], uuid.UUID(cursor[1])) if cursor else None
        except (ValueError, IndexError):
            raise ValidationFailed([FieldError("not a cursor of this connection", field="after")])
        q = directory.DirectorySearch(name=name, country=country, sector=sector, cn_code=cn_code)
        async with info.context.services.db.platform_session() as session:
            rows = await directory.search(session, principal, q, after=position, limit=limit + 1)
        return to_connection(
            Page(rows=rows, limit=limit, had_cursor=cursor is not None),
            DirectoryEntry.of,
            lambda r: (r.display_name, r.tenant_id),
        )

    @strawberry.field(description="The viewer's organisation's own directory entry, listed or not.")
    async def my_directory_entry(self, info: strawberry.Info[Context, None]) -> DirectoryEntry | None:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            row = await directory.own_entry(session, principal)
        return DirectoryEntry.of(row) if row is not None else None

    @strawberry.field(description="The organisation's connections, as customer and as supplier, newest first.")
    async def supplier_connections(self, info: strawberry.Info[Context, None]) -> list[SupplierConnection]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await connections.list_connections(session, principal)
            ids = {r.supplier_tenant_id for r in rows} | {r.subscriber_tenant_id for r in rows}
            tenants = await _tenants(session, ids)
        return [SupplierConnection.of(r, tenants) for r in rows]

    @strawberry.field(description="Footprint shares the organisation made, live or not, newest first.")
    async def footprint_shares(self, info: strawberry.Info[Context, None]) -> list[FootprintShare]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await connections.list_shares(session, principal, grantor_id=principal.require_tenant())
            tenants = await _tenants(session, {r.grantee_tenant_id for r in rows})
        return [FootprintShare.of(r, tenants) for r in rows]


async def _connection_step(
    info: strawberry.Info[Context, None],
    input: ConnectionIdInput,
    step: Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[SubscriptionModel]],
) -> ConnectionPayload:
    """Accept, decline or end a connection in one platform unit of work."""

    async def action(db: AsyncSession, principal: Principal) -> ConnectionPayload:
        row = await step(db, principal, node_uuid(input.id, "SupplierConnection"))
        return ConnectionPayload(connection=await _connection_out(db, row), errors=[])

    return await mutations.in_platform(info, action, lambda e: ConnectionPayload(connection=None, errors=e))


@strawberry.type
class ExchangeMutation:
    @strawberry.mutation(
        description="Publish a footprint version as an immutable document; a later publication of the same "
        "product, installation and period deprecates the earlier one. An exporter's writers of production data."
    )
    async def publish_footprint(
        self, info: strawberry.Info[Context, None], input: PublishFootprintInput
    ) -> PublishFootprintPayload:
        async def action(db: AsyncSession, principal: Principal) -> PublishFootprintPayload:
            tenant = await info.context.tenant()
            version_id = node_uuid(input.footprint_version_id, "FootprintVersion", field="footprintVersionId")
            async with info.context.services.db.platform_session() as platform:
                exporter = await service.exporter_of(platform, tenant.id)
                shares = await service.shares_to_notify(platform, tenant.id)
            row = await service.publish_footprint(db, principal, exporter, tenant.kind, version_id, shares=shares)
            return PublishFootprintPayload(
                published_footprint=PublishedFootprint.of(SharedPublication.of(tenant.id, row)), errors=[]
            )

        return await mutations.in_tenant(
            info, action, lambda e: PublishFootprintPayload(published_footprint=None, errors=e)
        )

    @strawberry.mutation(description="List the organisation in the supplier directory, or change its entry (admins).")
    async def list_in_directory(
        self, info: strawberry.Info[Context, None], input: DirectoryListingInput
    ) -> DirectoryEntryPayload:
        async def action(db: AsyncSession, principal: Principal) -> DirectoryEntryPayload:
            row = await directory.set_listing(db, principal, await info.context.tenant(), input.to_data())
            return DirectoryEntryPayload(entry=DirectoryEntry.of(row), errors=[])

        return await mutations.in_platform(info, action, lambda e: DirectoryEntryPayload(entry=None, errors=e))

    @strawberry.mutation(description="Withdraw the organisation from the supplier directory (admins).")
    async def unlist_from_directory(self, info: strawberry.Info[Context, None]) -> DirectoryEntryPayload:
        async def action(db: AsyncSession, principal: Principal) -> DirectoryEntryPayload:
            row = await directory.unlist(db, principal, await info.context.tenant())
            return DirectoryEntryPayload(entry=DirectoryEntry.of(row), errors=[])

        return await mutations.in_platform(info, action, lambda e: DirectoryEntryPayload(entry=None, errors=e))

    @strawberry.mutation(description="Ask a listed supplier to connect (an importer's admins).")
    async def request_connection(
        self, info: strawberry.Info[Context, None], input: RequestConnectionInput
    ) -> ConnectionPayload:
        async def action(db: AsyncSession, principal: Principal) -> ConnectionPayload:
            tenant = await info.context.tenant()
            supplier = node_uuid(input.supplier_id, "Organization", field="supplierId")
            row = await connections.request_connection(db, principal, tenant.kind, supplier, input.message)
            return ConnectionPayload(connection=await _connection_out(db, row), errors=[])

        return await mutations.in_platform(info, action, lambda e: ConnectionPayload(connection=None, errors=e))

    @strawberry.mutation(description="Accept a connection request (the supplier's admins).")
    async def accept_connection(
        self, info: strawberry.Info[Context, None], input: ConnectionIdInput
    ) -> ConnectionPayload:
        return await _connection_step(info, input, connections.accept_connection)

    @strawberry.mutation(description="Decline a connection request (the supplier's admins).")
    async def decline_connection(
        self, info: strawberry.Info[Context, None], input: ConnectionIdInput
    ) -> ConnectionPayload:
        return await _connection_step(info, input, connections.decline_connection)

    @strawberry.mutation(description="End a connection, from either side; its shares are revoked at once (admins).")
    async def end_connection(self, info: strawberry.Info[Context, None], input: ConnectionIdInput) -> ConnectionPayload:
        return await _connection_step(info, input, connections.end_connection)

    @strawberry.mutation(description="Share published footprints with a connected customer (an exporter's admins).")
    async def share_footprints(
        self, info: strawberry.Info[Context, None], input: ShareFootprintsInput
    ) -> FootprintSharePayload:
        principal = info.context.require_principal()

        async def body() -> FootprintSharePayload:
            row = await connections.share(info.context.services, principal, input.to_data())
            return await _share_payload(info, row)

        return await mutations.run(body, lambda e: FootprintSharePayload(share=None, errors=e))

    @strawberry.mutation(description="Replace a share by a narrower one; the customer's next request sees only that.")
    async def narrow_footprint_share(
        self, info: strawberry.Info[Context, None], input: NarrowFootprintShareInput
    ) -> FootprintSharePayload:
        principal = info.context.require_principal()

        async def body() -> FootprintSharePayload:
            share_id = node_uuid(input.id, "FootprintShare")
            limits = connections.ShareLimits(
                product_ids=_uuids(input.product_ids, "Product", "productIds"),
                cn_codes=list(input.cn_codes),
                installation_ids=_uuids(input.installation_ids, "Installation", "installationIds"),
                period_start=input.period_start,
                period_end=input.period_end,
                expires_at=input.expires_at,
                purpose=input.purpose,
            )
            row = await connections.narrow(info.context.services, principal, share_id, limits)
            return await _share_payload(info, row)

        return await mutations.run(body, lambda e: FootprintSharePayload(share=None, errors=e))

    @strawberry.mutation(description="Revoke a share: the customer's next request sees none of it (admins).")
    async def revoke_footprint_share(
        self, info: strawberry.Info[Context, None], input: ShareIdInput
    ) -> FootprintSharePayload:
        async def action(db: AsyncSession, principal: Principal) -> FootprintSharePayload:
            row = await connections.revoke_share(
                db, principal, grantor=await _own_tenant(db, principal), share_id=node_uuid(input.id, "FootprintShare")
            )
            return FootprintSharePayload(share=await _share_out(db, row), errors=[])

        return await mutations.in_platform(info, action, lambda e: FootprintSharePayload(share=None, errors=e))
