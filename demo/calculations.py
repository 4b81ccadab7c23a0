"""The demo exporter's calculation of last month: one run over the plant's last full calendar month
(local midnights), queued once after the history is stored and derived; the worker runs it when it
starts and publishes a footprint version per product. A later start that finds the run queues none.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from backend.calculations import service
from backend.calculations.bundle import write_bundle
from backend.calculations.inputs import load_inputs
from backend.calculations.models import CalculationRun, FootprintVersion, RunStatus
from backend.calculations.schemas import RunRequest
from backend.db import Database
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.installations.models import Installation
from backend.services import Services
from backend.tenants.models import Tenant, TenantKind
from workers.jobs.calculations import run_calculation


def last_month(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """[local midnight of the first of last month, local midnight of the first of this month) in UTC."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(local.year, local.month, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


async def seed_calculation(
    db: Database, tenant: Tenant, installation_id: uuid.UUID, *, now: datetime | None = None
) -> tuple[CalculationRun, bool]:
    """Queue last month's run unless one for that period is queued, running or has succeeded."""
    now = now or datetime.now(UTC)
    owner = Principal(
        kind="system", id="demo", label="demo", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )
    async with db.tenant(tenant.scope()) as session:
        installation = await session.get(Installation, installation_id)
        assert installation is not None
        start, end = last_month(now, installation.timezone)
        existing = await session.scalar(
            select(CalculationRun)
            .where(
                CalculationRun.installation_id == installation_id,
                CalculationRun.period_start == start,
                CalculationRun.period_end == end,
                CalculationRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SUCCEEDED]),
            )
            .order_by(CalculationRun.created_at.desc())
            .limit(1)
        )
        if existing is not None:
            return existing, False
        return await service.start_run(
            session, owner, TenantKind.EXPORTER, RunRequest(installation_id=installation_id, start=start, end=end)
        )


def describe_period(run: CalculationRun, timezone: str = "Europe/Belgrade") -> str:
    """The run's period in local dates, e.g. '2026-11-01 to 2026-11-30, Europe/Belgrade'."""
    zone = ZoneInfo(timezone)
    last = (run.period_end.astimezone(zone) - timedelta(days=1)).date()
    return f"{run.period_start.astimezone(zone).date()} to {last}, {timezone}"


@dataclass(frozen=True)
class DemoCalculation:
    run: CalculationRun
    footprints: int
    bundle: Path | None
    seconds: float


async def calculate_last_month(
    services: Services, tenant: Tenant, installation_id: uuid.UUID, folder: Path, *, now: datetime | None = None
) -> DemoCalculation:
    """Last month's run, computed now unless it has succeeded already, and its calculation bundle.

    The run is queued as any run is (so the worker would compute it too) and computed here, before
    the API starts, so the demo opens with its footprint versions; the worker then finds it done.
    The bundle (every input, with the run's output digest) is written once, to ``folder``.
    """
    began = time.monotonic()
    run, _ = await seed_calculation(services.db, tenant, installation_id, now=now)
    if run.status == RunStatus.QUEUED:
        await run_calculation({"services": services}, str(tenant.id), str(run.id))
    async with services.db.tenant(tenant.scope()) as session:
        done = await session.get(CalculationRun, run.id, populate_existing=True)
        assert done is not None
        footprints = int(
            await session.scalar(
                select(func.count()).select_from(FootprintVersion).where(FootprintVersion.run_id == run.id)
            )
            or 0
        )
        installation = await session.get(Installation, installation_id)
        assert installation is not None
    bundle: Path | None = None
    if done.status == RunStatus.SUCCEEDED:
        bundle = folder / f"calculation-{done.period_start.astimezone(ZoneInfo(installation.timezone)):%Y-%m}.zip"
        if not bundle.exists():
            await _write_bundle(services, tenant, installation, done, bundle)
    return DemoCalculation(done, footprints, bundle, time.monotonic() - began)


async def _write_bundle(
    services: Services, tenant: Tenant, installation: Installation, run: CalculationRun, path: Path
) -> None:
    """Every input of the run in a zip that ``cbamx recompute`` checks against the run's output digest."""
    parameters = service.parameters_for_engine(run)
    densities = dict(run.parameters.get("fuel_density_t_per_m3") or {})
    actor = Principal.system("demo calculation bundle", tenant.id)
    async with services.db.tenant(tenant.scope()) as session:
        loaded = await load_inputs(
            services,
            session,
            actor,
            installation,
            run.period_start,
            run.period_end,
            parameters,
            fuel_density_t_per_m3=densities,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bundle(
        path,
        loaded.inputs,
        parameters,
        {"output_digest": run.output_digest, "run_id": str(run.id), "installation": installation.name},
        time_zone=installation.timezone,
    )
