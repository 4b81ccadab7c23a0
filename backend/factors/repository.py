"""Queries of the factor library: the published factors (schema ``published``) and the organisation's own.

Both tables are read in the tenant's own transaction: the tenant role may SELECT the published schema.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Uuid,
    and_,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence.models import EvidenceDocument
from backend.factors.models import EmissionFactor, FactorKind, PublishedEmissionFactor
from backend.factors.schemas import Factor, FactorFilter, Provenance, plain

FUEL_KINDS = (FactorKind.FUEL_EMISSION_FACTOR, FactorKind.FUEL_NCV, FactorKind.FUEL_OXIDATION_FACTOR)
COUNTRY_KINDS = (FactorKind.GRID_DEFAULT, FactorKind.IMPORTED_ELECTRICITY)

Table = type[PublishedEmissionFactor] | type[EmissionFactor]


def _valid_on(table: Table, on: date) -> ColumnElement[bool]:
    return and_(table.valid_from <= on, or_(table.valid_to.is_(None), table.valid_to > on))


async def valid_factor(db: AsyncSession, table: Table, kind: FactorKind, subject: str, on: date) -> Any:
    """The version of (kind, subject) valid on ``on``; at most one exists (exclusion constraint)."""
    query = select(table).where(table.kind == kind, table.subject == subject, _valid_on(table, on))
    return (await db.execute(query)).scalar_one_or_none()


async def has_subject(db: AsyncSession, table: Table, kind: FactorKind, subject: str) -> bool:
    """Whether the table lists the subject for the kind at all, on any date."""
    query = select(literal(1)).where(table.kind == kind, table.subject == subject).limit(1)
    return (await db.execute(query)).first() is not None


async def listed_subjects(db: AsyncSession, table: Table, kind: FactorKind, subjects: list[str]) -> set[str]:
    query = select(table.subject).where(table.kind == kind, table.subject.in_(subjects)).distinct()
    return set((await db.execute(query)).scalars())


async def validity_of(db: AsyncSession, table: Table, kind: FactorKind, subject: str) -> list[tuple[date, date | None]]:
    """The ranges over which the subject has a factor, oldest first (for an error that says what exists)."""
    query = (
        select(table.valid_from, table.valid_to)
        .where(table.kind == kind, table.subject == subject)
        .order_by(table.valid_from)
    )
    return [(r.valid_from, r.valid_to) for r in (await db.execute(query))]


async def tenant_factor(db: AsyncSession, factor_id: uuid.UUID, *, for_update: bool = False) -> EmissionFactor | None:
    query = select(EmissionFactor).where(EmissionFactor.id == factor_id)
    if for_update:
        query = query.with_for_update()
    return (await db.execute(query)).scalar_one_or_none()


async def published_factor(db: AsyncSession, factor_id: uuid.UUID) -> PublishedEmissionFactor | None:
    query = select(PublishedEmissionFactor).where(PublishedEmissionFactor.id == factor_id)
    return (await db.execute(query)).scalar_one_or_none()


async def overlapping(
    db: AsyncSession,
    kind: FactorKind,
    subject: str,
    valid_from: date,
    valid_to: date | None,
    *,
    besides: uuid.UUID | None,
) -> EmissionFactor | None:
    """A version of the same key whose validity overlaps ``[valid_from, valid_to)``, other than ``besides``."""
    t = EmissionFactor
    query = select(t).where(
        t.kind == kind,
        t.subject == subject,
        or_(t.valid_to.is_(None), t.valid_to > valid_from),
        true() if valid_to is None else t.valid_from < valid_to,
    )
    if besides is not None:
        query = query.where(t.id != besides)
    return (await db.execute(query.order_by(t.valid_from).limit(1))).scalar_one_or_none()


async def next_version(db: AsyncSession, kind: FactorKind, subject: str) -> int:
    query = select(func.coalesce(func.max(EmissionFactor.version), 0)).where(
        EmissionFactor.kind == kind, EmissionFactor.subject == subject
    )
    return int((await db.execute(query)).scalar_one()) + 1


async def lock_key(db: AsyncSession, kind: FactorKind, subject: str) -> None:
    """Serialise writers of one factor key in this organisation (the exclusion constraint is the backstop)."""
    await db.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(f"emission_factor:{kind.value}:{subject}", 0)))
    )


# --- browsing both tables as one list -----------------------------------------------------------------


def _columns(table: Table, published: bool) -> Select[Any]:
    tenant = table is EmissionFactor
    return select(
        table.id,
        table.kind,
        table.subject,
        table.version,
        table.value,
        table.unit,
        table.valid_from,
        table.valid_to,
        table.source_document,
        table.source_table,
        table.source_date,
        table.source_url,
        table.licence_note,
        table.notes,
        table.formula,
        table.parameters,
        table.created_at,
        literal(published).label("published"),
        (cast(null(), String) if tenant else PublishedEmissionFactor.edition).label("edition"),
        (EmissionFactor.evidence_document_id if tenant else cast(null(), Uuid)).label("evidence_document_id"),
        (EmissionFactor.evidence_sha256 if tenant else cast(null(), String)).label("evidence_sha256"),
        (EmissionFactor.supersedes_id if tenant else cast(null(), Uuid)).label("supersedes_id"),
    )


def _filtered(table: Table, f: FactorFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.kind is not None:
        conditions.append(table.kind == f.kind)
    if f.subject is not None:
        conditions.append(table.subject == f.subject)
    if f.country is not None:
        conditions.append(
            or_(
                and_(table.kind.in_(COUNTRY_KINDS), table.subject == f.country),
                and_(table.kind == FactorKind.GOODS_DEFAULT, table.subject.like(f"%|{f.country}")),
            )
        )
    if f.fuel is not None:
        conditions.append(and_(table.kind.in_(FUEL_KINDS), table.subject == f.fuel))
    if f.cn_code is not None:
        conditions.append(and_(table.kind == FactorKind.GOODS_DEFAULT, table.subject.like(f"{f.cn_code}%|%")))
    if f.valid_on is not None:
        conditions.append(_valid_on(table, f.valid_on))
    if f.search:
        pattern = "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                table.subject.ilike(pattern),
                table.parameters["subject_label"].astext.ilike(pattern),
                table.source_document.ilike(pattern),
                table.source_table.ilike(pattern),
                table.notes.ilike(pattern),
            )
        )
    return conditions


async def list_factors(
    db: AsyncSession, f: FactorFilter, *, after: tuple[str, str, str, str] | None, limit: int
) -> list[Factor]:
    """Published and own factors matching the filter, by kind, subject, start of validity and id."""
    parts = []
    if f.published is not False:
        parts.append(_columns(PublishedEmissionFactor, True).where(*_filtered(PublishedEmissionFactor, f)))
    if f.published is not True:
        parts.append(_columns(EmissionFactor, False).where(*_filtered(EmissionFactor, f)))
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    query = select(both)
    if after is not None:
        kind, subject, valid_from, key = after
        query = query.where(
            func.row(both.c.kind, both.c.subject, both.c.valid_from, both.c.id)
            > func.row(kind, subject, date.fromisoformat(valid_from), uuid.UUID(key))
        )
    query = query.order_by(both.c.kind, both.c.subject, both.c.valid_from, both.c.id).limit(limit)
    return [_factor(r) for r in (await db.execute(query)).mappings()]


def _factor(r: Any) -> Factor:
    return Factor(
        id=r["id"],
        kind=FactorKind(r["kind"]),
        subject=r["subject"],
        subject_label=str((r["parameters"] or {}).get("subject_label", "")),
        version=r["version"],
        value=plain(r["value"]),
        unit=r["unit"],
        valid_from=r["valid_from"],
        valid_to=r["valid_to"],
        provenance=Provenance(
            document=r["source_document"],
            table=r["source_table"],
            date=r["source_date"],
            url=r["source_url"],
            licence_note=r["licence_note"],
            edition=r["edition"],
        ),
        notes=r["notes"],
        formula=r["formula"],
        parameters=dict(r["parameters"] or {}),
        published=bool(r["published"]),
        evidence_document_id=r["evidence_document_id"],
        evidence_sha256=r["evidence_sha256"],
        supersedes_id=r["supersedes_id"],
        created_at=r["created_at"],
    )


async def documents_of(db: AsyncSession, document_ids: list[uuid.UUID]) -> list[EvidenceDocument]:
    """The evidence documents of several factors in one query (the factor list's loader)."""
    return list((await db.execute(select(EvidenceDocument).where(EvidenceDocument.id.in_(document_ids)))).scalars())


async def factors_by_ids(db: AsyncSession, factor_ids: list[uuid.UUID]) -> list[Factor]:
    """Published and own factor versions by id, in one query, by kind, subject and start of validity."""
    if not factor_ids:
        return []
    both = union_all(
        _columns(PublishedEmissionFactor, True).where(PublishedEmissionFactor.id.in_(factor_ids)),
        _columns(EmissionFactor, False).where(EmissionFactor.id.in_(factor_ids)),
    ).subquery()
    query = select(both).order_by(both.c.kind, both.c.subject, both.c.valid_from, both.c.id)
    return [_factor(r) for r in (await db.execute(query)).mappings()]
