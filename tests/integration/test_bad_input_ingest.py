"""Bad input on the ingest path: every case is refused with a 4xx (or a rejected import report)
naming the item, and nothing is stored (rows counted before and after)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.evidence.models import EvidenceDocument
from backend.ingest.models import ConnectorAgent, CounterReading, FileImport, IngestBatch, ReadingConflict
from tests.factories.site import Plant, make_plant
from tests.factories.tenants import TenantWithOwner, client_token, login, make_client, make_tenant
from tests.integration.test_file_import import MAPPING, csv_text
from workers.jobs.imports import import_file

NOW = datetime.now(UTC)
GOOD = {
    "meter": "SUB1",
    "quantity": "active_energy_import",
    "unit": "kWh",
    "ts": (NOW - timedelta(minutes=10)).isoformat(),
    "value": 1.0,
}


@dataclass
class Site:
    owner: TenantWithOwner
    plant: Plant
    token: str
    cookies: Any
    csrf: str


@pytest.fixture(scope="module")
async def site(services, app) -> Site:
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    client_id, secret = await make_client(services, owner, ["ingest"], installation_id=plant.installation_id)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        token = await client_token(http, client_id, secret, "ingest")
        session = await login(http, owner.email)
    return Site(owner, plant, token, session.cookies, session.csrf)


async def counts(services, site: Site) -> dict[str, int]:
    tables = {
        "readings": CounterReading,
        "batches": IngestBatch,
        "conflicts": ReadingConflict,
        "agents": ConnectorAgent,
        "imports": FileImport,
        "documents": EvidenceDocument,
        "audit": AuditEntry,
    }
    async with services.db.tenant(site.owner.tenant.scope()) as db:
        return {name: int(await db.scalar(select(func.count()).select_from(t))) for name, t in tables.items()}


def delivery(*readings: dict[str, Any], **fields: Any) -> bytes:
    return json.dumps({"agent_id": "plant-agent", "readings": list(readings), **fields}).encode()


def reading(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def two_members(body: bytes) -> bytes:
    return gzip.compress(body) + gzip.compress(b'{"agent_id": "x", "readings": []}')


GZIP = {"Content-Encoding": "gzip"}

# (id, body, extra headers, field named, code named or None)
READINGS_CASES: list[tuple[str, bytes, dict[str, str], str, str | None]] = [
    ("not-json", b"{not json", {}, "body", None),
    ("json-array", b"[]", {}, "body", None),
    ("not-utf8", b'{"agent_id": "\xff\xfe", "readings": []}', {}, "body", None),
    ("not-utf8-in-gzip", gzip.compress(b'{"agent_id": "\xc3\x28", "readings": []}'), GZIP, "body", None),
    ("gzip-second-member", two_members(delivery(GOOD)), GZIP, "body", None),
    ("gzip-trailing-garbage", gzip.compress(delivery(GOOD)) + b"garbage", GZIP, "body", None),
    ("gzip-truncated", gzip.compress(delivery(GOOD))[:-12], GZIP, "body", None),
    ("gzip-not-gzip", b"\x1f\x8bnot gzip", GZIP, "body", None),
    ("encoding-unknown", delivery(GOOD), {"Content-Encoding": "br"}, "Content-Encoding", None),
    ("agent-id-1mib", delivery(GOOD, agent_id="a" * (1024 * 1024)), {}, "agent_id", None),
    ("agent-id-empty", delivery(GOOD, agent_id=""), {}, "agent_id", None),
    ("agent-id-nul", delivery(GOOD, agent_id="pla\x00nt"), {}, "agent_id", None),
    ("agent-id-number", delivery(GOOD, agent_id=7), {}, "agent_id", None),
    ("agent-version-long", delivery(GOOD, agent_version="1." * 100), {}, "agent_version", None),
    (
        "readings-not-list",
        delivery(readings={"a": 1}) if False else b'{"agent_id":"a","readings":{}}',
        {},
        "readings",
        None,
    ),
    ("reading-null", delivery(None), {}, "readings.0", None),  # type: ignore[arg-type]
    ("meter-long", delivery(GOOD, reading(meter="M" * 65)), {}, "readings.1.meter", None),
    ("meter-number", delivery(reading(meter=5)), {}, "readings.0.meter", None),
    ("meter-nul", delivery(reading(meter="SUB\x001")), {}, "meter", "UNKNOWN_METER"),
    ("quantity-long", delivery(reading(quantity="q" * 65)), {}, "readings.0.quantity", None),
    ("quantity-undeclared", delivery(reading(quantity="voltage_l1n", unit="V")), {}, "quantity", "UNKNOWN_DATA_POINT"),
    ("unit-long", delivery(reading(unit="k" * 17)), {}, "readings.0.unit", None),
    ("quality-unknown", delivery(reading(quality="excellent")), {}, "quality", "UNKNOWN_QUALITY"),
    ("reason-long", delivery(reading(value=None, quality="missing", reason="r" * 65)), {}, "readings.0.reason", None),
    (
        "reason-nul",
        delivery(reading(value=None, quality="missing", reason="time\x00out")),
        {},
        "reason",
        "NUL_CHARACTER",
    ),
    ("raw-17-words", delivery(reading(raw=[1] * 17)), {}, "readings.0.raw", None),
    ("raw-word-too-big", delivery(reading(raw=[70000])), {}, "raw", "NOT_REGISTER_WORDS"),
    ("raw-word-negative", delivery(reading(raw=[-1])), {}, "raw", "NOT_REGISTER_WORDS"),
    ("raw-word-huge", delivery(reading(raw=[2**70])), {}, "raw", "NOT_REGISTER_WORDS"),
    (
        "value-out-of-range",
        b'{"agent_id":"a","readings":['
        + json.dumps(reading()).encode().replace(b'"value": 1.0', b'"value": 1e999')
        + b"]}",
        {},
        "readings.0.value",
        None,
    ),
    ("value-string", delivery(reading(value="12")), {}, "readings.0.value", None),
    ("value-bool", delivery(reading(value=True)), {}, "readings.0.value", None),
    ("value-none-but-good", delivery(reading(value=None)), {}, "value", "MISSING_VALUE"),
    ("value-on-missing", delivery(reading(quality="missing")), {}, "value", "VALUE_ON_MISSING"),
    ("ts-year-1", delivery(reading(ts="0001-01-01T00:00:00Z")), {}, "ts", "TIMESTAMP_BEFORE_FLOOR"),
    ("ts-1970", delivery(reading(ts="1970-01-01T00:00:00Z")), {}, "ts", "TIMESTAMP_BEFORE_FLOOR"),
    ("ts-1999", delivery(reading(ts="1999-12-31T23:59:59Z")), {}, "ts", "TIMESTAMP_BEFORE_FLOOR"),
    ("ts-before-device", delivery(reading(ts="2024-06-01T00:00:00Z")), {}, "ts", "TIMESTAMP_BEFORE_INSTALLATION"),
    ("ts-year-9999", delivery(reading(ts="9999-12-31T23:59:59Z")), {}, "ts", "TIMESTAMP_IN_FUTURE"),
    ("ts-next-hour", delivery(reading(ts=(NOW + timedelta(hours=1)).isoformat())), {}, "ts", "TIMESTAMP_IN_FUTURE"),
    ("ts-naive", delivery(reading(ts="2026-01-01T00:00:00")), {}, "ts", "NAIVE_TIMESTAMP"),
    ("ts-words", delivery(reading(ts="yesterday")), {}, "readings.0.ts", None),
    ("ts-number", delivery(reading(ts=1767225600)), {}, "readings.0.ts", None),
    ("ts-year-0", delivery(reading(ts="0000-01-01T00:00:00Z")), {}, "readings.0.ts", None),
    (
        "one-bad-among-good",
        delivery(GOOD, reading(ts="1970-01-01T00:00:00Z", value=2.0)),
        {},
        "ts",
        "TIMESTAMP_BEFORE_FLOOR",
    ),
]


@pytest.mark.parametrize(
    ("body", "headers", "field", "code"), [c[1:] for c in READINGS_CASES], ids=[c[0] for c in READINGS_CASES]
)
async def test_bad_deliveries_are_refused_naming_the_item_and_store_nothing(
    services, http, site, body, headers, field, code
):
    before = await counts(services, site)
    response = await http.post(
        "/ingest/v1/readings",
        content=body,
        headers={"Authorization": f"Bearer {site.token}", "Content-Type": "application/json", **headers},
    )
    assert 400 <= response.status_code < 500, response.text
    errors = response.json()["errors"]
    assert errors[0]["field"] == field, errors
    if code is not None:
        assert errors[0]["code"] == code and "index" in errors[0], errors
    assert len(response.text) < 10_000  # a refused megabyte is not echoed back
    assert await counts(services, site) == before


async def test_a_gzip_bomb_is_refused_without_inflating_it_all(services, site):
    from tests.integration.test_bad_input import _app_with

    bomb = gzip.compress(b" " * (8 * 1024 * 1024))  # 8 MiB of blanks in ~8 KiB
    before = await counts(services, site)
    async with _app_with(services, ingest_max_body_bytes=1024 * 1024) as small:
        response = await small.post(
            "/ingest/v1/readings",
            content=bomb,
            headers={"Authorization": f"Bearer {site.token}", "Content-Encoding": "gzip"},
        )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body"
    assert "1048576 bytes" in response.json()["errors"][0]["message"]
    assert await counts(services, site) == before


async def test_a_batch_over_the_limit_is_refused_naming_it(services, site):
    from tests.integration.test_bad_input import _app_with

    before = await counts(services, site)
    async with _app_with(services, ingest_max_batch=2) as small:
        response = await small.post(
            "/ingest/v1/readings",
            content=delivery(GOOD, GOOD, GOOD),
            headers={"Authorization": f"Bearer {site.token}"},
        )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "readings"
    assert await counts(services, site) == before


STATUS = {"agent_id": "plant-agent", "reported_at": NOW.isoformat()}
DEVICE = {"name": "MAIN", "ok": True}

STATUS_CASES: list[tuple[str, bytes, dict[str, str], str]] = [
    ("not-json", b"{", {}, "body"),
    ("not-utf8", b'{"agent_id": "\xff", "reported_at": "2026-01-01T00:00:00Z"}', {}, "body"),
    ("gzip-second-member", two_members(json.dumps(STATUS).encode()), GZIP, "body"),
    ("agent-id-1mib", json.dumps({**STATUS, "agent_id": "a" * (1024 * 1024 - 100)}).encode(), {}, "agent_id"),
    ("agent-id-nul", json.dumps({**STATUS, "agent_id": "a\x00"}).encode(), {}, "agent_id"),
    ("agent-version-long", json.dumps({**STATUS, "agent_version": "v" * 33}).encode(), {}, "agent_version"),
    ("reported-at-words", json.dumps({**STATUS, "reported_at": "now"}).encode(), {}, "reported_at"),
    ("buffer-depth-2-64", json.dumps({**STATUS, "buffer_depth": 2**64}).encode(), {}, "buffer_depth"),
    ("buffer-depth-2-63", json.dumps({**STATUS, "buffer_depth": 2**63}).encode(), {}, "buffer_depth"),
    ("buffer-depth-negative", json.dumps({**STATUS, "buffer_depth": -1}).encode(), {}, "buffer_depth"),
    ("rejected-count-2-31", json.dumps({**STATUS, "rejected_count": 2**31}).encode(), {}, "rejected_count"),
    ("devices-1001", json.dumps({**STATUS, "devices": [DEVICE] * 1001}).encode(), {}, "devices"),
    (
        "device-name-nul",
        json.dumps({**STATUS, "devices": [{**DEVICE, "name": "M\x00"}]}).encode(),
        {},
        "devices.0.name",
    ),
    (
        "device-name-long",
        json.dumps({**STATUS, "devices": [{**DEVICE, "name": "M" * 201}]}).encode(),
        {},
        "devices.0.name",
    ),
    (
        "device-error-long",
        json.dumps({**STATUS, "devices": [{**DEVICE, "last_error": "e" * 2001}]}).encode(),
        {},
        "devices.0.last_error",
    ),
    ("device-ok-string", json.dumps({**STATUS, "devices": [{**DEVICE, "ok": "yes"}]}).encode(), {}, "devices.0.ok"),
]


@pytest.mark.parametrize(("body", "headers", "field"), [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES])
async def test_bad_status_reports_are_refused_naming_the_field_and_store_nothing(
    services, http, site, body, headers, field
):
    before = await counts(services, site)
    response = await http.post(
        "/ingest/v1/status",
        content=body,
        headers={"Authorization": f"Bearer {site.token}", "Content-Type": "application/json", **headers},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["errors"][0]["field"] == field, response.text
    assert await counts(services, site) == before


# --- file imports: refused at submission, or rejected by the import with a report ------------------


def _mapping(**changes: Any) -> str:
    return json.dumps({**MAPPING, **changes})


def _column(**changes: Any) -> dict[str, Any]:
    return {**MAPPING["columns"][0], **changes}  # type: ignore[index]


SUBMIT_CASES: list[tuple[str, bytes, str, str | None, str]] = [
    ("mapping-not-json", csv_text([]), "{", None, "mapping"),
    ("mapping-nul-in-column", csv_text([]), _mapping(columns=[_column(column="Pre\x00sse")]), None, "mapping"),
    ("mapping-column-long", csv_text([]), _mapping(columns=[_column(column="P" * 201)]), None, "mapping"),
    ("mapping-501-columns", csv_text([]), _mapping(columns=[_column()] * 501), None, "mapping"),
    ("mapping-timezone", csv_text([]), _mapping(timezone="Mars/Olympus"), None, "mapping.timezone"),
    ("mapping-unknown-meter", csv_text([]), _mapping(columns=[_column(meter="NOPE")]), None, "mapping.columns.0.meter"),
    ("installation-not-uuid", csv_text([]), _mapping(), "not-a-uuid", "installation_id"),
    ("file-not-utf8", b"Zeit;Presse 1 [kWh]\n\xff\xfe;1\n", _mapping(), None, "file"),
]


@pytest.mark.parametrize(
    ("data", "mapping", "installation", "field"), [c[1:] for c in SUBMIT_CASES], ids=[c[0] for c in SUBMIT_CASES]
)
async def test_bad_file_submissions_are_refused_naming_the_field(
    services, http, site, data, mapping, installation, field
):
    before = await counts(services, site)
    response = await http.post(
        "/ingest/v1/files",
        cookies=site.cookies,
        headers={"X-CSRF-Token": site.csrf},
        files={"file": ("scada.csv", data, "text/csv")},
        data={"mapping": mapping, "installation_id": installation or str(site.plant.installation_id)},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["errors"][0]["field"] == field, response.text
    assert await counts(services, site) == before


IMPORT_CASES: list[tuple[str, bytes, tuple[int, str, str]]] = [
    ("nul-in-value", csv_text([("01.03.2026 00:00", "1\x002", "2")]), (2, "Presse 1 [kWh]", "NOT_A_NUMBER")),
    ("field-over-csv-limit", csv_text([("01.03.2026 00:00", "9" * 140_000, "2")]), (2, "", "BAD_CSV")),
    ("value-1e999", csv_text([("01.03.2026 00:00", "1e999", "2")]), (2, "Presse 1 [kWh]", "NOT_FINITE")),
    ("value-nan", csv_text([("01.03.2026 00:00", "NaN", "2")]), (2, "Presse 1 [kWh]", "NOT_FINITE")),
    ("ts-year-1", csv_text([("01.01.0001 00:00", "1", "2")]), (2, "Zeit", "TIMESTAMP_BEFORE_FLOOR")),
    (
        "ts-before-device",
        csv_text([("01.06.2024 00:00", "1", "2")]),
        (2, "Presse 1 [kWh]", "TIMESTAMP_BEFORE_INSTALLATION"),
    ),
    ("ts-year-9999", csv_text([("31.12.9999 00:00", "1", "2")]), (2, "Zeit", "TIMESTAMP_IN_FUTURE")),
    ("ts-words", csv_text([("tomorrow", "1", "2")]), (2, "Zeit", "BAD_TIMESTAMP")),
    (
        "conflicting-duplicate-rows",
        csv_text([("01.03.2026 00:00", "1", "2"), ("01.03.2026 00:00", "5", "2")]),
        (3, "Presse 1 [kWh]", "DUPLICATE_TIMESTAMP"),
    ),
    ("header-only", csv_text([]), (2, "", "NO_ROWS")),
    ("missing-column", b"Zeit;Presse 1 [kWh]\n01.03.2026 00:00;1\n", (1, "Presse 2 [kWh]", "MISSING_COLUMN")),
]


@pytest.mark.parametrize(("data", "first"), [c[1:] for c in IMPORT_CASES], ids=[c[0] for c in IMPORT_CASES])
async def test_bad_files_are_rejected_with_a_report_naming_the_row_and_store_nothing(services, http, site, data, first):
    response = await http.post(
        "/ingest/v1/files",
        cookies=site.cookies,
        headers={"X-CSRF-Token": site.csrf},
        files={"file": ("scada.csv", data, "text/csv")},
        data={"mapping": json.dumps(MAPPING), "installation_id": str(site.plant.installation_id)},
    )
    assert response.status_code == 202, response.text
    before = await counts(services, site)
    result = await import_file({"services": services}, str(site.owner.id), response.json()["import_id"])
    assert result["status"] == "rejected" and result["accepted"] == 0
    async with services.db.tenant(site.owner.tenant.scope()) as db:
        job = await db.get(FileImport, response.json()["import_id"])
    assert job is not None
    error = job.errors[0]
    assert (error["row"], error["column"], error["code"]) == first
    after = await counts(services, site)
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}


async def test_a_conflicting_reading_stores_nothing_new_and_is_named(services, http, site):
    first = reading(ts=(NOW - timedelta(minutes=20)).isoformat(), meter="SUB2", value=7.0)
    headers = {"Authorization": f"Bearer {site.token}"}
    assert (await http.post("/ingest/v1/readings", content=delivery(first), headers=headers)).status_code == 200
    before = await counts(services, site)
    response = await http.post("/ingest/v1/readings", content=delivery({**first, "value": 8.0}), headers=headers)
    assert response.status_code == 200
    assert [(c["index"], c["stored_value"], c["value"]) for c in response.json()["conflicts"]] == [(0, 7.0, 8.0)]
    after = await counts(services, site)
    assert after["readings"] == before["readings"] and after["conflicts"] == before["conflicts"] + 1
