"""The demo exporter's calculation of last month: one run over the plant's last full calendar month
(local midnights), queued once after the history is stored and derived; the worker runs it when it
starts and publishes a footprint version per product. A later start that finds the run queues none.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from backend.calculations import service
from backend.calculations.models import CalculationRun, RunStatus
from backend.calculations.schemas import RunRequest
from backend.db import Database
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.installations.models import Installation
from backend.tenants.models import Tenant, TenantKind


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
