"""The demo's shipments: truck loads of 18 to 24 t from the batches, papers in order, run again adds none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from backend.identity.principal import Principal
from backend.shipments.models import Shipment, ShipmentBatch
from backend.shipments.schemas import MRN
from demo.shipments import mrn, seed_shipments
from tests.factories.shipments import make_goods
from tests.factories.tenants import make_tenant


def test_an_mrn_carries_its_iso_6346_check_character():
    # the check character of 26RS01501000410 01 worked out by hand would be long; one known value instead:
    # ISO 6346's own example CSQU305438 has check digit 3
    from demo import shipments

    total = sum((int(c) if c.isdigit() else shipments._LETTERS[c]) * 2**i for i, c in enumerate("CSQU305438"))
    assert total % 11 % 10 == 3
    assert MRN.fullmatch(mrn(2026, 41001))


async def test_the_demo_ships_truck_loads_and_leaves_the_newest_batches_as_stock(services):
    # given: 24 batches of 4.2 t each, one every 12 hours up to now
    owner = await make_tenant(services)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    batches = [(f"D-{i:03d}", "AL-PROF", now - timedelta(hours=12 * i + 1), 4.2) for i in range(24)]
    goods = await make_goods(services, owner, batches)
    # when
    first = await seed_shipments(services.db, owner.tenant, goods.plant.installation_id)
    again = await seed_shipments(services.db, owner.tenant, goods.plant.installation_id)
    # then
    assert first >= 3 and again == 0
    async with services.db.tenant(owner.tenant.scope()) as db:
        shipments = (await db.execute(select(Shipment).order_by(Shipment.dispatch_date))).scalars().all()
        per_batch = dict(
            (
                await db.execute(
                    select(ShipmentBatch.batch_id, func.sum(ShipmentBatch.mass_t)).group_by(ShipmentBatch.batch_id)
                )
            ).all()
        )
    assert len(shipments) == first
    for s in shipments:
        assert Decimal(18) <= s.net_mass_t <= Decimal(24), s.net_mass_t
        assert MRN.fullmatch(s.mrn or "") and s.customer_name == "Fassadenbau Nord GmbH"
    assert all(mass <= Decimal("4.2") for mass in per_batch.values())
    # the batches of the last two days stay unshipped
    assert goods.batches["D-000"] not in per_batch and goods.batches["D-002"] not in per_batch


async def test_the_demo_exporter_ships_its_demo_batches_to_the_demo_importer(services):
    from backend.shipments import service
    from backend.shipments.schemas import Granularity
    from demo.seed import seed
    from tests.factories.owner import owner_db

    # given: the whole demo, production's batches included
    state = await seed(owner_db(), services.store)
    exporter = state.tenants["alu-sabac"]
    assert state.installation_id is not None
    async with services.db.tenant(exporter.scope()) as db:
        shipments = (await db.execute(select(Shipment))).scalars().all()
        last_month = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).date()
        report = await service.reconcile(
            db,
            Principal.system("t", exporter.id),
            state.installation_id,
            Granularity.MONTH,
            last_month.year,
            last_month.month,
        )
    # then: truck loads to Fassadenbau Nord, nothing over-shipped, last month reconciled per product
    assert len(shipments) >= 10
    assert all(Decimal(18) <= s.net_mass_t <= Decimal(24) for s in shipments)
    assert {s.customer_name for s in shipments} == {"Fassadenbau Nord GmbH"}
    assert report.lines and report.over_shipped == [] and report.cn_mismatches == []
    assert all(line.shipped_from_period_batches_t <= line.produced_t for line in report.lines)
