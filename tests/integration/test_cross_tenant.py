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
from backend.errors import ValidationFailed
from backend.evidence.models import EvidenceDocument, EvidenceKind
from backend.evidence.service import NewDocument, SubjectRef, upload_document
from backend.identity.principal import Principal
from backend.installations.schemas import ProcessData
from backend.installations.service import create_process
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.site import make_plant
from tests.factories.tenants import Bearer, basic, client_token, login, make_client, make_tenant
from tests.integration.calculations.cases import calculation_cases, calculation_world
from tests.integration.exchange.cases import exchange_cases, exchange_world
from tests.integration.verification.cases import verification_cases, verification_world
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
    supply = await _supply_world(services, b, plant_b)
    b_client_id, _ = await make_client(services, b, ["site:read"])
    a_client_id, a_secret = await make_client(
        services,
        a,
        ["site:read", "interval:read", "evidence:read", "audit:read", "grants:read", "ingest"],
        installation_id=plant_a.installation_id,
    )
    factors_b = await _factor_world(services, b, doc)
    async with services.db.tenant(b.tenant.scope()) as db:
        conflict_b = await _reading_conflict(db, plant_b.installation_id)
    certificates_b = await _certificates_of_b(services, b)
    calculations_b = await calculation_world(services, b)
    exchange_b = await exchange_world(services, b, calculations_b["footprint_b"])
    feeds_b = await _feeds_of_b(services, b, c)
    pact_b = await _pact_of_b(services, b)
    verification_b = await verification_world(services, b, c, calculations_b)
    async with services.db.tenant(b.tenant.scope()) as db:
        b_audit = await db.scalar(select(func.count()).select_from(AuditEntry))
    return {
        **certificates_b,
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
        **factors_b,
        **supply,
        **await _production_world(services, b, plant_b),
        **await _shipments_of_b(services, b, plant_b),
        **calculations_b,
        **exchange_b,
        **feeds_b,
        **pact_b,
        **verification_b,
    }


async def _pact_of_b(services: Any, b: Any) -> dict[str, Any]:
    """B's credentials for its own PACT host (where answers to its PACT requests go)."""
    from backend.pact import callbacks, inbox
    from backend.pact.service import parse_event

    data = callbacks.CredentialData("https://b-secret-pact.example", "B-SECRET-PACT-CLIENT", "B-SECRET-PACT")
    async with services.db.tenant(b.tenant.scope()) as db:
        credential = await callbacks.register_credentials(services, db, b.principal, data)
    # an event another host sent to B: in B's inbox only
    published = {
        "type": "org.wbcsd.pact.ProductFootprint.PublishedEvent.3",
        "specversion": "1.0",
        "id": "B-SECRET-INBOX-EVENT",
        "source": "https://b-secret-inbox.example",
        "time": "2026-12-03T08:00:00Z",
        "data": {"pfIds": [str(uuid.uuid4())]},
    }
    await inbox.receive(services, b.principal, parse_event(published, services.settings))
    return {
        "pact_credential_b": credential.id,
        "pact_secrets": [
            "b-secret-pact.example",
            "B-SECRET-PACT-CLIENT",
            "B-SECRET-PACT",
            "B-SECRET-INBOX-EVENT",
            "b-secret-inbox.example",
        ],
    }


def _pact_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "PactHostCredentials": {"vars": {}, "refused": False},
        # A's own credentials: never B's
        "RegisterPactHostCredential": {
            "vars": {"input": {"hostUrl": "https://a-pact.example", "clientId": "a", "clientSecret": "a"}},
            "refused": False,
        },
        "RemovePactHostCredential": {
            "vars": {"input": {"id": gid("PactHostCredential", w["pact_credential_b"])}},
            "refused": True,
        },
        "IncomingPactRequests": {"vars": {}, "refused": False},
        # A's own inbox: never the events other hosts sent B
        "ReceivedPactEvents": {"vars": {}, "refused": False},
        "PactFootprintRequest": {"vars": {"id": gid("FootprintRequest", w["request_b"])}, "refused": True},
    }


async def _feeds_of_b(services: Any, b: Any, c: Any) -> dict[str, Any]:
    """B's webhook endpoint and an event C sent to B, delivered to that endpoint."""
    from backend.feeds import FOOTPRINT_PUBLISHED, emit
    from backend.feeds import service as feeds
    from backend.feeds.schemas import EndpointData

    async with services.db.tenant(b.tenant.scope()) as db:
        endpoint = await feeds.create_endpoint(
            db,
            b.principal,
            EndpointData(url="https://b-secret-receiver.example/hook"),
            app_secret=services.settings.resolved_secret_key(),
        )
    async with services.db.tenant(c.tenant.scope()) as db:
        event_id = await emit(
            db,
            type=FOOTPRINT_PUBLISHED,
            source_tenant_id=c.id,
            recipient_tenant_id=b.id,
            subject="footprint/B-SECRET-FEED",
            data={"note": "B-SECRET-FEED"},
        )
    return {"endpoint_b": endpoint.endpoint.id, "event_b": event_id}


def _feed_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    endpoint_b = gid("WebhookEndpoint", w["endpoint_b"])
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    return {
        "FeedEvents": {"vars": {}, "refused": False},
        # over HTTP a subscription is refused whoever asks; over WebSocket: tests/integration/feeds
        "FeedEventsLive": {"vars": {}, "refused": True},
        "WebhookEndpoints": {"vars": {}, "refused": False},
        "WebhookEndpoint": {"vars": {"id": endpoint_b}, "refused": True},
        "WebhookDeliveries": {"vars": {"endpointId": endpoint_b}, "refused": True},
        "CreateWebhookEndpoint": {"vars": {"input": {"url": "https://a.example/hook"}}, "refused": False},
        "UpdateWebhookEndpoint": {"vars": {"input": {"id": endpoint_b, "url": "https://a.example/x"}}, "refused": True},
        "RotateWebhookEndpointSecret": {"vars": {"input": {"id": endpoint_b}}, "refused": True},
        "ReplayFeedEvent": {
            "vars": {"input": {"endpointId": endpoint_b, "eventId": str(w["event_b"])}},
            "refused": True,
        },
        "ReplayFailedDeliveries": {"vars": {"input": {"endpointId": endpoint_b, "since": since}}, "refused": True},
    }


# --- world data of the emission factor library -------------------------------------------------------------


async def _factor_world(services: Any, b: Any, disclosure: Any) -> dict[str, Any]:
    """B's own supplier-specific factor, disclosed by B's secret document, and B's own-generation factor."""
    from datetime import date
    from decimal import Decimal

    from backend.factors import service as factors
    from backend.factors.schemas import FuelUse, OwnGenerationData, SupplierFactorData

    contract, generator = uuid.uuid4(), uuid.uuid4()
    async with services.db.tenant(b.tenant.scope()) as db:
        supplier = await factors.add_supplier_factor(
            db, b.principal, SupplierFactorData(contract, Decimal("0.123"), date(2026, 1, 1), disclosure.id)
        )
        own = await factors.compute_own_generation_factor(
            db,
            b.principal,
            OwnGenerationData(
                generator,
                [FuelUse("natural_gas", Decimal("5"))],
                Decimal("20"),
                date(2026, 1, 1),
                date(2026, 2, 1),
                date(2026, 1, 1),
            ),
        )
    return {"factor_b": supplier, "own_factor_b": own, "contract_b": contract, "generator_b": generator}


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
        "SharedMeters": {"vars": {"grantorId": gid("Organization", b.id), "installationId": inst_b}, "refused": True},
        "SharedIntervalSeries": {
            "vars": {"grantorId": gid("Organization", b.id), "meterId": meter_b, "start": past, "end": future},
            "refused": True,
        },
        "SharedBalanceReport": {
            "vars": {"grantorId": gid("Organization", b.id), "installationId": inst_b, "start": past, "end": future},
            "refused": True,
        },
        "SharedGapsReport": {
            "vars": {"grantorId": gid("Organization", b.id), "installationId": inst_b, "start": past, "end": future},
            "refused": True,
        },
        "SharedAuditTrail": {"vars": {"grantorId": gid("Organization", b.id)}, "refused": True},
        "SharedAuditVerification": {"vars": {"grantorId": gid("Organization", b.id)}, "refused": True},
        "PartnerOrganizations": {"vars": {}, "refused": False},
        # an exact lookup answers only the organisation named; here one that does not exist
        "OrganizationLookup": {"vars": {"lookup": "no-such-organisation"}, "refused": True},
        # emission factors: B's own factors are private; published ones are everyone's
        "EmissionFactors": {"vars": {"filter": {"subject": str(w["contract_b"])}}, "refused": False},
        "EmissionFactor": {"vars": {"id": gid("EmissionFactor", w["factor_b"].id)}, "refused": True},
        "SelectEmissionFactor": {
            "vars": {"kind": "SUPPLIER_SPECIFIC", "subject": str(w["contract_b"]), "on": "2026-03-01"},
            "refused": True,
        },
        "AddSupplierEmissionFactor": {
            "vars": {
                "input": {
                    "contractId": str(w["contract_b"]),
                    "value": "0.2",
                    "validFrom": "2026-02-01",
                    "disclosureDocumentId": gid("EvidenceDocument", w["doc_b"].id),
                    "supersedes": gid("EmissionFactor", w["factor_b"].id),
                }
            },
            "refused": True,
        },
        "AddFuelDensity": {
            "vars": {
                "input": {
                    "fuel": "natural_gas",
                    "value": "0.0008",
                    "validFrom": "2026-02-01",
                    "evidenceDocumentId": gid("EvidenceDocument", w["doc_b"].id),
                    "supersedes": gid("EmissionFactor", w["factor_b"].id),
                }
            },
            "refused": True,
        },
        "ComputeOwnGenerationFactor": {
            "vars": {
                "input": {
                    "generatorId": str(w["generator_b"]),
                    "fuels": [{"fuel": "natural_gas", "quantityT": "1"}],
                    "netGenerationMwh": "10",
                    "periodStart": "2026-01-01",
                    "periodEnd": "2026-02-01",
                    "validFrom": "2026-02-01",
                    "supersedes": gid("EmissionFactor", w["own_factor_b"].id),
                }
            },
            "refused": True,
        },
        **_supply_cases(w),
        **_certificate_cases(w),
        **_production_cases(w),
        **_shipment_cases(w),
        **calculation_cases(w),
        **exchange_cases(w),
        **verification_cases(w),
        **_provisional_cases(w),
        **_feed_cases(w),
        **_pact_cases(w),
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
        "B-SECRET",
        "B's secret customer",
        *w.get("supply_secrets", []),
        "B-SECRET-GO",
        *w.get("calculation_secrets", []),
        *w.get("exchange_secrets", []),
        *w.get("pact_secrets", []),
        "B-SECRET-FEED",
        "b-secret-receiver",
        *w.get("verification_secrets", []),
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
    "/production/v1/batch-files": "tested",
    "/production/v1/batches": "tested",
    # tested in test_shipment_import.py: a file for another organisation's installation is refused
    "/shipments/v1/files": "tested",
    "/developers/v1/connections/{connection_id:str}/generation": "tested",
    "/developers/v1/connections/{connection_id:str}/statements": "tested",
    # test_certificate_records_route_refuses_a_connection_not_of_the_caller (below)
    "/certificates/v1/connections/{connection_id:str}/records": "tested",
    # tests/integration/calculations/test_calculation_bundle.py: another organisation's run is not found
    "/calculations/v1/runs/{run_id:str}/bundle": "tested",
    # tests/integration/calculations/test_calculation_reproduction.py: only through a live footprint grant
    "/calculations/v1/shared/{grantor_id:str}/runs/{run_id:str}/bundle": "tested",
    # test_pact_routes_show_tenant_bs_footprints_only_to_whom_b_shares (below), and
    # tests/integration/pact/test_pact_host.py: a client sees only what its tenant's (or its own) shares show
    "/3/footprints": "tested",
    "/3/footprints/{footprint_id:str}": "tested",
    "/3/events": "tested",
    "/3/extensions/cbam/1.0.0/schema.json": "public",
    # a verifier's statement keys are public by design (tests/integration/verification/test_statements.py)
    "/organizations/{tenant_id:uuid}/jwks.json": "public",
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
    # A's client is bound to A's plant: it reads nothing through grants at all
    assert response.status_code == 403 and response.json()["code"] == "PERMISSION_DENIED"
    free_id, free_secret = await make_client(services, a, ["evidence:read"])
    free = {"Authorization": f"Bearer {await client_token(http, free_id, free_secret)}"}
    response = await http.get(f"/evidence/shared/{b.id}/{world['doc_b'].id}", headers=free)
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


async def test_pact_routes_show_tenant_bs_footprints_only_to_whom_b_shares(services, http, world):
    # given: B published a footprint and shares it with its customer D alone; A's clients, one that reads
    # footprints and the agent bound to A's plant
    a, b = world["a"], world["b"]
    publication = str(world["publication_b"])
    reader_id, reader_secret = await make_client(services, a, ["footprints:read"])
    a_reader = {"Authorization": f"Bearer {await client_token(http, reader_id, reader_secret)}"}
    a_agent = {"Authorization": f"Bearer {await client_token(http, *world['a_client'])}"}
    event = {
        "type": "org.wbcsd.pact.ProductFootprint.RequestCreatedEvent.3",
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "https://a.example/pact",
        "time": datetime.now(UTC).isoformat(),
        "data": {"companyId": [f"urn:cbamx:company:{b.id}"]},
    }
    events = {"Content-Type": "application/cloudevents+json"}
    # when / then: A's reader lists nothing of B, finds none of B's footprints, and cannot ask B
    listed = await http.get("/3/footprints", params={"companyId": f"urn:cbamx:company:{b.id}"}, headers=a_reader)
    assert listed.status_code == 200 and listed.json() == {"data": []}
    one = await http.get(f"/3/footprints/{publication}", headers=a_reader)
    assert (one.status_code, one.json()["code"]) == (404, "NotFound")
    asked = await http.post("/3/events", content=json.dumps(event), headers={**a_reader, **events})
    assert (asked.status_code, asked.json()["code"]) == (403, "AccessDenied")
    # A's agent lacks footprints:read: refused on every action
    for method, path in (("GET", "/3/footprints"), ("GET", f"/3/footprints/{publication}"), ("POST", "/3/events")):
        response = await http.request(method, path, headers={**a_agent, **events}, content=json.dumps(event))
        assert (response.status_code, response.json()["code"]) == (403, "AccessDenied"), path
    # and B's trail has nothing new, while D, whom B shares with, reads the footprint
    async with services.db.tenant(b.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == world["b_audit_count"]
    d_id, d_secret = await make_client(services, world["d"], ["footprints:read"])
    d_reader = {"Authorization": f"Bearer {await client_token(http, d_id, d_secret)}"}
    assert [f["id"] for f in (await http.get("/3/footprints", headers=d_reader)).json()["data"]] == [publication]


# --- grants with limits: every reader, in and out of each limit ------------------------------------------
#
# Exporter G has plants P1 and P2 and documents about each; importer R reads through one grant with
# one limit (installation P1, a period, or the grantee client's own scopes), through every reader.

JAN_2026 = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
READ_ALL = ["site:read", "interval:read", "evidence:read", "audit:read", "grants:read"]
KIND_SCOPE = {
    ResourceKind.INSTALLATION: "site:read",
    ResourceKind.INTERVAL_DATA: "interval:read",
    ResourceKind.EVIDENCE: "evidence:read",
    ResourceKind.AUDIT: "audit:read",
}


async def _doc(services, owner, installation_id, title, period):
    async with services.db.tenant(owner.tenant.scope()) as db:
        doc, _ = await upload_document(
            db,
            services.store,
            owner.principal,
            NewDocument(
                data=f"%PDF-1.4 {title} {uuid.uuid4()}".encode(),
                filename="d.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.ELECTRICITY_CONTRACT,
                title=title,
                subjects=[SubjectRef("installation", str(installation_id))],
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
            ),
            max_bytes=10_000_000,
        )
    return doc


class Limited:
    """G's data, R, and R's client holding the scopes under test."""

    def __init__(self, services, http) -> None:
        self.services, self.http = services, http

    async def build(self) -> Limited:
        self.g = await make_tenant(self.services, TenantKind.EXPORTER)
        self.r = await make_tenant(self.services, TenantKind.IMPORTER)
        self.p1 = await make_plant(self.services, self.g, meters=("P1-MAIN", "P1-SUB"))
        self.p2 = await make_plant(self.services, self.g, meters=("P2-MAIN", "P2-SUB"))
        self.doc1 = await _doc(self.services, self.g, self.p1.installation_id, "P1 contract Jan", JAN_2026)
        self.doc2 = await _doc(self.services, self.g, self.p2.installation_id, "P2 contract Jan", JAN_2026)
        self.doc1_old = await _doc(
            self.services,
            self.g,
            self.p1.installation_id,
            "P1 contract 2024",
            (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        )
        return self

    async def grant(self, kind: ResourceKind, *, installations=None, period=None) -> None:
        async with self.services.db.platform() as session:
            await create_grant(
                session,
                Principal.system("t", self.g.id),
                grantor=self.g.tenant,
                data=NewGrant(
                    grantee_tenant_id=self.r.id,
                    resource_kinds=[kind],
                    installation_ids=installations,
                    period_start=period[0] if period else None,
                    period_end=period[1] if period else None,
                    expires_at=datetime.now(UTC) + timedelta(days=1),
                ),
            )

    async def caller(self, scopes: list[str]) -> Bearer:
        client_id, secret = await make_client(self.services, self.r, scopes)
        self.token = await client_token(self.http, client_id, secret)
        return Bearer(self.http, self.token)

    @property
    def grantor(self) -> str:
        return gid("Organization", self.g.id)


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return str(errors[0]["extensions"]["code"]) if errors else None


def _window(period: tuple[datetime, datetime]) -> dict[str, str]:
    return {"start": period[0].isoformat(), "end": (period[0] + timedelta(days=1)).isoformat()}


MARCH_2026 = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


# each reader: (kind, read(world, caller, target)) -> (refusal code or None, what the answer shows)
# target "in" reads P1 inside January 2026; "out" reads P2 (installation limit) or March 2026 (period limit)
async def _installations(w, c, target, limit):
    body = await c.gql(operation("SharedInstallations"), {"grantorId": w.grantor})
    return _code(body), json.dumps(body)


async def _meters(w, c, target, limit):
    plant = w.p2 if (target == "out" and limit == "installation") else w.p1
    body = await c.gql(
        operation("SharedMeters"),
        {"grantorId": w.grantor, "installationId": gid("Installation", plant.installation_id)},
    )
    return _code(body), json.dumps(body)


def _series_target(w, target, limit):
    plant = w.p2 if (target == "out" and limit == "installation") else w.p1
    period = MARCH_2026 if (target == "out" and limit == "period") else JAN_2026
    return plant, _window(period)


async def _series(w, c, target, limit):
    plant, window = _series_target(w, target, limit)
    meter = next(iter(plant.meters.values()))
    body = await c.gql(
        operation("SharedIntervalSeries"), {"grantorId": w.grantor, "meterId": gid("Meter", meter), **window}
    )
    return _code(body), json.dumps(body)


async def _balance(w, c, target, limit):
    plant, window = _series_target(w, target, limit)
    body = await c.gql(
        operation("SharedBalanceReport"),
        {"grantorId": w.grantor, "installationId": gid("Installation", plant.installation_id), **window},
    )
    return _code(body), json.dumps(body)


async def _gaps(w, c, target, limit):
    plant, window = _series_target(w, target, limit)
    body = await c.gql(
        operation("SharedGapsReport"),
        {"grantorId": w.grantor, "installationId": gid("Installation", plant.installation_id), **window},
    )
    return _code(body), json.dumps(body)


async def _evidence(w, c, target, limit):
    body = await c.gql(operation("SharedEvidence"), {"grantorId": w.grantor})
    return _code(body), json.dumps(body)


async def _download(w, c, target, limit):
    doc = {"installation": w.doc2, "period": w.doc1_old}.get(limit) if target == "out" else w.doc1
    if doc is None:
        doc = w.doc1
    response = await w.http.get(f"/evidence/shared/{w.g.id}/{doc.id}", headers={"Authorization": f"Bearer {w.token}"})
    if response.status_code == 302:
        return None, f"downloaded {doc.title}"
    return response.json().get("code"), response.text


async def _audit_trail(w, c, target, limit):
    body = await c.gql(operation("SharedAuditTrail"), {"grantorId": w.grantor, "first": 100})
    return _code(body), json.dumps(body)


async def _verification(w, c, target, limit):
    body = await c.gql(operation("SharedAuditVerification"), {"grantorId": w.grantor})
    return _code(body), json.dumps(body)


READERS = {
    "installations": (ResourceKind.INSTALLATION, _installations),
    "meters": (ResourceKind.INSTALLATION, _meters),
    "interval_series": (ResourceKind.INTERVAL_DATA, _series),
    "balance_report": (ResourceKind.INTERVAL_DATA, _balance),
    "gaps_report": (ResourceKind.INTERVAL_DATA, _gaps),
    "evidence_list": (ResourceKind.EVIDENCE, _evidence),
    "evidence_download": (ResourceKind.EVIDENCE, _download),
    "audit_trail": (ResourceKind.AUDIT, _audit_trail),
    "audit_verification": (ResourceKind.AUDIT, _verification),
}


@pytest.mark.parametrize("reader", list(READERS))
async def test_scope_limit_the_grantee_needs_its_own_scope_for_the_kind(services, http, reader):
    # given: a grant naming the kind, and two clients of the grantee: with and without its scope
    w = await Limited(services, http).build()
    kind, read = READERS[reader]
    await w.grant(kind)
    # when: without the kind's scope (holding every other read scope)
    without = await w.caller([s for s in READ_ALL if s != KIND_SCOPE[kind]])
    code, text = await read(w, without, "in", "scope")
    # then: refused, naming the missing scope, and nothing of G shown
    assert code == "GRANT_SCOPE_MISSING", text
    assert w.p1.name not in text and "P1 contract" not in text
    # and with it, the same read is answered
    with_scope = await w.caller([KIND_SCOPE[kind], "site:read"])
    code, text = await read(w, with_scope, "in", "scope")
    assert code is None, text


IN_P1 = {
    "installations": lambda w: [w.p1.name],
    "meters": lambda w: ["P1-MAIN"],
    "interval_series": lambda w: ["P1-"],
    "balance_report": lambda w: ["P1-MAIN"],
    "gaps_report": lambda w: ["P1-MAIN"],
    "evidence_list": lambda w: ["P1 contract Jan"],
    "evidence_download": lambda w: ["P1 contract Jan"],
    "audit_trail": lambda w: [str(w.p1.installation_id)],
    "audit_verification": lambda w: ['"ok": true'],
}


@pytest.mark.parametrize("reader", list(READERS))
async def test_installation_limit_every_reader_shows_only_the_granted_installation(services, http, reader):
    # given: a grant limited to P1
    w = await Limited(services, http).build()
    kind, read = READERS[reader]
    await w.grant(kind, installations=[w.p1.installation_id])
    caller = await w.caller(READ_ALL)
    # when: reading inside the limit
    code, text = await read(w, caller, "in", "installation")
    # then
    assert code is None, text
    for marker in IN_P1[reader](w):
        assert marker in text, (marker, text)
    # when: reading P2
    code, text = await read(w, caller, "out", "installation")
    # then: a read naming P2 is refused naming the limit; a list read leaves P2 out
    if reader in ("meters", "interval_series", "balance_report", "gaps_report", "evidence_download"):
        assert code == "GRANT_INSTALLATION_EXCLUDES", text
    else:
        assert code is None, text
    for secret in (w.p2.name, "P2-MAIN", "P2 contract", str(w.p2.installation_id)):
        assert secret not in text, (secret, text)


@pytest.mark.parametrize("reader", list(READERS))
async def test_period_limit_every_reader_shows_only_the_granted_period(services, http, reader):
    # given
    w = await Limited(services, http).build()
    kind, read = READERS[reader]
    if kind == ResourceKind.INSTALLATION:
        # the site model is not dated: a period cannot limit it, so such a grant is refused
        with pytest.raises(ValidationFailed) as refused:
            await w.grant(kind, period=JAN_2026)
        assert [e.field for e in refused.value.errors] == ["periodStart"]
        return
    if kind == ResourceKind.AUDIT:
        # entries made before the period starts are out; one made after it is in
        period = (datetime.now(UTC), datetime.now(UTC) + timedelta(days=1))
        await w.grant(kind, period=period)
        async with services.db.tenant(w.g.tenant.scope()) as db:
            await create_process(db, w.g.principal, ProcessData(w.p1.installation_id, "LATE", "Late process"))
    else:
        await w.grant(kind, period=JAN_2026)
    caller = await w.caller(READ_ALL)
    # when: inside the period
    code, text = await read(w, caller, "in", "period")
    # then
    assert code is None, text
    if reader == "evidence_list":
        assert "P1 contract Jan" in text and "P1 contract 2024" not in text
    if reader == "audit_trail":
        assert "process.created" in text and "installation.created" not in text
    if reader == "audit_verification":
        assert '"ok": true' in text
    # when: outside it
    code, text = await read(w, caller, "out", "period")
    # then
    if reader in ("interval_series", "balance_report", "gaps_report", "evidence_download"):
        assert code == "GRANT_PERIOD_EXCLUDES", text
    else:
        assert code is None, text
        assert "P1 contract 2024" not in text and "installation.created" not in text


# --- a client bound to one installation --------------------------------------------------------------


async def _bound_world(services, http) -> dict[str, Any]:
    owner = await make_tenant(services, TenantKind.EXPORTER)
    p1 = await make_plant(services, owner, meters=("P1-MAIN",))
    p2 = await make_plant(services, owner, meters=("P2-MAIN",))
    doc1 = await _doc(services, owner, p1.installation_id, "About P1", None)
    doc2 = await _doc(services, owner, p2.installation_id, "About P2", None)
    client_id, secret = await make_client(
        services,
        owner,
        ["site:read", "site:write", "evidence:read", "evidence:write", "audit:read", "grants:read"],
        installation_id=p1.installation_id,
    )
    token = await client_token(http, client_id, secret)
    return {"owner": owner, "p1": p1, "p2": p2, "doc1": doc1, "doc2": doc2, "bearer": Bearer(http, token)}


async def test_bound_client_sees_only_the_evidence_about_its_installation(services, http):
    # given
    w = await _bound_world(services, http)
    bearer: Bearer = w["bearer"]
    # when
    listed = await bearer.gql(operation("EvidenceDocuments"), {"first": 50})
    other = await bearer.gql(operation("EvidenceDocument"), {"id": gid("EvidenceDocument", w["doc2"].id)})
    download = await http.get(f"/evidence/{w['doc2'].id}/download", headers={"Authorization": f"Bearer {bearer.token}"})
    own = await http.get(f"/evidence/{w['doc1'].id}/download", headers={"Authorization": f"Bearer {bearer.token}"})
    # then
    assert [d["title"] for d in listed["data"]["evidenceDocuments"]] == ["About P1"]
    assert other["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_FOUND"
    assert download.status_code == 404
    assert own.status_code == 302


@pytest.mark.parametrize(
    ("subjects", "status"),
    [("", 422), ("p2", 422), ("p1", 201)],
)
async def test_bound_client_files_documents_about_its_installation_only(services, http, subjects, status):
    # given
    w = await _bound_world(services, http)
    names = {"p1": w["p1"].installation_id, "p2": w["p2"].installation_id}
    form = {"kind": "other", "title": "Calibration"}
    if subjects:
        form["subjects"] = json.dumps([{"kind": "installation", "id": str(names[subjects])}])
    async with services.db.tenant(w["owner"].tenant.scope()) as db:
        before = await db.scalar(select(func.count()).select_from(EvidenceDocument))
    # when
    response = await http.post(
        "/evidence/",
        files={"file": ("c.pdf", f"%PDF-1.4 {uuid.uuid4()}".encode(), "application/pdf")},
        data=form,
        headers={"Authorization": f"Bearer {w['bearer'].token}"},
    )
    # then
    assert response.status_code == status, response.text
    async with services.db.tenant(w["owner"].tenant.scope()) as db:
        after = await db.scalar(select(func.count()).select_from(EvidenceDocument))
    assert after == before + (1 if status == 201 else 0)
    if status == 422:
        assert response.json()["errors"][0]["field"] == "subjects"


async def test_bound_client_reads_only_audit_entries_about_its_installation(services, http):
    # given
    w = await _bound_world(services, http)
    # when
    body = await w["bearer"].gql(operation("AuditTrail"), {"first": 100})
    # then: the entries about P1, its meter and its document; none about P2, people or clients
    assert not body.get("errors"), body
    entries = [e["node"] for e in body["data"]["auditTrail"]["edges"]]
    text = json.dumps(entries)
    assert str(w["p1"].installation_id) in text and str(w["doc1"].id) in text
    assert str(w["p2"].installation_id) not in text and str(w["doc2"].id) not in text
    assert str(w["p2"].meters["P2-MAIN"]) not in text
    assert {e["entityType"] for e in entries} <= {
        "installation",
        "meter",
        "production_process",
        "production_line",
        "grid_connection_point",
        "evidence_document",
    }


async def test_bound_client_lists_no_grants_and_adds_no_installations(services, http):
    # given
    w = await _bound_world(services, http)
    bearer: Bearer = w["bearer"]
    async with services.db.tenant(w["owner"].tenant.scope()) as db:
        before = await db.scalar(select(func.count()).select_from(AuditEntry))
    # when
    given = await bearer.gql(operation("GrantsGiven"))
    received = await bearer.gql(operation("GrantsReceived"))
    created = await bearer.gql(operation("CreateInstallation"), {"input": {"name": "Rogue plant", "country": "RS"}})
    # then
    assert given["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert received["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    payload = created["data"]["createInstallation"]
    assert payload["installation"] is None and payload["errors"][0]["code"] == "PERMISSION_DENIED"
    async with services.db.tenant(w["owner"].tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == before
    # and it still changes its own installation
    updated = await bearer.gql(
        operation("UpdateInstallation"),
        {
            "input": {
                "id": gid("Installation", w["p1"].installation_id),
                "details": {"name": "Renamed", "country": "RS"},
            }
        },
    )
    assert updated["data"]["updateInstallation"]["errors"] == []


# --- supply contracts, developers and PPA connections: B is an offtaker connected to developer D -----


async def _supply_world(services: Any, b: Any, plant_b: Any) -> dict[str, Any]:
    """B's grid and PPA contracts; developer D with a plant, connected to B, with generation and a statement."""
    from backend.developers import flows
    from backend.developers.schemas import Terms
    from backend.developers.settlement import submit_generation
    from backend.supply.models import DeliveryShape, PpaSettlement
    from backend.supply.service import create_contract
    from tests.factories.supply import generation_csv, make_developer_plant, month_start, ppa_contract_data
    from workers.jobs.generation import import_generation

    d = await make_tenant(services, TenantKind.RENEWABLE_DEVELOPER, name="Developer D secret")
    start, end = month_start(2), month_start(2) + timedelta(days=730)
    async with services.db.tenant(b.tenant.scope()) as db:
        contract = await create_contract(
            db,
            b.principal,
            ppa_contract_data(
                plant_b.installation_id, None, reference="B-SECRET-PPA", period_start=start, period_end=end
            ),
        )
    plant_id = await make_developer_plant(services, d, name="D secret plant")
    connection, _ = await flows.invite_offtaker(
        services.db,
        d.principal,
        offtaker_id=b.id,
        plant_id=plant_id,
        terms=Terms(
            reference="B-SECRET-PPA",
            title="B secret PPA terms",
            period_start=start,
            period_end=end,
            settlement=PpaSettlement.PHYSICAL,
            delivery_shape=DeliveryShape.PAY_AS_PRODUCED,
        ),
    )
    await flows.accept(services.db, b.principal, connection_id=connection.id, contract_id=contract.id)
    async with services.db.tenant(d.tenant.scope()) as db:
        upload = await submit_generation(
            db,
            services.store,
            d.principal,
            connection,
            data=generation_csv(month_start(1), 8),
            filename="d-secret.csv",
            max_bytes=10_000_000,
        )
    await import_generation({"services": services}, str(d.id), str(upload.id))
    return {
        "d": d,
        "supply_contract_b": contract.id,
        "connection_bd": connection.id,
        "upload_d": upload.id,
        "plant_d": plant_id,
        "supply_secrets": ["B-SECRET-PPA", "D secret plant", "d-secret.csv", "Developer D secret"],
    }


def _supply_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A (an exporter, and its installation-bound client) pointed at B's contracts and B's connection to D."""
    inst_b = gid("Installation", w["plant_b"].installation_id)
    contract_b = gid("SupplyContract", w["supply_contract_b"])
    connection = gid("PpaConnection", w["connection_bd"])
    window = {"start": (datetime.now(UTC) - timedelta(days=40)).isoformat(), "end": datetime.now(UTC).isoformat()}
    window["start"] = (datetime.now(UTC) - timedelta(days=20)).isoformat()
    year = {"start": "2026-01-01T00:00:00+00:00", "end": "2027-01-01T00:00:00+00:00"}
    grantor_b = gid("Organization", w["b"].id)
    grid = {
        "installationId": inst_b,
        "kind": "GRID",
        "reference": "A-INTO-B",
        "title": "x",
        "periodStart": "2026-01-01T00:00:00+00:00",
        "counterparty": "x",
    }
    return {
        "SupplyContracts": {"vars": {}, "refused": False},
        "SupplyContract": {"vars": {"id": contract_b}, "refused": True},
        "CreateSupplyContract": {"vars": {"input": grid}, "refused": True},
        "UpdateSupplyContract": {"vars": {"input": {"id": contract_b, "details": grid}}, "refused": True},
        "AttachSupplyContractDocument": {
            "vars": {
                "input": {
                    "contractId": contract_b,
                    "documentId": gid("EvidenceDocument", w["doc_b"].id),
                    "role": "CONTRACT",
                }
            },
            "refused": True,
        },
        "PpaConnections": {"vars": {}, "refused": False},
        "GenerationPlants": {"vars": {}, "refused": False},
        "CreateGenerationPlant": {
            "vars": {
                "input": {
                    "plant": {
                        "name": "A plant",
                        "technology": "SOLAR_PV",
                        "capacityKw": 1000,
                        "commissioningDate": "2025-01-01",
                        "latitude": 44.0,
                        "longitude": 20.0,
                        "country": "RS",
                        "biddingZone": "RS",
                    },
                    "gridConnectionDocumentId": gid("EvidenceDocument", w["doc_b"].id),
                }
            },
            "refused": True,
        },
        "InviteDeveloper": {
            "vars": {"input": {"contractId": contract_b, "developerId": gid("Organization", w["d"].id)}},
            "refused": True,
        },
        "InviteOfftaker": {
            "vars": {
                "input": {
                    "offtakerId": gid("Organization", w["b"].id),
                    "plantId": gid("GenerationPlant", w["plant_d"]),
                    "reference": "A-X",
                    "title": "x",
                    "periodStart": "2026-01-01T00:00:00+00:00",
                    "periodEnd": "2027-01-01T00:00:00+00:00",
                    "settlement": "PHYSICAL",
                    "deliveryShape": "PAY_AS_PRODUCED",
                }
            },
            "refused": True,
        },
        "AcceptPpaConnection": {"vars": {"input": {"id": connection, "contractId": contract_b}}, "refused": True},
        "DeclinePpaConnection": {"vars": {"input": {"id": connection}}, "refused": True},
        "RevokePpaConnection": {"vars": {"input": {"id": connection}}, "refused": True},
        "SettlementUpload": {"vars": {"id": gid("SettlementUpload", w["upload_d"])}, "refused": True},
        "ContractSettlement": {"vars": {"connectionId": connection}, "refused": True},
        "SettlementIntervals": {"vars": {"connectionId": connection, **window}, "refused": True},
        "SharedPpaContract": {"vars": {"connectionId": connection}, "refused": True},
        "SharedSettlementIntervals": {"vars": {"connectionId": connection, **window}, "refused": True},
        # a verifier's reads through a supply grant: A has no grant from B, refused before anything of B is read
        "SharedSupplyContracts": {"vars": {"grantorId": grantor_b, "installationId": inst_b, **year}, "refused": True},
        "SharedSettlementSummary": {
            "vars": {"grantorId": grantor_b, "contractId": contract_b, **year},
            "refused": True,
        },
        "SharedContractSettlementIntervals": {
            "vars": {"grantorId": grantor_b, "contractId": contract_b, **window},
            "refused": True,
        },
        "SharedCertificates": {"vars": {"grantorId": grantor_b, "installationId": inst_b, **year}, "refused": True},
        "SharedEmissionFactors": {"vars": {"grantorId": grantor_b, "installationId": inst_b, **year}, "refused": True},
    }


async def test_developer_upload_routes_refuse_another_organisations_connection(services, http, world):
    """A's people post generation and statements to B's connection with D: refused, nothing stored in D."""
    from backend.developers.models import SettlementStatement, SettlementUpload

    session = await login(http, world["a"].email)
    headers = {"X-CSRF-Token": session.csrf}
    connection = world["connection_bd"]
    async with services.db.tenant(world["d"].tenant.scope()) as db:
        uploads = await db.scalar(select(func.count()).select_from(SettlementUpload))
    generation = await http.post(
        f"/developers/v1/connections/{connection}/generation",
        cookies=session.cookies,
        headers=headers,
        files={"file": ("g.csv", b"interval_start,interval_end,energy_kwh\n", "text/csv")},
    )
    statement = await http.post(
        f"/developers/v1/connections/{connection}/statements",
        cookies=session.cookies,
        headers=headers,
        files={"file": ("s.pdf", b"%PDF-1.4 x", "application/pdf")},
        data={
            "reference": "S1",
            "period_start": "2026-11-01T00:00:00+00:00",
            "period_end": "2026-12-01T00:00:00+00:00",
            "volume_mwh": "1",
        },
    )
    assert generation.status_code == 404 and generation.json()["code"] == "CONNECTION_NOT_FOUND"
    assert statement.status_code == 404 and statement.json()["code"] == "CONNECTION_NOT_FOUND"
    # B, the offtaker, cannot post to it as if it were the developer either
    b_session = await login(http, world["b"].email)
    response = await http.post(
        f"/developers/v1/connections/{connection}/generation",
        cookies=b_session.cookies,
        headers={"X-CSRF-Token": b_session.csrf},
        files={"file": ("g.csv", b"interval_start,interval_end,energy_kwh\n", "text/csv")},
    )
    assert response.status_code == 404
    async with services.db.tenant(world["d"].tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(SettlementUpload)) == uploads
        assert await db.scalar(select(func.count()).select_from(SettlementStatement)) == 0


# --- certificates: B's world and the cases pointing at it ---------------------------------------------


async def _certificates_of_b(services: Any, b: Any) -> dict[str, Any]:
    """B holds an active GO range and a cancelled one (with its statement)."""
    from tests.factories.certificates import go_data, register, register_cancelled

    active = await register(services, b, go_data(5_000_001, 5_000_100, registry_reference="B-SECRET-GO"))
    cancelled, _ = await register_cancelled(services, b, go_data(5_000_101, 5_000_200))
    return {"certificate_b": active.id, "cancelled_certificate_b": cancelled.id}


def _certificate_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from tests.factories.certificates import last_month

    cert_b, cancelled_b = gid("Certificate", w["certificate_b"]), gid("Certificate", w["cancelled_certificate_b"])
    start, end = (d.isoformat() for d in last_month())
    statement = {
        "beneficiary": "A",
        "consumptionStartOn": start,
        "consumptionEndOn": end,
        "consumptionCountry": "RS",
        "purpose": "x",
        "cancelledOn": end,
    }
    go = {
        "scheme": "GO_EECS",
        "issuingBody": "EMS",
        "issuingCountry": "RS",
        "rangeStart": 1,
        "rangeEnd": 10,
        "deviceId": "D",
        "deviceName": "D",
        "deviceCountry": "RS",
        "energySource": "F01010100",
        "productionStartOn": start,
        "productionEndOn": end,
        "issuedOn": end,
    }
    return {
        "Certificates": {"vars": {}, "refused": False},
        "Certificate": {"vars": {"id": cert_b}, "refused": True},
        # B's live connection to its developer D: A is not its offtaker, so nothing of D's records comes back
        "SharedPpaCertificates": {"vars": {"connectionId": gid("PpaConnection", w["connection_bd"])}, "refused": True},
        # A records a range linked to B's installation-free ids: B's supply contract id would be refused too
        "RegisterCertificate": {
            "vars": {"input": {**go, "supplyContractId": gid("SupplyContract", uuid.uuid4())}},
            "refused": True,
        },
        "SplitCertificate": {"vars": {"input": {"id": cert_b, "quantity": 10}}, "refused": True},
        "TransferCertificate": {
            "vars": {"input": {"id": cert_b, "to": "A", "transferredOn": start}},
            "refused": True,
        },
        "CancelCertificate": {"vars": {"input": {"id": cert_b, "statement": statement}}, "refused": True},
        "ClaimCertificate": {
            "vars": {
                "input": {"certificateId": cancelled_b, "periodStartOn": start, "periodEndOn": end, "purpose": "x"}
            },
            "refused": True,
        },
    }


async def test_certificate_records_route_refuses_a_connection_not_of_the_caller(services, http, world):
    # the offtaker of a real connection is refused too: tests/integration/test_certificate_records.py
    session = await login(http, world["a"].email)
    response = await http.post(
        f"/certificates/v1/connections/{uuid.uuid4()}/records",
        files={"file": ("records.csv", b"action\n", "text/csv")},
        headers={"X-CSRF-Token": session.csrf},
        cookies=session.cookies,
    )
    assert response.status_code == 404 and response.json()["code"] == "CONNECTION_NOT_FOUND"
    async with services.db.tenant(world["b"].tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == world["b_audit_count"]


# --- shipments: B's shipment from B's batch -----------------------------------------------------------


async def _shipments_of_b(services: Any, b: Any, plant_b: Any) -> dict[str, Any]:
    """A product, a batch and a shipment of tenant B, for the shipment operations' cases."""
    from decimal import Decimal

    from backend.shipments.schemas import BatchShare, ShipmentData
    from backend.shipments.service import create_shipment
    from tests.factories.shipments import make_goods

    ended = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    goods = await make_goods(services, b, [("B-SECRET-1", "AL-PROF", ended, 22.0)], plant=plant_b)
    async with services.db.tenant(b.tenant.scope()) as db:
        shipment = await create_shipment(
            db,
            b.principal,
            ShipmentData(
                installation_id=plant_b.installation_id,
                reference="B-SECRET-SHIPMENT",
                customer_name="B's secret customer",
                customer_country="DE",
                cn_code="76042990",
                net_mass_t=Decimal("20"),
                dispatch_date=ended.date(),
                invoice_number="B-SECRET-INVOICE",
                batches=(BatchShare(goods.batches["B-SECRET-1"], Decimal("20")),),
            ),
        )
        b_audit = await db.scalar(select(func.count()).select_from(AuditEntry))
    return {"batch_b": goods.batches["B-SECRET-1"], "shipment_b": shipment.id, "b_audit_count": b_audit}


def _shipment_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    inst_b = gid("Installation", w["plant_b"].installation_id)
    shipment_b = gid("Shipment", w["shipment_b"])
    new = {
        "installationId": inst_b,
        "reference": "A-1",
        "customerName": "x",
        "customerCountry": "DE",
        "cnCode": "76042990",
        "netMassT": 1.0,
        "dispatchDate": "2026-11-20",
        "invoiceNumber": "A-INV-1",
        "batches": [{"batchId": gid("ProductionBatch", w["batch_b"]), "massT": 1.0}],
    }
    papers = {"id": shipment_b, "customerName": "hijack", "customerCountry": "DE", "invoiceNumber": "A-INV-2"}
    return {
        "Shipments": {"vars": {"installationId": inst_b}, "refused": True},
        "Shipment": {"vars": {"id": shipment_b}, "refused": True},
        "ShipmentReconciliation": {
            "vars": {"installationId": inst_b, "granularity": "MONTH", "year": 2026, "number": 11},
            "refused": True,
        },
        "CreateShipment": {"vars": {"input": new}, "refused": True},
        "UpdateShipment": {"vars": {"input": papers}, "refused": True},
        "DeleteShipment": {"vars": {"input": {"id": shipment_b}}, "refused": True},
        "ShipmentImports": {"vars": {"installationId": inst_b}, "refused": True},
    }


# --- production: B's catalogue, batches, mappings and imports ---------------------------------------------


async def _production_world(services: Any, b: Any, plant_b: Any) -> dict[str, Any]:
    """Tenant B's product, batch (with a precursor), saved mapping and a queued batch import."""
    from backend.production import imports as production_imports
    from backend.production import service as production
    from backend.production.models import BatchSource, ProductionRoute
    from backend.production.schemas import BatchRow, MappingData, PrecursorData, ProductData

    start = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
    async with services.db.tenant(b.tenant.scope()) as db:
        product = await production.create_product(
            db,
            b.principal,
            ProductData(
                code="B-SECRET-PRF",
                name="B secret profile",
                cn_code="76042100",
                production_route=ProductionRoute.ALL_ROUTES,
            ),
        )
        batch, _ = await production.record_batch(
            db,
            b.principal,
            plant_b.installation_id,
            BatchRow(
                batch_number="B-SECRET-BATCH",
                product="B-SECRET-PRF",
                started_at=start,
                ended_at=start + timedelta(hours=2),
                net_mass_t=5.0,
                line="L1",
                precursors=(PrecursorData(mass_t=5.5, supplier_installation="B secret smelter"),),
            ),
            source=BatchSource.API,
        )
        mapping = await production_imports.save_mapping(
            db,
            b.principal,
            MappingData(
                name="B secret mapping",
                columns={
                    "batch_number": "n",
                    "line": "l",
                    "product": "p",
                    "started_at": "s",
                    "ended_at": "e",
                    "net_mass": "m",
                },
            ),
        )
        job = await production_imports.submit_batch_file(
            db,
            services.store,
            b.principal,
            installation_id=plant_b.installation_id,
            mapping_name=mapping.name,
            data=b"n,l,p,s,e,m\n",
            filename="b-mes.csv",
            max_bytes=10_000_000,
        )
    async with services.db.tenant(b.tenant.scope()) as db:
        audit_count = await db.scalar(select(func.count()).select_from(AuditEntry))
    return {
        "product_b": product.id,
        "batch_b": batch.id,
        "batch_import_b": job.id,
        "line_b": plant_b.line_id,
        "b_audit_count": audit_count,  # B's trail now holds these records' entries too
    }


def _provisional_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    batch_b = {"batchId": gid("ProductionBatch", w["batch_b"])}
    return {
        "ProvisionalFootprint": {"vars": batch_b, "refused": True},
        "ProvisionalFootprintVersions": {"vars": batch_b, "refused": True},
        "BatchFootprintComparison": {"vars": batch_b, "refused": True},
        "RecentBatchesWithProvisionalFootprints": {
            "vars": {"installationId": gid("Installation", w["plant_b"].installation_id)},
            "refused": True,
        },
    }


def _production_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    inst_b = gid("Installation", w["plant_b"].installation_id)
    product_b = gid("Product", w["product_b"])
    product = {"code": "A-PRF", "name": "A profile", "cnCode": "76042100", "productionRoute": "ALL_ROUTES"}
    return {
        "CbamGoods": {"vars": {"sector": "aluminium"}, "refused": False},
        "CheckCnCode": {"vars": {"cnCode": "7604 21 00"}, "refused": False},
        "Products": {"vars": {}, "refused": False},
        "Product": {"vars": {"id": product_b}, "refused": True},
        "CreateProduct": {"vars": {"input": product}, "refused": False},
        "UpdateProduct": {"vars": {"input": {"id": product_b, "details": product}}, "refused": True},
        "ProductionBatches": {"vars": {"installationId": inst_b}, "refused": True},
        # no grant from B: refused before anything of B is read
        "SharedBatches": {
            "vars": {
                "grantorId": gid("Organization", w["b"].id),
                "installationId": inst_b,
                "start": "2026-01-01T00:00:00+00:00",
                "end": "2027-01-01T00:00:00+00:00",
            },
            "refused": True,
        },
        "ProductionBatch": {"vars": {"id": gid("ProductionBatch", w["batch_b"])}, "refused": True},
        "RecordProductionBatch": {
            "vars": {
                "input": {
                    "installationId": inst_b,
                    "batchNumber": "A-INTO-B",
                    "productId": product_b,
                    "lineId": gid("ProductionLine", w["line_b"]),
                    "startedAt": datetime(2026, 10, 2, tzinfo=UTC).isoformat(),
                    "endedAt": datetime(2026, 10, 2, 3, tzinfo=UTC).isoformat(),
                    "netMassT": 1.0,
                }
            },
            "refused": True,
        },
        "BatchImportMappings": {"vars": {}, "refused": False},
        "SaveBatchImportMapping": {
            "vars": {
                "input": {
                    "name": "B secret mapping",
                    "columns": {
                        "batch_number": "x",
                        "line": "l",
                        "product": "p",
                        "started_at": "s",
                        "ended_at": "e",
                        "net_mass": "m",
                    },
                }
            },
            "refused": False,
        },
        "BatchImports": {"vars": {"installationId": inst_b}, "refused": True},
        "BatchImport": {"vars": {"id": gid("BatchImport", w["batch_import_b"])}, "refused": True},
    }


@pytest.mark.parametrize("principal_kind", ["user", "client"])
async def test_tenant_a_sees_nothing_of_tenant_bs_production(services, http, world, principal_kind):
    # given: A's owner, or A's MES client with the production scopes
    if principal_kind == "user":
        caller: Any = await login(http, world["a"].email)
    else:
        client_id, secret = await make_client(services, world["a"], ["production:read", "production:write"])
        caller = Bearer(http, await client_token(http, client_id, secret))
    secrets = [
        "B-SECRET-PRF",
        "B secret profile",
        "B-SECRET-BATCH",
        "B secret smelter",
        "b-mes.csv",
        str(world["batch_b"]),
    ]
    async with services.db.tenant(world["b"].tenant.scope()) as db:
        from backend.production.models import ProductionBatch

        b_batches = await db.scalar(select(func.count()).select_from(ProductionBatch))
    failures = []
    # when
    for name, case in _production_cases(world).items():
        body = await caller.gql(operation(name), case["vars"])
        # then
        text = json.dumps(body)
        failures += [f"{name} leaked {s}" for s in secrets if s in text]
        if case["refused"] and not refused(name, body):
            failures.append(f"{name} was not refused: {body}")
    assert failures == []
    # A's mapping of the same name is A's own; B's is unchanged
    async with services.db.tenant(world["b"].tenant.scope()) as db:
        from backend.production.models import BatchImportMapping, ProductionBatch

        mapping = await db.scalar(select(BatchImportMapping))
        assert mapping is not None and mapping.columns["batch_number"] == "n"
        assert await db.scalar(select(func.count()).select_from(ProductionBatch)) == b_batches
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == world["b_audit_count"]


async def test_production_rest_routes_refuse_tenant_a_on_tenant_b(services, http, world):
    from backend.production.models import BatchImport, ProductionBatch

    a, b, plant_b = world["a"], world["b"], world["plant_b"]
    async with services.db.tenant(b.tenant.scope()) as db:
        b_batches = await db.scalar(select(func.count()).select_from(ProductionBatch))
    # an unbound MES client of A naming B's installation: not found
    client_id, secret = await make_client(services, a, ["production:read", "production:write"])
    bearer = {"Authorization": f"Bearer {await client_token(http, client_id, secret)}"}
    batch = {
        "installation_id": str(plant_b.installation_id),
        "batch_number": "A-INTO-B",
        "line": "L1",
        "product": "B-SECRET-PRF",
        "started_at": "2026-10-03T06:00:00Z",
        "ended_at": "2026-10-03T08:00:00Z",
        "net_mass_t": 1.0,
    }
    response = await http.post("/production/v1/batches", json=batch, headers=bearer)
    assert response.status_code == 404 and "B-SECRET" not in response.text
    # a client of A bound to A's plant posts into A's plant whatever it names: B's product is unknown there
    bound_id, bound_secret = await make_client(
        services, a, ["production:write"], installation_id=world["plant_a"].installation_id
    )
    bound = {"Authorization": f"Bearer {await client_token(http, bound_id, bound_secret)}"}
    response = await http.post("/production/v1/batches", json=batch, headers=bound)
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "UNKNOWN_PRODUCT"
    # a file into B's installation
    response = await http.post(
        "/production/v1/batch-files",
        headers=bearer,
        files={"file": ("x.csv", b"n,l\n", "text/csv")},
        data={"mapping": "B secret mapping", "installation_id": str(plant_b.installation_id)},
    )
    assert response.status_code == 404
    async with services.db.tenant(b.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(ProductionBatch)) == b_batches
        assert await db.scalar(select(func.count()).select_from(BatchImport)) == 1
        assert await db.scalar(select(func.count()).select_from(AuditEntry)) == world["b_audit_count"]
