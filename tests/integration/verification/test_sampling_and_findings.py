"""Samples drawn from the engagement's scope through its grants, checks on sampled items, and findings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.errors import PermissionDenied, ValidationFailed
from backend.identity.models import MembershipRole
from backend.tenants.models import TenantKind
from backend.verification import sampling
from backend.verification import service as verification
from backend.verification.errors import EngagementNotFound, EngagementState, FindingState, NotOnTeam, SampleItemNotFound
from backend.verification.models import (
    CheckResult,
    FindingStatus,
    FindingType,
    PopulationKind,
    Sample,
)
from tests.factories.tenants import add_person, make_tenant
from tests.factories.verification import active_engagement, verification_scope


async def _actions(services, owner):
    async with services.db.tenant(owner.tenant.scope()) as db:
        rows = (await db.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all()
    return [r.action for r in rows]


def _finding(**changes):
    values = {
        "type": FindingType.MISSTATEMENT,
        "item_kind": "batch",
        "item_id": "B-1",
        "title": "Mass recorded twice",
        "amount_tco2e": 30.0,
        "text": "Batch B-1 appears in two shipments.",
    }
    values.update(changes)
    return verification.NewFinding(**values)  # type: ignore[arg-type]


async def test_the_same_seed_draws_the_same_items_of_every_population(services):
    # given
    scope = await verification_scope(services, with_batches=True)
    engagement_id = await active_engagement(services, scope)
    sizes = {PopulationKind.BATCH: 3, PopulationKind.METER: 2, PopulationKind.EVIDENCE: 2, PopulationKind.INTERVAL: 5}
    for kind, size in sizes.items():
        # when: drawn twice from one seed, and once from a generated one
        first = await verification.draw_sample(
            services, scope.verifier.principal, engagement_id, kind=kind, size=size, seed=424242
        )
        again = await verification.draw_sample(
            services, scope.verifier.principal, engagement_id, kind=kind, size=size, seed=424242
        )
        generated = await verification.draw_sample(services, scope.verifier.principal, engagement_id, kind=kind, size=1)
        # then
        space = await verification.workspace(services, scope.exporter.principal, engagement_id)
        items = {s.id: [i.item_key for i in space.items[s.id]] for s in space.samples}
        assert items[first.id] == items[again.id] and len(items[first.id]) == size, kind
        assert first.population_digest == again.population_digest
        assert 0 <= int(generated.seed) < 2**128
        # and anyone with the seed and the population's size draws the same positions
        positions = [i.population_index for i in space.items[first.id]]
        assert positions == sampling.draw(first.population_size, size, 424242)
    # the populations are the scope: 6 batches, 3 meters, 3 documents, 3 meters x 30 days of 15 minutes
    async with services.db.platform_session() as db:
        rows = (await db.execute(select(Sample).where(Sample.engagement_id == engagement_id))).scalars().all()
    assert {(s.population_kind, s.population_size) for s in rows} == {
        (PopulationKind.BATCH, 6),
        (PopulationKind.METER, 3),
        (PopulationKind.EVIDENCE, 3),
        (PopulationKind.INTERVAL, 3 * 30 * 96),
    }
    # the populations were read through the grants, each read in the exporter's trail
    actions = await _actions(services, scope.exporter)
    assert actions.count("verification.sample_drawn") == 12 and "grant.used" in actions


async def test_checks_on_sampled_items_are_recorded_and_bad_ones_refused(services):
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    sample = await verification.draw_sample(
        services, scope.verifier.principal, engagement_id, kind=PopulationKind.EVIDENCE, size=2, seed=1
    )
    space = await verification.workspace(services, scope.verifier.principal, engagement_id)
    first, second = space.items[sample.id]
    # when
    ok = await verification.record_check(
        services, scope.verifier.principal, first.id, checked="invoice total against meter", result=CheckResult.OK
    )
    deviation = await verification.record_check(
        services,
        scope.verifier.principal,
        second.id,
        checked="period against contract",
        result=CheckResult.DEVIATION,
        note="contract ends a day early",
    )
    # then
    assert (ok.result, ok.checked_by) == (CheckResult.OK, scope.verifier.email)
    assert (deviation.result, deviation.note) == (CheckResult.DEVIATION, "contract ends a day early")
    assert (await _actions(services, scope.exporter)).count("verification.item_checked") == 2
    # a deviation without a note, an empty check, a bad size or seed: refused naming the field
    for call, field in (
        (
            verification.record_check(
                services, scope.verifier.principal, first.id, checked="x", result=CheckResult.DEVIATION
            ),
            "note",
        ),
        (
            verification.record_check(services, scope.verifier.principal, first.id, checked=" ", result=CheckResult.OK),
            "checked",
        ),
        (
            verification.draw_sample(
                services, scope.verifier.principal, engagement_id, kind=PopulationKind.METER, size=0
            ),
            "size",
        ),
        (
            verification.draw_sample(
                services, scope.verifier.principal, engagement_id, kind=PopulationKind.METER, size=4
            ),
            "size",
        ),
        (
            verification.draw_sample(
                services, scope.verifier.principal, engagement_id, kind=PopulationKind.METER, size=1, seed=-5
            ),
            "seed",
        ),
    ):
        with pytest.raises(ValidationFailed) as raised:
            await call
        assert raised.value.field == field
    space = await verification.workspace(services, scope.verifier.principal, engagement_id)
    assert len(space.samples) == 1 and space.items[sample.id][0].result == CheckResult.OK
    # the exporter, and a third organisation, cannot record checks
    third = await make_tenant(services, TenantKind.VERIFIER)
    with pytest.raises(PermissionDenied):
        await verification.record_check(
            services, scope.exporter.principal, first.id, checked="x", result=CheckResult.OK
        )
    with pytest.raises(SampleItemNotFound):
        await verification.record_check(services, third.principal, first.id, checked="x", result=CheckResult.OK)
    with pytest.raises(EngagementNotFound):
        await verification.draw_sample(services, third.principal, engagement_id, kind=PopulationKind.METER, size=1)


async def test_a_finding_carries_its_materiality_and_history_both_sides_see(services):
    # given: 400 tCO2e in scope, so findings are material from 20 tCO2e
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    # when
    material = await verification.raise_finding(services, scope.verifier.principal, engagement_id, _finding())
    minor = await verification.raise_finding(
        services,
        scope.verifier.principal,
        engagement_id,
        _finding(type=FindingType.RECOMMENDATION, amount_tco2e=4.0, item_kind="meter", item_id="MAIN"),
    )
    # then
    assert (material.total_tco2e, material.threshold_tco2e) == (pytest.approx(400.0), pytest.approx(20.0))
    assert verification.is_material(material) and verification.materiality_share(material) == pytest.approx(0.075)
    assert not verification.is_material(minor) and verification.materiality_share(minor) == pytest.approx(0.01)
    # when: the exporter answers, the verifier resolves
    answered = await verification.answer_finding(
        services, scope.exporter.principal, material.id, text="Removed from the second shipment."
    )
    assert answered.status == FindingStatus.ANSWERED
    resolved = await verification.close_finding(
        services, scope.verifier.principal, material.id, status=FindingStatus.RESOLVED, text="Confirmed."
    )
    assert resolved.status == FindingStatus.RESOLVED
    # then: both sides see the same history, with author, time and text
    for side in (scope.exporter, scope.verifier):
        space = await verification.workspace(services, side.principal, engagement_id)
        history = [(e.author, e.status, e.text) for e in space.entries[material.id]]
        assert history == [
            (scope.verifier.email, FindingStatus.OPEN, "Batch B-1 appears in two shipments."),
            (scope.exporter.email, FindingStatus.ANSWERED, "Removed from the second shipment."),
            (scope.verifier.email, FindingStatus.RESOLVED, "Confirmed."),
        ]
        assert all(e.created_at is not None for e in space.entries[material.id])
    actions = await _actions(services, scope.exporter)
    assert {"verification.finding_raised", "verification.finding_answered", "verification.finding_closed"} <= set(
        actions
    )


async def test_findings_follow_their_order_and_their_sides(services):
    scope = await verification_scope(services)
    engagement_id = await active_engagement(services, scope)
    finding = await verification.raise_finding(services, scope.verifier.principal, engagement_id, _finding())
    # the verifier cannot close an open finding, nor answer it
    with pytest.raises(FindingState):
        await verification.close_finding(
            services, scope.verifier.principal, finding.id, status=FindingStatus.ACCEPTED, text="ok"
        )
    with pytest.raises(PermissionDenied):
        await verification.answer_finding(services, scope.verifier.principal, finding.id, text="x")
    # the exporter cannot raise or close, nor can a viewer of the exporter answer
    with pytest.raises(PermissionDenied):
        await verification.raise_finding(services, scope.exporter.principal, engagement_id, _finding())
    _, viewer = await add_person(services, scope.exporter, MembershipRole.VIEWER)
    with pytest.raises(PermissionDenied):
        await verification.answer_finding(services, viewer, finding.id, text="x")
    # a person of the verifier not on the team cannot raise findings
    _, colleague = await add_person(services, scope.verifier, MembershipRole.ADMIN)
    with pytest.raises(NotOnTeam):
        await verification.raise_finding(services, colleague, engagement_id, _finding())
    # bad input names the field and stores nothing
    for changes, field in (
        ({"amount_tco2e": -1.0}, "amountTco2e"),
        ({"amount_tco2e": float("nan")}, "amountTco2e"),
        ({"item_kind": "planet"}, "itemKind"),
        ({"title": ""}, "title"),
        ({"text": "x" * 2001}, "text"),
    ):
        with pytest.raises(ValidationFailed) as raised:
            await verification.raise_finding(services, scope.verifier.principal, engagement_id, _finding(**changes))
        assert raised.value.field == field
    space = await verification.workspace(services, scope.verifier.principal, engagement_id)
    assert len(space.findings) == 1
    # after the engagement ends nothing more is raised
    await verification.end_engagement(services, scope.exporter.principal, engagement_id)
    with pytest.raises(EngagementState):
        await verification.raise_finding(services, scope.verifier.principal, engagement_id, _finding())
