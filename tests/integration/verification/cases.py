"""Tenant B's verification engagement with verifier C, and the cross-tenant cases of the verification
operations (used by tests/integration/test_cross_tenant.py): tenant A names B's and C's records."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.verification import service as verification
from backend.verification.models import AssuranceLevel, FindingStatus, FindingType, Opinion, PopulationKind


def _gid(type_name: str, value: object) -> str:
    return base64.b64encode(f"{type_name}:{value}".encode()).decode()


async def verification_world(services: Any, b: Any, c: Any, calculations: dict[str, Any]) -> dict[str, Any]:
    """B invites C over its calculated plant; C accepts, samples, raises a finding B answers, and issues."""
    plant = calculations["calc_plant_b"]
    now = datetime.now(UTC)
    engagement = await verification.invite_verifier(
        services,
        b.principal,
        verification.NewEngagement(
            verifier_tenant_id=c.id,
            installation_id=plant.plant.installation_id,
            period_start=plant.start,
            period_end=plant.end,
            footprint_version_ids=[calculations["footprint_b"]],
            access_start=now - timedelta(hours=1),
            access_end=now + timedelta(days=30),
            team_emails=[c.email],
        ),
    )
    await verification.accept_engagement(services, c.principal, engagement.id)
    sample = await verification.draw_sample(
        services, c.principal, engagement.id, kind=PopulationKind.METER, size=1, seed=7
    )
    space = await verification.workspace(services, c.principal, engagement.id)
    finding = await verification.raise_finding(
        services,
        c.principal,
        engagement.id,
        verification.NewFinding(FindingType.MISSTATEMENT, "batch", "B-1", "B-SECRET-FINDING", 0.1, "B-SECRET-TEXT"),
    )
    request = await verification.request_extension(
        services, c.principal, engagement.id, access_end=now + timedelta(days=40), reason="B-SECRET-REASON"
    )
    statement = await verification.issue_statement(
        services,
        c.principal,
        engagement.id,
        verification.NewStatement(AssuranceLevel.LIMITED, Opinion.QUALIFIED, "ACC-B-SECRET"),
    )
    return {
        "engagement_b": engagement.id,
        "sample_item_b": space.items[sample.id][0].id,
        "finding_b": finding.id,
        "extension_b": request.id,
        "verification_secrets": [
            str(engagement.id),
            str(finding.id),
            str(sample.id),
            statement.kid,
            "B-SECRET-FINDING",
            "B-SECRET-TEXT",
            "B-SECRET-REASON",
            "ACC-B-SECRET",
        ],
    }


def verification_cases(w: dict[str, Any]) -> dict[str, dict[str, Any]]:
    engagement = _gid("VerificationEngagement", w["engagement_b"])
    finding = _gid("VerificationFinding", w["finding_b"])
    plant = w["calc_plant_b"]
    now = datetime.now(UTC)
    return {
        # A's own list: empty, nothing of B's
        "VerificationEngagements": {"vars": {}, "refused": False},
        "VerificationWorkspace": {"vars": {"engagementId": engagement}, "refused": True},
        "FootprintVerification": {
            "vars": {"footprintVersionId": _gid("FootprintVersion", w["footprint_b"])},
            "refused": True,
        },
        "InviteVerifier": {
            "vars": {
                "input": {
                    "verifierId": _gid("Organization", w["c"].id),
                    "installationId": _gid("Installation", plant.plant.installation_id),
                    "periodStart": plant.start.isoformat(),
                    "periodEnd": plant.end.isoformat(),
                    "footprintVersionIds": [_gid("FootprintVersion", w["footprint_b"])],
                    "accessStart": now.isoformat(),
                    "accessEnd": (now + timedelta(days=5)).isoformat(),
                    "teamEmails": [w["c"].email],
                }
            },
            "refused": True,
        },
        **{
            name: {"vars": {"input": {"engagementId": engagement}}, "refused": True}
            for name in (
                "AcceptVerificationEngagement",
                "DeclineVerificationEngagement",
                "EndVerificationEngagement",
                "RevokeVerificationEngagement",
            )
        },
        "RequestVerificationExtension": {
            "vars": {
                "input": {
                    "engagementId": engagement,
                    "accessEnd": (now + timedelta(days=90)).isoformat(),
                    "reason": "x",
                }
            },
            "refused": True,
        },
        "DecideVerificationExtension": {
            "vars": {"input": {"id": _gid("VerificationExtension", w["extension_b"]), "approve": True}},
            "refused": True,
        },
        "DrawVerificationSample": {
            "vars": {"input": {"engagementId": engagement, "kind": "METER", "size": 1, "seed": "7"}},
            "refused": True,
        },
        "RecordSampleCheck": {
            "vars": {"input": {"itemId": _gid("SampledItem", w["sample_item_b"]), "checked": "x", "result": "OK"}},
            "refused": True,
        },
        "RaiseVerificationFinding": {
            "vars": {
                "input": {
                    "engagementId": engagement,
                    "type": "MISSTATEMENT",
                    "itemKind": "batch",
                    "itemId": "x",
                    "title": "x",
                    "amountTco2e": 1.0,
                    "text": "x",
                }
            },
            "refused": True,
        },
        "AnswerVerificationFinding": {"vars": {"input": {"findingId": finding, "text": "x"}}, "refused": True},
        "CloseVerificationFinding": {
            "vars": {"input": {"findingId": finding, "text": "x", "status": FindingStatus.RESOLVED.name}},
            "refused": True,
        },
        "IssueVerificationStatement": {
            "vars": {
                "input": {
                    "engagementId": engagement,
                    "assuranceLevel": "LIMITED",
                    "opinion": "POSITIVE",
                    "accreditationId": "x",
                }
            },
            "refused": True,
        },
    }
