"""Publishing footprints: an exporter turns one footprint version into an immutable, content-hashed document.

Publishing the next version of the same product, installation and period supersedes the one before,
which becomes DEPRECATED; its document stays as it was (``models.IMMUTABLE_PUBLICATIONS_DDL``).
Reads by other organisations go through ``backend.exchange.reads``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.calculations import service as calculations
from backend.calculations.errors import FootprintNotFound
from backend.calculations.models import CalculationRun, FootprintVersion
from backend.db import utcnow
from backend.errors import FieldError, ValidationFailed
from backend.exchange import document, repository
from backend.exchange.errors import (
    AlreadyPublished,
    FootprintVersionNotFound,
    NewerVersionPublished,
    NotAnExporter,
    PublicationNotFound,
)
from backend.exchange.models import PublicationStatus, PublishedFootprint
from backend.exchange.repository import PublicationFilter
from backend.feeds import FOOTPRINT_PUBLISHED, FOOTPRINT_SUPERSEDED, emit
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.production.models import Product
from backend.references import ReadLimit, bound_limits
from backend.sharing.grants import limit_of
from backend.sharing.models import Grant, ResourceKind
from backend.tenants.models import Tenant, TenantKind

MAX_LISTED = 200
# qualifying parameters of a product, as the document names them
QUALIFYING_PARAMETERS = {
    "scrap_t_per_t": "scrapTPerT",
    "pre_consumer_scrap_share": "preConsumerScrapShare",
    "non_aluminium_share": "nonAluminiumShare",
}


def require_publisher(principal: Principal, tenant_kind: TenantKind) -> None:
    """Footprints are published by an exporter's writers of production data."""
    principal.require("production:write")
    if tenant_kind != TenantKind.EXPORTER:
        raise NotAnExporter("only an exporter publishes the footprints of its products")


def check_filter(f: PublicationFilter) -> None:
    """A CN code filter is a prefix of 2 to 8 digits; a period filter's times carry an offset."""
    errors: list[FieldError] = []
    if f.cn_code is not None and not (f.cn_code.isdigit() and f.cn_code.isascii() and 2 <= len(f.cn_code) <= 8):
        errors.append(FieldError("2 to 8 digits, the start of a CN code", field="cnCode"))
    for name, when in (("start", f.start), ("end", f.end)):
        if when is not None and when.tzinfo is None:
            errors.append(FieldError("must carry a UTC offset", field=name))
    if errors:
        raise ValidationFailed(errors)


def _version_of(v: FootprintVersion) -> document.Version:
    return document.Version(
        id=v.id,
        period_start=v.period_start,
        period_end=v.period_end,
        methodology_version=v.methodology_version,
        output_digest=v.output_digest,
        net_mass_t=v.net_mass_t,
        see_direct=v.see_direct,
        see_indirect=v.see_indirect,
        see_total=v.see_total,
        see_obligation=v.see_obligation,
        figures=v.figures or {},
        breakdown=v.breakdown or {},
        data_quality=v.data_quality or {},
        manifest=v.manifest or {},
    )


def _good_of(p: Product) -> document.Good:
    parameters = {
        name: float(getattr(p, column))
        for column, name in QUALIFYING_PARAMETERS.items()
        if getattr(p, column) is not None
    }
    return document.Good(
        id=p.id,
        code=p.code,
        name=p.name,
        cn_code=p.cn_code,
        production_route=p.production_route.value if p.production_route else None,
        qualifying_parameters=parameters,
    )


def _site_of(i: Installation) -> document.Site:
    return document.Site(
        id=i.id, name=i.name, cbam_installation_id=i.cbam_installation_id, country=i.country, time_zone=i.timezone
    )


async def publish_footprint(
    db: AsyncSession,
    principal: Principal,
    exporter: document.Exporter,
    tenant_kind: TenantKind,
    footprint_version_id: uuid.UUID,
    *,
    shares: Sequence[Grant] = (),
) -> PublishedFootprint:
    """Publish one footprint version as an immutable document; the lineage's previous one is deprecated.

    Each customer whose live share among ``shares`` (the exporter's, read from the platform before this
    unit of work) covers the publication gets a feed event in the same transaction: published, or
    superseded when it replaces an earlier publication.
    """
    require_publisher(principal, tenant_kind)
    try:
        version = await calculations.get_footprint(db, principal, footprint_version_id)
    except FootprintNotFound:
        raise FootprintVersionNotFound("no such footprint version", field="footprintVersionId")
    await repository.lock_publication_lineage(
        db, version.product_id, version.installation_id, version.period_start, version.period_end
    )
    if await repository.publication_of_version(db, version.id) is not None:
        raise AlreadyPublished("this footprint version is published already", field="footprintVersionId")
    previous = await repository.latest_publication(
        db, version.product_id, version.installation_id, version.period_start, version.period_end
    )
    if previous is not None:
        published_version = await db.get(FootprintVersion, previous.footprint_version_id)
        if published_version is not None and published_version.version > version.version:
            raise NewerVersionPublished(
                f"version {published_version.version} of this footprint is published already: "
                f"version {version.version} would supersede a newer figure",
                field="footprintVersionId",
            )
    product = await db.get(Product, version.product_id)
    installation = await db.get(Installation, version.installation_id)
    run = await db.get(CalculationRun, version.run_id)
    assert product is not None and installation is not None and run is not None  # RESTRICT keeps them
    meter_ids = [uuid.UUID(m) for m in ((version.manifest or {}).get("interval_data") or {}).get("meters", {})]
    now = utcnow()
    publication = document.Publication(
        id=uuid.uuid4(),
        version=(previous.version + 1) if previous else 1,
        supersedes=previous.id if previous else None,
        published_at=now,
    )
    body = document.build(
        publication=publication,
        exporter=exporter,
        site=_site_of(installation),
        good=_good_of(product),
        version=_version_of(version),
        meter_codes=await repository.meter_codes(db, meter_ids),
    )
    if previous is not None and previous.status == PublicationStatus.ACTIVE:
        await repository.deprecate(db, previous.id, now)
        await record(
            db,
            principal,
            "published_footprint.deprecated",
            "published_footprint",
            previous.id,
            details={"superseded_by": publication.id},
        )
    row = PublishedFootprint(
        id=publication.id,
        footprint_version_id=version.id,
        product_id=version.product_id,
        installation_id=version.installation_id,
        cn_code=product.cn_code,
        period_start=version.period_start,
        period_end=version.period_end,
        version=publication.version,
        supersedes_id=publication.supersedes,
        document=body,
        content_hash=body["contentHash"],
        published_at=now,
        published_by=principal.label[:320],
    )
    db.add(row)
    await db.flush()
    await record(
        db,
        principal,
        "published_footprint.published",
        "published_footprint",
        row.id,
        details={
            "footprint_version_id": version.id,
            "version": row.version,
            "supersedes_id": row.supersedes_id,
            "content_hash": row.content_hash,
        },
    )
    await notify_customers(db, shares, row)
    return row


async def shares_to_notify(platform_db: AsyncSession, exporter_id: uuid.UUID) -> list[Grant]:
    """The exporter's footprint shares, for ``publish_footprint`` to tell the customers they cover."""
    return await repository.shares_given(platform_db, exporter_id)


def _covers(grant: Grant, row: PublishedFootprint, now: datetime) -> bool:
    limit = limit_of(grant)
    return (
        grant.revoked_at is None
        and grant.expires_at > now
        and ResourceKind.FOOTPRINT.value in grant.resource_kinds
        and limit.allows_installation(row.installation_id)
        and limit.allows_product(row.product_id, row.cn_code)
        and limit.allows_period(row.period_start, row.period_end)
    )


async def notify_customers(db: AsyncSession, shares: Sequence[Grant], row: PublishedFootprint) -> list[uuid.UUID]:
    """A feed event per customer (or customer's client) whose share covers the publication; the ids sent."""
    now = utcnow()
    body = row.document
    data = {
        "publicationId": str(row.id),
        "supplierId": str(body["exporter"]["tenantId"]),
        "productCode": body["product"]["code"],
        "cnCode": row.cn_code,
        "periodStart": body["period"]["start"],
        "periodEnd": body["period"]["end"],
        "version": row.version,
        "supersedes": str(row.supersedes_id) if row.supersedes_id else None,
        "contentHash": row.content_hash,
    }
    kind = FOOTPRINT_SUPERSEDED if row.supersedes_id else FOOTPRINT_PUBLISHED
    sent: list[uuid.UUID] = []
    told: set[tuple[uuid.UUID, uuid.UUID | None]] = set()
    for grant in shares:
        recipient = (grant.grantee_tenant_id, grant.grantee_client_id)
        if recipient in told or not _covers(grant, row, now):
            continue
        told.add(recipient)
        sent.append(
            await emit(
                db,
                type=kind,
                source_tenant_id=grant.grantor_tenant_id,
                recipient_tenant_id=grant.grantee_tenant_id,
                recipient_client_id=grant.grantee_client_id,
                subject=f"published_footprint/{row.id}",
                data=data,
            )
        )
    return sent


async def list_publications(
    db: AsyncSession,
    principal: Principal,
    f: PublicationFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = MAX_LISTED,
    limits: Sequence[ReadLimit] | None = None,
) -> list[PublishedFootprint]:
    """The organisation's own publications (inside ``limits`` when read through grants), newest first."""
    calculations.require_footprints(principal)
    check_filter(f)
    bound = bound_limits(principal)
    if limits is None:
        limits = bound
    return await repository.publications(db, f, after=after, limit=min(limit, MAX_LISTED + 1), limits=limits)


async def get_publication(db: AsyncSession, principal: Principal, publication_id: uuid.UUID) -> PublishedFootprint:
    calculations.require_footprints(principal)
    row = await repository.publication(db, publication_id)
    bound = bound_limits(principal)
    if row is None or (bound is not None and not any(b.allows_installation(row.installation_id) for b in bound)):
        raise PublicationNotFound("no such published footprint", field="id")
    return row


async def exporter_of(platform_db: AsyncSession, tenant_id: uuid.UUID) -> document.Exporter:
    """The organisation as a document names its exporter (read from the platform)."""
    tenant = await platform_db.get(Tenant, tenant_id)
    assert tenant is not None  # the caller's own organisation
    return document.Exporter(tenant_id=tenant.id, name=tenant.name, country=tenant.country)
