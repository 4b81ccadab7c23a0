"""MES exports (CSV and Excel) through a saved mapping: stored whole by the worker, or refused whole with a
report naming row, field and column."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from backend.evidence.models import EvidenceDocument
from backend.outbox import OutboxJob
from backend.production.models import ProductionBatch
from tests.factories.production import make_catalogue, record
from tests.factories.site import make_plant
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation
from workers.jobs.production import import_batches

HEADER = ["Charge", "Anlage", "Artikel", "Legierung", "Start", "Ende", "Netto kg", "Schrott kg", "Auftrag"]
MAPPING = {
    "name": "MES Presse",
    "columns": {
        "batch_number": "Charge",
        "line": "Anlage",
        "product": "Artikel",
        "alloy": "Legierung",
        "started_at": "Start",
        "ended_at": "Ende",
        "net_mass": "Netto kg",
        "scrap": "Schrott kg",
        "order_ref": "Auftrag",
    },
    "timezone": "Europe/Belgrade",
    "dateFormat": "%d.%m.%Y %H:%M",
    "massUnit": "kg",
    "delimiter": ";",
    "decimal": ",",
}
GOOD_ROWS = [
    ["B-1", "L1", "PRF-6060", "6060", "03.11.2026 07:00", "03.11.2026 10:00", "6400,5", "310", "PO-1"],
    ["B-2", "L1", "PRF-6060", "6060", "03.11.2026 10:00", "03.11.2026 13:30", "7100", "280", "PO-1"],
    ["B-3", "L2", "TUB-6063", "6063", "03.11.2026 08:00", "03.11.2026 11:00", "4200", "150", "PO-2"],
]


def csv_file(rows: list[list[str]], header: list[str] = HEADER) -> tuple[str, bytes]:
    return "mes.csv", (";".join(header) + "\n" + "".join(";".join(r) + "\n" for r in rows)).encode()


def xlsx_file(rows: list[list[str]], header: list[str] = HEADER) -> tuple[str, bytes]:
    """The same rows as an Excel export would hold them: times as dates, masses as numbers."""
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        cells: list[object] = list(r)
        for i in (4, 5):
            with contextlib.suppress(ValueError):
                cells[i] = datetime.strptime(r[i], "%d.%m.%Y %H:%M")
        for i in (6, 7):
            with contextlib.suppress(ValueError):
                cells[i] = float(r[i].replace(",", "."))
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return "mes.xlsx", out.getvalue()


FILES = {"csv": csv_file, "xlsx": xlsx_file}


async def setup(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    catalogue = await make_catalogue(services, owner, plant)
    session = await login(http, owner.email)
    saved = await session.gql(operation("SaveBatchImportMapping"), {"input": MAPPING})
    assert saved["data"]["saveBatchImportMapping"]["errors"] == []
    return owner, plant, catalogue, session


async def submit(http, session, installation_id, file: tuple[str, bytes], mapping: str = "MES Presse"):
    name, data = file
    return await http.post(
        "/production/v1/batch-files",
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
        files={"file": (name, data, "application/octet-stream")},
        data={"mapping": mapping, "installation_id": str(installation_id)},
    )


async def run(services, owner, import_id: str) -> dict:
    return await import_batches({"services": services}, str(owner.id), import_id)


async def count_batches(services, owner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int(await db.scalar(select(func.count()).select_from(ProductionBatch)))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_a_good_export_is_stored_whole_with_local_times_and_kg_converted(services, http, fmt):
    # given
    owner, plant, _, session = await setup(services, http)
    # when
    response = await submit(http, session, plant.installation_id, FILES[fmt](GOOD_ROWS))
    assert response.status_code == 202, response.text
    import_id = response.json()["import_id"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        queued = (
            await db.execute(select(OutboxJob).where(OutboxJob.function == "production.import_batches"))
        ).scalars()
        assert len(list(queued)) == 1  # enqueued through the outbox, with the submission
    result = await run(services, owner, import_id)
    # then
    assert result == {"status": "completed", "rows": 3, "stored": 3}
    async with services.db.tenant(owner.tenant.scope()) as db:
        first = (await db.execute(select(ProductionBatch).where(ProductionBatch.batch_number == "B-1"))).scalar_one()
        document = await db.scalar(select(EvidenceDocument))
    assert first.started_at == datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
    assert first.net_mass_t == pytest.approx(6.4005) and first.scrap_t == pytest.approx(0.31)
    assert first.source.value == "file" and first.source_ref == import_id
    assert document is not None and len(document.sha256) == 64
    progress = await session.gql(operation("BatchImport"), {"id": gid("BatchImport", import_id)})
    job = progress["data"]["batchImport"]
    assert (job["status"], job["rowsDone"], job["rowsTotal"], job["batchesStored"]) == ("completed", 3, 3, 3)
    assert job["fileFormat"] == fmt and job["mappingName"] == "MES Presse"


FUTURE = (datetime.now(UTC) + timedelta(days=3)).strftime("%d.%m.%Y %H:%M")
FUTURE_END = (datetime.now(UTC) + timedelta(days=3, hours=2)).strftime("%d.%m.%Y %H:%M")

BAD = {
    "overlap_in_file": (
        ["B-9", "L1", "PRF-6060", "6060", "03.11.2026 12:00", "03.11.2026 14:00", "1000", "0", ""],
        "startedAt",
        "Start",
        "OVERLAPPING_BATCH",
    ),
    "end_before_start": (
        ["B-9", "L2", "PRF-6060", "6060", "04.11.2026 12:00", "04.11.2026 11:00", "1000", "0", ""],
        "endedAt",
        "Ende",
        "END_BEFORE_START",
    ),
    "mass_zero": (
        ["B-9", "L2", "PRF-6060", "6060", "04.11.2026 08:00", "04.11.2026 11:00", "0", "0", ""],
        "netMassT",
        "Netto kg",
        "MASS_NOT_POSITIVE",
    ),
    "mass_negative": (
        ["B-9", "L2", "PRF-6060", "6060", "04.11.2026 08:00", "04.11.2026 11:00", "-5", "0", ""],
        "netMassT",
        "Netto kg",
        "MASS_NOT_POSITIVE",
    ),
    "unknown_product": (
        ["B-9", "L2", "NOPE-1", "6060", "04.11.2026 08:00", "04.11.2026 11:00", "1000", "0", ""],
        "product",
        "Artikel",
        "UNKNOWN_PRODUCT",
    ),
    "unknown_line": (
        ["B-9", "EXT-9", "PRF-6060", "6060", "04.11.2026 08:00", "04.11.2026 11:00", "1000", "0", ""],
        "line",
        "Anlage",
        "UNKNOWN_LINE",
    ),
    "duplicate_in_file": (
        ["B-2", "L2", "PRF-6060", "6060", "04.11.2026 08:00", "04.11.2026 11:00", "1000", "0", ""],
        "batchNumber",
        "Charge",
        "DUPLICATE_BATCH_NUMBER",
    ),
    "future": (
        ["B-9", "L2", "PRF-6060", "6060", FUTURE, FUTURE_END, "1000", "0", ""],
        "startedAt",
        "Start",
        "TIME_IN_FUTURE",
    ),
    "not_a_time": (
        ["B-9", "L2", "PRF-6060", "6060", "gestern", "04.11.2026 11:00", "1000", "0", ""],
        "startedAt",
        "Start",
        "BAD_TIME",
    ),
    "not_a_number": (
        ["B-9", "L2", "PRF-6060", "6060", "04.11.2026 08:00", "04.11.2026 11:00", "viel", "0", ""],
        "netMassT",
        "Netto kg",
        "NOT_A_NUMBER",
    ),
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("rule", sorted(BAD))
async def test_each_bad_row_rejects_the_whole_file_with_row_field_and_column(services, http, rule, fmt):
    # given: two good rows, then the bad one (row 4 counting the header)
    owner, plant, _, session = await setup(services, http)
    bad_row, field, column, code = BAD[rule]
    # when
    response = await submit(http, session, plant.installation_id, FILES[fmt]([*GOOD_ROWS[:2], bad_row]))
    result = await run(services, owner, response.json()["import_id"])
    # then
    assert result["status"] == "rejected" and result["stored"] == 0
    listed = await session.gql(
        operation("BatchImports"), {"installationId": gid("Installation", plant.installation_id)}
    )
    errors = listed["data"]["batchImports"][0]["errors"]
    assert {"row": 4, "field": field, "column": column, "code": code} in [
        {k: e[k] for k in ("row", "field", "column", "code")} for e in errors
    ], errors
    assert await count_batches(services, owner) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    ("rule", "code", "field"),
    [("number", "BATCH_NUMBER_EXISTS", "batchNumber"), ("overlap", "OVERLAPS_STORED_BATCH", "startedAt")],
)
async def test_a_row_clashing_with_a_stored_batch_rejects_the_file(services, http, fmt, rule, code, field):
    # given: B-7 stored by the API on L1, 03.11 09:00-12:00 local (08:00-11:00 UTC)
    owner, plant, _, session = await setup(services, http)
    start = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    if rule == "number":
        await record(services, owner, plant, "B-2", start - timedelta(days=5), start - timedelta(days=5, hours=-2))
    else:
        await record(services, owner, plant, "B-7", start, start + timedelta(hours=3))
    # when
    response = await submit(http, session, plant.installation_id, FILES[fmt](GOOD_ROWS))
    result = await run(services, owner, response.json()["import_id"])
    # then
    assert result["status"] == "rejected"
    listed = await session.gql(
        operation("BatchImports"), {"installationId": gid("Installation", plant.installation_id)}
    )
    errors = listed["data"]["batchImports"][0]["errors"]
    assert any(e["code"] == code and e["field"] == field and e["row"] in (2, 3) for e in errors), errors
    assert await count_batches(services, owner) == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_a_file_without_a_mapped_column_is_rejected_naming_it(services, http, fmt):
    owner, plant, _, session = await setup(services, http)
    header = [h if h != "Netto kg" else "Netto" for h in HEADER]
    response = await submit(http, session, plant.installation_id, FILES[fmt](GOOD_ROWS, header))
    result = await run(services, owner, response.json()["import_id"])
    assert result["status"] == "rejected"
    job = await session.gql(operation("BatchImport"), {"id": gid("BatchImport", response.json()["import_id"])})
    errors = job["data"]["batchImport"]["errors"]
    assert errors[0]["code"] == "MISSING_COLUMN" and errors[0]["column"] == "Netto kg" and errors[0]["row"] == 1
    assert await count_batches(services, owner) == 0


async def test_a_file_that_is_neither_csv_nor_excel_is_rejected(services, http):
    owner, plant, _, session = await setup(services, http)
    response = await submit(http, session, plant.installation_id, ("mes.xlsx", b"PK\x03\x04 not really a zip"))
    result = await run(services, owner, response.json()["import_id"])
    assert result["status"] == "rejected"
    assert await count_batches(services, owner) == 0


async def test_an_unknown_mapping_or_a_missing_file_is_refused_at_submission(services, http):
    _owner, plant, _, session = await setup(services, http)
    response = await submit(http, session, plant.installation_id, csv_file(GOOD_ROWS), mapping="nope")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "mapping"
    response = await http.post(
        "/production/v1/batch-files",
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
        data={"mapping": "MES Presse", "installation_id": str(plant.installation_id)},
        files={"other": ("x.csv", b"a", "text/csv")},
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "file"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"columns": {"batch_number": "Charge"}}, "columns"),
        ({"columns": {**MAPPING["columns"], "colour": "Farbe"}}, "columns"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"dateFormat": "dd.mm.yyyy"}, "dateFormat"),
        ({"massUnit": "lb"}, "massUnit"),
        ({"delimiter": ";;"}, "delimiter"),
    ],
)
async def test_a_bad_mapping_is_refused_naming_the_field(services, http, overrides, field):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    body = await session.gql(operation("SaveBatchImportMapping"), {"input": {**MAPPING, **overrides}})
    payload = body["data"]["saveBatchImportMapping"]
    assert payload["mapping"] is None
    assert any(e["field"] == field for e in payload["errors"]), payload["errors"]
    listed = await session.gql(operation("BatchImportMappings"), {})
    assert listed["data"]["batchImportMappings"] == []


async def test_progress_is_committed_while_the_file_is_read(services, http, monkeypatch):
    # given: progress every 2 rows, and a file of 6 rows
    monkeypatch.setattr("backend.production.imports.PROGRESS_EVERY", 2)
    owner, plant, _, session = await setup(services, http)
    rows = [
        [f"P-{i}", "L1", "PRF-6060", "6060", f"0{i}.10.2026 07:00", f"0{i}.10.2026 09:00", "1000", "0", ""]
        for i in range(1, 7)
    ]
    seen: list[tuple[int, int]] = []
    from backend.production import imports

    original = imports.report_progress

    async def spy(db, import_id, *, rows_done, rows_total):
        await original(db, import_id, rows_done=rows_done, rows_total=rows_total)
        seen.append((rows_done, rows_total))

    monkeypatch.setattr("workers.jobs.production.report_progress", spy)
    response = await submit(http, session, plant.installation_id, csv_file(rows))
    result = await run(services, owner, response.json()["import_id"])
    assert result["status"] == "completed"
    assert seen == [(2, 6), (4, 6), (6, 6)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_times_across_the_clock_changes_are_compared_in_utc(services, http, fmt):
    # given: 25.10.2026 (Europe/Belgrade moves 03:00 back to 02:00): D-1 02:10-02:50 is read as the first
    # occurrence (00:10-00:50 UTC); D-2 starts 03:00 CET (02:00 UTC), after it; D-3 is on the spring day
    # 29.03.2026 at 02:30, a time that does not exist there
    owner, plant, _, session = await setup(services, http)
    rows = [
        ["D-1", "L1", "PRF-6060", "6060", "25.10.2026 02:10", "25.10.2026 02:50", "1000", "0", ""],
        ["D-2", "L1", "PRF-6060", "6060", "25.10.2026 03:00", "25.10.2026 05:00", "1000", "0", ""],
        ["D-3", "L1", "PRF-6060", "6060", "29.03.2026 00:30", "29.03.2026 02:30", "1000", "0", ""],
    ]
    # when
    response = await submit(http, session, plant.installation_id, FILES[fmt](rows))
    result = await run(services, owner, response.json()["import_id"])
    # then: only the time that does not exist is named
    assert result["status"] == "rejected"
    job = await session.gql(operation("BatchImport"), {"id": gid("BatchImport", response.json()["import_id"])})
    errors = job["data"]["batchImport"]["errors"]
    assert [(e["row"], e["field"], e["code"]) for e in errors] == [(4, "endedAt", "BAD_TIME")]
    assert "does not exist in Europe/Belgrade" in errors[0]["message"]
    assert await count_batches(services, owner) == 0


async def test_a_batch_stored_by_another_request_during_the_import_rejects_the_whole_file(services, http, monkeypatch):
    # given: while the job checks the file, an MES post stores a batch on L1 inside B-1's time
    owner, plant, _, session = await setup(services, http)
    from backend.production import imports

    original = imports.check_batches

    async def racing(*args, **kwargs):
        checked = await original(*args, **kwargs)
        start = datetime(2026, 11, 3, 6, 30, tzinfo=UTC)
        await record(services, owner, plant, "RACE-1", start, start + timedelta(minutes=30))
        return checked

    monkeypatch.setattr("backend.production.imports.check_batches", racing)
    # when
    response = await submit(http, session, plant.installation_id, csv_file(GOOD_ROWS))
    result = await run(services, owner, response.json()["import_id"])
    # then: PostgreSQL's exclusion constraint refuses the insert; the file is rejected with the reason
    assert result["status"] == "rejected"
    job = await session.gql(operation("BatchImport"), {"id": gid("BatchImport", response.json()["import_id"])})
    assert job["data"]["batchImport"]["errors"][0]["code"] == "OVERLAPPING_BATCH"
    assert await count_batches(services, owner) == 1  # the racing batch only
