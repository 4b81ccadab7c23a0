"""Queries of the calculation domain. They never commit and never authorise: the service does."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, insert, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from backend.calculations.models import (
    ACTIVE_STATUSES,
    BATCH_FIGURES,
    CalculationRun,
    FootprintVersion,
    RunBatchResult,
    RunLineSeries,
    RunProductResult,
    RunReproduction,
    RunStatus,
    RunValidationCheck,
)
from backend.calculations.schemas import FootprintFilter
from backend.db import driver_connection, tenant_scope_of
from backend.metering.models import Meter
from backend.production.models import Product
from backend.references import ReadLimit


async def run(db: AsyncSession, run_id: uuid.UUID, *, for_update: bool = False) -> CalculationRun | None:
    query = select(CalculationRun).where(CalculationRun.id == run_id)
    if for_update:
        query = query.with_for_update()
    return (await db.execute(query)).scalar_one_or_none()


async def active_run(db: AsyncSession, job_id: str) -> CalculationRun | None:
    rows = await db.execute(
        select(CalculationRun).where(CalculationRun.job_id == job_id, CalculationRun.status.in_(list(ACTIVE_STATUSES)))
    )
    return rows.scalar_one_or_none()


async def unfinished_run_ids(db: AsyncSession, *, created_before: datetime) -> list[uuid.UUID]:
    rows = await db.execute(
        select(CalculationRun.id).where(
            CalculationRun.status.in_(list(ACTIVE_STATUSES)), CalculationRun.created_at < created_before
        )
    )
    return list(rows.scalars())


async def runs(
    db: AsyncSession,
    *,
    installation_ids: Collection[uuid.UUID] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[CalculationRun]:
    """Newest first."""
    query = select(CalculationRun).order_by(CalculationRun.created_at.desc(), CalculationRun.id.desc()).limit(limit)
    if installation_ids is not None:
        query = query.where(CalculationRun.installation_id.in_(list(installation_ids)))
    if after is not None:
        query = query.where(
            or_(
                CalculationRun.created_at < after[0],
                and_(CalculationRun.created_at == after[0], CalculationRun.id < after[1]),
            )
        )
    return list((await db.execute(query)).scalars())


async def batch_results(
    db: AsyncSession, run_id: uuid.UUID, *, after: tuple[datetime, str] | None, limit: int
) -> list[RunBatchResult]:
    """By start, then batch number (unique in the installation)."""
    query = (
        select(RunBatchResult)
        .where(RunBatchResult.run_id == run_id)
        .order_by(RunBatchResult.started_at, RunBatchResult.batch_number)
        .limit(limit)
    )
    if after is not None:
        query = query.where(
            or_(
                RunBatchResult.started_at > after[0],
                and_(RunBatchResult.started_at == after[0], RunBatchResult.batch_number > after[1]),
            )
        )
    return list((await db.execute(query)).scalars())


async def product_results(db: AsyncSession, run_id: uuid.UUID) -> list[RunProductResult]:
    rows = await db.execute(
        select(RunProductResult).where(RunProductResult.run_id == run_id).order_by(RunProductResult.product_code)
    )
    return list(rows.scalars())


async def checks(db: AsyncSession, run_ids: Sequence[uuid.UUID]) -> list[RunValidationCheck]:
    rows = await db.execute(
        select(RunValidationCheck)
        .where(RunValidationCheck.run_id.in_(list(run_ids)))
        .order_by(RunValidationCheck.run_id, RunValidationCheck.position)
    )
    return list(rows.scalars())


async def products_by_id(db: AsyncSession, product_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Product]:
    rows = await db.execute(select(Product).where(Product.id.in_(product_ids)))
    return {p.id: p for p in rows.scalars()}


async def lock_footprint_period(db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime) -> None:
    """Serialise the publication of footprint versions for one installation and period (until commit)."""
    await db.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"footprints:{installation_id}:{start.isoformat()}:{end.isoformat()}"},
    )


async def latest_versions(
    db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, FootprintVersion]:
    """The newest version of each product's footprint for exactly this installation and period."""
    if not product_ids:
        return {}
    newest = (
        select(FootprintVersion.product_id, func.max(FootprintVersion.version).label("version"))
        .where(
            FootprintVersion.installation_id == installation_id,
            FootprintVersion.period_start == start,
            FootprintVersion.period_end == end,
            FootprintVersion.product_id.in_(list(product_ids)),
        )
        .group_by(FootprintVersion.product_id)
        .subquery()
    )
    rows = await db.execute(
        select(FootprintVersion).join(
            newest,
            and_(
                FootprintVersion.product_id == newest.c.product_id,
                FootprintVersion.version == newest.c.version,
                FootprintVersion.installation_id == installation_id,
                FootprintVersion.period_start == start,
                FootprintVersion.period_end == end,
            ),
        )
    )
    return {r.product_id: r for r in rows.scalars()}


BATCH_RESULT_COLUMNS = (
    "id",
    "run_id",
    "batch_id",
    "batch_number",
    "product_id",
    "line_id",
    "started_at",
    "ended_at",
    *BATCH_FIGURES,
    "matched_by_source",
)


async def copy_batch_results(db: AsyncSession, records: list[tuple[Any, ...]]) -> None:
    """Store a run's batch results (records in :data:`BATCH_RESULT_COLUMNS` order, ``matched_by_source`` as
    JSON text) with binary COPY: a plant-year's 20,000 rows through the ORM's bulk insert took a second."""
    if not records:
        return
    driver = await driver_connection(db)
    await driver.copy_records_to_table(
        "run_batch_results", schema_name=tenant_scope_of(db).schema, columns=BATCH_RESULT_COLUMNS, records=records
    )


async def batch_rows(db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime) -> list[Any]:
    """The installation's batches overlapping [start, end) as plain records (id, batch_number, product_id,
    line_id, started_at, ended_at, net_mass_t, start_s, end_s), by start then number, on the unit of work's
    own connection: a plant-year's 20,000 as ORM entities or rows took about a second."""
    driver = await driver_connection(db)
    schema = tenant_scope_of(db).quoted_schema
    return list(
        await driver.fetch(
            f"""
            SELECT id, batch_number, product_id, line_id, started_at, ended_at, net_mass_t,
                   extract(epoch FROM started_at)::bigint AS start_s, extract(epoch FROM ended_at)::bigint AS end_s
            FROM {schema}.production_batches
            WHERE installation_id = $1 AND started_at < $3 AND ended_at > $2
            ORDER BY started_at, batch_number
            """,
            installation_id,
            start,
            end,
        )
    )


async def precursor_rows(db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime) -> list[Any]:
    """The precursors of the same batches as :func:`batch_rows` as plain records (batch_id, position, cn_code,
    mass_t, embedded_tco2e_per_t, emissions_source), by batch and position."""
    driver = await driver_connection(db)
    schema = tenant_scope_of(db).quoted_schema
    return list(
        await driver.fetch(
            f"""
            SELECT p.batch_id, p.position, p.cn_code, p.mass_t, p.embedded_tco2e_per_t, p.emissions_source
            FROM {schema}.batch_precursors p JOIN {schema}.production_batches b ON b.id = p.batch_id
            WHERE b.installation_id = $1 AND b.started_at < $3 AND b.ended_at > $2
            ORDER BY p.batch_id, p.position
            """,
            installation_id,
            start,
            end,
        )
    )


async def insert_rows(db: AsyncSession, model: type, rows: list[dict[str, Any]]) -> None:
    if rows:
        await db.execute(insert(model), rows)


def _within_limits(limits: Sequence[ReadLimit]) -> ColumnElement[bool]:
    """Versions of an allowed installation whose period lies inside the limit's (``ReadLimit.allows_*``)."""
    parts: list[ColumnElement[bool]] = []
    for limit in limits:
        conditions: list[ColumnElement[bool]] = []
        if limit.installation_ids is not None:
            conditions.append(FootprintVersion.installation_id.in_(list(limit.installation_ids)))
        if limit.start is not None:
            conditions.append(FootprintVersion.period_start >= limit.start)
        if limit.end is not None:
            conditions.append(FootprintVersion.period_end <= limit.end)
        if limit.product_ids is not None:
            conditions.append(FootprintVersion.product_id.in_(list(limit.product_ids)))
        if limit.cn_prefixes is not None:
            conditions.append(
                FootprintVersion.product_id.in_(
                    select(Product.id).where(or_(*(Product.cn_code.startswith(p) for p in limit.cn_prefixes)))
                )
            )
        parts.append(and_(*conditions) if conditions else true())
    return or_(*parts) if parts else false()


async def footprints(
    db: AsyncSession,
    f: FootprintFilter,
    *,
    installation_ids: Collection[uuid.UUID] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    limits: Sequence[ReadLimit] | None = None,
) -> list[FootprintVersion]:
    """Footprint versions, newest first; with ``latest_only`` the newest of each product, installation, period.

    ``limits`` (a grant's) keep the versions any one of them allows, in the query, so a page is full.
    """
    query = select(FootprintVersion)
    if limits is not None:
        query = query.where(_within_limits(limits))
    if f.latest_only:
        # a version nothing supersedes is the newest of its lineage
        superseded = select(FootprintVersion.supersedes_id).where(FootprintVersion.supersedes_id.is_not(None))
        query = query.where(FootprintVersion.id.not_in(superseded))
    if installation_ids is not None:
        query = query.where(FootprintVersion.installation_id.in_(list(installation_ids)))
    if f.installation_id is not None:
        query = query.where(FootprintVersion.installation_id == f.installation_id)
    if f.product_id is not None:
        query = query.where(FootprintVersion.product_id == f.product_id)
    if f.start is not None:
        query = query.where(FootprintVersion.period_start >= f.start)
    if f.end is not None:
        query = query.where(FootprintVersion.period_end <= f.end)
    if after is not None:
        query = query.where(
            or_(
                FootprintVersion.created_at < after[0],
                and_(FootprintVersion.created_at == after[0], FootprintVersion.id < after[1]),
            )
        )
    query = query.order_by(FootprintVersion.created_at.desc(), FootprintVersion.id.desc()).limit(limit)
    return list((await db.execute(query)).scalars())


async def cn_code(db: AsyncSession, product_id: uuid.UUID) -> str:
    return str(await db.scalar(select(Product.cn_code).where(Product.id == product_id)))


async def footprint(db: AsyncSession, version_id: uuid.UUID) -> FootprintVersion | None:
    return await db.get(FootprintVersion, version_id)


async def lineage(db: AsyncSession, version: FootprintVersion) -> list[FootprintVersion]:
    """Every version of the same product, installation and period, newest first."""
    rows = await db.execute(
        select(FootprintVersion)
        .where(
            FootprintVersion.product_id == version.product_id,
            FootprintVersion.installation_id == version.installation_id,
            FootprintVersion.period_start == version.period_start,
            FootprintVersion.period_end == version.period_end,
        )
        .order_by(FootprintVersion.version.desc())
    )
    return list(rows.scalars())


async def lineages(db: AsyncSession, version_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[FootprintVersion]]:
    """For several versions at once (a list's lineage fields): each version's whole lineage, newest first."""
    if not version_ids:
        return {}
    keyed = select(
        FootprintVersion.id,
        FootprintVersion.product_id,
        FootprintVersion.installation_id,
        FootprintVersion.period_start,
        FootprintVersion.period_end,
    ).where(FootprintVersion.id.in_(list(version_ids)))
    keys = {r[0]: (r[1], r[2], r[3], r[4]) for r in (await db.execute(keyed)).all()}
    if not keys:
        return {}
    rows = await db.execute(
        select(FootprintVersion)
        .where(
            or_(
                *(
                    and_(
                        FootprintVersion.product_id == k[0],
                        FootprintVersion.installation_id == k[1],
                        FootprintVersion.period_start == k[2],
                        FootprintVersion.period_end == k[3],
                    )
                    for k in set(keys.values())
                )
            )
        )
        .order_by(FootprintVersion.version.desc())
    )
    by_key: dict[tuple[Any, ...], list[FootprintVersion]] = {}
    for r in rows.scalars():
        by_key.setdefault((r.product_id, r.installation_id, r.period_start, r.period_end), []).append(r)
    return {vid: by_key.get(key, []) for vid, key in keys.items()}


async def line_series(db: AsyncSession, run_id: uuid.UUID, line_id: uuid.UUID) -> RunLineSeries | None:
    return await db.get(RunLineSeries, (run_id, line_id))


async def line_series_keys(db: AsyncSession, run_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """(line id, line code) of each line series the run stored, by code."""
    rows = await db.execute(
        select(RunLineSeries.line_id, RunLineSeries.line_code)
        .where(RunLineSeries.run_id == run_id)
        .order_by(RunLineSeries.line_code)
    )
    return [(r[0], r[1]) for r in rows.all()]


async def line_totals(db: AsyncSession, run_id: uuid.UUID, product_id: uuid.UUID) -> list[Any]:
    """Per line (None: batches without a line) what the product's batches of the run received."""
    rows = await db.execute(
        select(
            RunBatchResult.line_id,
            func.count(),
            func.sum(RunBatchResult.net_mass_t),
            func.sum(RunBatchResult.energy_kwh),
            func.sum(RunBatchResult.line_kwh),
            func.sum(RunBatchResult.overhead_kwh),
            func.sum(RunBatchResult.idle_kwh),
            func.sum(RunBatchResult.matched_kwh),
        )
        .where(RunBatchResult.run_id == run_id, RunBatchResult.product_id == product_id)
        .group_by(RunBatchResult.line_id)
    )
    return list(rows.all())


async def meter_codes(db: AsyncSession, meter_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = (await db.execute(select(Meter.id, Meter.code).where(Meter.id.in_(list(meter_ids))))).all()
    return {meter_id: code for meter_id, code in rows}


async def reproductions(db: AsyncSession, run_ids: Sequence[uuid.UUID]) -> list[RunReproduction]:
    """The runs' re-computations, newest first."""
    statement = (
        select(RunReproduction)
        .where(RunReproduction.run_id.in_(list(run_ids)))
        .order_by(RunReproduction.created_at.desc(), RunReproduction.id)
    )
    return list((await db.execute(statement)).scalars())


async def run_manifests_within(
    db: AsyncSession, installation_id: uuid.UUID, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The manifests of an installation's succeeded runs over periods inside [start, end)."""
    rows = await db.execute(
        select(CalculationRun.manifest).where(
            CalculationRun.installation_id == installation_id,
            CalculationRun.status == RunStatus.SUCCEEDED,
            CalculationRun.period_start >= start,
            CalculationRun.period_end <= end,
        )
    )
    return list(rows.scalars())
