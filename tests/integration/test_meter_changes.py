"""Meters can be corrected, given data points, and retired; each change is kept with before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.ingest.models import CounterReading
from backend.metering.models import Meter, MeterChange
from tests.factories.site import make_plant
from tests.factories.tenants import client_token, login, make_client, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.integration.test_ingest_intervals import post
from tests.operations import operation


async def counts(services, owner) -> tuple[int, int]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        changes = await db.scalar(select(func.count()).select_from(MeterChange))
        audit = await db.scalar(select(func.count()).select_from(AuditEntry))
    return int(changes or 0), int(audit or 0)


async def update(session, **fields) -> dict:
    body = await session.gql(operation("UpdateMeter"), {"input": fields})
    assert "errors" not in body, body
    return body["data"]["updateMeter"]


async def test_a_meter_is_corrected_and_given_a_data_point_after_creation(services, http):
    # given: a plant whose SUB2 was entered under MAIN, on line L1, without a voltage data point
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    # when: it is renamed, moved below SUB1, taken off its line, made a check meter and given voltage
    result = await update(
        session,
        id=gid("Meter", plant.meters["SUB2"]),
        name="Press 2 (check)",
        role="CHECK",
        parentId=gid("Meter", plant.meters["SUB1"]),
        lineId=None,
        addDataPoints=[{"quantity": "VOLTAGE_L1N", "unit": "V"}],
        reason="single-line diagram rev. C",
    )
    # then
    assert result["errors"] == []
    meter = result["meter"]
    assert meter["name"] == "Press 2 (check)" and meter["role"] == "CHECK"
    assert meter["parentId"] == gid("Meter", plant.meters["SUB1"]) and meter["lineId"] is None
    assert {p["quantity"] for p in meter["dataPoints"]} == {"ACTIVE_ENERGY_IMPORT", "ACTIVE_POWER", "VOLTAGE_L1N"}
    # and the history keeps what changed, before and after, with the reason and who
    kinds = [h["kind"] for h in meter["history"]]
    assert kinds == ["UPDATED", "DATA_POINTS_ADDED"]
    updated = meter["history"][0]
    assert updated["before"]["name"] == "Meter SUB2" and updated["after"]["name"] == "Press 2 (check)"
    assert updated["before"]["parent_id"] == str(plant.meters["MAIN"])
    assert updated["after"]["line_id"] is None and updated["before"]["line_id"] == str(plant.line_id)
    assert "code" not in updated["after"]  # only what changed
    assert updated["reason"] == "single-line diagram rev. C" and updated["changedBy"]
    # and both changes are in the audit trail
    async with services.db.tenant(owner.tenant.scope()) as db:
        actions = list(
            await db.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity_id == str(plant.meters["SUB2"]))
                .order_by(AuditEntry.seq)
            )
        )
    assert actions[-2:] == ["meter.updated", "meter.data_points_added"]
    # and the agent's voltage readings for the new data point are accepted at once
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    reading = {
        "meter": "SUB2",
        "quantity": "voltage_l1n",
        "unit": "V",
        "ts": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "value": 231.4,
    }
    response = await post(http, token, [reading])
    assert response.status_code == 200, response.text


async def test_changes_that_would_break_the_hierarchy_are_refused_and_nothing_is_kept(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    other = await make_plant(services, owner, meters=("O-MAIN",))
    session = await login(http, owner.email)
    before = await counts(services, owner)
    cases = [
        ({"id": gid("Meter", plant.meters["MAIN"]), "parentId": gid("Meter", plant.meters["SUB1"])}, "parentId"),
        ({"id": gid("Meter", plant.meters["SUB1"]), "parentId": gid("Meter", plant.meters["SUB1"])}, "parentId"),
        ({"id": gid("Meter", plant.meters["SUB1"]), "parentId": gid("Meter", other.meters["O-MAIN"])}, "parentId"),
        ({"id": gid("Meter", plant.meters["SUB1"]), "lineId": gid("ProductionLine", other.line_id)}, "lineId"),
        ({"id": gid("Meter", plant.meters["SUB1"]), "name": "  "}, "name"),
        ({"id": gid("Meter", plant.meters["SUB1"]), "name": None}, "name"),
        (
            {"id": gid("Meter", plant.meters["SUB1"]), "addDataPoints": [{"quantity": "ACTIVE_POWER", "unit": "kW"}]},
            "addDataPoints.0.quantity",
        ),
        (
            {"id": gid("Meter", plant.meters["SUB1"]), "addDataPoints": [{"quantity": "VOLTAGE_L1N", "unit": "kWh"}]},
            "addDataPoints.0.unit",
        ),
    ]
    for fields, field in cases:
        result = await update(session, **fields)
        assert result["meter"] is None, fields
        assert field in {e["field"] for e in result["errors"]}, (fields, result["errors"])
    assert await counts(services, owner) == before
    async with services.db.tenant(owner.tenant.scope()) as db:
        main = await db.get(Meter, plant.meters["MAIN"])
        assert main is not None and main.parent_id is None


async def test_a_retired_meter_keeps_its_history_and_leaves_service(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    when = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    # a meter with sub-meters in service cannot be retired
    body = await session.gql(
        operation("RetireMeter"), {"input": {"id": gid("Meter", plant.meters["MAIN"]), "retiredAt": when.isoformat()}}
    )
    assert body["data"]["retireMeter"]["meter"] is None
    assert {e["field"] for e in body["data"]["retireMeter"]["errors"]} == {"id"}
    # when: SUB2 is retired two hours ago with its last reading
    body = await session.gql(
        operation("RetireMeter"),
        {
            "input": {
                "id": gid("Meter", plant.meters["SUB2"]),
                "retiredAt": when.isoformat(),
                "finalReading": 4711.5,
                "reason": "press 2 dismantled",
            }
        },
    )
    # then: retired, its device removed at that time with the reading, the history says so
    result = body["data"]["retireMeter"]
    assert result["errors"] == [], result
    meter = result["meter"]
    assert datetime.fromisoformat(meter["retiredAt"]) == when
    (device,) = meter["devices"]
    assert datetime.fromisoformat(device["removedAt"]) == when and device["finalReading"] == 4711.5
    (change,) = meter["history"]
    assert change["kind"] == "RETIRED" and change["before"]["retired_at"] is None
    assert datetime.fromisoformat(change["effectiveAt"]) == when and change["reason"] == "press 2 dismantled"
    # and a retired meter is not changed any more
    again = await update(session, id=gid("Meter", plant.meters["SUB2"]), name="x")
    assert again["errors"][0]["code"] == "METER_RETIRED"
    # and it can no longer be anyone's parent
    moved = await update(session, id=gid("Meter", plant.meters["SUB1"]), parentId=gid("Meter", plant.meters["SUB2"]))
    assert moved["errors"][0]["field"] == "parentId"


async def test_readings_of_a_retired_meter_after_its_retirement_are_refused(services, http):
    # given: SUB2 retired an hour ago, and the plant's agent client
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    retired = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    body = await session.gql(
        operation("RetireMeter"),
        {"input": {"id": gid("Meter", plant.meters["SUB2"]), "retiredAt": retired.isoformat()}},
    )
    assert body["data"]["retireMeter"]["errors"] == []

    def reading(at: datetime, value: float) -> dict:
        return {
            "meter": "SUB2",
            "quantity": "active_energy_import",
            "unit": "kWh",
            "ts": at.isoformat(),
            "value": value,
        }

    async with services.db.tenant(owner.tenant.scope()) as db:
        before = int(await db.scalar(select(func.count()).select_from(CounterReading)))
    # when: a delivery holds one reading from before the retirement and one from after
    answer = await post(http, token, [reading(retired - timedelta(minutes=5), 10.0), reading(retired, 11.0)])
    # then: the one at the retirement is refused naming it, and nothing of the delivery is stored
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert (error["index"], error["code"]) == (1, "METER_RETIRED")
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert int(await db.scalar(select(func.count()).select_from(CounterReading))) == before
    # and a reading from while it was in service is still accepted (a late upload)
    late = await post(http, token, [reading(retired - timedelta(minutes=5), 10.0)])
    assert late.status_code == 200, late.text
