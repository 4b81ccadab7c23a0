"""The balance report counts each meter only while it was in service, and says when it compared nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.identity.principal import Principal
from backend.metering.derivation import derive_installation
from tests.factories.site import make_plant
from tests.factories.tenants import login
from tests.integration.test_cross_tenant import gid
from tests.integration.test_ingest_intervals import DAY, counters, day_start, plant_with_agent, post, readings
from tests.operations import operation

__all__ = ["plant_with_agent"]


def iso(ts_s: int) -> str:
    return datetime.fromtimestamp(ts_s, UTC).isoformat()


async def balance(session, installation_id, start_s: int, end_s: int) -> dict:
    body = await session.gql(
        operation("BalanceReport"),
        {"installationId": gid("Installation", installation_id), "start": iso(start_s), "end": iso(end_s)},
    )
    assert "errors" not in body, body
    (line,) = body["data"]["balanceReport"]["lines"]
    return line


async def add_sub_meter(session, plant, code: str, installed_s: int) -> None:
    body = await session.gql(
        operation("CreateMeter"),
        {
            "input": {
                "installationId": gid("Installation", plant.installation_id),
                "code": code,
                "name": f"New {code}",
                "medium": "ELECTRICITY",
                "role": "SUB",
                "parentId": gid("Meter", plant.meters["MAIN"]),
                "device": {"serialNumber": f"SN-{code}", "installedAt": iso(installed_s), "initialReading": 0.0},
            }
        },
    )
    assert body["data"]["createMeter"]["errors"] == [], body


async def test_adding_sub_meters_leaves_the_balance_of_the_past_as_it_was(services, http, plant_with_agent):
    # given: three days of history on the main meter and its two sub-meters (3 % losses)
    owner, plant, token = plant_with_agent
    start, n_days = day_start(5), 3
    items = []
    for code, kw in (("MAIN", 150 * 1.03), ("SUB1", 100.0), ("SUB2", 50.0)):
        ts, kwh = counters(start, n_days, kw, step_s=300)
        items += readings(code, ts, kwh)
    for i in range(0, len(items), 4000):
        assert (await post(http, token, items[i : i + 4000])).status_code == 200
    async with services.db.tenant(owner.tenant.scope()) as db:
        await derive_installation(db, Principal.system("test", owner.id), plant.installation_id)
    session = await login(http, owner.email)
    two_weeks = (day_start(14), day_start(0))
    before = await balance(session, plant.installation_id, *two_weeks)
    assert before["intervalsCompared"] >= n_days * 96 - 2 and before["status"] == "WITHIN_TOLERANCE"
    # when: two sub-meters are added whose devices were installed yesterday
    await add_sub_meter(session, plant, "PRESS3", day_start(1))
    await add_sub_meter(session, plant, "PRESS4", day_start(1))
    # then: the two weeks compare what they compared before, and stay within tolerance
    after = await balance(session, plant.installation_id, *two_weeks)
    assert {c["code"] for c in after["children"]} == {"SUB1", "SUB2", "PRESS3", "PRESS4"}
    assert after["intervalsCompared"] == before["intervalsCompared"]
    assert after["parentKwh"] == pytest.approx(before["parentKwh"])
    assert after["residualShare"] == pytest.approx(0.03 / 1.03, abs=2e-3)
    assert after["withinTolerance"] is True and after["status"] == "WITHIN_TOLERANCE"
    # and a window wholly before the new meters existed is unchanged too
    window = await balance(session, plant.installation_id, day_start(4), day_start(3))
    assert window["intervalsCompared"] == 96 and window["withinTolerance"] is True
    assert {c["code"] for c in window["children"]} == {"SUB1", "SUB2"}
    # and from their installation on the new meters have no data: nothing is compared, no verdict
    since = await balance(session, plant.installation_id, day_start(1), day_start(0))
    assert since["intervalsCompared"] == 0 and since["status"] == "NOTHING_COMPARED"
    assert since["withinTolerance"] is None and since["intervalsEstimateAffected"] == 96


async def test_a_report_that_compared_nothing_is_never_within_tolerance(services, http):
    from tests.factories.tenants import make_tenant

    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    line = await balance(session, plant.installation_id, day_start(30), day_start(20))
    assert line["intervalsCompared"] == 0 and line["parentKwh"] == 0
    assert line["withinTolerance"] is None and line["status"] == "NOTHING_COMPARED"
    assert line["residualShare"] is None


async def test_a_sub_meter_removed_for_a_while_is_left_out_only_then(services, http, plant_with_agent):
    # given: SUB2's device was removed two days ago and nothing replaced it; MAIN = SUB1 + SUB2 before,
    # MAIN = SUB1 after (the load went with the meter)
    owner, plant, token = plant_with_agent
    start = day_start(4)
    removed = day_start(2)
    items = []
    for code, kw_before, kw_after in (("MAIN", 150.0, 100.0), ("SUB1", 100.0, 100.0), ("SUB2", 50.0, 0.0)):
        ts, _ = counters(start, 3, 1.0, step_s=300)
        kw = [kw_before if t <= removed else kw_after for t in ts]
        kwh = [1000.0]
        for i in range(1, len(ts)):
            kwh.append(kwh[-1] + kw[i] * (ts[i] - ts[i - 1]) / 3600.0)
        if code == "SUB2":
            keep = ts <= removed + 300
            ts, kwh = ts[keep], [v for v, k in zip(kwh, keep, strict=True) if k]
        items += readings(code, ts, kwh)
    assert (await post(http, token, items)).status_code == 200
    from sqlalchemy import select

    from backend.metering.models import MeterDevice

    async with services.db.tenant(owner.tenant.scope()) as db:
        device = (
            await db.execute(select(MeterDevice).where(MeterDevice.meter_id == plant.meters["SUB2"]))
        ).scalar_one()
        device.removed_at = datetime.fromtimestamp(removed, UTC)
        await derive_installation(db, Principal.system("test", owner.id), plant.installation_id)
    # when
    session = await login(http, owner.email)
    line = await balance(session, plant.installation_id, start, start + 3 * DAY)
    # then: both periods balance (SUB2 not counted as missing after its removal)
    assert line["intervalsCompared"] >= 3 * 96 - 2
    assert line["residualShare"] == pytest.approx(0.0, abs=1e-3) and line["status"] == "WITHIN_TOLERANCE"
