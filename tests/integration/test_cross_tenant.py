"""Tenant A's people and clients, pointed at tenant B's resources, are refused everywhere.

Every trusted GraphQL operation and every REST route has a case here; a new operation or
route without one fails ``test_every_operation_has_a_case`` / ``test_every_route_has_a_case``.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, upload_document
from backend.identity.principal import Principal
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.site import make_plant
from tests.factories.tenants import Bearer, basic, client_token, login, make_client, make_tenant
from tests.operations import all_operations, operation


def gid(type_name: str, value: object) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


@pytest.fixture
async def world(services, http) -> dict[str, Any]:
    a = await make_tenant(services, TenantKind.EXPORTER)
    b = await make_tenant(services, TenantKind.EXPORTER)
    c = await make_tenant(services, TenantKind.VERIFIER)
    plant_a = await make_plant(services, a)
    plant_b = await make_plant(services, b, meters=("B-MAIN-X9", "B-SUB-X9"))
    async with services.db.tenant(b.tenant.scope()) as db:
        doc, _ = await upload_document(
            db,
            services.store,
            b.principal,
            NewDocument(
                data=b"%PDF-1.4 tenant b contract",
                filename="b.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.PPA,
                title="B secret PPA",
            ),
            max_bytes=10_000_000,
        )
    async with services.db.platform() as session:
        grant = await create_grant(
            session,
            Principal.system("t", b.id),
            grantor=b.tenant,
            data=NewGrant(
                grantee_tenant_id=c.id,
                resource_kinds=[ResourceKind.INSTALLATION],
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )
    b_client_id, _ = await make_client(services, b, ["site:read"])
    a_client_id, a_secret = await make_client(
        services,
        a,
        ["site:read", "interval:read", "evidence:read", "audit:read", "grants:read", "ingest"],
        installation_id=plant_a.installation_id,
    )
    async with services.db.tenant(b.tenant.scope()) as db:
        conflict_b = await _reading_conflict(db, plant_b.installation_id)
        b_audit = await db.scalar(select(func.count()).select_from(AuditEntry))
    return {
        "a": a,
        "b": b,
        "c": c,
        "plant_a": plant_a,
        "plant_b": plant_b,
        "doc_b": doc,
        "grant_b": grant,
        "b_client_id": b_client_id,
        "a_client": (a_client_id, a_secret),
        "b_audit_count": b_audit,
        "conflict_b": conflict_b,
    }


async def _reading_conflict(db: Any, installation_id: Any) -> Any:
    """An open reading conflict of an installation, written as the ingest path records one."""
    import uuid

    from backend.ingest.models import ReadingConflict
    from backend.metering.models import DataPoint, Meter

    point = (
        await db.execute(select(DataPoint.id).join(Meter).where(Meter.installation_id == installation_id).limit(1))
    ).scalar_one()
    conflict = ReadingConflict(
        installation_id=installation_id,
        data_point_id=point,
        ts=datetime.now(UTC),
        stored_value=1.0,
        received_value=2.0,
        received_quality=0,
        batch_id=uuid.uuid4(),
        item_index=0,
        source="agent",
    )
    db.add(conflict)
    await db.flush()
    return conflict.id


def cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variables per operation, all pointing at tenant B; `refused` means an error must come back."""
    b, pb = w["b"], w["plant_b"]
    inst_b = gid("Installation", pb.installation_id)
    meter_b = gid("Meter", pb.meters["B-MAIN-X9"])
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    past = datetime.fromtimestamp(int(datetime.now(UTC).timestamp()) // 86_400 * 86_400 - 86_400, UTC).isoformat()
    return {
        "Viewer": {"vars": {}, "refused": False},
        "Clients": {"vars": {}, "refused": False},
        "CreateClient": {
            "vars": {"input": {"name": "x", "scopes": ["ingest"], "installationId": inst_b}},
            "refused": True,
        },
        "RotateClientSecret": {"vars": {"input": {"clientId": w["b_client_id"]}}, "refused": True},
        "RevokeClient": {"vars": {"input": {"clientId": w["b_client_id"]}}, "refused": True},
        "InviteMember": {"vars": {"input": {"email": "x@example.com", "role": "VIEWER"}}, "refused": False},
        "Installations": {"vars": {}, "refused": False},
        "Installation": {"vars": {"id": inst_b}, "refused": True},
        "CreateInstallation": {"vars": {"input": {"name": "A plant", "country": "RS"}}, "refused": False},
        "UpdateInstallation": {
            "vars": {"input": {"id": inst_b, "details": {"name": "hijack", "country": "RS"}}},
            "refused": True,
        },
        "CreateProductionProcess": {
            "vars": {"input": {"installationId": inst_b, "code": "X", "name": "x"}},
            "refused": True,
        },
        "CreateProductionLine": {
            "vars": {"input": {"processId": gid("ProductionProcess", pb.process_id), "code": "X", "name": "x"}},
            "refused": True,
        },
        "CreateGridConnectionPoint": {
            "vars": {"input": {"installationId": inst_b, "code": "X", "name": "x"}},
            "refused": True,
        },
        "Meters": {"vars": {"installationId": inst_b}, "refused": True},
        "Meter": {"vars": {"id": meter_b}, "refused": True},
        "MeteringHierarchy": {"vars": {"installationId": inst_b}, "refused": True},
        "Connectors": {"vars": {"installationId": inst_b}, "refused": True},
        "QuarantinedBatches": {"vars": {"installationId": inst_b}, "refused": True},
        "CreateMeter": {
            "vars": {
                "input": {
                    "installationId": inst_b,
                    "code": "X",
                    "name": "x",
                    "medium": "ELECTRICITY",
                    "role": "SUB",
                    "parentId": meter_b,
                }
            },
            "refused": True,
        },
        "CreateVirtualMeter": {
            "vars": {
                "input": {
                    "installationId": inst_b,
                    "code": "V",
                    "name": "v",
                    "terms": [{"meterId": meter_b, "coefficient": 1.0}],
                }
            },
            "refused": True,
        },
        "ReplaceMeterDevice": {
            "vars": {
                "input": {
                    "meterId": meter_b,
                    "removedAt": future,
                    "finalReading": 1.0,
                    "newDevice": {"serialNumber": "N", "installedAt": future, "initialReading": 0.0},
                }
            },
            "refused": True,
        },
        "UpdateMeter": {"vars": {"input": {"id": meter_b, "name": "renamed by A"}}, "refused": True},
        "RetireMeter": {
            "vars": {"input": {"id": gid("Meter", pb.meters["B-SUB-X9"]), "retiredAt": past}},
            "refused": True,
        },
        "LiveValues": {"vars": {"meterId": meter_b}, "refused": True},
        "IntervalSeries": {"vars": {"meterId": meter_b, "start": past, "end": future}, "refused": True},
        "BalanceReport": {"vars": {"installationId": inst_b, "start": past, "end": future}, "refused": True},
        "GapsReport": {"vars": {"installationId": inst_b, "start": past, "end": future}, "refused": True},
        "EditInterval": {
            "vars": {
                "input": {
                    "meterId": meter_b,
                    "intervalStart": past,
                    "valueKwh": 1.0,
                    "reason": "hijack attempt",
                }
            },
            "refused": True,
        },
        "FileImports": {"vars": {"installationId": inst_b}, "refused": True},
        "ReadingConflicts": {"vars": {"installationId": inst_b}, "refused": True},
        "ResolveReadingConflict": {
            "vars": {"input": {"conflictId": gid("ReadingConflict", w["conflict_b"]), "resolution": "TAKE_NEW"}},
            "refused": True,
        },
        "EvidenceDocuments": {"vars": {}, "refused": False},
        "EvidenceDocument": {"vars": {"id": gid("EvidenceDocument", w["doc_b"].id)}, "refused": True},
        "AuditTrail": {"vars": {}, "refused": False},
        "AuditVerification": {"vars": {}, "refused": False},
        "GrantsGiven": {"vars": {}, "refused": False},
        "GrantsReceived": {"vars": {}, "refused": False},
        "CreateGrant": {
            "vars": {
                "input": {
                    "granteeId": gid("Organization", w["c"].id),
                    "resourceKinds": ["EVIDENCE"],
                    "expiresAt": future,
                    "installationIds": [inst_b],
                }
            },
            "refused": False,
        },
        "RevokeGrant": {"vars": {"input": {"id": gid("Grant", w["grant_b"].id)}}, "refused": True},
        "SharedInstallations": {"vars": {"grantorId": gid("Organization", b.id)}, "refused": True},
        "SharedEvidence": {"vars": {"grantorId": gid("Organization", b.id)}, "refused": True},
        "SharedInstallationDetails": {"vars": {"grantorId": gid("Organization", b.id)}, "refused": True},
    }


def refused(name: str, body: dict[str, Any]) -> bool:
    if body.get("errors"):
        return True
    payload = next(iter((body.get("data") or {}).values()), None)
    return isinstance(payload, dict) and bool(payload.get("errors"))


def leaks(body: dict[str, Any], w: dict[str, Any]) -> list[str]:
    text = json.dumps(body)
    secrets = [
        w["plant_b"].name,
        "B-MAIN-X9",
        "B secret PPA",
        str(w["b"].id),
        w["b"].tenant.slug,
        gid("Installation", w["plant_b"].installation_id),
        w["doc_b"].sha256,
    ]
    return [s for s in secrets if s in text]


async def test_every_operation_has_a_case(world):
    assert set(cases(world)) == set(all_operations())


@pytest.mark.parametrize("principal_kind", ["user", "client"])
async def test_tenant_a_cannot_reach_tenant_b_through_any_operation(services, http, world, principal_kind):
    # given: tenant A's owner (cookie session) or A's machine client (bearer token)
    if principal_kind == "user":
        caller = await login(http, world["a"].email)
    else:
        caller = Bearer(http, await client_token(http, *world["a_client"]))
    failures = []
    # when: every operation is called with B's ids
    for name, case in cases(world).items():
        body = await caller.gql(operation(name), case["vars"])
        # then: nothing of B comes back, and operations naming B's resources are refused
        if leaks(body, world):
            failures.append(f"{name} leaked {leaks(body, world)}")
        if case["refused"] and not refused(name, body):
            failures.append(f"{name} was not refused: {body}")
    assert failures == []
    # and B is unchanged: no new audit entries, its installation keeps its name
    async with services.db.tenant(world["b"].tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == world["b_audit_count"]


REST_CASES = {
    "/health/live": "public",
    "/health/ready": "public",
    "/.well-known/openid-configuration": "public",
    "/.well-known/jwks.json": "public",
    "/openapi": "public",
    "/": "public",
    "/docs/{path:path}": "public",
    "/static/{file_path:path}": "public",
    "/auth/login": "tested",
    "/auth/logout": "tested",
    "/auth/token": "tested",
    "/auth/switch-tenant": "tested",
    "/auth/invitations/accept": "tested",
    "/graphql": "tested",
    "/ingest/v1/readings": "tested",
    "/ingest/v1/status": "tested",
    "/ingest/v1/files": "tested",
    "/evidence": "tested",
    "/evidence/{document_id:str}/download": "tested",
    "/evidence/shared/{grantor_id:str}/{document_id:str}": "tested",
    "/evidence/blob/{key:path}": "tested",
}


def test_every_route_has_a_case(app):
    paths = {route.path for route in app.routes}
    documented = {p for p in paths if not p.startswith("/openapi/") and p != "/graphql/"}
    assert documented - set(REST_CASES) == set(), "add a cross-tenant case for these routes"


async def test_rest_endpoints_refuse_tenant_a_on_tenant_b(services, http, world):
    a, b = world["a"], world["b"]
    a_token = await client_token(http, *world["a_client"])
    bearer = {"Authorization": f"Bearer {a_token}"}
    # token endpoint: B's client id with A's secret
    response = await http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(world["b_client_id"], world["a_client"][1]),
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    # switching a session to B's organisation
    session = await login(http, a.email)
    response = await http.post(
        "/auth/switch-tenant",
        json={"tenant": b.tenant.slug},
        cookies=session.cookies,
        headers={"X-CSRF-Token": session.csrf},
    )
    assert response.status_code == 401 and response.json()["code"] == "NOT_A_MEMBER"
    # accepting an invitation needs B's token, which A never sees: a guessed token is refused
    response = await http.post("/auth/invitations/accept", json={"token": "guess", "name": "x", "password": "x" * 12})
    assert response.status_code == 422 and response.json()["code"] == "INVITATION_INVALID"
    # ingest with A's agent token naming B's meter: refused, nothing stored anywhere
    reading = {
        "meter": "B-MAIN-X9",
        "quantity": "active_energy_import",
        "unit": "kWh",
        "ts": datetime.now(UTC).isoformat(),
        "value": 1.0,
    }
    response = await http.post("/ingest/v1/readings", json={"agent_id": "a", "readings": [reading]}, headers=bearer)
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "UNKNOWN_METER"
    # status reports land in A's own schema
    response = await http.post(
        "/ingest/v1/status",
        headers=bearer,
        json={"agent_id": "a-agent", "reported_at": datetime.now(UTC).isoformat()},
    )
    assert response.status_code == 200
    # a file import into B's installation: not found for A's agent
    response = await http.post(
        "/ingest/v1/files",
        headers=bearer,
        files={"file": ("x.csv", b"t,v\n", "text/csv")},
        data={"mapping": "{}", "installation_id": str(world["plant_b"].installation_id)},
    )
    assert response.status_code == 403 and response.json()["code"] == "PERMISSION_DENIED"
    # B's document: not found for A, refused through the shared path without a grant
    response = await http.get(f"/evidence/{world['doc_b'].id}/download", headers=bearer)
    assert response.status_code == 404
    response = await http.get(f"/evidence/shared/{b.id}/{world['doc_b'].id}", headers=bearer)
    assert response.status_code == 403 and response.json()["code"] == "NO_LIVE_GRANT"
    # the local-store blob route never serves without a valid signature
    response = await http.get(f"/evidence/blob/{world['doc_b'].storage_key}?expires=9999999999&signature=00")
    assert response.status_code == 404
    # an upload by A goes to A's store and schema only
    response = await http.post(
        "/evidence/",
        headers=bearer,
        files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")},
        data={"kind": "scada_export", "title": "A export"},
    )
    assert response.status_code in (401, 403, 201)
    async with services.db.tenant(b.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == world["b_audit_count"]
    assert uuid.UUID(str(world["doc_b"].id))
