"""A developer's interval generation per contract: queued, checked by the worker, stored all or nothing,
or refused with a report naming row and field; the original file kept as evidence."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.developers.models import SettlementInterval, SettlementStatement, SettlementUpload
from backend.evidence.models import EvidenceDocument
from tests.factories.supply import generation_csv, make_ppa_world, month_start
from tests.factories.tenants import login
from tests.integration.test_cross_tenant import gid
from tests.operations import operation
from workers.jobs.generation import import_generation


async def upload(http, session, connection_id, data: bytes, filename: str = "generation.csv"):
    return await http.post(
        f"/developers/v1/connections/{connection_id}/generation",
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
        files={"file": (filename, data, "text/csv")},
    )


async def stored(services, world) -> int:
    async with services.db.tenant(world.developer.tenant.scope()) as db:
        return int(await db.scalar(select(func.count()).select_from(SettlementInterval)))


async def submit_and_run(services, http, world, data: bytes) -> dict:
    session = await login(http, world.developer.email)
    response = await upload(http, session, world.connection_id, data)
    assert response.status_code == 202, response.text
    upload_id = response.json()["upload_id"]
    result = await import_generation({"services": services}, str(world.developer.id), upload_id)
    body = await session.gql(operation("SettlementUpload"), {"id": gid("SettlementUpload", upload_id)})
    assert not body.get("errors"), body
    return {"job": result, "upload": body["data"]["settlementUpload"]}


async def test_a_good_file_is_stored_whole_with_its_progress_and_the_original_kept(services, http):
    # given: an accepted PPA and two days of 15-minute generation
    world = await make_ppa_world(services)
    start = month_start(1)
    data = generation_csv(start, 192)
    # when
    out = await submit_and_run(services, http, world, data)
    # then: every interval stored, progress complete, the file kept as evidence by its hash
    upload = out["upload"]
    assert upload["status"] == "COMPLETED", upload
    assert upload["rowsTotal"] == upload["rowsChecked"] == upload["rowsAccepted"] == 192
    assert upload["resolutionSeconds"] == 900
    assert upload["energyKwh"] == pytest.approx(sum((i % 96) * 10 for i in range(192)))
    assert await stored(services, world) == 192
    async with services.db.tenant(world.developer.tenant.scope()) as db:
        doc = (
            await db.execute(select(EvidenceDocument).where(EvidenceDocument.sha256 == upload["sha256"]))
        ).scalar_one()
        assert doc.filename == "generation.csv"
        first = (
            await db.execute(select(SettlementInterval).order_by(SettlementInterval.interval_start).limit(1))
        ).scalar_one()
    assert first.interval_start == start and first.interval_end == start + timedelta(minutes=15)


def _row(start: datetime, minutes: int = 15, kwh: str = "100") -> str:
    return f"{start.isoformat()},{(start + timedelta(minutes=minutes)).isoformat()},{kwh}\n"


BAD_FILES = {
    # code: (file builder given the contract period start, expected row, field)
    "MISSING_COLUMN": (lambda s: b"interval_start,energy_kwh\n" + _row(s).encode(), 1, "interval_end"),
    "UNKNOWN_COLUMN": (
        lambda s: b"interval_start,interval_end,energy_kwh,price\n" + _row(s).replace("\n", ",55\n").encode(),
        1,
        "price",
    ),
    "BAD_TIMESTAMP": (
        lambda s: generation_csv(s, 3) + b"2026-13-01T00:00,2026-13-01T00:15,5\n",
        5,
        "interval_start",
    ),
    "BAD_RESOLUTION": (lambda s: generation_csv(s, 2) + _row(s + timedelta(hours=1), 30).encode(), 4, "interval_end"),
    "MIXED_RESOLUTION": (lambda s: generation_csv(s, 2) + _row(s + timedelta(hours=2), 60).encode(), 4, "interval_end"),
    "MISALIGNED": (
        lambda s: generation_csv(s, 2) + _row(s + timedelta(hours=1, minutes=5)).encode(),
        4,
        "interval_start",
    ),
    "OUTSIDE_CONTRACT": (
        lambda s: b"interval_start,interval_end,energy_kwh\n" + _row(s - timedelta(minutes=15)).encode(),
        2,
        "interval_start",
    ),
    "IN_FUTURE": (
        lambda s: (
            b"interval_start,interval_end,energy_kwh\n"
            + _row(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)).encode()
        ),
        2,
        "interval_end",
    ),
    "NOT_A_NUMBER": (lambda s: generation_csv(s, 3, kwh=lambda i: "abc" if i == 1 else "1"), 3, "energy_kwh"),
    "NEGATIVE": (lambda s: generation_csv(s, 3, kwh=lambda i: "-1" if i == 2 else "1"), 4, "energy_kwh"),
    "TOO_PRECISE": (lambda s: generation_csv(s, 3, kwh=lambda i: "1.0001" if i == 0 else "1"), 2, "energy_kwh"),
    # a 10 MW plant delivers at most 2,500 kWh in 15 minutes
    "ABOVE_CAPACITY": (lambda s: generation_csv(s, 3, kwh=lambda i: "2500.001" if i == 1 else "2500"), 3, "energy_kwh"),
    "DUPLICATE_INTERVAL": (lambda s: generation_csv(s, 3) + _row(s).encode(), 5, "interval_start"),
    "BAD_QUALITY": (
        lambda s: b"interval_start,interval_end,energy_kwh,quality\n" + _row(s).replace("\n", ",guess\n").encode(),
        2,
        "quality",
    ),
    "NO_ROWS": (lambda s: b"interval_start,interval_end,energy_kwh\n", 2, ""),
}


@pytest.mark.parametrize("code", list(BAD_FILES))
async def test_a_bad_file_is_refused_whole_naming_row_and_field(services, http, code):
    # given: an accepted PPA whose period starts two months ago
    world = await make_ppa_world(services)
    build, row, field = BAD_FILES[code]
    data = build(world.period[0])
    # when
    out = await submit_and_run(services, http, world, data)
    # then: rejected with the rule's code at that row and field; nothing stored
    upload = out["upload"]
    assert upload["status"] == "REJECTED", upload
    assert {"row": row, "field": field, "code": code} in [
        {k: e[k] for k in ("row", "field", "code")} for e in upload["errors"]
    ], upload["errors"]
    assert upload["rowsAccepted"] == 0
    assert await stored(services, world) == 0


async def test_intervals_already_stored_for_the_contract_refuse_the_second_file(services, http):
    # given: a stored day
    world = await make_ppa_world(services)
    start = month_start(1)
    first = await submit_and_run(services, http, world, generation_csv(start, 96))
    assert first["upload"]["status"] == "COMPLETED"
    # when: a file overlapping it by one interval
    out = await submit_and_run(services, http, world, generation_csv(start + timedelta(hours=23, minutes=45), 4))
    # then
    errors = out["upload"]["errors"]
    assert out["upload"]["status"] == "REJECTED"
    assert errors[0]["code"] == "ALREADY_STORED" and errors[0]["row"] == 2 and errors[0]["field"] == "interval_start"
    assert await stored(services, world) == 96


async def test_hourly_files_are_checked_against_an_hour_of_capacity(services, http):
    world = await make_ppa_world(services)
    start = month_start(1)
    ok = await submit_and_run(
        services, http, world, generation_csv(start, 24, resolution_s=3600, kwh=lambda i: "10000")
    )
    assert ok["upload"]["status"] == "COMPLETED" and ok["upload"]["resolutionSeconds"] == 3600
    bad = await submit_and_run(
        services, http, world, generation_csv(start + timedelta(days=1), 2, resolution_s=3600, kwh=lambda i: "10001")
    )
    assert bad["upload"]["errors"][0]["code"] == "ABOVE_CAPACITY"


async def test_an_upload_whose_job_fails_ends_failed_and_stores_nothing(services, http, monkeypatch):
    world = await make_ppa_world(services)
    session = await login(http, world.developer.email)
    response = await upload(http, session, world.connection_id, generation_csv(month_start(1), 4))
    upload_id = response.json()["upload_id"]

    async def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("workers.jobs.generation.finish_upload", broken)
    result = await import_generation({"services": services}, str(world.developer.id), upload_id)
    assert result["status"] == "failed"
    async with services.db.tenant(world.developer.tenant.scope()) as db:
        row = await db.get(SettlementUpload, uuid.UUID(upload_id))
        assert row.status.value == "failed" and row.errors[0]["code"] == "IMPORT_FAILED"
    assert await stored(services, world) == 0


async def test_an_upload_for_a_contract_not_of_the_developer_is_refused(services, http):
    world = await make_ppa_world(services)
    other = await make_ppa_world(services)
    session = await login(http, world.developer.email)
    response = await upload(http, session, other.connection_id, generation_csv(month_start(1), 4))
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "CONNECTION_NOT_FOUND"
    assert await stored(services, other) == 0


async def statement(http, session, connection_id, **form):
    data = {
        "reference": "ST-1",
        "period_start": month_start(1).isoformat(),
        "period_end": month_start(0).isoformat(),
        "volume_mwh": "812.5",
    } | form
    return await http.post(
        f"/developers/v1/connections/{connection_id}/statements",
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
        files={
            "file": ("statement.pdf", b"%PDF-1.4 settlement statement " + data["reference"].encode(), "application/pdf")
        },
        data=data,
    )


async def test_a_settlement_statement_is_filed_with_its_document_period_and_volume(services, http):
    world = await make_ppa_world(services)
    session = await login(http, world.developer.email)
    response = await statement(http, session, world.connection_id)
    assert response.status_code == 201, response.text
    body = await session.gql(
        operation("ContractSettlement"), {"connectionId": gid("PpaConnection", world.connection_id)}
    )
    data = body["data"]["contractSettlement"]
    assert [s["volumeMwh"] for s in data["statements"]] == [812.5]
    assert data["statements"][0]["sha256"] in [d["sha256"] for d in data["documents"]]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"volume_mwh": "-1"}, "volumeMwh"),
        ({"volume_mwh": "lots"}, "volume_mwh"),
        ({"period_start": "2020-01-01T00:00:00+00:00"}, "periodStart"),
        ({"period_end": "yesterday"}, "period_end"),
        ({"reference": ""}, "reference"),
    ],
)
async def test_a_bad_statement_is_refused_naming_the_field_and_nothing_is_stored(services, http, form, field):
    world = await make_ppa_world(services)
    session = await login(http, world.developer.email)
    response = await statement(http, session, world.connection_id, **form)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.json()
    async with services.db.tenant(world.developer.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(SettlementStatement)) == 0
