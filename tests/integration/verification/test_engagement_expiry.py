"""An engagement ends by itself at its access end: it reads as EXPIRED on both sides at once (no scheduled
job needed), reads through its grants are refused, and an approved extension makes it ACTIVE again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from backend.sharing.models import Grant
from backend.verification import service as verification
from backend.verification.models import Engagement, EngagementStatus
from tests.factories.tenants import login
from tests.factories.verification import PERIOD, active_engagement, verification_scope
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

NOVEMBER = {"start": PERIOD[0].isoformat(), "end": PERIOD[1].isoformat()}


async def _run_out(services, engagement_id):
    """The access end passes: the engagement and its grants as they stand a minute after it."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    async with services.db.platform() as db:
        engagement = await db.get(Engagement, engagement_id)
        await db.execute(update(Grant).where(Grant.id.in_(engagement.grant_ids)).values(expires_at=past))
        engagement.access_end = past


def _statuses(body, engagement_id):
    assert not body.get("errors"), body
    return [e["status"] for e in body["data"]["verificationEngagements"] if e["id"] == gid_of(engagement_id)]


def gid_of(engagement_id):
    return gid("VerificationEngagement", engagement_id)


async def test_an_engagement_past_its_access_end_reads_as_expired_and_its_grants_refuse(services, http):
    # given: an active engagement whose verifier reads the exporter's batches
    scope = await verification_scope(services, with_batches=True)
    engagement_id = await active_engagement(services, scope)
    verifier = await login(http, scope.verifier.email)
    exporter = await login(http, scope.exporter.email)
    batches = {
        "grantorId": gid("Organization", scope.exporter.id),
        "installationId": gid("Installation", scope.plant.installation_id),
        **NOVEMBER,
    }
    read = await verifier.gql(operation("SharedBatches"), batches)
    assert not read.get("errors"), read
    assert _statuses(await verifier.gql(operation("VerificationEngagements")), engagement_id) == ["ACTIVE"]
    # when: its access end passes, with no scheduled job run
    await _run_out(services, engagement_id)
    # then: both sides see it no longer active, in the list and in the workspace
    for side in (verifier, exporter):
        assert _statuses(await side.gql(operation("VerificationEngagements")), engagement_id) == ["EXPIRED"]
        space = await side.gql(operation("VerificationWorkspace"), {"engagementId": gid_of(engagement_id)})
        assert space["data"]["verificationWorkspace"]["engagement"]["status"] == "EXPIRED"
    # and a read through its grants is refused
    refused = await verifier.gql(operation("SharedBatches"), batches)
    assert refused["errors"][0]["extensions"]["code"] == "NO_LIVE_GRANT" and refused["data"] is None
    # and the service says so too
    (engagement,) = [e for e in await verification.list_engagements(services, scope.verifier.principal)]
    assert verification.effective_status(engagement) == EngagementStatus.EXPIRED


async def test_an_approved_extension_makes_an_expired_engagement_active_again(services):
    # given: an engagement whose access ran out, and the verifier's request for more time
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    await _run_out(services, engagement_id)
    request = await verification.request_extension(
        services,
        scope.verifier.principal,
        engagement_id,
        access_end=datetime.now(UTC) + timedelta(days=7),
        reason="two more sites to sample",
    )
    # when: the exporter approves it
    await verification.decide_extension(services, scope.exporter.principal, request.id, approve=True)
    # then: it is active again
    (engagement,) = await verification.list_engagements(services, scope.verifier.principal)
    assert verification.effective_status(engagement) == EngagementStatus.ACTIVE


async def test_an_expired_engagement_can_still_be_ended_by_the_exporter(services):
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    await _run_out(services, engagement_id)
    ended = await verification.end_engagement(services, scope.exporter.principal, engagement_id)
    assert verification.effective_status(ended) == EngagementStatus.ENDED
