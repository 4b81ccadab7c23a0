"""Readings through the public ingest endpoint, derived into intervals, balanced, gaps listed."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select

from backend.identity.principal import Principal
from backend.ingest.models import CounterReading
from backend.metering.derivation import derive_installation
from tests.factories.site import make_plant
from tests.factories.tenants import client_token, login, make_client, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

DAY = 86_400


def day_start(days_ago: int) -> int:
    today = int(datetime.now(UTC).timestamp()) // DAY * DAY
    return today - days_ago * DAY


def counters(start_s: int, n_days: int, power_kw: float, *, step_s: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Counter snapshots [kWh] of a constant load from just before start to just after the last day."""
    ts = np.arange(start_s - step_s, start_s + n_days * DAY + 2 * step_s, step_s, dtype=np.int64)
    return ts, 1000.0 + (ts - ts[0]) * power_kw / 3600.0


def readings(code: str, ts: np.ndarray, kwh: np.ndarray, unit: str = "kWh") -> list[dict]:
    return [
        {
            "meter": code,
            "quantity": "active_energy_import",
            "unit": unit,
            "ts": datetime.fromtimestamp(int(t), UTC).isoformat(),
            "value": float(v),
            "quality": "good",
        }
        for t, v in zip(ts, kwh, strict=True)
    ]


async def post(http, token, items, *, gzipped=True):
    body = json.dumps({"agent_id": "plant-agent", "agent_version": "test", "readings": items}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if gzipped:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    return await http.post("/ingest/v1/readings", content=body, headers=headers)


@pytest.fixture
async def plant_with_agent(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    return owner, plant, token


async def reading_count(services, owner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int(await db.scalar(select(func.count()).select_from(CounterReading)))


async def test_readings_become_balanced_intervals_with_gaps_listed(services, http, plant_with_agent):
    # given: two full past days; SUB1 100 kW, SUB2 50 kW, MAIN = subs + 3 % losses; SUB2 silent 3 h
    owner, plant, token = plant_with_agent
    start, n_days = day_start(2), 2
    items = []
    for code, kw in (("MAIN", 150 * 1.03), ("SUB1", 100.0), ("SUB2", 50.0)):
        ts, kwh = counters(start, n_days, kw)
        if code == "SUB2":
            keep = (ts < start + 10 * 3600) | (ts > start + 13 * 3600)
            ts, kwh = ts[keep], kwh[keep]
        items += readings(code, ts, kwh)
    # when: delivered in gzip batches, then derived
    for i in range(0, len(items), 4000):
        response = await post(http, token, items[i : i + 4000])
        assert response.status_code == 200, response.text
        assert response.json()["duplicates"] == 0
    async with services.db.tenant(owner.tenant.scope()) as db:
        report = await derive_installation(db, Principal.system("test", owner.id), plant.installation_id)
    # then: every day derived, energy conserved
    assert len(report.days) >= n_days and report.meters == 3
    session = await login(http, owner.email)
    period = {
        "start": datetime.fromtimestamp(start, UTC).isoformat(),
        "end": datetime.fromtimestamp(start + n_days * DAY, UTC).isoformat(),
    }
    series = await session.gql(operation("IntervalSeries"), {"meterId": gid("Meter", plant.meters["SUB1"]), **period})
    data = series["data"]["intervalSeries"]
    assert data["counts"]["measured"] == n_days * 96 and data["methodologyVersion"]
    assert sum(data["energyKwh"]) == pytest.approx(100.0 * 24 * n_days, rel=1e-9)
    # and the balance: MAIN's residual is the 3 % losses, within the 5 % tolerance
    body = await session.gql(
        operation("BalanceReport"), {"installationId": gid("Installation", plant.installation_id), **period}
    )
    (line,) = body["data"]["balanceReport"]["lines"]
    assert line["parent"]["code"] == "MAIN" and {c["code"] for c in line["children"]} == {"SUB1", "SUB2"}
    assert line["residualShare"] == pytest.approx(0.03 / 1.03, abs=2e-3)
    assert line["withinTolerance"] and line["intervalsEstimateAffected"] > 0
    # and the silence of SUB2 (last reading 09:59, next 13:01) is a gap: the boundaries 10:00..13:00
    # fall inside it, so the 14 intervals touching them, 09:45-13:15, are missing (no like days yet)
    body = await session.gql(
        operation("GapsReport"), {"installationId": gid("Installation", plant.installation_id), **period}
    )
    gaps = body["data"]["gapsReport"]["gaps"]
    assert [(g["meter"]["code"], g["intervals"]) for g in gaps] == [("SUB2", 14)]
    counts = body["data"]["gapsReport"]["counts"]
    assert set(counts) == {"MAIN", "SUB1", "SUB2"}
    assert counts["SUB1"]["missing"] == 0 and counts["SUB2"]["missing"] == 14


async def test_ingest_is_idempotent_and_all_or_nothing(services, http, plant_with_agent):
    owner, _, token = plant_with_agent
    ts, kwh = counters(day_start(1), 1, 10.0, step_s=900)
    batch = readings("SUB1", ts, kwh)
    # when: the same batch twice
    first = await post(http, token, batch)
    again = await post(http, token, batch, gzipped=False)
    # then: stored once
    assert first.json()["accepted"] == len(batch) and again.json() == {
        **again.json(),
        "accepted": 0,
        "duplicates": len(batch),
    }
    stored = await reading_count(services, owner)
    assert stored == len(batch)
    # when: a batch mixing already stored readings with new ones (a resend that grew meanwhile)
    more_ts, more_kwh = counters(day_start(1) + 86_400 // 2, 1, 10.0, step_s=900)
    mixed = [*batch[-5:], *readings("SUB2", more_ts[:7], more_kwh[:7])]
    response = await post(http, token, mixed)
    # then: only the new ones are stored
    assert (response.json()["accepted"], response.json()["duplicates"]) == (7, 5)
    stored += 7
    assert await reading_count(services, owner) == stored
    # when: a batch with one bad item among good ones
    now = datetime.now(UTC)
    bad = [
        *readings("SUB2", ts[:3], kwh[:3]),
        {
            "meter": "NOPE",
            "quantity": "active_energy_import",
            "unit": "kWh",
            "ts": now.isoformat(),
            "value": 1.0,
        },
        {
            "meter": "SUB1",
            "quantity": "active_energy_import",
            "unit": "kvarh",
            "ts": now.isoformat(),
            "value": 1.0,
        },
        {
            "meter": "SUB1",
            "quantity": "active_energy_import",
            "unit": "kWh",
            "ts": (now + timedelta(hours=1)).isoformat(),
            "value": 1.0,
        },
        {
            "meter": "SUB1",
            "quantity": "active_energy_import",
            "unit": "kWh",
            "ts": now.isoformat(),
            "value": None,
        },
    ]
    response = await post(http, token, bad)
    # then: refused as a whole, each bad item named by index, field and code; nothing stored
    assert response.status_code == 422
    assert [(e["index"], e["field"], e["code"]) for e in response.json()["errors"]] == [
        (3, "meter", "UNKNOWN_METER"),
        (4, "unit", "UNIT_MISMATCH"),
        (5, "ts", "TIMESTAMP_IN_FUTURE"),
        (6, "value", "MISSING_VALUE"),
    ]
    assert await reading_count(services, owner) == stored


async def test_missing_readings_are_kept_as_evidence_never_as_zero(services, http, plant_with_agent):
    owner, _, token = plant_with_agent
    ts = datetime.now(UTC) - timedelta(minutes=5)
    response = await post(
        http,
        token,
        [
            {
                "meter": "SUB1",
                "quantity": "active_energy_import",
                "unit": "kWh",
                "ts": ts.isoformat(),
                "value": None,
                "quality": "missing",
                "reason": "timeout",
            }
        ],
    )
    assert response.status_code == 200
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = (await db.execute(select(CounterReading))).scalar_one()
    assert row.value is None and row.quality == 2 and row.reason == "timeout"


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (b"{not json", {}, 422, "body"),
        (b"\x1f\x8bnot gzip", {"Content-Encoding": "gzip"}, 422, "body"),
        (b'{"agent_id": "a"}', {}, 422, "body"),
        (b'{"agent_id": "a", "readings": []}', {"Content-Encoding": "br"}, 422, "Content-Encoding"),
    ],
)
async def test_malformed_deliveries_get_a_clear_error(http, plant_with_agent, body, headers, status, field):
    _, _, token = plant_with_agent
    response = await http.post(
        "/ingest/v1/readings", content=body, headers={"Authorization": f"Bearer {token}", **headers}
    )
    assert response.status_code == status
    assert response.json()["errors"][0]["field"] == field


async def test_only_ingest_clients_deliver_readings(services, http, plant_with_agent):
    owner, _, _ = plant_with_agent
    session = await login(http, owner.email)
    response = await http.post(
        "/ingest/v1/readings",
        json={"agent_id": "x", "readings": []},
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
    )
    assert response.status_code == 403 and response.json()["code"] == "NOT_AN_INGEST_CLIENT"
    response = await http.post("/ingest/v1/readings", json={"agent_id": "x", "readings": []})
    assert response.status_code == 401


async def test_derivation_is_reproducible_and_edits_are_kept(services, http, plant_with_agent):
    owner, plant, token = plant_with_agent
    start = day_start(2)
    ts, kwh = counters(start, 1, 42.0)
    assert (await post(http, token, readings("SUB1", ts, kwh))).status_code == 200
    actor = Principal.system("test", owner.id)
    first_day = datetime.fromtimestamp(start, UTC).date()
    async with services.db.tenant(owner.tenant.scope()) as db:
        one = await derive_installation(db, actor, plant.installation_id, first_day=first_day, last_day=first_day)
    async with services.db.tenant(owner.tenant.scope()) as db:
        two = await derive_installation(db, actor, plant.installation_id, first_day=first_day, last_day=first_day)
    assert one.outputs_digest == two.outputs_digest
    # when: a person corrects one interval, with a reason
    session = await login(http, owner.email)
    target = datetime.fromtimestamp(start + 3600, UTC).isoformat()
    edited = await session.gql(
        operation("EditInterval"),
        {
            "input": {
                "meterId": gid("Meter", plant.meters["SUB1"]),
                "intervalStart": target,
                "valueKwh": 11.0,
                "reason": "meter display read on site",
            }
        },
    )
    assert edited["data"]["editInterval"]["errors"] == []
    assert edited["data"]["editInterval"]["previousValueKwh"] == pytest.approx(10.5)
    # then: the edit survives a re-derivation and is marked EDITED
    async with services.db.tenant(owner.tenant.scope()) as db:
        await derive_installation(db, actor, plant.installation_id, first_day=first_day, last_day=first_day)
    series = await session.gql(
        operation("IntervalSeries"),
        {
            "meterId": gid("Meter", plant.meters["SUB1"]),
            "start": target,
            "end": datetime.fromtimestamp(start + 3600 + 900, UTC).isoformat(),
        },
    )
    assert series["data"]["intervalSeries"]["energyKwh"] == [11.0]
    assert series["data"]["intervalSeries"]["status"] == ["EDITED"]
    # and a bad edit is refused with the fields named
    bad = await session.gql(
        operation("EditInterval"),
        {
            "input": {
                "meterId": gid("Meter", plant.meters["SUB1"]),
                "intervalStart": datetime.fromtimestamp(start + 60, UTC).isoformat(),
                "valueKwh": -1.0,
                "reason": "x",
            }
        },
    )
    assert {e["field"] for e in bad["data"]["editInterval"]["errors"]} == {
        "intervalStart",
        "valueKwh",
        "reason",
    }


async def test_a_whole_day_without_readings_is_reported_as_a_gap_not_before_the_first_reading(
    services, http, plant_with_agent
):
    # given: SUB1 reports on day -3, goes silent on day -2, comes back on day -1
    owner, plant, token = plant_with_agent
    actor = Principal.system("test", owner.id)
    for days_ago in (3, 1):
        ts, kwh = counters(day_start(days_ago), 1, 20.0)
        kwh = kwh + (0 if days_ago == 3 else 20.0 * 48)  # the counter kept counting during the silence
        assert (await post(http, token, readings("SUB1", ts, kwh))).status_code == 200
        # when: derived after each delivery, as the worker does
        async with services.db.tenant(owner.tenant.scope()) as db:
            await derive_installation(db, actor, plant.installation_id)
    # then: day -2 is one gap, and nothing before day -3 counts as missing
    session = await login(http, owner.email)
    body = await session.gql(
        operation("GapsReport"),
        {
            "installationId": gid("Installation", plant.installation_id),
            "start": datetime.fromtimestamp(day_start(6), UTC).isoformat(),
            "end": datetime.fromtimestamp(day_start(0), UTC).isoformat(),
        },
    )
    gaps = [
        (g["meter"]["code"], g["start"], g["intervals"])
        for g in body["data"]["gapsReport"]["gaps"]
        if g["meter"]["code"] == "SUB1"
    ]
    assert len(gaps) == 1 and gaps[0][2] >= 96
    assert gaps[0][1] <= datetime.fromtimestamp(day_start(2), UTC).isoformat()


async def test_raw_register_words_are_kept_as_the_bytes_read_on_the_wire(services, http, plant_with_agent):
    owner, _, token = plant_with_agent
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    reading = {"meter": "SUB1", "quantity": "active_energy_import", "unit": "kWh", "ts": ts, "value": 12345.677734375}
    # when: the words of a float32 register pair arrive with the value
    response = await post(http, token, [{**reading, "raw": [17984, 59062]}])
    assert response.status_code == 200
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = (await db.execute(select(CounterReading))).scalar_one()
    # then: stored big-endian, 16 bits a word, exactly as a Modbus response carries them
    assert row.raw == bytes.fromhex("4640e6b6")
    # and a word that cannot come from a register is refused, naming the field
    response = await post(http, token, [{**reading, "ts": datetime.now(UTC).isoformat(), "raw": [70000]}])
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "NOT_REGISTER_WORDS"


async def test_a_meter_added_between_two_deliveries_is_accepted_at_once(services, http, plant_with_agent):
    # given: one delivery, so the installation's meters are known to the ingest path
    owner, plant, token = plant_with_agent
    now = datetime.now(UTC) - timedelta(minutes=2)
    reading = {"quantity": "active_energy_import", "unit": "kWh", "ts": now.isoformat(), "value": 1.0}
    assert (await post(http, token, [{**reading, "meter": "SUB1"}])).status_code == 200
    # when: a new meter is added and its first reading arrives right after
    from backend.metering import service as metering
    from backend.metering.models import Medium, MeterRole
    from backend.metering.schemas import MeterData

    async with services.db.tenant(owner.tenant.scope()) as db:
        await metering.create_meter(
            db,
            owner.principal,
            MeterData(
                installation_id=plant.installation_id,
                code="NEW-PRESS",
                name="New press",
                medium=Medium.ELECTRICITY,
                role=MeterRole.SUB,
            ),
        )
    response = await post(http, token, [{**reading, "meter": "NEW-PRESS"}])
    # then
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
