"""Who may run and read calculations: an exporter's writers start and cancel, readers read; a viewer, an
importer, a client bound to another installation and a grantee whose grant does not cover footprints are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.sharing.grants import NewGrant, create_grant
from backend.sharing.models import ResourceKind
from backend.tenants.models import TenantKind
from tests.factories.calculations import small_plant
from tests.factories.jobs import work_off_queue
from tests.factories.site import make_plant
from tests.factories.tenants import Bearer, add_person, client_token, login, make_client, make_tenant
from tests.integration.calculations.test_calculation_runs import start
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


async def a_run(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    footprints = await session.gql(operation("ProductFootprints"), {})
    (version,) = footprints["data"]["productFootprints"]["nodes"]
    return owner, plant, started["run"]["id"], version["id"]


def code_of(body) -> str | None:
    if body.get("errors"):
        return body["errors"][0]["extensions"]["code"]
    payload = next(iter(body["data"].values()))
    return payload["errors"][0]["code"] if payload.get("errors") else None


async def test_a_viewer_reads_runs_and_footprints_but_starts_and_cancels_none(services, http):
    owner, plant, run_id, version_id = await a_run(services, http)
    email, _ = await add_person(services, owner, MembershipRole.VIEWER)
    viewer = await login(http, email)
    assert (await viewer.gql(operation("CalculationRun"), {"id": run_id}))["data"]["calculationRun"]["id"] == run_id
    assert (await viewer.gql(operation("FootprintVersion"), {"id": version_id}))["data"]["footprintVersion"]
    variables = {
        "input": {
            "installationId": gid("Installation", plant.plant.installation_id),
            "start": plant.start.isoformat(),
            "end": plant.end.isoformat(),
            "matchingResolution": "day",
        }
    }
    assert code_of(await viewer.gql(operation("StartCalculationRun"), variables)) == "PERMISSION_DENIED"
    assert code_of(await viewer.gql(operation("CancelCalculationRun"), {"id": run_id})) == "PERMISSION_DENIED"


async def test_only_an_exporter_calculates(services, http):
    importer = await make_tenant(services, TenantKind.IMPORTER)
    plant = await make_plant(services, importer)
    session = await login(http, importer.email)
    start_ = datetime(2026, 11, 9, 23, tzinfo=UTC)
    body = await session.gql(
        operation("StartCalculationRun"),
        {
            "input": {
                "installationId": gid("Installation", plant.installation_id),
                "start": start_.isoformat(),
                "end": (start_ + timedelta(days=1)).isoformat(),
            }
        },
    )
    assert code_of(body) == "PERMISSION_DENIED"


async def test_a_client_bound_to_another_installation_sees_none_of_this_ones_runs(services, http):
    owner, _, run_id, version_id = await a_run(services, http)
    other = await make_plant(services, owner)
    client_id, secret = await make_client(
        services, owner, ["production:read", "footprints:read"], installation_id=other.installation_id
    )
    client = Bearer(http, await client_token(http, client_id, secret))
    assert code_of(await client.gql(operation("CalculationRun"), {"id": run_id})) == "CALCULATION_RUN_NOT_FOUND"
    assert code_of(await client.gql(operation("FootprintVersion"), {"id": version_id})) == "FOOTPRINT_NOT_FOUND"
    runs = await client.gql(operation("CalculationRuns"), {})
    assert runs["data"]["calculationRuns"]["nodes"] == []
    footprints = await client.gql(operation("ProductFootprints"), {})
    assert footprints["data"]["productFootprints"]["nodes"] == []


async def test_a_grant_that_does_not_cover_footprints_reads_none(services, http):
    owner, plant, run_id, version_id = await a_run(services, http)
    verifier = await make_tenant(services, TenantKind.VERIFIER)
    async with services.db.platform() as session:
        await create_grant(
            session,
            Principal.system("t", owner.id),
            grantor=owner.tenant,
            data=NewGrant(
                grantee_tenant_id=verifier.id,
                resource_kinds=[ResourceKind.INSTALLATION, ResourceKind.INTERVAL_DATA],
                installation_ids=[plant.plant.installation_id],
                expires_at=datetime.now(UTC) + timedelta(days=1),
            ),
        )
    caller = await login(http, verifier.email)
    assert code_of(await caller.gql(operation("CalculationRun"), {"id": run_id})) == "CALCULATION_RUN_NOT_FOUND"
    assert code_of(await caller.gql(operation("FootprintVersion"), {"id": version_id})) == "FOOTPRINT_NOT_FOUND"
    body = await caller.gql(
        operation("DefaultAgainstActual"),
        {
            "productId": gid("Product", plant.product_id),
            "installationId": gid("Installation", plant.plant.installation_id),
            "start": plant.start.isoformat(),
            "end": plant.end.isoformat(),
        },
    )
    assert code_of(body) == "INSTALLATION_NOT_FOUND"
