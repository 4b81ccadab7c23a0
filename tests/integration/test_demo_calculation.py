"""The demo queues its exporter's calculation of last month once, over the plant's local midnights."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from backend.calculations.models import CalculationRun, RunStatus
from backend.outbox import OutboxJob
from demo.calculations import last_month, seed_calculation
from tests.factories.site import make_plant
from tests.factories.tenants import make_tenant


def test_last_month_is_the_last_full_calendar_month_in_local_time():
    assert last_month(datetime(2026, 12, 2, 17, tzinfo=UTC), "Europe/Belgrade") == (
        datetime(2026, 10, 31, 23, tzinfo=UTC),
        datetime(2026, 11, 30, 23, tzinfo=UTC),
    )
    assert last_month(datetime(2027, 1, 1, 0, 30, tzinfo=UTC), "Europe/Belgrade") == (
        datetime(2026, 11, 30, 23, tzinfo=UTC),
        datetime(2026, 12, 31, 23, tzinfo=UTC),
    )


async def test_the_demo_queues_last_months_run_once(services):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    now = datetime(2026, 12, 2, 17, tzinfo=UTC)
    first, queued = await seed_calculation(services.db, owner.tenant, plant.installation_id, now=now)
    again, queued_again = await seed_calculation(services.db, owner.tenant, plant.installation_id, now=now)
    assert queued and not queued_again and again.id == first.id
    assert first.status == RunStatus.QUEUED and first.period_end == datetime(2026, 11, 30, 23, tzinfo=UTC)
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(CalculationRun)) == 1
        jobs = (await db.execute(select(OutboxJob.function).where(OutboxJob.function == "calculations.run"))).all()
    assert len(jobs) == 1
