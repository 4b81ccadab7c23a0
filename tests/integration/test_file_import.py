"""Historian/SCADA CSV exports: imported whole through the worker job, or rejected with a row report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.ingest.models import CounterReading
from tests.factories.site import make_plant
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation
from workers.jobs.imports import import_file

MAPPING = {
    "timestamp_column": "Zeit",
    "timestamp_format": "%d.%m.%Y %H:%M",
    "timezone": "Europe/Belgrade",
    "delimiter": ";",
    "decimal": ",",
    "columns": [
        {"column": "Presse 1 [kWh]", "meter": "SUB1", "quantity": "active_energy_import", "unit": "kWh"},
        {"column": "Presse 2 [kWh]", "meter": "SUB2", "quantity": "active_energy_import", "unit": "kWh"},
    ],
}


def csv_text(rows: list[tuple[str, str, str]]) -> bytes:
    return ("Zeit;Presse 1 [kWh];Presse 2 [kWh]\n" + "".join(f"{a};{b};{c}\n" for a, b, c in rows)).encode()


async def submit(http, session, installation_id, data: bytes, mapping=MAPPING):
    return await http.post(
        "/ingest/v1/files",
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
        files={"file": ("scada.csv", data, "text/csv")},
        data={"mapping": json.dumps(mapping), "installation_id": str(installation_id)},
    )


async def run_queued(services, owner, import_id: str) -> dict:
    return await import_file({"services": services}, str(owner.id), import_id)


async def count_readings(services, owner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int(await db.scalar(select(func.count()).select_from(CounterReading)))


async def test_a_good_export_is_stored_once_with_local_times_converted(services, http):
    # given: two rows in Serbian local time with decimal commas, one empty cell
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    data = csv_text([("01.03.2026 00:00", "1000,5", "200,25"), ("01.03.2026 00:15", "1010,5", "")])
    # when
    response = await submit(http, session, plant.installation_id, data)
    assert response.status_code == 202, response.text
    result = await run_queued(services, owner, response.json()["import_id"])
    # then: 4 readings, the empty cell kept as a missing reading, stamped in UTC
    assert result == {"status": "completed", "rows": 2, "accepted": 4, "errors": 0}
    async with services.db.tenant(owner.tenant.scope()) as db:
        stamps = sorted({r.ts for r in (await db.execute(select(CounterReading))).scalars()})
        missing = (await db.execute(select(CounterReading).where(CounterReading.value.is_(None)))).scalar_one()
    assert stamps[0] == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert missing.reason == "empty_cell"
    # and the same file again stores nothing new
    again = await submit(http, session, plant.installation_id, data)
    result = await run_queued(services, owner, again.json()["import_id"])
    assert result["accepted"] == 0 and await count_readings(services, owner) == 4


async def test_a_file_with_bad_rows_is_rejected_whole_with_a_row_report(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%d.%m.%Y %H:%M")
    data = csv_text(
        [
            ("01.03.2026 00:00", "1000", "200"),
            ("yesterday", "1", "2"),
            ("01.03.2026 00:30", "abc", "3"),
            (future, "4", "5"),
        ]
    )
    response = await submit(http, session, plant.installation_id, data)
    result = await run_queued(services, owner, response.json()["import_id"])
    assert result["status"] == "rejected" and result["accepted"] == 0
    assert await count_readings(services, owner) == 0
    body = await session.gql(operation("FileImports"), {"installationId": gid("Installation", plant.installation_id)})
    (report,) = body["data"]["fileImports"]
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (3, "Zeit", "BAD_TIMESTAMP"),
        (4, "Presse 1 [kWh]", "NOT_A_NUMBER"),
        (5, "Zeit", "TIMESTAMP_IN_FUTURE"),
    ]


async def test_a_bad_mapping_is_refused_before_anything_is_stored(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    mapping = {
        **MAPPING,
        "columns": [
            {"column": "Presse 1 [kWh]", "meter": "NOPE", "quantity": "active_energy_import", "unit": "kWh"},
            {"column": "Presse 2 [kWh]", "meter": "SUB2", "quantity": "active_energy_import", "unit": "kvarh"},
        ],
    }
    response = await submit(http, session, plant.installation_id, csv_text([("01.03.2026 00:00", "1", "2")]), mapping)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["mapping.columns.0.meter", "mapping.columns.1.unit"]
    body = await session.gql(operation("FileImports"), {"installationId": gid("Installation", plant.installation_id)})
    assert body["data"]["fileImports"] == []
    response = await submit(http, session, plant.installation_id, b"x", {"timestamp_column": 3})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "mapping"


# --- every import ends accepted or rejected, with a report -----------------------------------------


async def _report(session, plant) -> dict:
    from tests.integration.test_cross_tenant import gid

    body = await session.gql(operation("FileImports"), {"installationId": gid("Installation", plant.installation_id)})
    return body["data"]["fileImports"][0]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # a cell longer than the csv module reads
        (csv_text([("01.03.2026 00:00", "1" * 200_000, "2")]), (2, "", "BAD_CSV")),
        # a NUL inside a value, a time stamp and the header
        (csv_text([("01.03.2026 00:00", "1\x002", "2")]), (2, "Presse 1 [kWh]", "NOT_A_NUMBER")),
        (csv_text([("01.03.2026\x00 00:00", "1", "2")]), (2, "Zeit", "BAD_TIMESTAMP")),
        (b"Ze\x00it;Presse 1 [kWh];Presse 2 [kWh]\n01.03.2026 00:00;1;2\n", (1, "Zeit", "MISSING_COLUMN")),
    ],
    ids=["field-over-limit", "nul-in-value", "nul-in-timestamp", "nul-in-header"],
)
async def test_a_file_the_csv_reader_chokes_on_is_rejected_with_a_report(services, http, data, expected):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    response = await submit(http, session, plant.installation_id, data)
    assert response.status_code == 202, response.text
    result = await run_queued(services, owner, response.json()["import_id"])
    assert result["status"] == "rejected"
    report = await _report(session, plant)
    assert report["status"] == "rejected" and report["finishedAt"]
    first = report["errors"][0]
    assert (first["row"], first["column"], first["code"]) == expected
    assert "\x00" not in json.dumps(report["errors"]) and len(first["message"]) < 300
    assert await count_readings(services, owner) == 0


async def test_an_import_whose_job_fails_ends_failed_with_the_reason(services, http):
    from sqlalchemy import update

    from backend.ingest.models import FileImport

    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    response = await submit(http, session, plant.installation_id, csv_text([("01.03.2026 00:00", "1", "2")]))
    # given: something the import cannot survive (here: its stored mapping no longer readable)
    async with services.db.tenant(owner.tenant.scope()) as db:
        await db.execute(update(FileImport).values(mapping={"nonsense": True}))
    # when
    result = await run_queued(services, owner, response.json()["import_id"])
    # then: failed, not queued forever; the report says why
    assert result["status"] == "failed"
    report = await _report(session, plant)
    assert report["status"] == "failed" and report["errors"][0]["code"] == "IMPORT_FAILED"
    assert await count_readings(services, owner) == 0


async def test_the_sweep_ends_imports_whose_job_died(services, http):
    from sqlalchemy import update

    from backend.ingest.models import FileImport
    from workers.jobs.imports import sweep_stale_imports

    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    stale = await submit(http, session, plant.installation_id, csv_text([("01.03.2026 00:00", "1", "2")]))
    fresh = await submit(http, session, plant.installation_id, csv_text([("01.03.2026 00:15", "1", "2")]))
    # given: one import queued long ago whose job never ran (a worker killed, a queue lost)
    async with services.db.tenant(owner.tenant.scope()) as db:
        await db.execute(
            update(FileImport)
            .where(FileImport.id == stale.json()["import_id"])
            .values(created_at=datetime.now(UTC) - timedelta(hours=3))
        )
    # when
    swept = await sweep_stale_imports({"services": services})
    # then: the stale one is failed with its reason, the fresh one still waits for its job
    assert swept["failed"] >= 1
    from tests.integration.test_cross_tenant import gid

    body = await session.gql(operation("FileImports"), {"installationId": gid("Installation", plant.installation_id)})
    by_id = {r["id"]: r for r in body["data"]["fileImports"]}
    (old,) = [r for r in by_id.values() if r["status"] == "failed"]
    assert old["errors"][0]["code"] == "IMPORT_JOB_LOST" and old["finishedAt"]
    assert [r["status"] for r in by_id.values()].count("queued") == 1
    # and a later run of the lost job leaves the decision as it is
    assert (await run_queued(services, owner, stale.json()["import_id"]))["status"] == "failed"
    assert fresh.status_code == 202
