"""The engagement and finding state machines."""

from __future__ import annotations

import pytest

from backend.verification import rules
from backend.verification.errors import EngagementState, FindingState
from backend.verification.models import EngagementStatus as E
from backend.verification.models import FindingStatus as F

ALLOWED = {
    ("accept", E.INVITED): E.ACTIVE,
    ("decline", E.INVITED): E.DECLINED,
    ("end", E.ACTIVE): E.ENDED,
    ("revoke", E.INVITED): E.REVOKED,
    ("revoke", E.ACTIVE): E.REVOKED,
}


@pytest.mark.parametrize("step", sorted(rules.ENGAGEMENT_STEPS))
@pytest.mark.parametrize("status", list(E))
def test_each_engagement_step_from_each_state(step, status):
    expected = ALLOWED.get((step, status))
    if expected is None:
        # then: refused, naming the state it is in
        with pytest.raises(EngagementState, match=f"is {status.value}"):
            rules.engagement_step(status, step)
    else:
        assert rules.engagement_step(status, step) == expected


def test_declined_ended_and_revoked_are_final():
    for status in (E.DECLINED, E.ENDED, E.REVOKED):
        for step in rules.ENGAGEMENT_STEPS:
            with pytest.raises(EngagementState):
                rules.engagement_step(status, step)


def test_findings_go_open_answered_then_the_verifier_decides():
    assert rules.answer_step(F.OPEN) == F.ANSWERED
    for status in (F.ANSWERED, F.RESOLVED, F.ACCEPTED):
        with pytest.raises(FindingState):
            rules.answer_step(status)
    for to in (F.RESOLVED, F.ACCEPTED, F.OPEN):
        assert rules.decision_step(F.ANSWERED, to) == to
        for status in (F.OPEN, F.RESOLVED, F.ACCEPTED):
            with pytest.raises(FindingState, match="answers it first"):
                rules.decision_step(status, to)
    with pytest.raises(ValueError, match="RESOLVED, ACCEPTED or OPEN"):
        rules.decision_step(F.ANSWERED, F.ANSWERED)
