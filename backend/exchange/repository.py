"""The exchange's queries. Its fetchers check no authorisation: only the exchange's services import it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.exchange.models import (
    EscalationStatus,
    FootprintQuestion,
    MirrorCheckResult,
    MirrorEscalation,
    PublicationStatus,
    PublishedFootprint,
    QuestionStatus,
)
from backend.identity.models import OAuthClient
from backend.metering.models import Meter
from backend.production.models import Product
from backend.references import ReadLimit
from backend.sharing.models import DirectoryEntry, Grant, ResourceKind, Subscription, SubscriptionStatus
from backend.tenants.models import Tenant, TenantStatus


@dataclass(frozen=True, slots=True)
class PublicationFilter:
    """Which publications a listing keeps; each field ``None`` keeps all."""

    supplier_id: uuid.UUID | None = None  # receivers only
    product_id: uuid.UUID | None = None
    cn_code: str | None = None  # a prefix of 2 to 8 digits
    start: datetime | None = None  # periods that start at or after
    end: datetime | None = None  # periods that end at or before
    status: PublicationStatus | None = None


# --- publications (the exporter's tenant) ----------------------------------------------------------------


async def lock_publication_lineage(
    db: AsyncSession, product_id: uuid.UUID, installation_id: uuid.UUID, start: datetime, end: datetime
) -> None:
    """Serialise publishing one product, installation and period (until commit)."""
    await db.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"publications:{product_id}:{installation_id}:{start.isoformat()}:{end.isoformat()}"},
    )


async def latest_publication(
    db: AsyncSession, product_id: uuid.UUID, installation_id: uuid.UUID, start: datetime, end: datetime
) -> PublishedFootprint | None:
    rows = await db.execute(
        select(PublishedFootprint)
        .where(
            PublishedFootprint.product_id == product_id,
            PublishedFootprint.installation_id == installation_id,
            PublishedFootprint.period_start == start,
            PublishedFootprint.period_end == end,
        )
        .order_by(PublishedFootprint.version.desc())
        .limit(1)
        .with_for_update()
    )
    return rows.scalar_one_or_none()


async def publication_of_version(db: AsyncSession, footprint_version_id: uuid.UUID) -> PublishedFootprint | None:
    rows = await db.execute(
        select(PublishedFootprint).where(PublishedFootprint.footprint_version_id == footprint_version_id)
    )
    return rows.scalar_one_or_none()


async def deprecate(db: AsyncSession, publication_id: uuid.UUID, at: datetime) -> None:
    await db.execute(
        update(PublishedFootprint)
        .where(PublishedFootprint.id == publication_id)
        .values(status=PublicationStatus.DEPRECATED, deprecated_at=at)
    )


async def meter_codes(db: AsyncSession, meter_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not meter_ids:
        return {}
    rows = await db.execute(select(Meter.id, Meter.code).where(Meter.id.in_(list(meter_ids))))
    return {r[0]: r[1] for r in rows}


async def publication(db: AsyncSession, publication_id: uuid.UUID) -> PublishedFootprint | None:
    return await db.get(PublishedFootprint, publication_id)


def _within(limits: Sequence[ReadLimit]) -> ColumnElement[bool]:
    """Publications any one limit allows (``ReadLimit.allows_*``), in the query, so a page is full."""
    parts: list[ColumnElement[bool]] = []
    for limit in limits:
        conditions: list[ColumnElement[bool]] = []
        if limit.installation_ids is not None:
            conditions.append(PublishedFootprint.installation_id.in_(list(limit.installation_ids)))
        if limit.start is not None:
            conditions.append(PublishedFootprint.period_start >= limit.start)
        if limit.end is not None:
            conditions.append(PublishedFootprint.period_end <= limit.end)
        if limit.product_ids is not None:
            conditions.append(PublishedFootprint.product_id.in_(list(limit.product_ids)))
        if limit.cn_prefixes is not None:
            conditions.append(or_(*(PublishedFootprint.cn_code.startswith(p) for p in limit.cn_prefixes)))
        parts.append(and_(*conditions) if conditions else true())
    return or_(*parts) if parts else false()


async def publications(
    db: AsyncSession,
    f: PublicationFilter,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    limits: Sequence[ReadLimit] | None = None,
) -> list[PublishedFootprint]:
    """Publications newest first, inside ``limits`` when read through grants."""
    query = select(PublishedFootprint)
    if limits is not None:
        query = query.where(_within(limits))
    if f.product_id is not None:
        query = query.where(PublishedFootprint.product_id == f.product_id)
    if f.cn_code is not None:
        query = query.where(PublishedFootprint.cn_code.startswith(f.cn_code))
    if f.start is not None:
        query = query.where(PublishedFootprint.period_start >= f.start)
    if f.end is not None:
        query = query.where(PublishedFootprint.period_end <= f.end)
    if f.status is not None:
        query = query.where(PublishedFootprint.status == f.status)
    if after is not None:
        query = query.where(
            or_(
                PublishedFootprint.published_at < after[0],
                and_(PublishedFootprint.published_at == after[0], PublishedFootprint.id < after[1]),
            )
        )
    query = query.order_by(PublishedFootprint.published_at.desc(), PublishedFootprint.id.desc()).limit(limit)
    return list((await db.execute(query)).scalars())


# --- the directory (platform) ----------------------------------------------------------------------------


async def directory_entry(db: AsyncSession, tenant_id: uuid.UUID, *, for_update: bool = False) -> DirectoryEntry | None:
    return await db.get(DirectoryEntry, tenant_id, with_for_update=for_update)


async def listed_entry(db: AsyncSession, tenant_id: uuid.UUID) -> DirectoryEntry | None:
    """A listed entry of an active organisation."""
    rows = await db.execute(
        select(DirectoryEntry)
        .join(Tenant, Tenant.id == DirectoryEntry.tenant_id)
        .where(
            DirectoryEntry.tenant_id == tenant_id,
            DirectoryEntry.listed.is_(True),
            Tenant.status == TenantStatus.ACTIVE,
        )
    )
    return rows.scalar_one_or_none()


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_directory(
    db: AsyncSession,
    *,
    name: str | None,
    country: str | None,
    sector: str | None,
    cn_prefix: str | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[DirectoryEntry]:
    """Listed entries of active organisations, by display name."""
    query = (
        select(DirectoryEntry)
        .join(Tenant, Tenant.id == DirectoryEntry.tenant_id)
        .where(DirectoryEntry.listed.is_(True), Tenant.status == TenantStatus.ACTIVE)
    )
    if name:
        query = query.where(DirectoryEntry.display_name.ilike(f"%{_like_escape(name)}%", escape="\\"))
    if country:
        query = query.where(DirectoryEntry.country == country)
    if sector:
        query = query.where(DirectoryEntry.sectors.any(sector))
    if cn_prefix:
        # any listed CN code that starts with the prefix (digits only, checked by the service)
        listed = func.array_to_string(DirectoryEntry.cn_codes, " ")
        query = query.where(listed.regexp_match(f"(^| ){cn_prefix}"))
    if after is not None:
        query = query.where(
            or_(
                DirectoryEntry.display_name > after[0],
                and_(DirectoryEntry.display_name == after[0], DirectoryEntry.tenant_id > after[1]),
            )
        )
    query = query.order_by(DirectoryEntry.display_name, DirectoryEntry.tenant_id).limit(limit)
    return list((await db.execute(query)).scalars())


# --- connections and shares (platform) -------------------------------------------------------------------


async def connection_between(
    db: AsyncSession, subscriber_id: uuid.UUID, supplier_id: uuid.UUID, *, for_update: bool = False
) -> Subscription | None:
    query = select(Subscription).where(
        Subscription.subscriber_tenant_id == subscriber_id, Subscription.supplier_tenant_id == supplier_id
    )
    if for_update:
        query = query.with_for_update()
    return (await db.execute(query)).scalar_one_or_none()


async def connection(db: AsyncSession, connection_id: uuid.UUID, *, for_update: bool = False) -> Subscription | None:
    return await db.get(Subscription, connection_id, with_for_update=for_update)


async def connections_of(db: AsyncSession, tenant_id: uuid.UUID) -> list[Subscription]:
    """Connections the organisation requested or received, newest first."""
    rows = await db.execute(
        select(Subscription)
        .where(or_(Subscription.subscriber_tenant_id == tenant_id, Subscription.supplier_tenant_id == tenant_id))
        .order_by(Subscription.created_at.desc(), Subscription.id)
    )
    return list(rows.scalars())


async def live_shares_of_connection(db: AsyncSession, connection_id: uuid.UUID, now: datetime) -> list[Grant]:
    rows = await db.execute(
        select(Grant)
        .where(Grant.subscription_id == connection_id, Grant.revoked_at.is_(None), Grant.expires_at > now)
        .with_for_update()
    )
    return list(rows.scalars())


async def shares_given(db: AsyncSession, grantor_id: uuid.UUID) -> list[Grant]:
    """Footprint shares the organisation made under its connections, newest first."""
    rows = await db.execute(
        select(Grant)
        .where(
            Grant.grantor_tenant_id == grantor_id,
            Grant.subscription_id.is_not(None),
            Grant.resource_kinds == [ResourceKind.FOOTPRINT.value],
        )
        .order_by(Grant.created_at.desc(), Grant.id)
    )
    return list(rows.scalars())


async def active_connection_ids(db: AsyncSession, subscriber_id: uuid.UUID) -> set[uuid.UUID]:
    """Suppliers the subscriber is actively connected to."""
    rows = await db.execute(
        select(Subscription.supplier_tenant_id).where(
            Subscription.subscriber_tenant_id == subscriber_id, Subscription.status == SubscriptionStatus.ACTIVE
        )
    )
    return set(rows.scalars())


async def client_id_of(db: AsyncSession, client_pk: uuid.UUID) -> str | None:
    """The public client_id of a machine client."""
    return await db.scalar(select(OAuthClient.client_id).where(OAuthClient.id == client_pk))


async def existing_products(db: AsyncSession, product_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    rows = await db.execute(select(Product.id).where(Product.id.in_(list(product_ids))))
    return set(rows.scalars())


# --- mirror checks, escalations (the importer's schema) and questions (platform) --------------------------


async def check_results_of(db: AsyncSession, publication_ids: Collection[uuid.UUID]) -> list[MirrorCheckResult]:
    """The stored check results of these publications, newest first."""
    rows = await db.execute(
        select(MirrorCheckResult)
        .where(MirrorCheckResult.publication_id.in_(list(publication_ids)))
        .order_by(MirrorCheckResult.checked_at.desc(), MirrorCheckResult.id.desc())
    )
    return list(rows.scalars())


async def escalation(
    db: AsyncSession, escalation_id: uuid.UUID, *, for_update: bool = False
) -> MirrorEscalation | None:
    return await db.get(MirrorEscalation, escalation_id, with_for_update=for_update)


async def escalations(db: AsyncSession, status: EscalationStatus | None) -> list[MirrorEscalation]:
    """Escalations in the given status (all when ``None``), newest first."""
    q = select(MirrorEscalation).order_by(MirrorEscalation.opened_at.desc(), MirrorEscalation.id.desc())
    if status is not None:
        q = q.where(MirrorEscalation.status == status)
    return list((await db.execute(q)).scalars())


async def question(db: AsyncSession, question_id: uuid.UUID, *, for_update: bool = False) -> FootprintQuestion | None:
    return await db.get(FootprintQuestion, question_id, with_for_update=for_update)


async def questions_to_supplier(
    db: AsyncSession, supplier_id: uuid.UUID, status: QuestionStatus | None
) -> list[FootprintQuestion]:
    """Questions importers asked the supplier, newest first."""
    q = (
        select(FootprintQuestion)
        .where(FootprintQuestion.supplier_tenant_id == supplier_id)
        .order_by(FootprintQuestion.asked_at.desc(), FootprintQuestion.id.desc())
    )
    if status is not None:
        q = q.where(FootprintQuestion.status == status)
    return list((await db.execute(q)).scalars())


async def questions_of_escalations(
    db: AsyncSession, importer_id: uuid.UUID, escalation_ids: Collection[uuid.UUID]
) -> list[FootprintQuestion]:
    """The importer's questions about these escalations, oldest first."""
    rows = await db.execute(
        select(FootprintQuestion)
        .where(
            FootprintQuestion.importer_tenant_id == importer_id,
            FootprintQuestion.escalation_id.in_(list(escalation_ids)),
        )
        .order_by(FootprintQuestion.asked_at, FootprintQuestion.id)
    )
    return list(rows.scalars())
