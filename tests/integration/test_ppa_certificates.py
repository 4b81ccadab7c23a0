"""A developer's certificate records for one PPA, and the offtaker's narrow read of them through the
contract grant that accepting the PPA connection created."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from backend.certificates import service
from backend.certificates.reads import read_contract_certificates
from backend.developers import connections, flows
from backend.errors import DomainError, ValidationFailed
from tests.factories.certificates import go_data, statement_data
from tests.factories.supply import make_ppa_world
from tests.factories.tenants import TenantWithOwner, login
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


@dataclass
class Ppa:
    developer: TenantWithOwner
    offtaker: TenantWithOwner
    connection_id: uuid.UUID
    contract_id: uuid.UUID


async def make_ppa(services: Any) -> Ppa:
    """A developer and an exporter connected through an accepted PPA (tests/factories/supply.py)."""
    world = await make_ppa_world(services)
    return Ppa(world.developer, world.exporter, world.connection_id, world.contract_id)


async def _connection(services: Any, ppa: Ppa) -> Any:
    async with services.db.platform_session() as db:
        row = await connections.get_connection(db, ppa.developer.principal, ppa.connection_id)
        db.expunge(row)
    return row


async def _file_records(services: Any, ppa: Ppa, start: int) -> list[Any]:
    """Issuance of 300 GOs, 200 transferred to the offtaker, 100 of those cancelled for it."""
    connection = await _connection(services, ppa)
    async with services.db.tenant(ppa.developer.tenant.scope()) as db:
        issued = await service.register_certificate(
            db, ppa.developer.principal, go_data(start, start + 299), connection=connection
        )
        moved = await service.transfer_certificate(
            db, ppa.developer.principal, issued.id, to="Alu Sabac d.o.o.", transferred_on=date.today(), quantity=200
        )
    return [issued, moved]


async def test_the_offtaker_reads_the_developers_records_of_its_ppa_only(services, http):
    # given: one developer's records for this PPA, and for its PPA with another offtaker
    ppa = await make_ppa(services)
    await _file_records(services, ppa, 20_000_001)
    other = await make_ppa(services)
    await _file_records(services, other, 30_000_001)
    # when: the offtaker reads through the operation
    session = await login(http, ppa.offtaker.email)
    body = await session.gql(
        operation("SharedPpaCertificates"), {"connectionId": gid("PpaConnection", ppa.connection_id)}
    )
    # then: its PPA's records, and nothing of the other PPA
    assert not body.get("errors"), body
    rows = body["data"]["sharedPpaCertificates"]
    assert sorted((int(r["rangeStart"]), int(r["rangeEnd"]), r["state"]) for r in rows) == [
        (20_000_001, 20_000_200, "TRANSFERRED"),
        (20_000_201, 20_000_300, "ACTIVE"),
    ]
    assert all(r["ppaConnectionId"] == gid("PpaConnection", ppa.connection_id) for r in rows)
    # and the other PPA's offtaker is refused this one
    other_session = await login(http, other.offtaker.email)
    body = await other_session.gql(
        operation("SharedPpaCertificates"), {"connectionId": gid("PpaConnection", ppa.connection_id)}
    )
    assert body["errors"][0]["extensions"]["code"] == "CONNECTION_NOT_FOUND"


async def test_a_cancellation_for_the_offtaker_comes_with_its_statement(services):
    ppa = await make_ppa(services)
    _, moved = await _file_records(services, ppa, 21_000_001)
    connection = await _connection(services, ppa)
    async with services.db.tenant(ppa.developer.tenant.scope()) as db:
        kept = await service.register_certificate(
            db, ppa.developer.principal, go_data(21_001_001, 21_001_050), connection=connection
        )
        await service.cancel_certificate(db, ppa.developer.principal, kept.id, statement_data())
    found = await read_contract_certificates(services, ppa.offtaker.principal, ppa.connection_id)
    by_start = {c.range_start: c for c in found.certificates}
    assert found.statements[by_start[21_001_001].id].beneficiary == "Alu Sabac d.o.o."
    assert by_start[moved.range_start].transferred_to == "Alu Sabac d.o.o."


async def test_a_revoked_connection_stops_the_read_at_once(services):
    ppa = await make_ppa(services)
    await _file_records(services, ppa, 22_000_001)
    assert len((await read_contract_certificates(services, ppa.offtaker.principal, ppa.connection_id)).certificates)
    await flows.revoke(services.db, ppa.developer.principal, connection_id=ppa.connection_id)
    with pytest.raises(DomainError) as refused:
        await read_contract_certificates(services, ppa.offtaker.principal, ppa.connection_id)
    assert refused.value.code == "CONNECTION_NOT_ACTIVE"


async def test_only_the_developer_of_a_connection_files_records_for_it(services):
    ppa = await make_ppa(services)
    connection = await _connection(services, ppa)
    # the offtaker's own schema is not the developer's
    async with services.db.tenant(ppa.offtaker.tenant.scope()) as db:
        with pytest.raises(ValidationFailed) as refused:
            await service.register_certificate(db, ppa.offtaker.principal, go_data(1, 10), connection=connection)
    assert refused.value.errors[0].field == "connectionId"


async def test_an_offtaker_links_its_own_certificates_to_its_supply_contract(services, http):
    ppa = await make_ppa(services)
    session = await login(http, ppa.offtaker.email)
    first, after = date.today().replace(day=1) - timedelta(days=1), date.today().replace(day=1)
    variables = {
        "input": {
            "scheme": "GO_EECS",
            "issuingBody": "EMS",
            "issuingCountry": "RS",
            "rangeStart": 23_000_001,
            "rangeEnd": 23_000_010,
            "deviceId": "D",
            "deviceName": "Dunav Solar 1",
            "deviceCountry": "RS",
            "energySource": "F01010100",
            "productionStartOn": first.replace(day=1).isoformat(),
            "productionEndOn": after.isoformat(),
            "issuedOn": after.isoformat(),
            "supplyContractId": gid("SupplyContract", ppa.contract_id),
        }
    }
    body = await session.gql(operation("RegisterCertificate"), variables)
    assert body["data"]["registerCertificate"]["errors"] == []
    body = await session.gql(
        operation("Certificates"), {"filter": {"supplyContractId": gid("SupplyContract", ppa.contract_id)}}
    )
    assert [e["node"]["rangeStart"] for e in body["data"]["certificates"]["edges"]] == ["23000001"]
    # the developer's connection id is not the offtaker's to file issuance records with
    body = await session.gql(
        operation("RegisterCertificate"),
        {
            "input": {
                **variables["input"],
                "rangeStart": 1,
                "rangeEnd": 2,
                "supplyContractId": None,
                "connectionId": gid("PpaConnection", ppa.connection_id),
            }
        },
    )
    assert body["data"]["registerCertificate"]["errors"][0]["field"] == "connectionId"
