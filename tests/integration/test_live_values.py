"""Live values through GraphQL: latest reading and recent series per data point, and implausible pairs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories.tenants import login
from tests.integration.test_cross_tenant import gid
from tests.integration.test_ingest_intervals import plant_with_agent, post
from tests.operations import operation

__all__ = ["plant_with_agent"]


def reading(code: str, quantity: str, unit: str, ts: datetime, value: float) -> dict:
    return {"meter": code, "quantity": quantity, "unit": unit, "ts": ts.isoformat(), "value": value, "quality": "good"}


def deliveries(now: datetime) -> list[dict]:
    """30 minutes, one reading a minute: SUB1 consistent at 100 kW; SUB2's counter frozen at 80 kW;
    MAIN's counter falls by 500 kWh half-way while it reports 150 kW."""
    items = []
    for minute in range(30):
        ts = now - timedelta(minutes=30 - minute)
        items += [
            reading("SUB1", "active_energy_import", "kWh", ts, 5000.0 + 100.0 * minute / 60),
            reading("SUB1", "active_power", "kW", ts, 100.0),
            reading("SUB1", "voltage_l1n", "V", ts, 230.0 + minute / 10),
            reading("SUB2", "active_energy_import", "kWh", ts, 777.0),
            reading("SUB2", "active_power", "kW", ts, 80.0),
            reading(
                "MAIN", "active_energy_import", "kWh", ts, 9000.0 + 150.0 * minute / 60 - (500 if minute >= 15 else 0)
            ),
            reading("MAIN", "active_power", "kW", ts, 150.0),
        ]
    return items


async def live(session, meter_id, **args) -> dict:
    return await session.gql(operation("LiveValues"), {"meterId": gid("Meter", meter_id), **args})


async def test_latest_values_and_recent_series_of_instantaneous_quantities(services, http, plant_with_agent):
    # given: SUB1 also reports its voltage, and half an hour of readings arrived
    owner, plant, token = plant_with_agent
    session = await login(http, owner.email)
    body = await session.gql(
        operation("UpdateMeter"),
        {
            "input": {
                "id": gid("Meter", plant.meters["SUB1"]),
                "addDataPoints": [{"quantity": "VOLTAGE_L1N", "unit": "V"}],
            }
        },
    )
    assert body["data"]["updateMeter"]["errors"] == []
    now = datetime.now(UTC).replace(microsecond=0)
    response = await post(http, token, deliveries(now))
    assert response.status_code == 200, response.text
    # when
    body = await live(session, plant.meters["SUB1"], windowSeconds=1200, limit=10)
    # then: each data point with its latest value and the newest 10 of the last 20 minutes
    assert "errors" not in body, body
    values = body["data"]["liveValues"]
    points = {p["quantity"]: p for p in values["points"]}
    assert set(points) == {"ACTIVE_ENERGY_IMPORT", "ACTIVE_POWER", "VOLTAGE_L1N"}
    voltage = points["VOLTAGE_L1N"]
    assert voltage["unit"] == "V" and voltage["cumulative"] is False
    assert voltage["latest"]["value"] == 232.9 and voltage["latest"]["quality"] == "GOOD"
    assert datetime.fromisoformat(voltage["latest"]["ts"]) == now - timedelta(minutes=1)
    assert [r["value"] for r in voltage["series"]] == [round(230.0 + m / 10, 1) for m in range(20, 30)]
    assert voltage["truncated"] is True
    assert points["ACTIVE_POWER"]["latest"]["value"] == 100.0 and points["ACTIVE_ENERGY_IMPORT"]["cumulative"]
    # and a consistent meter has nothing implausible
    assert values["implausible"] == []
    # and a window with no readings still gives the latest value
    body = await live(session, plant.meters["SUB1"], windowSeconds=60)
    points = {p["quantity"]: p for p in body["data"]["liveValues"]["points"]}
    assert points["ACTIVE_POWER"]["series"] == [] and points["ACTIVE_POWER"]["latest"]["value"] == 100.0


async def test_a_counter_that_contradicts_the_power_is_flagged_with_a_reason(services, http, plant_with_agent):
    owner, plant, token = plant_with_agent
    now = datetime.now(UTC).replace(microsecond=0)
    items = [r for r in deliveries(now) if r["quantity"] != "voltage_l1n"]
    assert (await post(http, token, items)).status_code == 200
    session = await login(http, owner.email)
    # a counter standing still while the meter reports 80 kW
    stalled = (await live(session, plant.meters["SUB2"]))["data"]["liveValues"]["implausible"]
    assert [f["kind"] for f in stalled] == ["COUNTER_STALLED"]
    assert stalled[0]["quantities"] == ["ACTIVE_ENERGY_IMPORT", "ACTIVE_POWER"]
    assert "80 kW" in stalled[0]["reason"] and "moved 0 kWh" in stalled[0]["reason"]
    # a counter running backwards while 150 kW flow
    backwards = (await live(session, plant.meters["MAIN"]))["data"]["liveValues"]["implausible"]
    assert "COUNTER_BACKWARDS" in [f["kind"] for f in backwards]
    (finding,) = [f for f in backwards if f["kind"] == "COUNTER_BACKWARDS"]
    assert "150 kW" in finding["reason"]
    # and below the threshold (a meter idling) the frozen counter is not flagged
    idle = await live(session, plant.meters["SUB2"], powerThresholdKw=100.0)
    assert idle["data"]["liveValues"]["implausible"] == []


async def test_window_and_limit_out_of_range_are_refused_naming_the_argument(services, http, plant_with_agent):
    owner, plant, _ = plant_with_agent
    session = await login(http, owner.email)
    for args, field in (
        ({"windowSeconds": 0}, "windowSeconds"),
        ({"windowSeconds": 10**9}, "windowSeconds"),
        ({"limit": 0}, "limit"),
        ({"limit": 100_000}, "limit"),
        ({"powerThresholdKw": -1.0}, "powerThresholdKw"),
    ):
        body = await live(session, plant.meters["SUB1"], **args)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["field"] == field, body
