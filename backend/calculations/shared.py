"""Footprints read by another organisation through a live ``footprint`` grant (an importer, a verifier).

A grant limited to installations shows only their footprints; a grant with a period only footprints
whose period lies inside it. Each read is checked against the grants and recorded in the grantor's
audit trail (``backend.sharing.access``); a refusal names the limit.
"""

from __future__ import annotations

import uuid
from typing import Any

from backend.calculations import repository, service
from backend.calculations.errors import CalculationRunNotFound
from backend.calculations.models import CalculationRun, FootprintVersion, RunReproduction
from backend.calculations.schemas import FootprintFilter
from backend.identity.principal import Principal
from backend.services import Services
from backend.sharing.access import GrantedRead, granted_listing, granted_read, within
from backend.sharing.models import ResourceKind

# (grantor id, resource kind) a result was read through
SharedFrom = tuple[uuid.UUID, str]


async def read_footprints(
    services: Services, actor: Principal, grantor_id: uuid.UUID, f: FootprintFilter, *, limit: int
) -> tuple[list[FootprintVersion], SharedFrom]:
    """The grantor's footprint versions inside the caller's grants, newest first."""
    async with granted_read(services, actor, grantor_id, ResourceKind.FOOTPRINT, what="footprints") as read:
        if f.installation_id is not None:
            period = (f.start, f.end) if f.start is not None and f.end is not None else None
            await read.allow(within(installation_ids=[f.installation_id], period=period))
        kept = await service.list_footprints(read.db, read.reader, f, limit=limit, limits=read.limits)
        if f.installation_id is None:
            await read.allow_listing()
    return kept, read.shared_from


async def read_footprint(
    services: Services, actor: Principal, grantor_id: uuid.UUID, version_id: uuid.UUID
) -> tuple[FootprintVersion, SharedFrom]:
    """One of the grantor's footprint versions, if its installation and period lie inside a grant."""
    async with granted_read(
        services, actor, grantor_id, ResourceKind.FOOTPRINT, what="footprint_version", entity_id=version_id
    ) as read:
        version = await service.get_footprint(read.db, read.reader, version_id)
        read.narrow_to_product(version.product_id, await service.cn_code_of(read.db, version.product_id))
        await read.allow(
            within(installation_ids=[version.installation_id], period=(version.period_start, version.period_end))
        )
    return version, read.shared_from


async def _run_within_grant(read: GrantedRead, run_id: uuid.UUID) -> CalculationRun:
    run = await repository.run(read.db, run_id)
    if run is None:
        raise CalculationRunNotFound("no such calculation run", field="id")
    await read.allow(within(installation_ids=[run.installation_id], period=(run.period_start, run.period_end)))
    return run


async def read_run(
    services: Services, actor: Principal, grantor_id: uuid.UUID, run_id: uuid.UUID
) -> tuple[CalculationRun, SharedFrom]:
    """One of the grantor's calculation runs (its manifest, digests, summary), if its installation and
    period lie inside a footprint grant: a verifier checks how footprints came about."""
    async with granted_read(
        services, actor, grantor_id, ResourceKind.FOOTPRINT, what="calculation_run", entity_id=run_id
    ) as read:
        run = await _run_within_grant(read, run_id)
    return run, read.shared_from


async def read_run_rows(services: Services, actor: Principal, grantor_id: uuid.UUID, what: str, fetch: Any) -> Any:
    """Rows keyed by a run that ``read_run`` allowed (its batch or product results): a listing under the
    same grants, recorded as used."""
    async with granted_listing(services, actor, grantor_id, ResourceKind.FOOTPRINT, what=what) as db:
        return await fetch(db)


async def reproduce_run(
    services: Services, actor: Principal, grantor_id: uuid.UUID, run_id: uuid.UUID
) -> RunReproduction:
    """Re-compute one of the grantor's runs inside a footprint grant from the data it stores now.

    The record is kept in the grantor's tenant, beside the run, so the exporter sees what its verifier
    found; both the grant's use and the re-computation are in the grantor's audit trail.
    """
    async with granted_read(
        services, actor, grantor_id, ResourceKind.FOOTPRINT, what="calculation_run.reproduce", entity_id=run_id
    ) as read:
        run = await _run_within_grant(read, run_id)
        return await service.reproduce_checked(services, read.db, actor, run)


async def export_bundle(
    services: Services, actor: Principal, grantor_id: uuid.UUID, run_id: uuid.UUID
) -> tuple[CalculationRun, bytes]:
    """One of the grantor's runs as a calculation bundle, inside a footprint grant: a verifier re-computes
    it offline with ``cbamx recompute``. The export is in the grantor's audit trail."""
    async with granted_read(
        services, actor, grantor_id, ResourceKind.FOOTPRINT, what="calculation_run.bundle", entity_id=run_id
    ) as read:
        run = await _run_within_grant(read, run_id)
        return await service.bundle_of(services, read.db, actor, run)
