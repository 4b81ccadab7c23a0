"""The state machines of engagements and findings: which step leads where, from which states.

Pure rules, so the service and the tests read one table.
"""

from __future__ import annotations

from backend.verification.errors import EngagementState, FindingState
from backend.verification.models import EngagementStatus, FindingStatus

# step: (states it may start from, state it leads to)
ENGAGEMENT_STEPS: dict[str, tuple[frozenset[EngagementStatus], EngagementStatus]] = {
    "accept": (frozenset({EngagementStatus.INVITED}), EngagementStatus.ACTIVE),
    "decline": (frozenset({EngagementStatus.INVITED}), EngagementStatus.DECLINED),
    "end": (frozenset({EngagementStatus.ACTIVE}), EngagementStatus.ENDED),
    "revoke": (frozenset({EngagementStatus.INVITED, EngagementStatus.ACTIVE}), EngagementStatus.REVOKED),
}

# the exporter answers an open finding; the verifier decides on an answered one (or asks again)
ANSWER = (frozenset({FindingStatus.OPEN}), FindingStatus.ANSWERED)
VERIFIER_DECISIONS = frozenset({FindingStatus.RESOLVED, FindingStatus.ACCEPTED, FindingStatus.OPEN})


def engagement_step(status: EngagementStatus, step: str) -> EngagementStatus:
    """The state ``step`` leads to from ``status``; ``EngagementState`` when it may not be taken."""
    sources, target = ENGAGEMENT_STEPS[step]
    if status not in sources:
        expected = " or ".join(sorted(s.value for s in sources))
        raise EngagementState(f"the engagement is {status.value}, not {expected}", status=status.value)
    return target


def answer_step(status: FindingStatus) -> FindingStatus:
    if status not in ANSWER[0]:
        raise FindingState(f"the finding is {status.value}, not open")
    return ANSWER[1]


def decision_step(status: FindingStatus, to: FindingStatus) -> FindingStatus:
    """The verifier's decision on a finding: only once the exporter has answered it."""
    if to not in VERIFIER_DECISIONS:
        raise ValueError(f"a verifier decides RESOLVED, ACCEPTED or OPEN, not {to.value}")
    if status != FindingStatus.ANSWERED:
        raise FindingState(f"the finding is {status.value}: the exporter answers it first")
    return to
