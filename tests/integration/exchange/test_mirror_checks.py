"""Mirror checks of received footprints: the importer runs them on a shared publication and keeps the result
as evidence; a failing check raises an escalation; the importer asks the supplier, the supplier answers, the
importer closes it. Nobody else sees or does any of it, and bad input stores nothing."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.exchange.mirror import supplier_history
from backend.exchange.models import FootprintQuestion, MirrorCheckResult, MirrorEscalation
from backend.exchange.reads import get_shared_publication
from backend.identity.models import MembershipRole
from backend.mirror import CHECK_CODES
from backend.tenants.models import TenantKind
from tests.factories.exchange import (
    code_of,
    connected,
    exporter_with_publications,
    field_of,
    gid,
    published,
    run_calculation,
    share,
    versions_of,
)
from tests.factories.tenants import add_person, login, make_tenant
from tests.operations import operation


async def check(session, publication_id: str, shipped: float | None = None) -> dict:
    variables = {"input": {"publicationId": publication_id}}
    if shipped is not None:
        variables["input"]["shippedMassT"] = shipped
    return await session.gql(operation("CheckReceivedFootprint"), variables)


def payload(body: dict, name: str) -> dict:
    assert "errors" not in body, body
    result = body["data"][name]
    assert result["errors"] == [], result
    return result


async def stored(services, tenant) -> tuple[int, int]:
    """(check results, escalations) in the tenant's schema."""
    async with services.db.tenant(tenant.tenant.scope()) as db:
        results = await db.scalar(select(func.count()).select_from(MirrorCheckResult))
        escalations = await db.scalar(select(func.count()).select_from(MirrorEscalation))
        return results or 0, escalations or 0


async def questions_stored(services) -> int:
    async with services.db.platform() as db:
        return await db.scalar(select(func.count()).select_from(FootprintQuestion)) or 0


async def actions(services, tenant, prefix: str) -> list[str]:
    async with services.db.tenant(tenant.tenant.scope()) as db:
        rows = await db.execute(
            select(AuditEntry.action).where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.seq)
        )
        return list(rows.scalars())


async def shared_world(services, http):
    """An exporter with a publication shared with a connected importer."""
    exporter = await exporter_with_publications(services, http)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    buyer = await login(http, importer.email)
    connection_id = await connected(exporter.session, buyer, exporter.owner)
    given = await share(exporter.session, importer)
    return exporter, importer, buyer, connection_id, given


async def test_an_importer_checks_a_received_footprint_and_keeps_the_result_with_its_numbers(services, http):
    # given: a published footprint shared with the importer, and a second publication of it (the history)
    exporter, importer, buyer, _, _ = await shared_world(services, http)
    plant = exporter.plants["PRF-2990"]
    await run_calculation(exporter.session, plant, services)
    *_, newest = await versions_of(services, exporter.owner, plant.product_id)
    second = await published(exporter.session, newest.id)
    # when: the importer checks the newest one without a shipped mass, then with half the mass produced
    first_run = payload(await check(buyer, second["id"]), "checkReceivedFootprint")["result"]
    unshipped = next(c for c in first_run["checks"] if c["code"] == "PRODUCED_VS_SHIPPED")
    assert unshipped["status"] == "NOT_APPLICABLE" and unshipped["figures"]["observed"] is None
    produced = unshipped["figures"]["expected"]
    assert produced > 0
    shipped = produced / 2
    result = payload(await check(buyer, second["id"], shipped), "checkReceivedFootprint")
    # then: the result is stored with the content hash checked, the supplier, the rules version and each check
    stored_result = result["result"]
    assert stored_result["contentHash"] == second["contentHash"]
    assert stored_result["supplierId"] == gid("Organization", exporter.owner.id)
    assert stored_result["shippedMassT"] == shipped and stored_result["rulesVersion"]
    assert stored_result["checkedBy"] == importer.email
    assert [c["code"] for c in stored_result["checks"]] == list(CHECK_CODES)
    mass = next(c for c in stored_result["checks"] if c["code"] == "PRODUCED_VS_SHIPPED")
    assert mass["status"] == "PASS" and mass["figures"]["observed"] == shipped
    assert mass["figures"]["expected"] == produced and mass["figures"]["unit"] == "t" and mass["source"]
    assert result["escalation"] is None or "PRODUCED_VS_SHIPPED" not in result["escalation"]["failedChecks"]
    # the supplier's other publication of the product and installation is the history the checks get (the
    # history check itself leaves out an earlier version of the same period: a correction is not judged by it)
    member = importer.principal
    shared = await get_shared_publication(services, member, uuid.UUID(second["document"]["id"]))
    history = await supplier_history(services, member, shared)
    assert [str(h.id) for h in history] == [exporter.publications["PRF-2990"]["document"]["id"]]
    history_check = next(c for c in stored_result["checks"] if c["code"] == "ELECTRICITY_VS_HISTORY")
    assert history_check["figures"]["historyCount"] == 0 and history_check["status"] == "NOT_APPLICABLE"
    again = result["result"]
    # and the importer reads it back through the query and beside the received footprint, newest first
    body = await buyer.gql(operation("MirrorCheckResults"), {"publicationId": second["id"]})
    listed = body["data"]["mirrorCheckResults"]
    assert [r["id"] for r in listed] == [again["id"], first_run["id"]]
    assert listed[1]["report"]["contentHash"] == second["contentHash"]
    body = await buyer.gql(operation("ReceivedFootprintMirrorChecks"), {"id": second["id"]})
    assert [r["id"] for r in body["data"]["receivedFootprint"]["mirrorChecks"]] == [again["id"], first_run["id"]]
    # the first publication has its own (none)
    body = await buyer.gql(operation("MirrorCheckResults"), {"publicationId": exporter.publications["PRF-2990"]["id"]})
    assert body["data"]["mirrorCheckResults"] == []
    # every check is in the importer's trail; the reads in the supplier's
    assert await actions(services, importer, "mirror_check.") == ["mirror_check.recorded"] * 2
    assert await actions(services, exporter.owner, "mirror") == []
    # and the supplier does not see the importer's results
    body = await exporter.session.gql(operation("MirrorCheckResults"), {"publicationId": second["id"]})
    assert body["data"]["mirrorCheckResults"] == []
    body = await exporter.session.gql(operation("MirrorEscalations"), {})
    assert body["data"]["mirrorEscalations"] == []


async def test_a_failing_check_raises_an_escalation_the_importer_asks_about_and_closes(services, http):
    # given: a shared publication, checked with more shipped than was produced
    exporter, importer, buyer, _, _ = await shared_world(services, http)
    publication = exporter.publications["PRF-2990"]
    result = payload(await check(buyer, publication["id"], 1e6), "checkReceivedFootprint")
    # then: PRODUCED_VS_SHIPPED fails with the numbers, and an open escalation names it
    mass = next(c for c in result["result"]["checks"] if c["code"] == "PRODUCED_VS_SHIPPED")
    assert mass["status"] == "FAIL" and mass["figures"]["observed"] == 1e6
    assert "more than" in mass["message"]
    assert result["result"]["status"] == "FAIL"
    escalation = result["escalation"]
    assert "PRODUCED_VS_SHIPPED" in escalation["failedChecks"] and escalation["status"] == "OPEN"
    assert escalation["checkResultId"] == result["result"]["id"]
    body = await buyer.gql(operation("MirrorEscalations"), {"status": "OPEN"})
    assert [e["id"] for e in body["data"]["mirrorEscalations"]] == [escalation["id"]]
    # when: the importer asks the supplier
    body = await buyer.gql(
        operation("AskSupplierAboutFootprint"),
        {"input": {"escalationId": escalation["id"], "question": "  Which shipments make up the net mass?  "}},
    )
    question = payload(body, "askSupplierAboutFootprint")["question"]
    assert question["question"] == "Which shipments make up the net mass?" and question["status"] == "OPEN"
    assert question["publicationId"] == publication["id"]
    # then: the supplier sees it among its open questions, not the importer's results
    body = await exporter.session.gql(operation("FootprintQuestions"), {"status": "OPEN"})
    (seen,) = body["data"]["footprintQuestions"]
    assert seen["id"] == question["id"] and seen["customerId"] == gid("Organization", importer.id)
    # the importer cannot answer its own question, the supplier cannot close the importer's escalation
    body = await buyer.gql(
        operation("AnswerFootprintQuestion"), {"input": {"questionId": question["id"], "answer": "x"}}
    )
    assert (code_of(body), field_of(body)) == ("FOOTPRINT_QUESTION_NOT_FOUND", "questionId")
    body = await exporter.session.gql(
        operation("CloseMirrorEscalation"),
        {"input": {"escalationId": escalation["id"], "status": "RESOLVED", "note": "no"}},
    )
    assert (code_of(body), field_of(body)) == ("MIRROR_ESCALATION_NOT_FOUND", "escalationId")
    # when: the supplier answers
    body = await exporter.session.gql(
        operation("AnswerFootprintQuestion"),
        {"input": {"questionId": question["id"], "answer": "The net mass is 12 t; you bought from a trader."}},
    )
    answered = payload(body, "answerFootprintQuestion")["question"]
    assert answered["status"] == "ANSWERED" and answered["answeredBy"] == exporter.owner.email
    # an answer is given once
    body = await exporter.session.gql(
        operation("AnswerFootprintQuestion"), {"input": {"questionId": question["id"], "answer": "again"}}
    )
    assert code_of(body) == "FOOTPRINT_QUESTION_ANSWERED"
    # then: the importer sees the answer with the escalation
    body = await buyer.gql(operation("MirrorEscalations"), {})
    (kept,) = body["data"]["mirrorEscalations"]
    assert kept["questions"][0]["answer"] == "The net mass is 12 t; you bought from a trader."
    body = await exporter.session.gql(operation("FootprintQuestions"), {"status": "OPEN"})
    assert body["data"]["footprintQuestions"] == []
    # when: the importer closes it, accepting the risk with a note
    body = await buyer.gql(
        operation("CloseMirrorEscalation"),
        {"input": {"escalationId": escalation["id"], "status": "ACCEPTED_RISK", "note": "bought via a trader"}},
    )
    closed = payload(body, "closeMirrorEscalation")["escalation"]
    assert closed["status"] == "ACCEPTED_RISK" and closed["closeNote"] == "bought via a trader"
    assert closed["closedBy"] == importer.email and closed["questions"][0]["answer"]
    assert (await buyer.gql(operation("MirrorEscalations"), {"status": "OPEN"}))["data"]["mirrorEscalations"] == []
    # a closed escalation is neither closed again nor asked about
    body = await buyer.gql(
        operation("CloseMirrorEscalation"),
        {"input": {"escalationId": escalation["id"], "status": "RESOLVED", "note": "again"}},
    )
    assert code_of(body) == "MIRROR_ESCALATION_CLOSED"
    body = await buyer.gql(
        operation("AskSupplierAboutFootprint"), {"input": {"escalationId": escalation["id"], "question": "more?"}}
    )
    assert code_of(body) == "MIRROR_ESCALATION_CLOSED"
    # and every step is in the right trails: the check in the importer's, the question in both
    assert await actions(services, importer, "mirror") == [
        "mirror_check.recorded",
        "mirror_escalation.opened",
        "mirror_escalation.closed",
    ]
    both = ["footprint_question.asked", "footprint_question.answered"]
    assert await actions(services, importer, "footprint_question") == both
    assert await actions(services, exporter.owner, "footprint_question") == both


async def test_nobody_else_checks_or_sees_and_a_revoked_share_stops_the_checks(services, http):
    # given: an importer with an escalation and a question about the supplier's publication
    exporter, importer, buyer, _, given = await shared_world(services, http)
    publication = exporter.publications["PRF-2990"]
    escalation = payload(await check(buyer, publication["id"], 1e6), "checkReceivedFootprint")["escalation"]
    body = await buyer.gql(
        operation("AskSupplierAboutFootprint"), {"input": {"escalationId": escalation["id"], "question": "why?"}}
    )
    question = payload(body, "askSupplierAboutFootprint")["question"]
    before = (await stored(services, importer), await questions_stored(services))
    # a third organisation can neither check, nor see results, escalations or questions, nor act on them
    third_tenant = await make_tenant(services, TenantKind.IMPORTER)
    third = await login(http, third_tenant.email)
    assert code_of(await check(third, publication["id"], 1.0)) == "PUBLISHED_FOOTPRINT_NOT_FOUND"
    body = await third.gql(operation("MirrorCheckResults"), {"publicationId": publication["id"]})
    assert body["data"]["mirrorCheckResults"] == []
    assert (await third.gql(operation("MirrorEscalations"), {}))["data"]["mirrorEscalations"] == []
    assert (await third.gql(operation("FootprintQuestions"), {}))["data"]["footprintQuestions"] == []
    body = await third.gql(
        operation("AskSupplierAboutFootprint"), {"input": {"escalationId": escalation["id"], "question": "hi"}}
    )
    assert (code_of(body), field_of(body)) == ("MIRROR_ESCALATION_NOT_FOUND", "escalationId")
    body = await third.gql(
        operation("AnswerFootprintQuestion"), {"input": {"questionId": question["id"], "answer": "x"}}
    )
    assert (code_of(body), field_of(body)) == ("FOOTPRINT_QUESTION_NOT_FOUND", "questionId")
    body = await third.gql(
        operation("CloseMirrorEscalation"),
        {"input": {"escalationId": escalation["id"], "status": "RESOLVED", "note": "x"}},
    )
    assert code_of(body) == "MIRROR_ESCALATION_NOT_FOUND"
    assert await stored(services, third_tenant) == (0, 0)
    # the importer's viewers see its escalations but neither ask nor close; the supplier's viewers do not answer
    viewer_email, _ = await add_person(services, importer, MembershipRole.VIEWER)
    viewer = await login(http, viewer_email)
    body = await viewer.gql(operation("MirrorEscalations"), {})
    assert [e["id"] for e in body["data"]["mirrorEscalations"]] == [escalation["id"]]
    body = await viewer.gql(
        operation("AskSupplierAboutFootprint"), {"input": {"escalationId": escalation["id"], "question": "hi"}}
    )
    assert code_of(body) == "PERMISSION_DENIED"
    body = await viewer.gql(
        operation("CloseMirrorEscalation"),
        {"input": {"escalationId": escalation["id"], "status": "RESOLVED", "note": "x"}},
    )
    assert code_of(body) == "PERMISSION_DENIED"
    supplier_viewer, _ = await add_person(services, exporter.owner, MembershipRole.VIEWER)
    body = await (await login(http, supplier_viewer)).gql(
        operation("AnswerFootprintQuestion"), {"input": {"questionId": question["id"], "answer": "x"}}
    )
    assert code_of(body) == "PERMISSION_DENIED"
    # bad input names its field and stores nothing
    body = await check(buyer, publication["id"], -1.0)
    assert (code_of(body), field_of(body)) == ("INVALID", "shippedMassT")
    body = await check(buyer, gid("PublishedFootprint", uuid.uuid4()), 1.0)
    assert (code_of(body), field_of(body)) == ("PUBLISHED_FOOTPRINT_NOT_FOUND", "id")
    body = await check(buyer, "not-an-id")
    assert field_of(body) == "publicationId"
    body = await buyer.gql(
        operation("AskSupplierAboutFootprint"), {"input": {"escalationId": escalation["id"], "question": "   "}}
    )
    assert (code_of(body), field_of(body)) == ("INVALID", "question")
    body = await buyer.gql(
        operation("AskSupplierAboutFootprint"),
        {"input": {"escalationId": gid("MirrorEscalation", uuid.uuid4()), "question": "hi"}},
    )
    assert (code_of(body), field_of(body)) == ("MIRROR_ESCALATION_NOT_FOUND", "escalationId")
    body = await exporter.session.gql(
        operation("AnswerFootprintQuestion"), {"input": {"questionId": question["id"], "answer": ""}}
    )
    assert (code_of(body), field_of(body)) == ("INVALID", "answer")
    body = await buyer.gql(
        operation("CloseMirrorEscalation"), {"input": {"escalationId": escalation["id"], "status": "OPEN", "note": "x"}}
    )
    assert (code_of(body), field_of(body)) == ("INVALID", "status")
    body = await buyer.gql(
        operation("CloseMirrorEscalation"),
        {"input": {"escalationId": escalation["id"], "status": "RESOLVED", "note": ""}},
    )
    assert (code_of(body), field_of(body)) == ("INVALID", "note")
    assert (await stored(services, importer), await questions_stored(services)) == before
    # when: the supplier revokes the share, the importer can no longer check, and nothing is stored
    body = await exporter.session.gql(operation("RevokeFootprintShare"), {"input": {"id": given["id"]}})
    assert body["data"]["revokeFootprintShare"]["share"]["revokedAt"] is not None
    assert code_of(await check(buyer, publication["id"], 1.0)) == "PUBLISHED_FOOTPRINT_NOT_FOUND"
    assert await stored(services, importer) == before[0]
    # the importer keeps its evidence of the earlier check
    body = await buyer.gql(operation("MirrorCheckResults"), {"publicationId": publication["id"]})
    assert len(body["data"]["mirrorCheckResults"]) == 1
