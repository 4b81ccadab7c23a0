"""Invitations: an admin invites an address to a role; the invitee accepts once and can log in."""

from __future__ import annotations

import uuid

from backend.identity.models import MembershipRole
from tests.factories.tenants import PASSWORD, add_person, login, make_tenant
from tests.operations import operation


async def invite(session, email: str, role: str) -> dict:
    body = await session.gql(operation("InviteMember"), {"input": {"email": email, "role": role}})
    return body["data"]["inviteMember"]


async def test_an_invited_person_joins_with_the_role_and_the_token_works_once(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    invited = await invite(session, email, "MEMBER")
    assert invited["errors"] == [] and invited["token"]
    # when
    accepted = await http.post(
        "/auth/invitations/accept", json={"token": invited["token"], "name": "New Person", "password": PASSWORD}
    )
    # then: a member of the organisation, logged in
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "member" and accepted.json()["tenantId"] == str(owner.id)
    newcomer = await login(http, email)
    viewer = (await newcomer.gql(operation("Viewer")))["data"]["viewer"]
    assert viewer["role"] == "MEMBER" and viewer["organization"]["slug"] == owner.tenant.slug
    # and the token cannot be used again
    again = await http.post(
        "/auth/invitations/accept", json={"token": invited["token"], "name": "Someone else", "password": PASSWORD}
    )
    assert again.status_code == 422 and again.json()["code"] == "INVITATION_INVALID"
    # and both steps are in the organisation's audit trail
    trail = (await session.gql(operation("AuditTrail"), {"first": 10}))["data"]["auditTrail"]["edges"]
    actions = [edge["node"]["action"] for edge in trail]
    assert "invitation.created" in actions and "membership.added" in actions


async def test_a_person_with_an_account_joins_a_second_organisation_without_a_new_password(services, http):
    first, second = await make_tenant(services), await make_tenant(services)
    session = await login(http, second.email)
    invited = await invite(session, first.email, "VIEWER")
    accepted = await http.post(
        "/auth/invitations/accept", json={"token": invited["token"], "name": "ignored", "password": None}
    )
    assert accepted.status_code == 200 and accepted.json()["role"] == "viewer"
    memberships = (await (await login(http, first.email)).gql(operation("Viewer")))["data"]["viewer"]["memberships"]
    assert {m["organization"]["slug"] for m in memberships} == {first.tenant.slug, second.tenant.slug}


async def test_only_admins_invite_and_nobody_above_their_own_role(services, http):
    owner = await make_tenant(services)
    viewer_email, _ = await add_person(services, owner, MembershipRole.VIEWER)
    admin_email, _ = await add_person(services, owner, MembershipRole.ADMIN)
    as_viewer = await invite(await login(http, viewer_email), "x@example.com", "MEMBER")
    assert as_viewer["token"] is None and as_viewer["errors"][0]["code"] == "PERMISSION_DENIED"
    as_admin = await invite(await login(http, admin_email), "y@example.com", "OWNER")
    assert as_admin["token"] is None and as_admin["errors"][0]["field"] == "role"
    bad_email = await invite(await login(http, admin_email), "not an email", "MEMBER")
    assert bad_email["errors"][0]["field"] == "email"
