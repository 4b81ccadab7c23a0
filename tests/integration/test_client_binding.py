"""An ingest client is bound to an installation that exists: the rule holds from the CLI and GraphQL."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from backend.api.relay import gid
from backend.identity.models import OAuthClient
from tests.factories.orgs import make_org
from tests.factories.site import make_plant
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cli import cbamx
from tests.operations import operation


async def _clients(services, tenant_id: uuid.UUID) -> int:
    async with services.db.platform_session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(OAuthClient).where(OAuthClient.tenant_id == tenant_id)
            )
        )


def create_ingest_client(tenant: str, installation: str):
    """`cbamx client create` of an ingest client bound to ``installation``, for ``tenant``."""
    return cbamx(
        "client", "create", "--tenant", tenant, "--name", "agent", "--scope", "ingest", "--installation", installation
    )


async def test_the_cli_refuses_an_ingest_client_for_an_installation_that_does_not_exist(services):
    # given
    org = await make_org(services)
    before = await _clients(services, org.id)
    # when
    result = create_ingest_client(org.tenant.slug, str(uuid.uuid4()))
    # then: refused, naming the installation, and no client stored
    assert result.returncode == 3, result.stdout + result.stderr
    assert "INSTALLATION_NOT_FOUND" in result.stderr and "installation" in result.stderr
    assert await _clients(services, org.id) == before


async def test_the_cli_binds_an_ingest_client_to_an_installation_of_the_organisation(services):
    # given
    org = await make_org(services)
    plant = await make_plant(services, org)
    # when
    result = create_ingest_client(org.tenant.slug, str(plant.installation_id))
    # then
    assert result.returncode == 0, result.stderr
    async with services.db.platform_session() as session:
        row = (await session.execute(select(OAuthClient).where(OAuthClient.tenant_id == org.id))).scalar_one()
    assert row.installation_id == plant.installation_id


async def test_the_cli_refuses_another_organisations_installation(services):
    # given: an installation of another organisation
    org, other = await make_org(services), await make_org(services)
    plant = await make_plant(services, other)
    # when
    result = create_ingest_client(org.tenant.slug, str(plant.installation_id))
    # then
    assert result.returncode == 3 and "INSTALLATION_NOT_FOUND" in result.stderr
    assert await _clients(services, org.id) == 0


async def test_graphql_refuses_an_ingest_client_for_an_unknown_installation(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    before = await _clients(services, owner.id)
    # when
    body = await session.gql(
        operation("CreateClient"),
        {"input": {"name": "agent", "scopes": ["ingest"], "installationId": str(gid("Installation", uuid.uuid4()))}},
    )
    # then
    payload = body["data"]["createClient"]
    assert payload["client"] is None
    assert payload["errors"][0]["code"] == "INSTALLATION_NOT_FOUND"
    assert payload["errors"][0]["field"] == "installationId"
    assert await _clients(services, owner.id) == before
