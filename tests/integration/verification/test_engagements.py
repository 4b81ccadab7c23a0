"""Engagements: invitation, acceptance with its grants, extension, end and revocation, all audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.errors import PermissionDenied, ValidationFailed
from backend.identity.models import MembershipRole
from backend.sharing.models import Grant
from backend.tenants.models import TenantKind
from backend.verification import service as verification
from backend.verification.errors import EngagementNotFound, EngagementState, NotOnTeam
from backend.verification.models import Engagement, EngagementStatus, ExtensionStatus
from tests.factories.tenants import add_person, make_tenant
from tests.factories.verification import PERIOD, active_engagement, new_engagement, verification_scope


async def _grants(services, ids):
    async with services.db.platform_session() as db:
        rows = (await db.execute(select(Grant).where(Grant.id.in_(ids)))).scalars().all()
    return sorted(rows, key=lambda g: len(g.resource_kinds))


async def _actions(services, owner):
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = (await db.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all()
    return [r.action for r in rows]


async def _count_engagements(services, exporter_id):
    async with services.db.platform_session() as db:
        rows = await db.execute(select(Engagement).where(Engagement.exporter_tenant_id == exporter_id))
        return len(rows.scalars().all())


async def test_accepting_opens_read_only_grants_limited_to_the_installation_and_period(services):
    # given: an invitation
    scope = await verification_scope(services)
    invited = await verification.invite_verifier(services, scope.exporter.principal, new_engagement(scope))
    assert invited.status == EngagementStatus.INVITED and invited.grant_ids == []
    assert [v["id"] for v in invited.footprint_versions] == [str(v) for v in scope.version_ids]
    # when
    accepted = await verification.accept_engagement(services, scope.verifier.principal, invited.id)
    # then: two grants (the site model has no period), both ending with the access
    assert accepted.status == EngagementStatus.ACTIVE
    site, dated = await _grants(services, accepted.grant_ids)
    assert site.resource_kinds == ["installation"] and site.period_start is None
    assert sorted(dated.resource_kinds) == ["audit", "evidence", "footprint", "interval_data", "production", "supply"]
    assert (dated.period_start, dated.period_end) == PERIOD
    for grant in (site, dated):
        assert grant.grantee_tenant_id == scope.verifier.id and grant.grantor_tenant_id == scope.exporter.id
        assert grant.installation_ids == [scope.plant.installation_id]
        assert grant.expires_at == accepted.access_end and grant.access == "read"
    # and both steps are in the exporter's trail, the grants too
    actions = await _actions(services, scope.exporter)
    assert {"verification.invited", "verification.accepted", "grant.created"} <= set(actions)


async def test_ending_and_revoking_revoke_the_grants_at_once(services):
    scope = await verification_scope(services)
    for close, status in (
        (verification.end_engagement, EngagementStatus.ENDED),
        (verification.revoke_engagement, EngagementStatus.REVOKED),
    ):
        engagement_id = await active_engagement(services, scope)
        # when
        closed = await close(services, scope.exporter.principal, engagement_id)
        # then
        assert closed.status == status
        assert all(g.revoked_at is not None for g in await _grants(services, closed.grant_ids))
        assert f"verification.{status.value}" in await _actions(services, scope.exporter)
        # and nothing more happens in it
        with pytest.raises(EngagementState):
            await verification.end_engagement(services, scope.exporter.principal, engagement_id)


async def test_state_machine_refuses_steps_out_of_order(services):
    scope = await verification_scope(services)
    invited = await verification.invite_verifier(services, scope.exporter.principal, new_engagement(scope))
    # an invitation cannot be ended (only withdrawn), nor extended
    with pytest.raises(EngagementState):
        await verification.end_engagement(services, scope.exporter.principal, invited.id)
    with pytest.raises(EngagementState):
        await verification.request_extension(
            services,
            scope.verifier.principal,
            invited.id,
            access_end=invited.access_end + timedelta(days=1),
            reason="x",
        )
    # declined: no acceptance after it
    declined = await verification.decline_engagement(services, scope.verifier.principal, invited.id, reason="busy")
    assert declined.status == EngagementStatus.DECLINED
    with pytest.raises(EngagementState):
        await verification.accept_engagement(services, scope.verifier.principal, invited.id)
    # withdrawn: no acceptance after it
    other = await verification.invite_verifier(services, scope.exporter.principal, new_engagement(scope))
    await verification.revoke_engagement(services, scope.exporter.principal, other.id)
    with pytest.raises(EngagementState):
        await verification.accept_engagement(services, scope.verifier.principal, other.id)
    # access that starts later cannot be accepted before it starts
    later = await verification.invite_verifier(
        services,
        scope.exporter.principal,
        new_engagement(scope, access_start=datetime.now(UTC) + timedelta(days=1)),
    )
    with pytest.raises(EngagementState, match="access starts"):
        await verification.accept_engagement(services, scope.verifier.principal, later.id)


async def test_extension_approved_moves_the_grants_expiry_and_declined_keeps_it(services):
    # given
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    workspace = await verification.workspace(services, scope.exporter.principal, engagement_id)
    old_end = workspace.engagement.access_end
    # when: the verifier asks for two more weeks, and the exporter approves
    request = await verification.request_extension(
        services, scope.verifier.principal, engagement_id, access_end=old_end + timedelta(days=14), reason="site visit"
    )
    # a second request waits for the first
    with pytest.raises(EngagementState):
        await verification.request_extension(
            services, scope.verifier.principal, engagement_id, access_end=old_end + timedelta(days=20), reason="more"
        )
    approved = await verification.decide_extension(services, scope.exporter.principal, request.id, approve=True)
    # then
    assert approved.status == ExtensionStatus.APPROVED
    workspace = await verification.workspace(services, scope.verifier.principal, engagement_id)
    assert workspace.engagement.access_end == old_end + timedelta(days=14)
    assert all(
        g.expires_at == old_end + timedelta(days=14) for g in await _grants(services, workspace.engagement.grant_ids)
    )
    # when: another request is declined
    second = await verification.request_extension(
        services, scope.verifier.principal, engagement_id, access_end=old_end + timedelta(days=60), reason="more"
    )
    declined = await verification.decide_extension(services, scope.exporter.principal, second.id, approve=False)
    # then: the end stays, and both requests are kept with their decisions
    assert declined.status == ExtensionStatus.DECLINED
    workspace = await verification.workspace(services, scope.exporter.principal, engagement_id)
    assert workspace.engagement.access_end == old_end + timedelta(days=14)
    assert [(e.status, e.reason) for e in workspace.extensions] == [
        (ExtensionStatus.APPROVED, "site visit"),
        (ExtensionStatus.DECLINED, "more"),
    ]
    actions = await _actions(services, scope.exporter)
    assert {
        "verification.extension_requested",
        "verification.extension_approved",
        "verification.extension_declined",
        "grant.extended",
    } <= set(actions)
    # a decided request is not decided again
    with pytest.raises(EngagementState):
        await verification.decide_extension(services, scope.exporter.principal, second.id, approve=True)


async def test_bad_invitations_name_the_field_and_store_nothing(services):
    scope = await verification_scope(services)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    cases = {
        "footprintVersionIds.1": {"footprint_version_ids": [scope.version_ids[0], scope.outside_period_id]},
        "footprintVersionIds.0": {"footprint_version_ids": [scope.other_installation_id]},
        "verifierId": {"verifier_tenant_id": importer.id},
        "teamEmails.0": {"team_emails": [scope.exporter.email]},
        "periodEnd": {"period_end": PERIOD[0]},
        "accessEnd": {"access_end": datetime.now(UTC) - timedelta(days=1)},
        "accessStart": {"access_start": datetime(2026, 11, 1)},
        "installationId": {"installation_id": scope.verifier.id},
        "footprintVersionIds": {"footprint_version_ids": []},
    }
    for field, changes in cases.items():
        with pytest.raises(ValidationFailed) as raised:
            await verification.invite_verifier(services, scope.exporter.principal, new_engagement(scope, **changes))
        assert field in [e.field for e in raised.value.errors], (field, raised.value.message)
    # a version outside the period is refused naming its id
    with pytest.raises(ValidationFailed, match=str(scope.outside_period_id)):
        await verification.invite_verifier(
            services, scope.exporter.principal, new_engagement(scope, footprint_version_ids=[scope.outside_period_id])
        )
    assert await _count_engagements(services, scope.exporter.id) == 0
    assert "verification.invited" not in await _actions(services, scope.exporter)


async def test_who_may_act_on_each_side(services):
    scope = await verification_scope(services)
    invited = await verification.invite_verifier(services, scope.exporter.principal, new_engagement(scope))
    _, exporter_member = await add_person(services, scope.exporter, MembershipRole.MEMBER)
    _, verifier_colleague = await add_person(services, scope.verifier, MembershipRole.ADMIN)
    third = await make_tenant(services, TenantKind.VERIFIER)
    # only admins invite
    with pytest.raises(PermissionDenied):
        await verification.invite_verifier(services, exporter_member, new_engagement(scope))
    # a person of the verifier who is not on the team cannot accept
    with pytest.raises(NotOnTeam):
        await verification.accept_engagement(services, verifier_colleague, invited.id)
    # the exporter cannot accept for the verifier
    with pytest.raises(PermissionDenied):
        await verification.accept_engagement(services, scope.exporter.principal, invited.id)
    # a third organisation sees nothing of it, and cannot act on it
    with pytest.raises(EngagementNotFound):
        await verification.workspace(services, third.principal, invited.id)
    with pytest.raises(EngagementNotFound):
        await verification.accept_engagement(services, third.principal, invited.id)
    assert await verification.list_engagements(services, third.principal) == []
    # the verifier cannot end or revoke
    await verification.accept_engagement(services, scope.verifier.principal, invited.id)
    with pytest.raises(PermissionDenied):
        await verification.revoke_engagement(services, scope.verifier.principal, invited.id)
    # both sides list it
    assert [e.id for e in await verification.list_engagements(services, scope.verifier.principal)] == [invited.id]
    assert [e.id for e in await verification.list_engagements(services, scope.exporter.principal)] == [invited.id]
