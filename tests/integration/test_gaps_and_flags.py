"""The gaps report starts at a meter's first reading; interval flags are given by name."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.identity.principal import Principal
from backend.metering.derivation import derive_installation
from tests.factories.tenants import login
from tests.integration.test_cross_tenant import gid
from tests.integration.test_ingest_intervals import DAY, counters, day_start, plant_with_agent, post, readings
from tests.operations import operation

__all__ = ["plant_with_agent"]


def iso(ts_s: int) -> str:
    return datetime.fromtimestamp(ts_s, UTC).isoformat()


async def test_intervals_before_the_first_reading_of_the_day_are_not_gaps(services, http, plant_with_agent):
    # given: SUB1's first reading ever is at 14:00 two days ago; it reports every minute since
    owner, plant, token = plant_with_agent
    first = day_start(2) + 14 * 3600
    ts, kwh = counters(first, 1, 30.0)
    ts, kwh = ts[1:], kwh[1:]  # counters() starts one step early: begin exactly at 14:00
    assert (await post(http, token, readings("SUB1", ts, kwh))).status_code == 200
    async with services.db.tenant(owner.tenant.scope()) as db:
        await derive_installation(db, Principal.system("test", owner.id), plant.installation_id)
    # when
    session = await login(http, owner.email)
    body = await session.gql(
        operation("GapsReport"),
        {
            "installationId": gid("Installation", plant.installation_id),
            "start": iso(day_start(3)),
            "end": iso(first + DAY - 3600),
        },
    )
    # then: nothing before 14:00 counts, and everything after it was measured
    report = body["data"]["gapsReport"]
    assert [g for g in report["gaps"] if g["meter"]["code"] == "SUB1"] == []
    assert report["counts"]["SUB1"]["missing"] == 0
    assert report["counts"]["SUB1"]["measured"] == (DAY - 3600) // 900


async def test_interval_flags_are_given_by_name(services, http, plant_with_agent):
    # given: SUB1's counter jumps backwards once (a reset) in the middle of a day
    owner, plant, token = plant_with_agent
    start = day_start(2)
    ts, kwh = counters(start, 1, 20.0)
    kwh[ts >= start + 12 * 3600] -= 5000.0
    assert (await post(http, token, readings("SUB1", ts, kwh))).status_code == 200
    async with services.db.tenant(owner.tenant.scope()) as db:
        await derive_installation(db, Principal.system("test", owner.id), plant.installation_id)
    # when
    session = await login(http, owner.email)
    body = await session.gql(
        operation("IntervalSeries"),
        {"meterId": gid("Meter", plant.meters["SUB1"]), "start": iso(start), "end": iso(start + DAY)},
    )
    series = body["data"]["intervalSeries"]
    # then: every flag bit has its name, in the same place
    named = {name for names in series["flagNames"] for name in names}
    assert named, series["flags"]
    assert all(isinstance(n, str) and n.isupper() for n in named)
    assert len(series["flagNames"]) == len(series["flags"])
    for bits, names in zip(series["flags"], series["flagNames"], strict=True):
        assert (bits == 0) == (names == [])
    assert named & {"COUNTER_RESET", "NEGATIVE", "GAP"}
