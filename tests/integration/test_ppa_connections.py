"""PPA connections: one side invites, the other accepts or declines; acceptance opens the developer's
data of that one contract to the offtaker through a contract-scoped grant, which revoking the
connection or the contract's end closes at once. Each side sees only the shared contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from backend.audit.models import AuditEntry
from backend.developers.models import PpaConnection
from backend.sharing.models import Grant
from backend.supply.service import create_contract
from backend.tenants.models import TenantKind
from tests.factories.supply import (
    generation_csv,
    make_developer_plant,
    make_ppa_world,
    month_start,
    ppa_contract_data,
)
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation
from workers.jobs.generation import import_generation


async def _with_generation(services, http, world) -> None:
    dev = await login(http, world.developer.email)
    response = await http.post(
        f"/developers/v1/connections/{world.connection_id}/generation",
        cookies=dev.cookies,
        headers={"X-CSRF-Token": dev.csrf},
        files={"file": ("g.csv", generation_csv(month_start(1), 96), "text/csv")},
    )
    assert response.status_code == 202, response.text
    await import_generation({"services": services}, str(world.developer.id), response.json()["upload_id"])


def _window() -> dict[str, str]:
    return {"start": month_start(1).isoformat(), "end": (month_start(1) + timedelta(days=1)).isoformat()}


async def test_the_exporter_invites_and_the_developer_accepts_with_its_plant(services, http):
    # given: an exporter's PPA contract and a developer with a plant
    world = await make_ppa_world(services, accept=False)
    exporter = await login(http, world.exporter.email)
    # a second contract of the exporter, invited from the exporter's side
    async with services.db.tenant(world.exporter.tenant.scope()) as db:
        contract = await create_contract(
            db,
            world.exporter.principal,
            ppa_contract_data(world.site.installation_id, None, reference="PPA-SECOND"),
        )
    # when
    invited = await exporter.gql(
        operation("InviteDeveloper"),
        {
            "input": {
                "contractId": gid("SupplyContract", contract.id),
                "developerId": gid("Organization", world.developer.id),
            }
        },
    )
    connection = invited["data"]["inviteDeveloper"]["connection"]
    assert connection["status"] == "INVITED" and connection["invitedByViewer"] is True, invited
    developer = await login(http, world.developer.email)
    listed = await developer.gql(operation("PpaConnections"))
    assert {c["reference"] for c in listed["data"]["ppaConnections"]} == {"PPA-SECOND", world_reference(listed, world)}
    # the inviting side cannot accept its own invitation
    own = await exporter.gql(
        operation("AcceptPpaConnection"),
        {"input": {"id": connection["id"], "contractId": gid("SupplyContract", contract.id)}},
    )
    assert own["data"]["acceptPpaConnection"]["errors"][0]["code"] == "CONNECTION_STATE_CONFLICT"
    accepted = await developer.gql(
        operation("AcceptPpaConnection"),
        {"input": {"id": connection["id"], "plantId": gid("GenerationPlant", world.plant_id)}},
    )
    # then: active, the developer sees its plant id, not the offtaker's contract
    out = accepted["data"]["acceptPpaConnection"]["connection"]
    assert out["status"] == "ACTIVE" and out["contractId"] is None
    assert out["plantId"] == gid("GenerationPlant", world.plant_id)
    async with services.db.platform_session() as session:
        grants = list(
            (await session.execute(select(Grant).where(Grant.grantor_tenant_id == world.developer.id))).scalars()
        )
    assert [(g.resource_kinds, g.grantee_tenant_id) for g in grants] == [(["ppa_contract"], world.exporter.id)]
    assert grants[0].expires_at == accepted_end(world)


def accepted_end(world) -> datetime:
    return world.period[1]


def world_reference(listed, world) -> str:
    return next(c["reference"] for c in listed["data"]["ppaConnections"] if c["reference"] != "PPA-SECOND")


async def test_a_declined_invitation_shares_nothing(services, http):
    world = await make_ppa_world(services, accept=False)
    exporter = await login(http, world.exporter.email)
    declined = await exporter.gql(
        operation("DeclinePpaConnection"), {"input": {"id": gid("PpaConnection", world.connection_id)}}
    )
    assert declined["data"]["declinePpaConnection"]["connection"]["status"] == "DECLINED"
    shared = await exporter.gql(
        operation("SharedPpaContract"), {"connectionId": gid("PpaConnection", world.connection_id)}
    )
    assert shared["errors"][0]["extensions"]["code"] == "CONNECTION_NOT_ACTIVE"
    async with services.db.platform_session() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Grant).where(Grant.grantor_tenant_id == world.developer.id)
            )
            == 0
        )


async def test_the_offtaker_reads_its_contract_only_and_the_read_is_in_the_developers_trail(services, http):
    # given: a developer with two offtakers, each with a PPA and generation
    world = await make_ppa_world(services)
    await _with_generation(services, http, world)
    other_offtaker = await make_ppa_world(services)
    # the second offtaker is connected to another developer; connect the first developer to a third exporter too
    third = await make_tenant(services, TenantKind.EXPORTER, name="Third Exporter Ltd")
    async with services.db.tenant(world.developer.tenant.scope()) as db:
        before = await db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "grant.used"))
    exporter = await login(http, world.exporter.email)
    # when: the offtaker reads the shared contract and its intervals
    shared = await exporter.gql(
        operation("SharedPpaContract"), {"connectionId": gid("PpaConnection", world.connection_id)}
    )
    intervals = await exporter.gql(
        operation("SharedSettlementIntervals"), {"connectionId": gid("PpaConnection", world.connection_id), **_window()}
    )
    # then
    data = shared["data"]["sharedPpaContract"]
    assert data["intervalCount"] == 96 and data["plant"]["capacityKw"] == 10000
    assert len(intervals["data"]["sharedSettlementIntervals"]) == 96
    async with services.db.tenant(world.developer.tenant.scope()) as db:
        after = await db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "grant.used"))
    assert after == before + 2
    # and another offtaker's contract is not reachable with this offtaker's grant
    foreign = await exporter.gql(
        operation("SharedPpaContract"), {"connectionId": gid("PpaConnection", other_offtaker.connection_id)}
    )
    assert foreign["errors"][0]["extensions"]["code"] == "CONNECTION_NOT_FOUND"
    # and a third organisation sees nothing
    outsider = await login(http, third.email)
    for name, variables in (
        ("SharedPpaContract", {"connectionId": gid("PpaConnection", world.connection_id)}),
        ("SharedSettlementIntervals", {"connectionId": gid("PpaConnection", world.connection_id), **_window()}),
        ("ContractSettlement", {"connectionId": gid("PpaConnection", world.connection_id)}),
    ):
        body = await outsider.gql(operation(name), variables)
        assert body["errors"][0]["extensions"]["code"] == "CONNECTION_NOT_FOUND", (name, body)
    listed = await outsider.gql(operation("PpaConnections"))
    assert listed["data"]["ppaConnections"] == []


async def test_the_developer_sees_nothing_of_its_offtaker_but_the_shared_contract(services, http):
    world = await make_ppa_world(services)
    developer = await login(http, world.developer.email)
    listed = await developer.gql(operation("PpaConnections"))
    text = json.dumps(listed)
    (connection,) = listed["data"]["ppaConnections"]
    # the connection's terms and the offtaker's name; not its contract id, installation or meters
    assert connection["contractId"] is None
    assert str(world.contract_id) not in text and str(world.site.installation_id) not in text
    for name, variables in (
        ("SupplyContract", {"id": gid("SupplyContract", world.contract_id)}),
        ("SharedPpaContract", {"connectionId": gid("PpaConnection", world.connection_id)}),
    ):
        body = await developer.gql(operation(name), variables)
        assert body.get("errors"), (name, body)
        assert world.site.name not in json.dumps(body)
    contracts = await developer.gql(operation("SupplyContracts"))
    assert contracts["data"]["supplyContracts"] == []


async def test_revoking_the_connection_stops_the_offtakers_access_at_once(services, http):
    world = await make_ppa_world(services)
    await _with_generation(services, http, world)
    exporter = await login(http, world.exporter.email)
    variables = {"connectionId": gid("PpaConnection", world.connection_id)}
    assert not (await exporter.gql(operation("SharedPpaContract"), variables)).get("errors")
    developer = await login(http, world.developer.email)
    revoked = await developer.gql(
        operation("RevokePpaConnection"), {"input": {"id": gid("PpaConnection", world.connection_id)}}
    )
    assert revoked["data"]["revokePpaConnection"]["connection"]["status"] == "REVOKED"
    exporter = await login(http, world.exporter.email)
    body = await exporter.gql(operation("SharedPpaContract"), variables)
    assert body["errors"][0]["extensions"]["code"] == "CONNECTION_NOT_ACTIVE"
    body = await exporter.gql(operation("SharedSettlementIntervals"), variables | _window())
    assert body["errors"][0]["extensions"]["code"] == "CONNECTION_NOT_ACTIVE"
    async with services.db.platform_session() as session:
        grant = (await session.execute(select(Grant).where(Grant.grantor_tenant_id == world.developer.id))).scalar_one()
    assert grant.revoked_at is not None
    # and the developer can no longer upload to it
    response = await http.post(
        f"/developers/v1/connections/{world.connection_id}/generation",
        cookies=developer.cookies,
        headers={"X-CSRF-Token": developer.csrf},
        files={"file": ("g.csv", generation_csv(month_start(1) + timedelta(days=2), 4), "text/csv")},
    )
    assert response.status_code == 403 and response.json()["code"] == "CONNECTION_NOT_ACTIVE"


async def test_a_revoked_grant_alone_stops_access_too(services, http):
    world = await make_ppa_world(services)
    async with services.db.platform() as session:
        await session.execute(
            update(Grant).where(Grant.grantor_tenant_id == world.developer.id).values(revoked_at=datetime.now(UTC))
        )
    exporter = await login(http, world.exporter.email)
    body = await exporter.gql(
        operation("SharedPpaContract"), {"connectionId": gid("PpaConnection", world.connection_id)}
    )
    assert body["errors"][0]["extensions"]["code"] == "NO_LIVE_GRANT"


async def test_a_contract_past_its_end_stops_access_at_once(services, http):
    world = await make_ppa_world(services)
    exporter = await login(http, world.exporter.email)
    variables = {"connectionId": gid("PpaConnection", world.connection_id)}
    assert not (await exporter.gql(operation("SharedPpaContract"), variables)).get("errors")
    # when: the contract's period ends (its grant expires with it)
    ended = datetime.now(UTC) - timedelta(seconds=1)
    async with services.db.platform() as session:
        await session.execute(
            update(PpaConnection).where(PpaConnection.id == world.connection_id).values(period_end=ended)
        )
        await session.execute(
            update(Grant).where(Grant.grantor_tenant_id == world.developer.id).values(expires_at=ended)
        )
    # then
    body = await exporter.gql(operation("SharedPpaContract"), variables)
    assert body["errors"][0]["extensions"]["code"] == "CONNECTION_NOT_ACTIVE"
    listed = await exporter.gql(operation("PpaConnections"))
    assert listed["data"]["ppaConnections"][0]["status"] == "ENDED"


async def test_a_contract_grant_cannot_be_given_by_hand(services, http):
    world = await make_ppa_world(services, accept=False)
    developer = await login(http, world.developer.email)
    body = await developer.gql(
        operation("CreateGrant"),
        {
            "input": {
                "granteeId": gid("Organization", world.exporter.id),
                "resourceKinds": ["PPA_CONTRACT"],
                "expiresAt": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            }
        },
    )
    errors = body["data"]["createGrant"]["errors"]
    assert "resourceKinds" in [e["field"] for e in errors], errors


async def test_a_developer_invites_only_with_a_plant_of_its_own_and_an_exporter(services, http):
    world = await make_ppa_world(services, accept=False)
    other_developer = await make_tenant(services, TenantKind.RENEWABLE_DEVELOPER)
    foreign_plant = await make_developer_plant(services, other_developer)
    developer = await login(http, world.developer.email)
    base = {
        "offtakerId": gid("Organization", world.exporter.id),
        "plantId": gid("GenerationPlant", foreign_plant),
        "reference": "PPA-X",
        "title": "X",
        "periodStart": month_start(1).isoformat(),
        "periodEnd": (month_start(1) + timedelta(days=365)).isoformat(),
        "settlement": "PHYSICAL",
        "deliveryShape": "PAY_AS_PRODUCED",
    }
    body = await developer.gql(operation("InviteOfftaker"), {"input": base})
    assert body["data"]["inviteOfftaker"]["errors"][0]["field"] == "plantId"
    body = await developer.gql(
        operation("InviteOfftaker"),
        {
            "input": base
            | {"plantId": gid("GenerationPlant", world.plant_id), "offtakerId": gid("Organization", other_developer.id)}
        },
    )
    assert body["data"]["inviteOfftaker"]["errors"][0]["field"] == "offtakerId"
    body = await developer.gql(
        operation("InviteOfftaker"),
        {"input": base | {"plantId": gid("GenerationPlant", world.plant_id), "periodEnd": base["periodStart"]}},
    )
    assert body["data"]["inviteOfftaker"]["errors"][0]["field"] == "periodEnd"
