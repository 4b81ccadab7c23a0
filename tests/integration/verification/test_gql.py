"""The verification workspace through GraphQL, as each side's people use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from backend.api.relay import node_uuid
from backend.verification import signing
from backend.verification.models import Engagement, Sample
from tests.factories.tenants import login
from tests.factories.verification import PERIOD, verification_scope
from tests.integration.test_cross_tenant import gid
from tests.operations import operation


def _invite(scope, **changes):
    now = datetime.now(UTC)
    values = {
        "verifierId": gid("Organization", scope.verifier.id),
        "installationId": gid("Installation", scope.plant.installation_id),
        "periodStart": PERIOD[0].isoformat(),
        "periodEnd": PERIOD[1].isoformat(),
        "footprintVersionIds": [gid("FootprintVersion", v) for v in scope.version_ids],
        "accessStart": (now - timedelta(hours=1)).isoformat(),
        "accessEnd": (now + timedelta(days=30)).isoformat(),
        "teamEmails": [scope.verifier.email],
        "message": "2026 report",
    }
    values.update(changes)
    return {"input": values}


def _ok(body, field):
    assert not body.get("errors"), body
    payload = body["data"][field]
    assert payload["errors"] == [], payload
    return payload


async def test_both_sides_run_a_verification_through_graphql(services, http):
    # given
    scope = await verification_scope(services)
    exporter = await login(http, scope.exporter.email)
    verifier = await login(http, scope.verifier.email)
    # when: the exporter invites, the verifier accepts
    invited = _ok(await exporter.gql(operation("InviteVerifier"), _invite(scope)), "inviteVerifier")["engagement"]
    assert invited["status"] == "INVITED"
    engagement = {"engagementId": invited["id"]}
    accepted = _ok(
        await verifier.gql(operation("AcceptVerificationEngagement"), {"input": engagement}),
        "acceptVerificationEngagement",
    )["engagement"]
    assert accepted["status"] == "ACTIVE" and len(accepted["grantIds"]) == 2
    listed = await verifier.gql(operation("VerificationEngagements"))
    (row,) = listed["data"]["verificationEngagements"]
    assert row["exporter"]["name"] == scope.exporter.tenant.name
    assert row["materiality"] == {"share": 0.05, "totalTco2e": 400.0, "thresholdTco2e": 20.0}
    # more time: requested and approved
    request = _ok(
        await verifier.gql(
            operation("RequestVerificationExtension"),
            {
                "input": {
                    **engagement,
                    "accessEnd": (datetime.now(UTC) + timedelta(days=45)).isoformat(),
                    "reason": "visit",
                }
            },
        ),
        "requestVerificationExtension",
    )["extension"]
    decided = _ok(
        await exporter.gql(operation("DecideVerificationExtension"), {"input": {"id": request["id"], "approve": True}}),
        "decideVerificationExtension",
    )["extension"]
    assert decided["status"] == "APPROVED"
    # a sample, and a check on its first item
    sample = _ok(
        await verifier.gql(
            operation("DrawVerificationSample"), {"input": {**engagement, "kind": "EVIDENCE", "size": 2, "seed": "99"}}
        ),
        "drawVerificationSample",
    )["sample"]
    assert sample["seed"] == "99" and sample["populationSize"] == 3 and len(sample["items"]) == 2
    checked = _ok(
        await verifier.gql(
            operation("RecordSampleCheck"),
            {"input": {"itemId": sample["items"][0]["id"], "checked": "totals", "result": "DEVIATION", "note": "off"}},
        ),
        "recordSampleCheck",
    )["item"]
    assert checked["result"] == "DEVIATION"
    # a finding, answered by the exporter, resolved by the verifier
    finding = _ok(
        await verifier.gql(
            operation("RaiseVerificationFinding"),
            {
                "input": {
                    **engagement,
                    "type": "MISSTATEMENT",
                    "itemKind": "evidence",
                    "itemId": sample["items"][0]["itemKey"],
                    "title": "Invoice total",
                    "amountTco2e": 22.0,
                    "text": "The invoice total differs from the meter.",
                }
            },
        ),
        "raiseVerificationFinding",
    )["finding"]
    assert finding["material"] is True and finding["materialityShare"] == 0.055
    step = {"findingId": finding["id"]}
    _ok(
        await exporter.gql(operation("AnswerVerificationFinding"), {"input": {**step, "text": "Credit note."}}),
        "answerVerificationFinding",
    )
    closed = _ok(
        await verifier.gql(
            operation("CloseVerificationFinding"), {"input": {**step, "text": "Seen.", "status": "RESOLVED"}}
        ),
        "closeVerificationFinding",
    )["finding"]
    assert [h["status"] for h in closed["history"]] == ["OPEN", "ANSWERED", "RESOLVED"]
    # the statement, and the footprint it verifies
    statement = _ok(
        await verifier.gql(
            operation("IssueVerificationStatement"),
            {
                "input": {
                    **engagement,
                    "assuranceLevel": "REASONABLE",
                    "opinion": "POSITIVE",
                    "accreditationId": "ACC-1",
                }
            },
        ),
        "issueVerificationStatement",
    )["statement"]
    assert statement["payload"]["opinion"] == "POSITIVE"
    jwks = (await http.get(f"/organizations/{scope.verifier.id}/jwks.json")).json()
    assert signing.verify(statement["jws"], jwks)[1] == statement["payload"]
    answer = await exporter.gql(
        operation("FootprintVerification"), {"footprintVersionId": gid("FootprintVersion", scope.version_ids[0])}
    )
    verification = answer["data"]["footprintVerification"]
    assert verification["verified"] is True and verification["opinion"] == "POSITIVE"
    assert verification["verifier"]["name"] == scope.verifier.tenant.name
    assert verification["statement"]["jws"] == statement["jws"]
    # both sides see the same workspace
    for side in (exporter, verifier):
        space = (await side.gql(operation("VerificationWorkspace"), engagement))["data"]["verificationWorkspace"]
        assert [s["id"] for s in space["statements"]] == [statement["id"]]
        assert [e["status"] for e in space["extensions"]] == ["APPROVED"]
        assert space["samples"][0]["items"][0]["note"] == "off"
    # the exporter ends it
    ended = _ok(
        await exporter.gql(operation("EndVerificationEngagement"), {"input": engagement}), "endVerificationEngagement"
    )["engagement"]
    assert ended["status"] == "ENDED"


async def test_bad_input_names_the_field_and_stores_nothing(services, http):
    scope = await verification_scope(services)
    exporter = await login(http, scope.exporter.email)
    verifier = await login(http, scope.verifier.email)
    # invitations
    for changes, field in (
        ({"periodEnd": PERIOD[0].isoformat()}, "periodEnd"),
        ({"teamEmails": ["nobody@example.com"]}, "teamEmails.0"),
        ({"footprintVersionIds": ["not-an-id"]}, "footprintVersionIds.0"),
        ({"verifierId": gid("Organization", scope.exporter.id)}, "verifierId"),
    ):
        body = await exporter.gql(operation("InviteVerifier"), _invite(scope, **changes))
        errors = body["data"]["inviteVerifier"]["errors"]
        assert field in [e["field"] for e in errors], (field, errors)
    async with services.db.platform_session() as db:
        count = await db.scalar(
            select(func.count()).select_from(Engagement).where(Engagement.exporter_tenant_id == scope.exporter.id)
        )
    assert count == 0
    # a sample with a seed that is not a number, or too large a size
    invited = (await exporter.gql(operation("InviteVerifier"), _invite(scope)))["data"]["inviteVerifier"]["engagement"]
    await verifier.gql(operation("AcceptVerificationEngagement"), {"input": {"engagementId": invited["id"]}})
    for changes, field in (({"seed": "abc"}, "seed"), ({"size": 5000}, "size"), ({"seed": "1" * 40}, "seed")):
        body = await verifier.gql(
            operation("DrawVerificationSample"),
            {"input": {"engagementId": invited["id"], "kind": "METER", "size": 1, **changes}},
        )
        assert [e["field"] for e in body["data"]["drawVerificationSample"]["errors"]] == [field]
    async with services.db.platform_session() as db:
        assert (
            await db.scalar(
                select(func.count())
                .select_from(Sample)
                .where(Sample.engagement_id == node_uuid(invited["id"], "VerificationEngagement"))
            )
            == 0
        )
    # the exporter cannot issue a statement: refused, nothing issued
    body = await exporter.gql(
        operation("IssueVerificationStatement"),
        {
            "input": {
                "engagementId": invited["id"],
                "assuranceLevel": "LIMITED",
                "opinion": "POSITIVE",
                "accreditationId": "x",
            }
        },
    )
    assert body["data"]["issueVerificationStatement"]["errors"][0]["code"] == "PERMISSION_DENIED"
