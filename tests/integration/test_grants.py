"""Grants: the one way tenant B reads tenant A's data; every read is checked and audited at A."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.audit.service import verify_chain
from backend.identity.models import MembershipRole
from backend.installations.schemas import InstallationData
from backend.installations.service import create_installation
from backend.sharing.models import Grant
from backend.tenants.models import TenantKind
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


# --- grants name organisations; finding an organisation's id ------------------------------------------


async def test_grants_name_both_organisations(services, http):
    # given
    w = await _world(services, http)
    grant = await _grant(await w.a_session(), w.b)
    # when
    given = await (await w.a_session()).gql("{ grantsGiven { id grantor { id name } grantee { id name slug } } }")
    received = await (await w.b_session()).gql("{ grantsReceived { id grantor { id name slug } } }")
    # then
    (g,) = given["data"]["grantsGiven"]
    assert g["id"] == grant["id"]
    assert g["grantor"] == {"id": w.grantor, "name": w.a.tenant.name}
    assert g["grantee"] == {"id": gid("Organization", w.b.id), "name": w.b.tenant.name, "slug": w.b.tenant.slug}
    (r,) = received["data"]["grantsReceived"]
    assert r["grantor"] == {"id": w.grantor, "name": w.a.tenant.name, "slug": w.a.tenant.slug}


async def test_cli_lists_grants_with_organisation_names(services, http):
    # given
    from tests.integration.test_cli import cbamx

    w = await _world(services, http)
    grant = await _grant(await w.a_session(), w.b)
    # when
    given = await anyio_run(cbamx, "grant", "list", "--tenant", w.a.tenant.slug)
    received = await anyio_run(cbamx, "grant", "list", "--tenant", w.b.tenant.slug)
    # then
    assert given.returncode == 0, given.stderr
    (line,) = [json.loads(x) for x in given.stdout.splitlines()]
    assert line["id"] == node_id(grant["id"]) and line["direction"] == "given"
    assert line["grantee"] == {"id": str(w.b.id), "slug": w.b.tenant.slug, "name": w.b.tenant.name}
    (line,) = [json.loads(x) for x in received.stdout.splitlines()]
    assert line["direction"] == "received" and line["grantor"]["name"] == w.a.tenant.name


async def anyio_run(fn: Any, *args: str) -> Any:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(lambda: fn(*args))


async def test_partner_organisations_are_those_with_grants_either_way(services, http):
    # given: A granted B; C has no grant with anyone
    w = await _world(services, http)
    await _grant(await w.a_session(), w.b)
    c = await make_tenant(services, TenantKind.VERIFIER)
    # when
    of_a = await (await w.a_session()).gql("{ partnerOrganizations { id name } }")
    of_b = await (await w.b_session()).gql("{ partnerOrganizations { id name } }")
    of_c = await (await login(http, c.email)).gql("{ partnerOrganizations { id name } }")
    # then
    assert of_a["data"]["partnerOrganizations"] == [{"id": gid("Organization", w.b.id), "name": w.b.tenant.name}]
    assert of_b["data"]["partnerOrganizations"] == [{"id": w.grantor, "name": w.a.tenant.name}]
    assert of_c["data"]["partnerOrganizations"] == []


LOOKUP = "query($q: String!) { organizationLookup(lookup: $q) { id name slug } }"


async def test_an_organisation_is_found_by_exact_slug_or_name_only(services, http):
    # given: C wants to give A a grant and knows A's slug or name
    w = await _world(services, http)
    c = await make_tenant(services, TenantKind.VERIFIER)
    session = await login(http, c.email)
    expected = {"id": w.grantor, "name": w.a.tenant.name, "slug": w.a.tenant.slug}
    # when / then: the exact slug, and the exact name in any case, find it
    for q in (w.a.tenant.slug, w.a.tenant.name, w.a.tenant.name.upper(), f"  {w.a.tenant.slug} "):
        body = await session.gql(LOOKUP, {"q": q})
        assert body["data"]["organizationLookup"] == expected, (q, body)
    # and nothing else does: a prefix, a pattern, a blank or an over-long lookup
    for q, code in (
        (w.a.tenant.slug[:-2], "ORGANIZATION_NOT_FOUND"),
        ("t-%", "ORGANIZATION_NOT_FOUND"),
        ("Org", "ORGANIZATION_NOT_FOUND"),
        ("", "VALIDATION_FAILED"),
        ("x" * 201, "VALIDATION_FAILED"),
    ):
        body = await session.gql(LOOKUP, {"q": q})
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == code, (q, body)


# --- the grants-given rule lives in the service -------------------------------------------------------


async def test_grants_given_refuses_a_caller_without_the_scope_in_every_interface(services, http):
    # given: a client of A without grants:read, and A's live grant
    from backend.errors import PermissionDenied
    from backend.sharing.grants import grants_given

    w = await _world(services, http)
    await _grant(await w.a_session(), w.b)
    client_id, secret = await make_client(services, w.a, ["site:read"])
    bearer = Bearer(http, await client_token(http, client_id, secret))
    # when: through GraphQL
    body = await bearer.gql("{ grantsGiven { id } }")
    # then
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    # and the service itself refuses, rather than answering an empty list
    reader = w.a.principal.__class__(kind="user", id="x", label="x", tenant_id=w.a.id, scopes=frozenset({"site:read"}))
    async with services.db.platform_session() as session:
        with pytest.raises(PermissionDenied):
            await grants_given(session, reader, grantor_id=w.a.id)
        # and another organisation's grants are refused, not an empty list
        with pytest.raises(PermissionDenied):
            await grants_given(session, w.b.principal, grantor_id=w.a.id)
