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
