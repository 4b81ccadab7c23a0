"""The exchange's queries. Its fetchers check no authorisation: only the exchange's services import it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, any_, false, func, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.exchange.models import (
    EscalationStatus,
    FootprintQuestion,
    FootprintRequest,
    FootprintRequestEntry,
    MirrorCheckResult,
    MirrorEscalation,
    PublicationStatus,
    PublishedFootprint,
    QuestionStatus,
    RequestStatus,
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


# --- data requests (platform) ----------------------------------------------------------------------------


async def footprint_request(
    db: AsyncSession, request_id: uuid.UUID, *, for_update: bool = False
) -> FootprintRequest | None:
    return await db.get(FootprintRequest, request_id, with_for_update=for_update)


async def footprint_requests(
    db: AsyncSession,
    *,
    importer_id: uuid.UUID | None = None,
    supplier_id: uuid.UUID | None = None,
    status: RequestStatus | None = None,
) -> list[FootprintRequest]:
    """Requests made by the importer and/or to the supplier, newest first."""
    query = select(FootprintRequest)
    if importer_id is not None:
        query = query.where(FootprintRequest.importer_tenant_id == importer_id)
    if supplier_id is not None:
        query = query.where(FootprintRequest.supplier_tenant_id == supplier_id)
    if status is not None:
        query = query.where(FootprintRequest.status == status)
    rows = await db.execute(query.order_by(FootprintRequest.created_at.desc(), FootprintRequest.id))
    return list(rows.scalars())


async def request_entries(db: AsyncSession, request_ids: Collection[uuid.UUID]) -> list[FootprintRequestEntry]:
    """The history of the requests, oldest first."""
    if not request_ids:
        return []
    rows = await db.execute(
        select(FootprintRequestEntry)
        .where(FootprintRequestEntry.request_id.in_(list(request_ids)))
        .order_by(FootprintRequestEntry.at, FootprintRequestEntry.id)
    )
    return list(rows.scalars())


async def add_reminder_entry(db: AsyncSession, entry: FootprintRequestEntry) -> bool:
    """Record a reminder unless one of its kind is recorded for the request already; whether it was."""
    inserted = await db.execute(
        pg_insert(FootprintRequestEntry)
        .values(
            id=entry.id,
            request_id=entry.request_id,
            at=entry.at,
            actor_tenant_id=entry.actor_tenant_id,
            actor=entry.actor,
            action=entry.action,
            note=entry.note,
            reminder=entry.reminder,
        )
        .on_conflict_do_nothing(constraint="uq_footprint_request_entries_reminder")
        .returning(FootprintRequestEntry.id)
    )
    return inserted.scalar_one_or_none() is not None


async def open_requests_due_by(db: AsyncSession, first: date, last: date) -> list[FootprintRequest]:
    """Requests still open whose due date lies between ``first`` and ``last`` (both included)."""
    rows = await db.execute(
        select(FootprintRequest)
        .where(
            FootprintRequest.status == RequestStatus.REQUESTED,
            FootprintRequest.due_date >= first,
            FootprintRequest.due_date <= last,
        )
        .order_by(FootprintRequest.due_date, FootprintRequest.id)
    )
    return list(rows.scalars())


async def live_shares_between(
    db: AsyncSession, grantor_id: uuid.UUID, grantee_id: uuid.UUID, now: datetime
) -> list[Grant]:
    """Live footprint grants of the grantor to the grantee's whole organisation (not to one client)."""
    rows = await db.execute(
        select(Grant).where(
            Grant.grantor_tenant_id == grantor_id,
            Grant.grantee_tenant_id == grantee_id,
            Grant.grantee_client_id.is_(None),
            ResourceKind.FOOTPRINT.value == any_(Grant.resource_kinds),
            Grant.revoked_at.is_(None),
            Grant.expires_at > now,
        )
    )
    return list(rows.scalars())
