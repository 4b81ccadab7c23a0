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


async def test_last_months_run_is_computed_at_start_up_with_its_bundle(services, http, tmp_path):
    # given: a plant with one day of readings and one batch last month
    from backend.calculations.recompute import recompute_bundle
    from backend.identity.principal import Principal
    from backend.metering.derivation import derive_installation
    from demo.calculations import calculate_last_month
    from tests.factories.production import make_catalogue, record
    from tests.factories.tenants import client_token, make_client
    from tests.integration.test_ingest_intervals import counters, post, readings
    from tests.integration.test_provisional_job import LOADS

    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    day = int(datetime(2026, 11, 10, tzinfo=UTC).timestamp())
    for code, kw in LOADS.items():
        ts, kwh = counters(day, 1, kw)
        assert (await post(http, token, readings(code, ts, kwh))).status_code == 200
    async with services.db.tenant(owner.tenant.scope()) as db:
        await derive_installation(db, Principal.system("tests", owner.tenant.id), plant.installation_id)
    start = datetime(2026, 11, 10, 6, tzinfo=UTC)
    await record(services, owner, plant, "B-NOV", start, start.replace(hour=9), mass=6.0)
    now = datetime(2026, 12, 2, 17, tzinfo=UTC)
    # when: computed, and asked again (a later start)
    first = await calculate_last_month(services, owner.tenant, plant.installation_id, tmp_path, now=now)
    again = await calculate_last_month(services, owner.tenant, plant.installation_id, tmp_path, now=now)
    # then: one succeeded run with a footprint version for the product, and a bundle that recomputes to it
    assert first.run.status == RunStatus.SUCCEEDED, (first.run.error_code, first.run.error_message)
    assert first.footprints == 1 and again.run.id == first.run.id
    assert first.bundle is not None and first.bundle.name == "calculation-2026-11.zip"
    outcome = recompute_bundle(first.bundle)
    assert outcome.matches is True and outcome.output_digest == first.run.output_digest
