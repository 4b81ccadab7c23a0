"""Tenant B's publication, connection and share, and the cross-tenant cases of the exchange operations
(used by tests/integration/test_cross_tenant.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.exchange import connections, directory, mirror, requests, service
from backend.tenants.models import TenantKind
from tests.factories.tenants import make_tenant


def _gid(type_name: str, value: object) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


async def exchange_world(services: Any, b: Any, footprint_b: Any) -> dict[str, Any]:
    """B publishes its footprint, an importer D connects to B (B is unlisted again after) and B shares with D."""
    d = await make_tenant(services, TenantKind.IMPORTER)
    b_ref = await services.tenants.get(b.id)
    async with services.db.platform() as platform:
        exporter = await service.exporter_of(platform, b.id)
    async with services.db.tenant(b.tenant.scope()) as db:
        publication = await service.publish_footprint(db, b.principal, exporter, TenantKind.EXPORTER, footprint_b)
    async with services.db.platform() as platform:
        await directory.set_listing(platform, b.principal, b_ref, directory.ListingData(display_name="B listed"))
    async with services.db.platform() as platform:
        connection = await connections.request_connection(platform, d.principal, TenantKind.IMPORTER, b.id)
    async with services.db.platform() as platform:
        await connections.accept_connection(platform, b.principal, connection.id)
        await directory.unlist(platform, b.principal, b_ref)
    async with services.db.platform() as platform:
        share = await connections.share_footprints(
            platform,
            b.principal,
            grantor=b.tenant,
            data=connections.ShareData(customer_id=d.id, expires_at=datetime.now(UTC) + timedelta(days=1)),
            known_products=set(),
        )
    # D checks B's footprint with more shipped than produced (an escalation) and asks B about it
    outcome = await mirror.check_received_footprint(
        services, d.principal, mirror.CheckRequest(publication.id, shipped_mass_t=1e6)
    )
    assert outcome.escalation is not None
    question = await mirror.ask_supplier(services, d.principal, outcome.escalation.id, "B-SECRET-QUESTION")
    request = await requests.request_footprints(
        services,
        d.principal,
        requests.RequestData(
            supplier_id=b.id,
            period_start=publication.period_start,
            period_end=publication.period_end,
            due_date=datetime.now(UTC).date() + timedelta(days=7),
            cn_codes=[publication.cn_code[:4]],
            shipment_refs=["B-SECRET-MRN"],
        ),
    )
    return {
        "d": d,
        "request_b": request.id,
        "publication_b": publication.id,
        "connection_b": connection.id,
        "share_b": share.id,
        "escalation_b": outcome.escalation.id,
        "question_b": question.id,
        "exchange_secrets": [
            str(publication.id),
            publication.content_hash,
            str(connection.id),
            str(share.id),
            str(outcome.result.id),
            str(outcome.escalation.id),
            str(question.id),
            "B-SECRET-QUESTION",
            str(request.id),
            "B-SECRET-MRN",
        ],
    }


def exchange_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    b, d = w["b"], w["d"]
    publication = _gid("PublishedFootprint", w["publication_b"])
    connection = {"input": {"id": _gid("SupplierConnection", w["connection_b"])}}
    share = _gid("FootprintShare", w["share_b"])
    escalation = _gid("MirrorEscalation", w["escalation_b"])
    request = _gid("FootprintRequest", w["request_b"])
    return {
        "PublishFootprint": {
            "vars": {"input": {"footprintVersionId": _gid("FootprintVersion", w["footprint_b"])}},
            "refused": True,
        },
        "PublishedFootprints": {"vars": {}, "refused": False},
        "PublishedFootprint": {"vars": {"id": publication}, "refused": True},
        "ReceivedFootprints": {"vars": {"supplierId": _gid("Organization", b.id)}, "refused": False},
        "ReceivedFootprint": {"vars": {"id": publication}, "refused": True},
        # the directory shows listed organisations to everyone; B is not listed
        "SupplierDirectory": {"vars": {}, "refused": False},
        "MyDirectoryEntry": {"vars": {}, "refused": False},
        # A's own listing: allowed to A's admins, refused to its clients
        "ListInDirectory": {"vars": {"input": {"displayName": "A"}}, "refused": False},
        "UnlistFromDirectory": {"vars": {}, "refused": False},
        "SupplierConnections": {"vars": {}, "refused": False},
        "RequestConnection": {"vars": {"input": {"supplierId": _gid("Organization", b.id)}}, "refused": True},
        "AcceptConnection": {"vars": connection, "refused": True},
        "DeclineConnection": {"vars": connection, "refused": True},
        "EndConnection": {"vars": connection, "refused": True},
        "FootprintShares": {"vars": {}, "refused": False},
        "ShareFootprints": {"vars": {"input": {"customerId": _gid("Organization", d.id)}}, "refused": True},
        "NarrowFootprintShare": {"vars": {"input": {"id": share}}, "refused": True},
        "RevokeFootprintShare": {"vars": {"input": {"id": share}}, "refused": True},
        # mirror checks: A holds no share of B's footprint, and sees only its own results, escalations, questions
        "CheckReceivedFootprint": {
            "vars": {"input": {"publicationId": publication, "shippedMassT": 1.0}},
            "refused": True,
        },
        "MirrorCheckResults": {"vars": {"publicationId": publication}, "refused": False},
        "ReceivedFootprintMirrorChecks": {"vars": {"id": publication}, "refused": True},
        "MirrorEscalations": {"vars": {}, "refused": False},
        "FootprintQuestions": {"vars": {}, "refused": False},
        "AskSupplierAboutFootprint": {
            "vars": {"input": {"escalationId": escalation, "question": "?"}},
            "refused": True,
        },
        "CloseMirrorEscalation": {
            "vars": {"input": {"escalationId": escalation, "status": "RESOLVED", "note": "A"}},
            "refused": True,
        },
        "AnswerFootprintQuestion": {
            "vars": {"input": {"questionId": _gid("FootprintQuestion", w["question_b"]), "answer": "A"}},
            "refused": True,
        },
        # D's request to B: A is a party to neither side
        "FootprintRequests": {"vars": {"supplierId": _gid("Organization", b.id)}, "refused": False},
        "IncomingFootprintRequests": {"vars": {}, "refused": False},
        "FootprintRequest": {"vars": {"id": request}, "refused": True},
        "RequestFootprints": {
            "vars": {
                "input": {
                    "supplierId": _gid("Organization", b.id),
                    "periodStart": "2026-01-01T00:00:00Z",
                    "periodEnd": "2026-02-01T00:00:00Z",
                    "dueDate": "2099-01-01",
                    "cnCodes": ["7604"],
                }
            },
            "refused": True,
        },
        "CancelFootprintRequest": {"vars": {"input": {"id": request}}, "refused": True},
        "FulfilFootprintRequest": {
            "vars": {"input": {"id": request, "publicationIds": [publication]}},
            "refused": True,
        },
        "RejectFootprintRequest": {"vars": {"input": {"id": request, "reason": "no"}}, "refused": True},
    }
