"""Identifiers travel: every interface takes the ids another one shows, and names a wrong one in one line."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from backend.identity.models import OAuthClient
from backend.ids import global_id
from tests.factories.orgs import make_org
from tests.factories.site import make_plant
from tests.factories.tenants import client_token, login, make_client, make_tenant
from tests.integration.test_cli import cbamx
from tests.operations import operation

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


async def _clients(services, tenant_id: uuid.UUID) -> int:
    async with services.db.platform_session() as session:
        query = select(func.count()).select_from(OAuthClient).where(OAuthClient.tenant_id == tenant_id)
        return int(await session.scalar(query))


def _create_ingest_client(tenant: str, installation: str):
    return cbamx(
        "client", "create", "--tenant", tenant, "--name", "agent", "--scope", "ingest", "--installation", installation
    )  # fmt: skip


async def test_the_cli_takes_the_installation_id_graphql_shows(services, http):
    # given: the installation's id as GraphQL shows it
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    shown = (await session.gql(operation("Installation"), {"id": str(plant.installation_id)}))["data"]
    graphql_id = shown["installation"]["id"]
    assert graphql_id == global_id("Installation", plant.installation_id)
    # when: it is given to the command line, with the organisation named by its GraphQL id too
    result = _create_ingest_client(global_id("Organization", owner.id), graphql_id)
    # then
    assert result.returncode == 0, result.stderr
    client_id = json.loads(result.stdout)["client_id"]
    async with services.db.platform_session() as db:
        row = (await db.execute(select(OAuthClient).where(OAuthClient.client_id == client_id))).scalar_one()
    assert row.installation_id == plant.installation_id
    # and the client's GraphQL id revokes it from the command line, the organisation named by its UUID
    revoked = cbamx("client", "revoke", "--tenant", str(owner.id), "--client-id", global_id("OAuthClient", client_id))
    assert revoked.returncode == 0, revoked.stderr


async def test_the_cli_names_a_wrong_id_in_one_line_and_stores_nothing(services):
    # given
    org = await make_org(services)
    plant = await make_plant(services, org)
    before = await _clients(services, org.id)
    for given, reason in (
        (global_id("Meter", plant.meters["MAIN"]), "expected the id of an Installation, got the id of a Meter"),
        ("plant-1", "not the id of an Installation: give its UUID or its GraphQL id"),
        (global_id("Installation", "not-a-uuid"), "its key is no UUID"),
    ):
        # when
        result = _create_ingest_client(org.tenant.slug, given)
        # then: a usage error naming the option and the reason, no traceback
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) < 8, result.stderr
        assert "--installation" in result.stderr and reason in result.stderr, result.stderr
    # and a global id of another type names no organisation
    wrong_tenant = _create_ingest_client(global_id("Installation", org.id), str(plant.installation_id))
    assert wrong_tenant.returncode == 2 and "expected the id of an Organization" in wrong_tenant.stderr
    assert "Traceback" not in wrong_tenant.stderr
    assert await _clients(services, org.id) == before


async def test_graphql_takes_the_uuids_rest_and_the_cli_show(services, http):
    # given
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    # when: queries get bare UUIDs
    installation = await session.gql(operation("Installation"), {"id": str(plant.installation_id)})
    meters = await session.gql(operation("Meters"), {"installationId": str(plant.installation_id)})
    # then
    assert installation.get("errors") is None, installation
    assert installation["data"]["installation"]["id"] == global_id("Installation", plant.installation_id)
    assert {m["code"] for m in meters["data"]["meters"]} == {"MAIN", "SUB1", "SUB2"}
    # and a mutation too: a client bound by the installation's UUID, revoked by its client_id
    created = await session.gql(
        operation("CreateClient"),
        {"input": {"name": "agent", "scopes": ["ingest"], "installationId": str(plant.installation_id)}},
    )
    payload = created["data"]["createClient"]
    assert payload["errors"] == [] and payload["client"]["installationId"] == global_id(
        "Installation", plant.installation_id
    )
    revoked = await session.gql(
        operation("RevokeClient"), {"input": {"clientId": payload["client"]["id"]}}
    )  # the client's global id
    assert revoked["data"]["revokeClient"]["errors"] == []


async def test_graphql_refuses_a_global_id_of_the_wrong_type_naming_the_argument(services, http):
    # given
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    session = await login(http, owner.email)
    meter = global_id("Meter", plant.meters["MAIN"])
    # when: a query
    answer = await session.gql(operation("Meters"), {"installationId": meter})
    # then
    error = answer["errors"][0]
    assert error["extensions"]["field"] == "installationId"
    assert "expected the id of an Installation, got the id of a Meter" in error["message"]
    # when: a mutation
    before = await _clients(services, owner.id)
    created = await session.gql(
        operation("CreateClient"), {"input": {"name": "agent", "scopes": ["ingest"], "installationId": meter}}
    )
    # then
    assert created["data"]["createClient"]["errors"] == [
        {
            "code": "INVALID",
            "field": "installationId",
            "message": "expected the id of an Installation, got the id of a Meter",
        }
    ]
    assert await _clients(services, owner.id) == before


async def test_rest_takes_the_global_ids_graphql_shows(services, http):
    # given: a document uploaded over REST, whose id GraphQL shows as a global id
    org = await make_org(services)
    client_id, secret = await make_client(services, org, ["evidence:read", "evidence:write"])
    headers = {"Authorization": f"Bearer {await client_token(http, client_id, secret)}"}
    data = PDF + f"% {uuid.uuid4()}\n".encode()
    uploaded = await http.post(
        "/evidence/", files={"file": ("c.pdf", data, "application/pdf")}, data={"kind": "ppa"}, headers=headers
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()["id"]
    # when
    by_uuid = await http.get(f"/evidence/{document}/download", headers=headers)
    by_global_id = await http.get(f"/evidence/{global_id('EvidenceDocument', document)}/download", headers=headers)
    wrong_type = await http.get(f"/evidence/{global_id('Installation', document)}/download", headers=headers)
    # then
    assert by_uuid.status_code == 302 and by_global_id.status_code == 302
    assert by_global_id.headers["location"].split("?")[0] == by_uuid.headers["location"].split("?")[0]
    assert wrong_type.status_code == 422
    problem = wrong_type.json()
    assert problem["errors"] == [
        {
            "field": "id",
            "code": "INVALID",
            "message": "expected the id of an EvidenceDocument, got the id of an Installation",
        }
    ]
