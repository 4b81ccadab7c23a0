"""Statements of the verification workspace, and the populations a sample is drawn from.

The population queries run in the exporter's tenant, inside a read a grant allowed
(``backend.sharing.access.granted_read``); each lists its items in the stable order the sampling
documentation states, so the same seed draws the same items again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import any_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence.models import EvidenceDocument
from backend.identity.models import Membership, User
from backend.installations.models import Installation
from backend.metering.models import Meter
from backend.production.models import ProductionBatch
from backend.verification.models import (
    Engagement,
    ExtensionRequest,
    Finding,
    FindingEntry,
    Opinion,
    Sample,
    SampleItem,
    Statement,
)


@dataclass(frozen=True, slots=True)
class PopulationItem:
    key: str
    label: str


# --- the exporter's tenant: what an engagement's scope holds ---------------------------------------


async def installation(db: AsyncSession, installation_id: uuid.UUID) -> Installation | None:
    return await db.get(Installation, installation_id)


async def batches(db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime) -> list[PopulationItem]:
    """Batches that started in [start, end), by start time, then batch number, then id."""
    rows = await db.execute(
        select(ProductionBatch.id, ProductionBatch.batch_number, ProductionBatch.started_at)
        .where(
            ProductionBatch.installation_id == installation_id,
            ProductionBatch.started_at >= start,
            ProductionBatch.started_at < end,
        )
        .order_by(ProductionBatch.started_at, ProductionBatch.batch_number, ProductionBatch.id)
    )
    return [PopulationItem(str(r.id), f"batch {r.batch_number} ({r.started_at.isoformat()})") for r in rows]


async def meters(db: AsyncSession, installation_id: uuid.UUID) -> list[PopulationItem]:
    """Metered (not virtual) meters of the installation, by code, then id."""
    rows = await db.execute(
        select(Meter.id, Meter.code, Meter.name)
        .where(Meter.installation_id == installation_id, Meter.is_virtual.is_(False))
        .order_by(Meter.code, Meter.id)
    )
    return [PopulationItem(str(r.id), f"meter {r.code} ({r.name})") for r in rows]


async def documents(
    db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime
) -> list[PopulationItem]:
    """Documents about the installation whose period (if any) overlaps [start, end), by upload time, then id."""
    rows = await db.execute(
        select(EvidenceDocument.id, EvidenceDocument.title, EvidenceDocument.sha256)
        .where(
            installation_id == any_(EvidenceDocument.installation_ids),
            or_(EvidenceDocument.period_start.is_(None), EvidenceDocument.period_start < end),
            or_(EvidenceDocument.period_end.is_(None), EvidenceDocument.period_end > start),
        )
        .order_by(EvidenceDocument.uploaded_at, EvidenceDocument.id)
    )
    return [PopulationItem(str(r.id), f"document {r.title} (sha256 {r.sha256[:12]}…)") for r in rows]


# --- the platform: the workspace itself ------------------------------------------------------------


async def team_member_email(db: AsyncSession, user_id: uuid.UUID, tenant_id: uuid.UUID) -> str | None:
    """The e-mail of a person who belongs to the organisation, or None."""
    row = await db.execute(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(User.id == user_id, Membership.tenant_id == tenant_id)
    )
    email = row.scalar_one_or_none()
    return email.lower() if email else None


async def members_by_email(db: AsyncSession, tenant_id: uuid.UUID, emails: Sequence[str]) -> set[str]:
    """Which of these e-mails (lower case) are people of the organisation."""
    rows = await db.execute(
        select(func.lower(User.email))
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.tenant_id == tenant_id, func.lower(User.email).in_(list(emails)))
    )
    return set(rows.scalars())


async def engagement(db: AsyncSession, engagement_id: uuid.UUID, *, for_update: bool = False) -> Engagement | None:
    return await db.get(Engagement, engagement_id, with_for_update=for_update)


async def engagements_of(db: AsyncSession, tenant_id: uuid.UUID) -> list[Engagement]:
    """Engagements the organisation is a side of (exporter or verifier), newest first."""
    rows = await db.execute(
        select(Engagement)
        .where(or_(Engagement.exporter_tenant_id == tenant_id, Engagement.verifier_tenant_id == tenant_id))
        .order_by(Engagement.created_at.desc(), Engagement.id)
    )
    return list(rows.scalars())


async def extensions(db: AsyncSession, engagement_ids: Sequence[uuid.UUID]) -> list[ExtensionRequest]:
    rows = await db.execute(
        select(ExtensionRequest)
        .where(ExtensionRequest.engagement_id.in_(list(engagement_ids)))
        .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)
    )
    return list(rows.scalars())


async def extension(db: AsyncSession, request_id: uuid.UUID) -> ExtensionRequest | None:
    return await db.get(ExtensionRequest, request_id, with_for_update=True)


async def pending_extension(db: AsyncSession, engagement_id: uuid.UUID) -> ExtensionRequest | None:
    rows = await db.execute(
        select(ExtensionRequest).where(
            ExtensionRequest.engagement_id == engagement_id, ExtensionRequest.status == "requested"
        )
    )
    return rows.scalars().first()


async def samples(db: AsyncSession, engagement_ids: Sequence[uuid.UUID]) -> list[Sample]:
    rows = await db.execute(
        select(Sample).where(Sample.engagement_id.in_(list(engagement_ids))).order_by(Sample.drawn_at, Sample.id)
    )
    return list(rows.scalars())


async def sample_items(db: AsyncSession, sample_ids: Sequence[uuid.UUID]) -> list[SampleItem]:
    rows = await db.execute(
        select(SampleItem)
        .where(SampleItem.sample_id.in_(list(sample_ids)))
        .order_by(SampleItem.sample_id, SampleItem.position)
    )
    return list(rows.scalars())


async def sample_item(db: AsyncSession, item_id: uuid.UUID) -> tuple[SampleItem, Sample] | None:
    row = (
        await db.execute(
            select(SampleItem, Sample)
            .join(Sample, Sample.id == SampleItem.sample_id)
            .where(SampleItem.id == item_id)
            .with_for_update(of=SampleItem)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def findings(db: AsyncSession, engagement_ids: Sequence[uuid.UUID]) -> list[Finding]:
    rows = await db.execute(
        select(Finding).where(Finding.engagement_id.in_(list(engagement_ids))).order_by(Finding.created_at, Finding.id)
    )
    return list(rows.scalars())


async def finding(db: AsyncSession, finding_id: uuid.UUID) -> Finding | None:
    return await db.get(Finding, finding_id, with_for_update=True)


async def finding_entries(db: AsyncSession, finding_ids: Sequence[uuid.UUID]) -> list[FindingEntry]:
    rows = await db.execute(
        select(FindingEntry)
        .where(FindingEntry.finding_id.in_(list(finding_ids)))
        .order_by(FindingEntry.created_at, FindingEntry.id)
    )
    return list(rows.scalars())


async def statements(db: AsyncSession, engagement_ids: Sequence[uuid.UUID]) -> list[Statement]:
    rows = await db.execute(
        select(Statement)
        .where(Statement.engagement_id.in_(list(engagement_ids)))
        .order_by(Statement.issued_at, Statement.id)
    )
    return list(rows.scalars())


async def statements_covering(db: AsyncSession, version_id: uuid.UUID) -> list[Statement]:
    """Statements that name the footprint version, newest first."""
    rows = await db.execute(
        select(Statement)
        .where(Statement.footprint_version_ids.contains([version_id]))
        .order_by(Statement.issued_at.desc(), Statement.id)
    )
    return list(rows.scalars())


async def verified_versions(db: AsyncSession, version_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the footprint versions a statement with a positive or qualified opinion names."""
    if not version_ids:
        return set()
    wanted = list(dict.fromkeys(version_ids))
    rows = await db.execute(
        select(Statement.footprint_version_ids).where(
            Statement.footprint_version_ids.overlap(wanted), Statement.opinion != Opinion.NEGATIVE
        )
    )
    named = {v for (ids,) in rows for v in ids}
    return named & set(wanted)
