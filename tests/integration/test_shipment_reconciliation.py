"""Produced against shipped mass per product and period, checked against figures worked out by hand.

The plant is in Europe/Belgrade: a batch that ended at 23:30 UTC on 31 October ended on
1 November there, and belongs to November.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import update

from backend.production.models import ProductionBatch
from backend.shipments import service
from backend.shipments.schemas import BatchShare, ShipmentData
from tests.factories.shipments import HOLLOW, PROFILES, Goods, make_goods
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

BATCHES = [
    # number, product, end (UTC), net mass [t]
    ("A1", "AL-PROF", datetime(2025, 10, 31, 23, 30, tzinfo=UTC), 30.0),  # 1 November in Belgrade
    ("A2", "AL-PROF", datetime(2025, 11, 10, 12, 0, tzinfo=UTC), 25.0),
    ("A3", "AL-PROF", datetime(2025, 10, 15, 12, 0, tzinfo=UTC), 20.0),
    ("B1", "AL-HOLLOW", datetime(2025, 11, 12, 12, 0, tzinfo=UTC), 10.0),
    ("B2", "AL-HOLLOW", datetime(2025, 11, 20, 12, 0, tzinfo=UTC), 8.0),
]
SHIPMENTS = [
    # reference, dispatch, declared CN code, [(batch, mass)]
    ("S1", date(2025, 11, 14), PROFILES, [("A1", "20"), ("A3", "2")]),
    ("S2", date(2025, 11, 20), PROFILES, [("A2", "15"), ("B1", "6")]),  # B1 is a hollow profile: flagged
    ("S3", date(2025, 12, 1), PROFILES, [("A1", "10")]),
]


async def world(services) -> Goods:
    owner = await make_tenant(services)
    g = await make_goods(services, owner, BATCHES)
    async with services.db.tenant(owner.tenant.scope()) as db:
        for reference, dispatched, cn_code, shares in SHIPMENTS:
            from decimal import Decimal

            await service.create_shipment(
                db,
                owner.principal,
                ShipmentData(
                    installation_id=g.plant.installation_id,
                    reference=reference,
                    customer_name="Fassadenbau Nord GmbH",
                    customer_country="DE",
                    cn_code=cn_code,
                    net_mass_t=sum((Decimal(m) for _, m in shares), Decimal(0)),
                    dispatch_date=dispatched,
                    invoice_number=f"INV-{reference}",
                    batches=tuple(BatchShare(g.batches[b], Decimal(m)) for b, m in shares),
                ),
            )
    return g


async def report(http, g: Goods, granularity: str, year: int, number: int | None) -> dict[str, Any]:
    session = await login(http, g.owner.email)
    body = await session.gql(
        operation("ShipmentReconciliation"),
        {
            "installationId": gid("Installation", g.plant.installation_id),
            "granularity": granularity,
            "year": year,
            "number": number,
        },
    )
    assert not body.get("errors"), body
    return body["data"]["shipmentReconciliation"]  # type: ignore[no-any-return]


def figures(r: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (x["productCode"], x["cnCode"], x["producedT"], x["shippedT"], x["shippedFromPeriodBatchesT"], x["differenceT"])
        for x in r["lines"]
    ]


async def test_november_in_the_plants_calendar(services, http):
    g = await world(services)
    r = await report(http, g, "MONTH", 2025, 11)
    assert (r["periodStart"], r["periodEnd"], r["timezone"]) == ("2025-11-01", "2025-12-01", "Europe/Belgrade")
    # produced: A1 30 + A2 25 = 55 | B1 10 + B2 8 = 18
    # shipped (dispatched in November, by the batches' product): S1 20 + 2, S2 15 = 37 | S2 6
    # shipped from November's batches, whenever: A1 20 + 10 (S3, December), A2 15 = 45 | B1 6
    # difference: 55 - 45 = 10 | 18 - 6 = 12
    assert figures(r) == [
        ("AL-HOLLOW", HOLLOW, 18.0, 6.0, 6.0, 12.0),
        ("AL-PROF", PROFILES, 55.0, 37.0, 45.0, 10.0),
    ]
    assert [
        (m["reference"], m["batchNumber"], m["shipmentCnCode"], m["productCnCode"], m["massT"])
        for m in r["cnCodeMismatches"]
    ] == [("S2", "B1", PROFILES, HOLLOW, 6.0)]
    assert [(b["batchNumber"], b["netMassT"], b["shippedT"]) for b in r["unshippedBatches"]] == [("B2", 8.0, 0.0)]
    assert r["overShippedBatches"] == []


async def test_october_leaves_out_the_batch_that_ended_on_the_first_of_november_locally(services, http):
    g = await world(services)
    r = await report(http, g, "MONTH", 2025, 10)
    # produced: A3 20 (A1 ended 1 November in Belgrade); nothing dispatched in October; 2 t of A3 shipped
    assert figures(r) == [("AL-PROF", PROFILES, 20.0, 0.0, 2.0, 18.0)]
    assert r["unshippedBatches"] == [] and r["cnCodeMismatches"] == []


async def test_the_quarter_and_the_year(services, http):
    g = await world(services)
    quarter = await report(http, g, "QUARTER", 2025, 4)
    year = await report(http, g, "YEAR", 2025, None)
    # produced 30 + 25 + 20 = 75 | 18; shipped S1 22 + S2 15 + S3 10 = 47 | 6; all from Q4's batches
    expected = [("AL-HOLLOW", HOLLOW, 18.0, 6.0, 6.0, 12.0), ("AL-PROF", PROFILES, 75.0, 47.0, 47.0, 28.0)]
    assert figures(quarter) == expected
    assert figures(year) == expected
    assert (quarter["periodStart"], quarter["periodEnd"]) == ("2025-10-01", "2026-01-01")


async def test_a_batch_whose_mass_was_lowered_after_shipping_shows_as_shipped_beyond_it(services, http):
    # given: A2 (25 t, 15 t shipped) corrected to 12 t by production
    g = await world(services)
    async with services.db.tenant(g.owner.tenant.scope()) as db:
        await db.execute(update(ProductionBatch).where(ProductionBatch.id == g.batches["A2"]).values(net_mass_t=12.0))
    # when
    r = await report(http, g, "MONTH", 2025, 11)
    # then: produced 30 + 12 = 42, shipped from November's batches still 45: difference -3
    assert figures(r)[1] == ("AL-PROF", PROFILES, 42.0, 37.0, 45.0, -3.0)
    assert [(b["batchNumber"], b["netMassT"], b["shippedT"], b["excessT"]) for b in r["overShippedBatches"]] == [
        ("A2", 12.0, 15.0, 3.0)
    ]


async def test_a_period_is_named_by_its_number(services, http):
    g = await world(services)
    session = await login(http, g.owner.email)
    body = await session.gql(
        operation("ShipmentReconciliation"),
        {
            "installationId": gid("Installation", g.plant.installation_id),
            "granularity": "QUARTER",
            "year": 2025,
            "number": 5,
        },
    )
    assert body["errors"][0]["extensions"]["fields"] == ["number"]
