"""Certificates through GraphQL: the operation documents, typed errors, and a fixed statement count."""

from __future__ import annotations

import uuid

from backend.certificates import service
from backend.certificates.schemas import ClaimData
from tests.factories.certificates import go_data, last_month, register, register_cancelled
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


def _go(start: int, end: int, issuing_body: str = "EMS") -> dict[str, object]:
    first, after = (d.isoformat() for d in last_month())
    return {
        "scheme": "GO_EECS",
        "issuingBody": issuing_body,
        "issuingCountry": "RS",
        "rangeStart": start,
        "rangeEnd": end,
        "deviceId": "RS-EMS-SOLAR-0042",
        "deviceName": "Dunav Solar 1",
        "deviceCountry": "RS",
        "energySource": "F01010100",
        "productionStartOn": first,
        "productionEndOn": after,
        "issuedOn": after,
    }


def _statement() -> dict[str, object]:
    first, after = (d.isoformat() for d in last_month())
    return {
        "beneficiary": "Alu Sabac d.o.o.",
        "consumptionStartOn": first,
        "consumptionEndOn": after,
        "consumptionCountry": "RS",
        "purpose": "CBAM indirect emissions",
        "cancelledOn": after,
        "statementReference": "EMS-CAN-1",
    }


async def test_register_split_transfer_cancel_and_claim_through_the_operations(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    first, after = (d.isoformat() for d in last_month())
    # register (claims are exchange-wide: an issuing body of this test's own keeps other tests' claims apart)
    body_code = f"EMS-{uuid.uuid4().hex[:8]}"
    body = await session.gql(operation("RegisterCertificate"), {"input": _go(1, 100, body_code)})
    payload = body["data"]["registerCertificate"]
    assert payload["errors"] == [], payload
    certificate = payload["certificate"]
    assert (certificate["quantity"], certificate["state"]) == ("100", "ACTIVE")
    # split
    body = await session.gql(operation("SplitCertificate"), {"input": {"id": certificate["id"], "quantity": "40"}})
    split = body["data"]["splitCertificate"]
    assert (split["first"]["rangeEnd"], split["rest"]["rangeStart"], split["rest"]["quantity"]) == ("40", "41", "60")
    # transfer the rest's first 10, cancel the first part with its statement
    body = await session.gql(
        operation("TransferCertificate"),
        {"input": {"id": split["rest"]["id"], "to": "Alu Sabac d.o.o.", "transferredOn": after, "quantity": 10}},
    )
    assert body["data"]["transferCertificate"]["certificate"]["state"] == "TRANSFERRED"
    body = await session.gql(
        operation("CancelCertificate"), {"input": {"id": certificate["id"], "statement": _statement()}}
    )
    cancelled = body["data"]["cancelCertificate"]["certificate"]
    assert cancelled["state"] == "CANCELLED" and cancelled["statement"]["beneficiary"] == "Alu Sabac d.o.o."
    # claim, then the same again: a typed error naming no one
    claim = {"certificateId": certificate["id"], "periodStartOn": first, "periodEndOn": after, "purpose": "CBAM"}
    body = await session.gql(operation("ClaimCertificate"), {"input": claim})
    assert body["data"]["claimCertificate"]["claim"]["quantity"] == "40"
    body = await session.gql(operation("ClaimCertificate"), {"input": claim})
    assert body["data"]["claimCertificate"]["claim"] is None
    assert body["data"]["claimCertificate"]["errors"] == [
        {
            "code": "CERTIFICATE_RANGE_ALREADY_CLAIMED",
            "field": "certificateId",
            "message": "these certificate identifiers, or some of them, already back a claim on the exchange",
        }
    ]
    # list with a filter
    body = await session.gql(operation("Certificates"), {"filter": {"states": ["CANCELLED"]}})
    [edge] = body["data"]["certificates"]["edges"]
    assert edge["node"]["statement"]["statementReference"] == "EMS-CAN-1"
    assert [c["quantity"] for c in edge["node"]["claims"]] == ["40"]
    body = await session.gql(operation("Certificate"), {"id": split["rest"]["id"]})
    assert body["data"]["certificate"]["transferredTo"] == "Alu Sabac d.o.o."


async def test_identifiers_beyond_32_bits_go_both_ways_as_strings(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    big = 9_223_372_036_854_775_000
    body = await session.gql(
        operation("RegisterCertificate"), {"input": {**_go(0, 0), "rangeStart": str(big), "rangeEnd": str(big + 99)}}
    )
    certificate = body["data"]["registerCertificate"]["certificate"]
    assert (certificate["rangeStart"], certificate["quantity"]) == (str(big), "100")
    body = await session.gql(
        operation("RegisterCertificate"), {"input": {**_go(0, 0), "rangeStart": "-5", "rangeEnd": "x"}}
    )
    assert "whole number" in body["errors"][0]["message"]


async def test_bad_input_names_the_fields_and_stores_nothing(services, http):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    bad = {**_go(10, 1), "energySource": "sun", "issuingCountry": "Serbia"}
    body = await session.gql(operation("RegisterCertificate"), {"input": bad})
    payload = body["data"]["registerCertificate"]
    assert payload["certificate"] is None
    assert {(e["code"], e["field"]) for e in payload["errors"]} == {
        ("INVALID", "rangeEnd"),
        ("INVALID", "energySource"),
        ("INVALID", "issuingCountry"),
    }
    body = await session.gql(operation("SplitCertificate"), {"input": {"id": gid("Certificate", "x"), "quantity": 1}})
    assert body["data"]["splitCertificate"]["errors"][0]["field"] == "id"
    body = await session.gql(operation("Certificates"), {})
    assert body["data"]["certificates"]["edges"] == []


async def test_the_certificate_list_runs_the_same_statements_for_2_and_12_rows(services, http, count_queries):
    async def holder(n: int):
        owner = await make_tenant(services)
        body_code = f"EMS-{uuid.uuid4().hex[:8]}"
        for i in range(n):
            start = 1_000 * i + 1
            if i % 2:
                certificate, statement = await register_cancelled(
                    services, owner, go_data(start, start + 99, issuing_body=body_code)
                )
                async with services.db.tenant(owner.tenant.scope()) as db:
                    await service.claim_certificate(
                        db,
                        owner.principal,
                        ClaimData(
                            certificate.id,
                            statement.consumption_start_on,
                            statement.consumption_end_on,
                            "CBAM",
                            range_start=start,
                            range_end=start + 9,
                        ),
                    )
            else:
                await register(services, owner, go_data(start + 10_000_000, start + 10_000_099))
        return owner

    async def statements(owner) -> int:
        session = await login(http, owner.email)
        count_queries.statements.clear()
        body = await session.gql(operation("Certificates"), {"first": 50})
        assert not body.get("errors"), body
        return count_queries.count

    few, many = await holder(2), await holder(12)
    assert await statements(few) == await statements(many)
