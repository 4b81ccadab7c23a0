"""Grants: the one way tenant B reads tenant A's data; every read is checked and audited at A."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.audit.service import verify_chain
from backend.identity.models import MembershipRole
from backend.installations.schemas import InstallationData
from backend.installations.service import create_installation
from backend.sharing.models import Grant
from tenancy.models import TenantKind
from tests.factories.orgs import make_org
from tests.factories.superuser import superuser_execute
from tests.factories.tenants import (
    Bearer,
    Session,
    TenantWithOwner,
    add_person,
    client_token,
    login,
    make_client,
    make_tenant,
)

CREATE_GRANT = """
mutation($input: CreateGrantInput!) {
  createGrant(input: $input) {
    grant { id grantorId granteeId resourceKinds installationIds expiresAt revokedAt }
    errors { code field message }
  }
}
"""
REVOKE_GRANT = """
mutation($id: ID!) { revokeGrant(input: {id: $id}) { grant { id revokedAt } errors { code field } } }
"""
SHARED_INSTALLATIONS = "query($g: ID!) { sharedInstallations(grantorId: $g) { id name country } }"
SHARED_EVIDENCE = "query($g: ID!) { sharedEvidence(grantorId: $g) { id sha256 } }"


def gid(type_name: str, value: object) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


def node_id(global_id: str) -> str:
    return base64.b64decode(global_id).decode().split(":", 1)[1]


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _installation(services, owner: TenantWithOwner, name: str) -> uuid.UUID:
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = await create_installation(db, owner.principal, InstallationData(name=name, country="RS"))
    return row.id


async def _audit(services, owner: TenantWithOwner) -> list[AuditEntry]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return list((await db.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars())


async def _grants_stored(services, grantor: TenantWithOwner) -> int:
    async with services.db.platform_session() as session:
        query = select(func.count()).select_from(Grant).where(Grant.grantor_tenant_id == grantor.id)
        return int((await session.execute(query)).scalar_one())


async def _grant(session: Session, grantee: TenantWithOwner, **extra: Any) -> dict[str, Any]:
    payload = {
        "granteeId": gid("Organization", grantee.id),
        "resourceKinds": ["INSTALLATION"],
        "expiresAt": later(days=30),
        "purpose": "supplier check",
        **extra,
    }
    result = await session.gql(CREATE_GRANT, {"input": payload})
    assert "errors" not in result, result
    data = result["data"]["createGrant"]
    assert data["errors"] == [], data
    return data["grant"]  # type: ignore[no-any-return]


def _refused_code(result: dict[str, Any]) -> str:
    assert result["data"] is None, result
    return str(result["errors"][0]["extensions"]["code"])


class World:
    """Exporter A with two installations, importer B; logged-in sessions of both owners."""

    def __init__(self, a: TenantWithOwner, b: TenantWithOwner, plants: list[uuid.UUID], http: Any) -> None:
        self.a, self.b, self.plants, self.http = a, b, plants, http
        self._sessions: dict[str, Session] = {}

    async def _session(self, email: str) -> Session:
        if email not in self._sessions:
            self._sessions[email] = await login(self.http, email)
        return self._sessions[email]

    async def a_session(self) -> Session:
        return await self._session(self.a.email)

    async def b_session(self) -> Session:
        return await self._session(self.b.email)

    @property
    def grantor(self) -> str:
        return gid("Organization", self.a.id)


async def _world(services, http) -> World:
    a = await make_tenant(services, TenantKind.EXPORTER)
    b = await make_tenant(services, TenantKind.IMPORTER)
    async with services.db.tenant(a.tenant.scope()) as db:
        plants = [
            (await create_installation(db, a.principal, InstallationData(name=name, country="RS"))).id
            for name in ("Extrusion", "Anodising")
        ]
    return World(a, b, plants, http)


# --- reading through a grant --------------------------------------------------------------------------


async def test_without_a_grant_the_importer_is_refused_with_no_live_grant(services, http):
    # given
    w = await _world(services, http)
    b = await w.b_session()
    before = len(await _audit(services, w.a))
    # when
    result = await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    # then
    assert _refused_code(result) == "NO_LIVE_GRANT"
    assert len(await _audit(services, w.a)) == before


async def test_with_a_live_grant_the_importer_sees_the_installations_and_each_read_is_audited_at_a(services, http):
    # given
    w = await _world(services, http)
    grant = await _grant(await w.a_session(), w.b)
    a_before, b_before = await _audit(services, w.a), await _audit(services, w.b)
    b = await w.b_session()
    # when: two reads
    first = await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    second = await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    # then
    for result in (first, second):
        assert "errors" not in result, result
        rows = result["data"]["sharedInstallations"]
        assert sorted(r["name"] for r in rows) == ["Anodising", "Extrusion"]
        assert {node_id(r["id"]) for r in rows} == {str(p) for p in w.plants}
    a_after = await _audit(services, w.a)
    used = a_after[len(a_before) :]
    assert [e.action for e in used] == ["grant.used", "grant.used"]
    assert all(e.details["grant_id"] == node_id(grant["id"]) for e in used)
    assert all(e.details["grantee_tenant_id"] == str(w.b.id) for e in used)
    assert all(e.actor_tenant_id == w.b.id and e.actor_label == w.b.email for e in used)
    assert all(e.entity_type == "installations" for e in used)
    # nothing was written to the reader's own trail
    assert len(await _audit(services, w.b)) == len(b_before)
    # and the grantor's chain still verifies
    async with services.db.tenant(w.a.tenant.scope()) as db:
        assert (await verify_chain(db)).ok


async def test_grant_limited_to_one_installation_shows_only_that_one(services, http):
    # given
    w = await _world(services, http)
    only = w.plants[1]
    await _grant(await w.a_session(), w.b, installationIds=[gid("Installation", only)])
    b = await w.b_session()
    # when
    result = await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    # then
    assert "errors" not in result, result
    assert [node_id(r["id"]) for r in result["data"]["sharedInstallations"]] == [str(only)]


async def test_installation_grant_does_not_open_evidence(services, http):
    # given
    w = await _world(services, http)
    await _grant(await w.a_session(), w.b, resourceKinds=["INSTALLATION"])
    b = await w.b_session()
    before = len(await _audit(services, w.a))
    # when
    result = await b.gql(SHARED_EVIDENCE, {"g": w.grantor})
    # then: there is a live grant, so the refusal names what it lacks
    assert _refused_code(result) == "GRANT_KIND_EXCLUDES"
    assert len(await _audit(services, w.a)) == before
    # and an evidence grant does
    await _grant(await w.a_session(), w.b, resourceKinds=["EVIDENCE"])
    b = await w.b_session()
    opened = await b.gql(SHARED_EVIDENCE, {"g": w.grantor})
    assert opened["data"]["sharedEvidence"] == []


async def test_a_grant_opens_only_the_grantor_to_only_the_grantee(services, http):
    # given: A granted B; C is a third tenant with an installation of its own
    w = await _world(services, http)
    await _grant(await w.a_session(), w.b)
    c = await make_tenant(services, TenantKind.EXPORTER)
    await _installation(services, c, "Other plant")
    c_session = await login(http, c.email)
    # when
    c_reads_a = await c_session.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    b_reads_c = await (await w.b_session()).gql(SHARED_INSTALLATIONS, {"g": gid("Organization", c.id)})
    # then
    assert _refused_code(c_reads_a) == "NO_LIVE_GRANT"
    assert _refused_code(b_reads_c) == "NO_LIVE_GRANT"


# --- ending access ------------------------------------------------------------------------------------


async def test_revoking_stops_access_on_the_very_next_request(services, http):
    # given
    w = await _world(services, http)
    grant = await _grant(await w.a_session(), w.b)
    b = await w.b_session()
    assert len((await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor}))["data"]["sharedInstallations"]) == 2
    # when
    revoked = await (await w.a_session()).gql(REVOKE_GRANT, {"id": grant["id"]})
    assert revoked["data"]["revokeGrant"]["errors"] == []
    assert revoked["data"]["revokeGrant"]["grant"]["revokedAt"] is not None
    b = await w.b_session()
    result = await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    # then
    assert _refused_code(result) == "NO_LIVE_GRANT"
    actions = [e.action for e in await _audit(services, w.a)]
    assert actions[-2:] == ["grant.used", "grant.revoked"]


async def test_the_grantee_cannot_revoke_a_grant(services, http):
    # given
    w = await _world(services, http)
    grant = await _grant(await w.a_session(), w.b)
    b = await w.b_session()
    # when
    result = await b.gql(REVOKE_GRANT, {"id": grant["id"]})
    # then
    assert result["data"]["revokeGrant"]["grant"] is None
    assert result["data"]["revokeGrant"]["errors"][0]["code"] == "GRANT_NOT_FOUND"
    assert len((await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor}))["data"]["sharedInstallations"]) == 2


async def test_expired_grant_stops_access(services, http):
    # given: a live grant whose expiry then passes
    w = await _world(services, http)
    grant = await _grant(await w.a_session(), w.b)
    b = await w.b_session()
    assert "errors" not in await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    await superuser_execute(
        "UPDATE platform.grants SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(node_id(grant["id"])),
    )
    # when
    result = await b.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    # then
    assert _refused_code(result) == "NO_LIVE_GRANT"
    received = await b.gql("{ grantsReceived { id } }")
    assert received["data"]["grantsReceived"] == []


# --- a grant to one client of the grantee -------------------------------------------------------------


async def test_grant_to_one_client_is_usable_only_by_that_client(services, http):
    # given
    w = await _world(services, http)
    named_id, named_secret = await make_client(services, w.b, ["site:read", "grants:read"])
    other_id, other_secret = await make_client(services, w.b, ["site:read", "grants:read"])
    await _grant(await w.a_session(), w.b, granteeClientId=named_id)
    named = Bearer(http, await client_token(http, named_id, named_secret))
    other = Bearer(http, await client_token(http, other_id, other_secret))
    # when
    by_named = await named.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    by_other = await other.gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    by_person = await (await w.b_session()).gql(SHARED_INSTALLATIONS, {"g": w.grantor})
    # then
    assert len(by_named["data"]["sharedInstallations"]) == 2, by_named
    assert _refused_code(by_other) == "NO_LIVE_GRANT"
    assert _refused_code(by_person) == "NO_LIVE_GRANT"


async def test_grant_to_a_client_of_another_tenant_is_refused(services, http):
    # given: the client belongs to C, not to the grantee B
    w = await _world(services, http)
    c = await make_org(services, TenantKind.IMPORTER)
    c_client, _ = await make_client(services, c, ["site:read"])
    a = await w.a_session()
    # when
    result = await a.gql(
        CREATE_GRANT,
        {
            "input": {
                "granteeId": gid("Organization", w.b.id),
                "resourceKinds": ["INSTALLATION"],
                "expiresAt": later(days=1),
                "granteeClientId": c_client,
            }
        },
    )
    # then
    errors = result["data"]["createGrant"]["errors"]
    assert [e["field"] for e in errors] == ["granteeClientId"]
    assert await _grants_stored(services, w.a) == 0


# --- who may grant, and what input is refused ---------------------------------------------------------


async def test_viewer_and_member_of_a_cannot_create_grants(services, http):
    # given
    w = await _world(services, http)
    for role in (MembershipRole.VIEWER, MembershipRole.MEMBER):
        email, _ = await add_person(services, w.a, role)
        session = await login(http, email)
        before = len(await _audit(services, w.a))
        # when
        result = await session.gql(
            CREATE_GRANT,
            {
                "input": {
                    "granteeId": gid("Organization", w.b.id),
                    "resourceKinds": ["INSTALLATION"],
                    "expiresAt": later(days=1),
                }
            },
        )
        # then
        payload = result["data"]["createGrant"]
        assert payload["grant"] is None
        assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
        assert len(await _audit(services, w.a)) == before
    assert await _grants_stored(services, w.a) == 0


async def test_admin_of_a_can_create_grants_and_it_is_audited(services, http):
    # given
    w = await _world(services, http)
    email, _ = await add_person(services, w.a, MembershipRole.ADMIN)
    session = await login(http, email)
    # when
    grant = await _grant(session, w.b)
    # then
    assert grant["grantorId"] == w.grantor
    assert grant["granteeId"] == gid("Organization", w.b.id)
    assert grant["resourceKinds"] == ["INSTALLATION"]
    last = (await _audit(services, w.a))[-1]
    assert last.action == "grant.created" and last.entity_id == node_id(grant["id"])
    assert last.actor_label == email


async def test_bad_grant_input_names_every_field_and_stores_nothing(services, http):
    # given
    w = await _world(services, http)
    a = await w.a_session()
    before = len(await _audit(services, w.a))
    # when
    result = await a.gql(
        CREATE_GRANT,
        {
            "input": {
                "granteeId": gid("Organization", uuid.uuid4()),
                "resourceKinds": [],
                "expiresAt": later(hours=-1),
            }
        },
    )
    # then
    payload = result["data"]["createGrant"]
    assert payload["grant"] is None
    fields = {e["field"] for e in payload["errors"]}
    assert fields == {"granteeId", "resourceKinds", "expiresAt"}, payload["errors"]
    assert {e["code"] for e in payload["errors"]} == {"INVALID"}
    assert await _grants_stored(services, w.a) == 0
    assert len(await _audit(services, w.a)) == before


async def test_grant_to_oneself_or_to_a_non_organisation_is_refused(services, http):
    # given
    w = await _world(services, http)
    a = await w.a_session()
    for grantee in (gid("Organization", w.a.id), gid("Installation", w.plants[0])):
        # when
        result = await a.gql(
            CREATE_GRANT,
            {"input": {"granteeId": grantee, "resourceKinds": ["INSTALLATION"], "expiresAt": later(days=1)}},
        )
        # then
        assert [e["field"] for e in result["data"]["createGrant"]["errors"]] == ["granteeId"]
    assert await _grants_stored(services, w.a) == 0


async def test_grants_received_and_given_list_the_grant(services, http):
    # given
    w = await _world(services, http)
    grant = await _grant(await w.a_session(), w.b)
    # when
    given = await (await w.a_session()).gql("{ grantsGiven { id } }")
    received = await (await w.b_session()).gql("{ grantsReceived { id grantorId } }")
    # then
    assert given["data"]["grantsGiven"] == [{"id": grant["id"]}]
    assert received["data"]["grantsReceived"] == [{"id": grant["id"], "grantorId": w.grantor}]
