"""Ingest refuses what would poison interval data: readings before a meter existed, and more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories.site import make_plant
from tests.factories.tenants import client_token, login, make_client, make_tenant
from tests.integration.test_file_import import count_readings, csv_text, run_queued, submit
from tests.integration.test_ingest_intervals import post, reading_count

NOW = datetime.now(UTC)


@pytest.fixture
async def plant_with_agent(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    token = await client_token(http, client_id, secret, "ingest")
    return owner, plant, token


def item(ts: datetime | str, value: float | None = 1.0, *, meter: str = "SUB1", **extra) -> dict:
    stamp = ts if isinstance(ts, str) else ts.isoformat()
    return {"meter": meter, "quantity": "active_energy_import", "unit": "kWh", "ts": stamp, "value": value, **extra}


# --- readings before the meter device was installed, or before the floor ----------------------------


async def test_readings_before_the_device_installation_or_the_floor_are_refused_naming_each(
    services, http, plant_with_agent
):
    # given: the plant's devices were installed on 2025-01-01 (tolerance: one day before)
    owner, _, token = plant_with_agent
    good = item(NOW - timedelta(minutes=3))
    # when: a delivery with a reading from year 1, one from 1970 and one a week before installation
    response = await post(
        http,
        token,
        [
            good,
            item("0001-01-01T00:00:00Z"),
            item("1970-01-01T00:00:00Z", meter="SUB2"),
            item("2024-12-25T00:00:00Z"),
            item("2024-12-31T12:00:00Z"),  # within the tolerance: fine
        ],
    )
    # then: refused as a whole, each old reading named by index, data point and timestamp
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(e["index"], e["field"], e["code"]) for e in errors] == [
        (1, "ts", "TIMESTAMP_BEFORE_FLOOR"),
        (2, "ts", "TIMESTAMP_BEFORE_FLOOR"),
        (3, "ts", "TIMESTAMP_BEFORE_INSTALLATION"),
    ]
    assert "SUB2" in errors[1]["message"] and "active_energy_import" in errors[1]["message"]
    assert "1970-01-01" in errors[1]["message"] and "2000-01-01" in errors[1]["message"]
    assert "2025-01-01" in errors[2]["message"]
    assert await reading_count(services, owner) == 0


async def test_a_file_with_rows_before_the_installation_is_rejected_naming_the_rows(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    data = csv_text(
        [("01.03.2026 00:00", "1000", "200"), ("01.01.1990 00:00", "1", "2"), ("20.12.2024 00:00", "1", "")]
    )
    response = await submit(http, session, plant.installation_id, data)
    result = await run_queued(services, owner, response.json()["import_id"])
    assert result["status"] == "rejected" and result["accepted"] == 0
    assert await count_readings(services, owner) == 0
    from tests.integration.test_cross_tenant import gid
    from tests.operations import operation

    body = await session.gql(operation("FileImports"), {"installationId": gid("Installation", plant.installation_id)})
    (report,) = body["data"]["fileImports"]
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (3, "Zeit", "TIMESTAMP_BEFORE_FLOOR"),
        (4, "Presse 1 [kWh]", "TIMESTAMP_BEFORE_INSTALLATION"),
        (4, "Presse 2 [kWh]", "TIMESTAMP_BEFORE_INSTALLATION"),
    ]
    assert "SUB1" in report["errors"][1]["message"]


async def test_the_floor_is_a_setting(services, http):
    from tests.integration.test_bad_input import _app_with

    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    async with _app_with(services, ingest_min_reading_ts=datetime(2026, 1, 1, tzinfo=UTC)) as other:
        token = await client_token(other, client_id, secret, "ingest")
        response = await post(other, token, [item("2025-06-01T00:00:00Z")])
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "TIMESTAMP_BEFORE_FLOOR"
    assert "2026-01-01" in response.json()["errors"][0]["message"]


# --- conflicting readings -------------------------------------------------------------------------


async def test_conflicting_readings_are_named_recorded_audited_and_resolvable(services, http, plant_with_agent):
    from sqlalchemy import select

    from backend.audit.models import AuditEntry
    from tests.integration.test_cross_tenant import gid
    from tests.operations import operation

    owner, plant, token = plant_with_agent
    t1, t2 = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    assert (await post(http, token, [item(t1, 10.0)])).json()["accepted"] == 1
    # when: a true duplicate, a value differing from the stored one, a new reading, the same
    # time again with another value in the same batch, and a true duplicate of that new reading
    batch = [item(t1, 10.0), item(t1, 11.0), item(t2, 5.0), item(t2, 6.0), item(t2, 5.0)]
    response = await post(http, token, batch)
    # then: duplicates stay idempotent, each conflict is named with both values
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (1, 2)
    assert [(c["index"], c["meter"], c["quantity"], c["stored_value"], c["value"]) for c in body["conflicts"]] == [
        (1, "SUB1", "active_energy_import", 10.0, 11.0),
        (3, "SUB1", "active_energy_import", 5.0, 6.0),
    ]
    assert await reading_count(services, owner) == 2
    # and sending the batch again reports them again but records them once
    again = (await post(http, token, batch)).json()
    assert len(again["conflicts"]) == 2 and again["accepted"] == 0
    session = await login(http, owner.email)
    installation = gid("Installation", plant.installation_id)
    listed = (await session.gql(operation("ReadingConflicts"), {"installationId": installation}))["data"]
    conflicts = listed["readingConflicts"]
    assert [(c["meterCode"], c["storedValue"], c["receivedValue"], c["status"]) for c in conflicts] == [
        ("SUB1", 10.0, 11.0, "OPEN"),
        ("SUB1", 5.0, 6.0, "OPEN"),
    ]
    assert conflicts[0]["batchId"] == body["batch_id"] and conflicts[0]["itemIndex"] == 1
    assert datetime.fromisoformat(conflicts[0]["ts"]) == t1.replace(microsecond=t1.microsecond)
    async with services.db.tenant(owner.tenant.scope()) as db:
        actions = (await db.execute(select(AuditEntry.action))).scalars().all()
    assert actions.count("readings.conflicting") == 1
    # when: the exporter takes the new value of one and keeps the stored value of the other
    take = await session.gql(
        operation("ResolveReadingConflict"), {"input": {"conflictId": conflicts[0]["id"], "resolution": "TAKE_NEW"}}
    )
    keep = await session.gql(
        operation("ResolveReadingConflict"), {"input": {"conflictId": conflicts[1]["id"], "resolution": "KEEP_STORED"}}
    )
    # then: both decided, by whom, audited
    assert take["data"]["resolveReadingConflict"]["conflict"]["status"] == "TOOK_NEW"
    assert keep["data"]["resolveReadingConflict"]["conflict"]["status"] == "KEPT_STORED"
    assert take["data"]["resolveReadingConflict"]["conflict"]["resolvedBy"] == owner.email
    # and the value taken is the one derivation reads from now on; the stored raw reading is unchanged
    from backend.ingest.models import CounterReading
    from backend.metering.repository import load_readings

    async with services.db.tenant(owner.tenant.scope()) as db:
        point = (await db.execute(select(CounterReading.data_point_id))).scalars().first()
        effective = await load_readings(db, [point], start=t1 - timedelta(minutes=1), end=NOW)
        raw = sorted((await db.execute(select(CounterReading.value))).scalars())
    assert effective[point].values.tolist() == [11.0, 5.0] and raw == [5.0, 10.0]
    open_now = await session.gql(operation("ReadingConflicts"), {"installationId": installation, "status": "OPEN"})
    assert open_now["data"]["readingConflicts"] == []
    async with services.db.tenant(owner.tenant.scope()) as db:
        actions = (await db.execute(select(AuditEntry.action))).scalars().all()
    assert actions.count("reading_conflict.resolved") == 2
    # and a decided conflict cannot be decided again
    twice = await session.gql(
        operation("ResolveReadingConflict"), {"input": {"conflictId": conflicts[1]["id"], "resolution": "TAKE_NEW"}}
    )
    assert twice["data"]["resolveReadingConflict"]["errors"][0]["code"] == "CONFLICT_ALREADY_RESOLVED"


async def test_a_file_whose_values_differ_from_stored_ones_names_the_conflicts(services, http, plant_with_agent):
    from tests.integration.test_cross_tenant import gid
    from tests.operations import operation

    owner, plant, _ = plant_with_agent
    session = await login(http, owner.email)
    first = csv_text([("01.03.2026 00:00", "1000", "200")])
    await run_queued(services, owner, (await submit(http, session, plant.installation_id, first)).json()["import_id"])
    # when: the same time again, one value changed, one new row
    second = csv_text([("01.03.2026 00:00", "1000", "201"), ("01.03.2026 00:15", "1001", "202")])
    response = await submit(http, session, plant.installation_id, second)
    result = await run_queued(services, owner, response.json()["import_id"])
    # then: the file is imported, the conflict is in its report and recorded
    assert result["status"] == "completed" and result["accepted"] == 2
    body = await session.gql(operation("FileImports"), {"installationId": gid("Installation", plant.installation_id)})
    report = body["data"]["fileImports"][0]
    assert report["rowsDuplicate"] == 1
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (2, "Presse 2 [kWh]", "CONFLICTS_WITH_STORED")
    ]
    listed = await session.gql(
        operation("ReadingConflicts"), {"installationId": gid("Installation", plant.installation_id)}
    )
    ((conflict,),) = [listed["data"]["readingConflicts"]]
    assert (conflict["meterCode"], conflict["storedValue"], conflict["receivedValue"], conflict["source"]) == (
        "SUB2",
        200.0,
        201.0,
        "file",
    )


async def test_each_data_point_has_its_own_installation_bound(services, http, plant_with_agent):
    from backend.metering import service as metering
    from backend.metering.models import Medium, MeterRole, Quantity
    from backend.metering.schemas import DataPointData, DeviceData, MeterData

    # given: a meter whose device was installed yesterday, beside meters installed in 2025
    owner, plant, token = plant_with_agent
    async with services.db.tenant(owner.tenant.scope()) as db:
        await metering.create_meter(
            db,
            owner.principal,
            MeterData(
                installation_id=plant.installation_id,
                code="NEW",
                name="New press",
                medium=Medium.ELECTRICITY,
                role=MeterRole.SUB,
                data_points=[DataPointData(Quantity.ACTIVE_ENERGY_IMPORT, "kWh")],
                device=DeviceData(serial_number="SN-NEW", installed_at=NOW - timedelta(days=1)),
            ),
        )
    # when: an older reading of an older meter, and readings of the new one
    old = item("2025-06-01T00:00:00Z")
    response = await post(http, token, [old, item(NOW - timedelta(hours=1), meter="NEW")])
    # then: both are fine
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    # and a reading of the new meter from last month is refused
    response = await post(http, token, [item(NOW - timedelta(days=30), meter="NEW")])
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "TIMESTAMP_BEFORE_INSTALLATION"


# --- units: converted within one dimension, refused across ----------------------------------------


async def test_readings_in_another_unit_of_the_same_dimension_are_converted(services, http, plant_with_agent):
    from sqlalchemy import select

    from backend.ingest.models import CounterReading
    from backend.metering.models import DataPoint

    owner, plant, token = plant_with_agent
    t = NOW - timedelta(minutes=30)
    power = {"meter": "SUB1", "quantity": "active_power", "ts": t.isoformat()}
    # when: energy in Wh and MWh for a data point in kWh, power in W for one in kW
    response = await post(
        http,
        token,
        [
            item(t, 12_345_678.0, unit="Wh"),
            item(t, 0.5, meter="SUB2", unit="MWh"),
            {**power, "unit": "W", "value": 1500.0},
        ],
    )
    # then: stored in the declared unit
    assert response.status_code == 200, response.text
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = (
            await db.execute(
                select(DataPoint.quantity, DataPoint.meter_id, CounterReading.value).join(
                    DataPoint, DataPoint.id == CounterReading.data_point_id
                )
            )
        ).all()
    by = {(r.meter_id, r.quantity.value): r.value for r in rows}
    assert by[(plant.meters["SUB1"], "active_energy_import")] == 12_345.678
    assert by[(plant.meters["SUB2"], "active_energy_import")] == 500.0
    assert by[(plant.meters["SUB1"], "active_power")] == 1.5


async def test_what_cannot_be_converted_is_refused_with_the_reason(services, http, plant_with_agent):
    owner, _, token = plant_with_agent
    t = NOW - timedelta(minutes=30)
    response = await post(
        http,
        token,
        [
            item(t, 1.0, unit="kvarh"),  # reactive energy for an active energy data point
            item(t, 1.0, unit="furlongs"),
            {"meter": "SUB1", "quantity": "voltage_l1n", "unit": "V", "ts": t.isoformat(), "value": 230.0},
        ],
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["index"], e["field"], e["code"]) for e in errors] == [
        (0, "unit", "UNIT_MISMATCH"),
        (1, "unit", "UNIT_MISMATCH"),
        (2, "quantity", "UNKNOWN_DATA_POINT"),
    ]
    assert "kvarh" in errors[0]["message"] and "reactive energy" in errors[0]["message"]
    assert "kWh" in errors[0]["message"] and "active energy" in errors[0]["message"]
    assert "not a unit cbamx knows" in errors[1]["message"]
    assert "declare" in errors[2]["message"] and "voltage_l1n" in errors[2]["message"]
    assert await reading_count(services, owner) == 0


async def test_a_file_mapped_in_another_unit_is_converted(services, http):
    from tests.integration.test_file_import import MAPPING

    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    mapping = {
        **MAPPING,
        "columns": [
            {"column": "Presse 1 [kWh]", "meter": "SUB1", "quantity": "active_energy_import", "unit": "Wh"},
            {"column": "Presse 2 [kWh]", "meter": "SUB2", "quantity": "active_energy_import", "unit": "kWh"},
        ],
    }
    data = csv_text([("01.03.2026 00:00", "1500", "2")])
    response = await submit(http, session, plant.installation_id, data, mapping)
    assert response.status_code == 202, response.text
    assert (await run_queued(services, owner, response.json()["import_id"]))["accepted"] == 2
    from sqlalchemy import select

    from backend.ingest.models import CounterReading

    async with services.db.tenant(owner.tenant.scope()) as db:
        values = sorted((await db.execute(select(CounterReading.value))).scalars())
    assert values == [1.5, 2.0]
    # and a unit of another dimension is refused at once, naming the column
    bad = {**mapping, "columns": [{**mapping["columns"][0], "unit": "kvarh"}]}
    response = await submit(http, session, plant.installation_id, data, bad)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "mapping.columns.0.unit"
    assert "reactive energy" in response.json()["errors"][0]["message"]
