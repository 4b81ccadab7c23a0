"""The demo's electricity supply: a grid contract and a solar PPA of the exporter, with evidence, and
the developer's generation for the last full month and the current month, visible through GraphQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from demo.supply import solar_kwh
from tests.factories.tenants import login
from tests.operations import operation


def test_the_solar_profile_is_dark_at_night_and_bounded_by_the_plant():
    noon = datetime(2026, 6, 21, 10, 45, tzinfo=UTC)  # solar noon near Šabac is about 10:40 UTC
    assert solar_kwh(datetime(2026, 6, 21, 0, 0, tzinfo=UTC)) == 0.0
    assert 0 < solar_kwh(noon) <= 2500
    assert solar_kwh(noon) == solar_kwh(noon)  # deterministic
    winter = sum(solar_kwh(datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=15 * i)) for i in range(96))
    summer = sum(solar_kwh(datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=15 * i)) for i in range(96))
    assert winter < summer


async def test_the_demo_exporter_sees_its_contracts_and_the_developers_generation(services, http):
    from demo.seed import DEMO_PASSWORD, ORGS, seed
    from tests.factories.owner import owner_db

    await seed(owner_db(), services.store)
    exporter = next(o for o in ORGS if o.slug == "alu-sabac")
    developer = next(o for o in ORGS if o.slug == "dunav-solar")
    session = await login(http, exporter.email, DEMO_PASSWORD)
    contracts = (await session.gql(operation("SupplyContracts")))["data"]["supplyContracts"]
    by_reference = {c["reference"]: c for c in contracts}
    assert {"EPS-2026-0147", "DS-PPA-2026-01"} <= set(by_reference)
    assert by_reference["EPS-2026-0147"]["counterparty"] == "EPS Snabdevanje d.o.o."
    assert {d["role"] for d in by_reference["EPS-2026-0147"]["documents"]} == {"CONTRACT", "SUPPLIER_DISCLOSURE"}
    assert by_reference["DS-PPA-2026-01"]["deliveryShape"] == "PAY_AS_PRODUCED"
    (connection,) = [
        c for c in (await session.gql(operation("PpaConnections")))["data"]["ppaConnections"] if c["status"] == "ACTIVE"
    ]
    shared = await session.gql(operation("SharedPpaContract"), {"connectionId": connection["id"]})
    data = shared["data"]["sharedPpaContract"]
    now = datetime.now(UTC)
    last_month = datetime(now.year if now.month > 1 else now.year - 1, now.month - 1 or 12, 1, tzinfo=UTC)
    assert datetime.fromisoformat(data["firstIntervalStart"]) == last_month
    assert now - datetime.fromisoformat(data["lastIntervalEnd"]) < timedelta(minutes=30)
    assert data["plant"]["capacityKw"] == 10000 and data["plant"]["biddingZone"] == "RS"
    (statement,) = data["statements"]
    assert statement["volumeMwh"] > 0
    assert data["gridConnectionSha256"] in {d["sha256"] for d in data["documents"]}
    conditions = await session.gql(operation("SupplyContract"), {"id": by_reference["DS-PPA-2026-01"]["id"]})
    codes = {c["code"]: c["met"] for c in conditions["data"]["supplyContract"]["actualFactorConditions"]["conditions"]}
    assert codes["generator_metering"] and codes["grid_connection"] and codes["ppa_contract"]
    # the developer sees its own upload and statement
    dev = await login(http, developer.email, DEMO_PASSWORD)
    own = await dev.gql(operation("ContractSettlement"), {"connectionId": connection["id"]})
    assert own["data"]["contractSettlement"]["uploads"][0]["status"] == "COMPLETED"
    # and seeding again adds nothing new
    await seed(services.db, services.store)
    again = await session.gql(operation("SharedPpaContract"), {"connectionId": connection["id"]})
    assert len(again["data"]["sharedPpaContract"]["statements"]) == 1
