"""The workspace and the engagement list run a fixed number of SQL statements, whatever the number of rows."""

from __future__ import annotations

from backend.verification import service as verification
from backend.verification.models import FindingType, PopulationKind
from tests.factories.verification import active_engagement, verification_scope
from tests.integration.test_cross_tenant import gid
from tests.integration.test_query_counts import statements_for


async def _workspace(services, findings: int, samples: int):
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    for n in range(findings):
        await verification.raise_finding(
            services,
            scope.verifier.principal,
            engagement_id,
            verification.NewFinding(FindingType.RECOMMENDATION, "meter", f"M{n}", f"Finding {n}", 1.0, "text"),
        )
    for n in range(samples):
        await verification.draw_sample(
            services, scope.verifier.principal, engagement_id, kind=PopulationKind.METER, size=2, seed=n
        )
    return scope, engagement_id


async def test_the_workspace_does_not_grow_with_rows(services, http, count_queries):
    # given: one engagement with 2 findings and 1 sample, another with 8 findings and 4 samples
    small, small_id = await _workspace(services, 2, 1)
    large, large_id = await _workspace(services, 8, 4)
    # when
    few = await statements_for(
        http,
        count_queries,
        small.exporter,
        "VerificationWorkspace",
        {"engagementId": gid("VerificationEngagement", small_id)},
    )
    many = await statements_for(
        http,
        count_queries,
        large.exporter,
        "VerificationWorkspace",
        {"engagementId": gid("VerificationEngagement", large_id)},
    )
    # then
    assert few == many
    # and the lists of engagements too
    await active_engagement(services, large)
    await active_engagement(services, large)
    assert await statements_for(http, count_queries, small.verifier, "VerificationEngagements", {}) == (
        await statements_for(http, count_queries, large.verifier, "VerificationEngagements", {})
    )
