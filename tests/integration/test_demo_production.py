"""The demo's production data: the catalogue, the mapping and the scheduled batches, added once."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from backend.installations import service as installations
from backend.installations.schemas import LineData
from backend.production.models import BatchPrecursor, Product, ProductionBatch
from connectors.simulator.schedule import ProductionSchedule
from demo.history import SEED
from demo.production import first_of_last_month, seed_production
from tests.factories.site import make_plant
from tests.factories.tenants import make_tenant


async def test_the_demo_records_the_scheduled_batches_of_both_lines_once(services):
    # given: a plant with the demo's extrusion lines
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    async with services.db.tenant(owner.tenant.scope()) as db:
        for code in ("EXT-1", "EXT-2"):
            await installations.create_line(db, owner.principal, LineData(plant.process_id, code, code))
    now = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    # when: seeded twice
    first = await seed_production(services.db, owner.tenant, plant.installation_id, seed=SEED, now=now)
    second = await seed_production(services.db, owner.tenant, plant.installation_id, seed=SEED, now=now)
    # then: every batch of the schedule since the first of last month that closed by now, once
    schedule = ProductionSchedule(SEED)
    expected = [
        b
        for line in ("EXT-1", "EXT-2")
        for b in schedule.batches_between(line, first_of_last_month(now), now)
        if b.end <= now
    ]
    assert first == len(expected) > 200 and second == 0
    async with services.db.tenant(owner.tenant.scope()) as db:
        stored = {r.batch_number: r for r in (await db.execute(select(ProductionBatch))).scalars()}
        products = await db.scalar(select(func.count()).select_from(Product))
        with_precursor = await db.scalar(select(func.count(func.distinct(BatchPrecursor.batch_id))))
    assert set(stored) == {b.number for b in expected}
    sample = expected[0]
    assert stored[sample.number].started_at == sample.start and stored[sample.number].net_mass_t == sample.net_mass_t
    assert products == 4
    assert 0.25 * len(expected) < with_precursor < 0.55 * len(expected)
