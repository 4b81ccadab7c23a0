"""Bad input to grants, shared reads and evidence uploads: a 4xx (or a payload error) naming the field,
and nothing stored: no grant, no document, no object, no audit entry."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.evidence.models import EvidenceDocument
from backend.sharing.models import Grant
from backend.tenants.models import TenantKind
from tests.factories.site import make_plant
from tests.factories.tenants import login, make_client, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.integration.test_evidence import _objects
from tests.operations import operation

NOW = datetime.now(UTC)
LATER = (NOW + timedelta(days=30)).isoformat()


@pytest.fixture
async def world(services, http) -> dict[str, Any]:
    a = await make_tenant(services, TenantKind.EXPORTER)
    b = await make_tenant(services, TenantKind.IMPORTER)
    plant = await make_plant(services, a)
    client_id, _ = await make_client(services, b, ["site:read"])
    return {"a": a, "b": b, "plant": plant, "b_client": client_id, "session": await login(http, a.email)}


async def _stored(services, a) -> tuple[int, int, int, int]:
    async with services.db.platform_session() as platform:
        grants = await platform.scalar(select(func.count()).select_from(Grant).where(Grant.grantor_tenant_id == a.id))
    async with services.db.tenant(a.tenant.scope()) as db:
        audit = await db.scalar(select(func.count()).select_from(AuditEntry))
        docs = await db.scalar(select(func.count()).select_from(EvidenceDocument))
    return int(grants or 0), int(audit or 0), int(docs or 0), len(await _objects(a))


def _fields(body: dict[str, Any]) -> str:
    """Every field an answer names: payload errors, error extensions, and messages (GraphQL input errors)."""
    parts: list[str] = []
    for error in body.get("errors") or []:
        parts += [str((error.get("extensions") or {}).get("field")), error.get("message", "")]
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict):
            for error in payload.get("errors") or []:
                parts += [str(error.get("field")), error.get("message", "")]
    return " | ".join(parts)


def _grant_input(w: dict[str, Any], **changes: Any) -> dict[str, Any]:
    base = {"granteeId": gid("Organization", w["b"].id), "resourceKinds": ["EVIDENCE"], "expiresAt": LATER}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


GRANT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown grantee": ({"granteeId": "ORG"}, "granteeId"),
    "grantee not an organisation": ({"granteeId": "INSTALLATION_ID"}, "granteeId"),
    "no kinds": ({"resourceKinds": []}, "resourceKinds"),
    "contract kind by hand": ({"resourceKinds": ["PPA_CONTRACT"]}, "resourceKinds"),
    "unknown kind": ({"resourceKinds": ["EVERYTHING"]}, "resourceKinds"),
    "expired": ({"expiresAt": (NOW - timedelta(hours=1)).isoformat()}, "expiresAt"),
    "expiry without offset": ({"expiresAt": "2030-01-01T00:00:00"}, "expiresAt"),
    "expiry not a time": ({"expiresAt": "next tuesday"}, "expiresAt"),
    "expiry in year 9999": ({"expiresAt": "9999-12-31T00:00:00+00:00"}, "expiresAt"),
    "period reversed": (
        {"periodStart": "2026-02-01T00:00:00+00:00", "periodEnd": "2026-01-01T00:00:00+00:00"},
        "periodEnd",
    ),
    "period on the site model": (
        {"resourceKinds": ["INSTALLATION"], "periodStart": "2026-01-01T00:00:00+00:00"},
        "periodStart",
    ),
    "period start without offset": ({"periodStart": "2026-01-01T00:00:00"}, "periodStart"),
    "purpose too long": ({"purpose": "x" * 501}, "purpose"),
    "purpose with NUL": ({"purpose": "audit\x00"}, "purpose"),
    "unknown client": ({"granteeClientId": "cbx_nobody"}, "granteeClientId"),
    "client id too long": ({"granteeClientId": "c" * 5000}, "granteeClientId"),
    "client id with NUL": ({"granteeClientId": "cbx\x00"}, "granteeClientId"),
    "unknown installation": ({"installationIds": ["UNKNOWN_INSTALLATION"]}, "installationIds.0"),
    "installation id of a meter": ({"installationIds": ["METER"]}, "installationIds"),
    "too many installations": ({"installationIds": ["MANY"]}, "installationIds"),
}


def _resolve(w: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    plant = w["plant"]
    symbols = {
        "ORG": gid("Organization", uuid.uuid4()),
        "INSTALLATION_ID": gid("Installation", plant.installation_id),
        "UNKNOWN_INSTALLATION": gid("Installation", uuid.uuid4()),
        "METER": gid("Meter", plant.meters["MAIN"]),
    }
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if value == ["MANY"]:
            out[key] = [gid("Installation", uuid.uuid4()) for _ in range(101)]
        elif isinstance(value, list):
            out[key] = [symbols.get(v, v) for v in value]
        else:
            out[key] = symbols.get(value, value) if isinstance(value, str) else value
    return out


GRANT_CASES["malformed global id"] = ({"granteeId": "%%%not-an-id"}, "granteeId")


@pytest.mark.parametrize("case", list(GRANT_CASES))
async def test_bad_grant_input_is_refused_naming_the_field_and_nothing_is_stored(services, world, case):
    # given
    changes, field = GRANT_CASES[case]
    before = await _stored(services, world["a"])
    # when
    body = await world["session"].gql(
        operation("CreateGrant"), {"input": _grant_input(world, **_resolve(world, changes))}
    )
    # then
    assert not (body.get("data") or {}).get("createGrant", {}) or body["data"]["createGrant"]["grant"] is None, body
    assert field in _fields(body), body
    assert await _stored(services, world["a"]) == before


@pytest.mark.parametrize(
    ("grant_id", "field"),
    [("unknown", "id"), ("installation", "id"), ("garbage", "id")],
)
async def test_revoking_what_is_not_a_grant_names_the_id(services, world, grant_id, field):
    # given
    before = await _stored(services, world["a"])
    value = {
        "unknown": gid("Grant", uuid.uuid4()),
        "installation": gid("Installation", world["plant"].installation_id),
        "garbage": gid("Grant", "not-a-uuid"),
    }[grant_id]
    # when
    body = await world["session"].gql(operation("RevokeGrant"), {"input": {"id": value}})
    # then
    assert body["data"]["revokeGrant"]["grant"] is None
    assert body["data"]["revokeGrant"]["errors"][0]["field"] == field
    assert await _stored(services, world["a"]) == before


SHARED_CASES = {
    "series end before start": (
        "SharedIntervalSeries",
        {"meterId": "METER", "start": "2026-01-02T00:00:00+00:00", "end": "2026-01-01T00:00:00+00:00"},
        "end",
    ),
    "series without offset": (
        "SharedIntervalSeries",
        {"meterId": "METER", "start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00"},
        "start",
    ),
    "series too long": (
        "SharedIntervalSeries",
        {"meterId": "METER", "start": "2020-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"},
        "end",
    ),
    "balance of a meter id": (
        "SharedBalanceReport",
        {"installationId": "METER", "start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"},
        "installationId",
    ),
    "grantor not an organisation": ("SharedEvidence", {"grantorId": "INSTALLATION_ID"}, "grantorId"),
    "lookup blank": ("OrganizationLookup", {"lookup": "   "}, "lookup"),
    "lookup with NUL": ("OrganizationLookup", {"lookup": "alu\x00"}, "lookup"),
}


@pytest.mark.parametrize("case", list(SHARED_CASES))
async def test_bad_input_to_shared_reads_names_the_argument_and_records_no_use(services, world, case):
    # given: B reads A's data under a live grant of every readable kind
    from backend.identity.principal import Principal
    from backend.sharing.grants import NewGrant, create_grant
    from backend.sharing.models import ResourceKind

    async with services.db.platform() as platform:
        await create_grant(
            platform,
            Principal.system("t", world["a"].id),
            grantor=world["a"].tenant,
            data=NewGrant(
                grantee_tenant_id=world["b"].id,
                resource_kinds=[ResourceKind.INTERVAL_DATA, ResourceKind.EVIDENCE],
                expires_at=NOW + timedelta(days=1),
            ),
        )
    name, variables, field = SHARED_CASES[case]
    resolved = _resolve(world, variables)
    resolved.setdefault("grantorId", gid("Organization", world["a"].id))
    session = await login(world["session"].http, world["b"].email)
    before = await _stored(services, world["a"])
    # when
    body = await session.gql(operation(name), resolved)
    # then
    assert body.get("errors"), body
    assert field in _fields(body), body
    assert await _stored(services, world["a"]) == before


def _pdf() -> bytes:
    return f"%PDF-1.4 {uuid.uuid4()}".encode()


UPLOAD_CASES: dict[str, tuple[dict[str, Any], Any, str]] = {
    # name: (form fields, file part (name, bytes, type) or None, field)
    "no file": ({"kind": "ppa", "title": "t"}, None, "file"),
    "empty file": ({"kind": "ppa", "title": "t"}, ("a.pdf", b"", "application/pdf"), "file"),
    "unknown kind": ({"kind": "love_letter", "title": "t"}, "PDF", "kind"),
    "kind with NUL": ({"kind": "ppa\x00", "title": "t"}, "PDF", "kind"),
    "type not accepted": (
        {"kind": "ppa", "title": "t"},
        ("a.exe", b"MZ\x90\x00", "application/x-msdownload"),
        "contentType",
    ),
    "not what it claims": ({"kind": "ppa", "title": "t"}, ("a.pdf", b"GIF89a", "application/pdf"), "file"),
    "text not UTF-8": ({"kind": "ppa", "title": "t"}, ("a.txt", b"\xff\xfe\xfa", "text/plain"), "file"),
    "title too long": ({"kind": "ppa", "title": "t" * 301}, "PDF", "title"),
    "title with NUL": ({"kind": "ppa", "title": "PPA\x002026"}, "PDF", "title"),
    "description too long": ({"kind": "ppa", "title": "t", "description": "d" * 10_001}, "PDF", "description"),
    "filename too long": ({"kind": "ppa", "title": "t"}, ("f" * 300 + ".pdf", "PDF", "application/pdf"), "filename"),
    "subjects not JSON": ({"kind": "ppa", "title": "t", "subjects": "[{"}, "PDF", "subjects"),
    "subjects a string": ({"kind": "ppa", "title": "t", "subjects": '"meter"'}, "PDF", "subjects"),
    "subject of unknown kind": (
        {"kind": "ppa", "title": "t", "subjects": '[{"kind": "planet", "id": "x"}]'},
        "PDF",
        "subjects.0.kind",
    ),
    "subject that does not exist": (
        {"kind": "ppa", "title": "t", "subjects": json.dumps([{"kind": "meter", "id": str(uuid.uuid4())}])},
        "PDF",
        "subjects.0.id",
    ),
    "subject id huge": (
        {"kind": "ppa", "title": "t", "subjects": json.dumps([{"kind": "meter", "id": "9" * 100_000}])},
        "PDF",
        "subjects.0.id",
    ),
    "too many subjects": (
        {"kind": "ppa", "title": "t", "subjects": json.dumps([{"kind": "meter", "id": str(uuid.uuid4())}] * 51)},
        "PDF",
        "subjects",
    ),
    "period start not a time": ({"kind": "ppa", "title": "t", "period_start": "soon"}, "PDF", "periodStart"),
    "period start without offset": (
        {"kind": "ppa", "title": "t", "period_start": "2026-01-01T00:00:00"},
        "PDF",
        "periodStart",
    ),
    "period end without start": (
        {"kind": "ppa", "title": "t", "period_end": "2026-01-01T00:00:00+00:00"},
        "PDF",
        "periodStart",
    ),
    "period reversed": (
        {
            "kind": "ppa",
            "title": "t",
            "period_start": "2026-02-01T00:00:00+00:00",
            "period_end": "2026-01-01T00:00:00+00:00",
        },
        "PDF",
        "periodEnd",
    ),
}


@pytest.mark.parametrize("case", list(UPLOAD_CASES))
async def test_bad_upload_is_refused_naming_the_field_and_nothing_is_stored(services, http, world, case):
    # given
    form, file_part, field = UPLOAD_CASES[case]
    if file_part == "PDF":
        file_part = ("a.pdf", _pdf(), "application/pdf")
    elif file_part is not None and file_part[1] == "PDF":
        file_part = (file_part[0], _pdf(), file_part[2])
    session = world["session"]
    before = await _stored(services, world["a"])
    # when
    response = await http.post(
        "/evidence/",
        data=form,
        files={"file": file_part} if file_part else {"other": ("x", b"x", "text/plain")},
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
    )
    # then
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    named = [body.get("field")] + [e.get("field") for e in body.get("errors", [])]
    assert field in named, body
    assert await _stored(services, world["a"]) == before
