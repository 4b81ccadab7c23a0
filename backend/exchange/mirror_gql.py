"""GraphQL of the mirror checks of received footprints: check results, escalations and questions to suppliers.

Resolvers parse and convert only; every rule is in ``backend.exchange.mirror``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.scalars import JSON

from backend.api import mutations
from backend.api.context import Context
from backend.api.errors import UserError
from backend.api.loaders import grouped_loader
from backend.api.relay import NodeRef, gid, node_uuid
from backend.exchange import mirror
from backend.exchange.models import EscalationStatus as EscalationStatusModel
from backend.exchange.models import FootprintQuestion as FootprintQuestionModel
from backend.exchange.models import MirrorCheckResult as MirrorCheckResultModel
from backend.exchange.models import MirrorCheckStatus as MirrorCheckStatusModel
from backend.exchange.models import MirrorEscalation as MirrorEscalationModel
from backend.exchange.models import QuestionStatus as QuestionStatusModel
from backend.identity.principal import Principal

MirrorStatus = strawberry.enum(
    MirrorCheckStatusModel,
    name="MirrorCheckStatus",
    description="PASS, WARN (look closer), FAIL (implausible), or NOT_APPLICABLE (no reference figure).",
)
EscalationStatus = strawberry.enum(
    EscalationStatusModel,
    name="MirrorEscalationStatus",
    description="OPEN, RESOLVED, or ACCEPTED_RISK (kept knowing the finding).",
)
QuestionStatus = strawberry.enum(
    QuestionStatusModel, name="FootprintQuestionStatus", description="OPEN until the supplier answers, then ANSWERED."
)


@strawberry.type(description="One mirror check of a stored result.")
class MirrorCheck:
    code: str = strawberry.field(description="Stable code, such as PRODUCED_VS_SHIPPED.")
    status: MirrorStatus = strawberry.field(description="The check's finding.")
    message: str = strawberry.field(description="What was found, naming the numbers.")
    figures: JSON = strawberry.field(description="The numbers behind it: observed, expected or range, unit.")
    source: str = strawberry.field(description="Where the reference figure comes from.")


@strawberry.type(description="The organisation's stored mirror check of a received footprint: its due diligence.")
class MirrorCheckResult(relay.Node):
    id: relay.NodeID[str]
    publication_id: relay.GlobalID = strawberry.field(description="The received footprint checked.")
    supplier_id: relay.GlobalID = strawberry.field(description="The supplier that published it.")
    content_hash: str = strawberry.field(description="The content hash of the document as checked.")
    shipped_mass_t: float | None = strawberry.field(description="The shipped mass the check was given [t].")
    status: MirrorStatus = strawberry.field(description="The worst status of its checks.")
    rules_version: str = strawberry.field(description="The version of the mirror rules applied.")
    checked_at: datetime = strawberry.field(description="When it was checked.")
    checked_by: str = strawberry.field(description="Who ran it.")
    checks: list[MirrorCheck] = strawberry.field(description="Each check, in a fixed order.")
    report: JSON = strawberry.field(description="The report as stored (canonical JSON object).")

    @classmethod
    def of(cls, row: MirrorCheckResultModel) -> MirrorCheckResult:
        return cls(
            id=str(row.id),
            publication_id=gid("PublishedFootprint", row.publication_id),
            supplier_id=gid("Organization", row.supplier_tenant_id),
            content_hash=row.content_hash,
            shipped_mass_t=row.shipped_mass_t,
            status=row.status,
            rules_version=row.rules_version,
            checked_at=row.checked_at,
            checked_by=row.checked_by,
            checks=[
                MirrorCheck(
                    code=c["code"],
                    status=MirrorCheckStatusModel(c["status"]),
                    message=c["message"],
                    figures=c["figures"],
                    source=c["source"],
                )
                for c in row.report["checks"]
            ],
            report=row.report,
        )


@strawberry.type(description="A question to a supplier about one of its published footprints, and the answer.")
class FootprintQuestion(relay.Node):
    id: relay.NodeID[str]
    publication_id: relay.GlobalID = strawberry.field(description="The published footprint it is about.")
    customer_id: relay.GlobalID = strawberry.field(description="The importer that asked.")
    supplier_id: relay.GlobalID = strawberry.field(description="The supplier asked.")
    question: str = strawberry.field(description="The question.")
    asked_by: str = strawberry.field(description="Who asked.")
    asked_at: datetime = strawberry.field(description="When.")
    status: QuestionStatus = strawberry.field(description="Open or answered.")
    answer: str | None = strawberry.field(description="The supplier's answer.")
    answered_by: str | None = strawberry.field(description="Who answered.")
    answered_at: datetime | None = strawberry.field(description="When.")

    @classmethod
    def of(cls, row: FootprintQuestionModel) -> FootprintQuestion:
        return cls(
            id=str(row.id),
            publication_id=gid("PublishedFootprint", row.publication_id),
            customer_id=gid("Organization", row.importer_tenant_id),
            supplier_id=gid("Organization", row.supplier_tenant_id),
            question=row.question,
            asked_by=row.asked_by,
            asked_at=row.asked_at,
            status=row.status,
            answer=row.answer,
            answered_by=row.answered_by,
            answered_at=row.answered_at,
        )


def _questions_loader(context: Context) -> object:
    principal = context.require_principal()

    async def fetch(db: AsyncSession, ids: list[uuid.UUID]) -> list[FootprintQuestionModel]:
        return await mirror.my_questions(db, principal, ids)

    return grouped_loader(context, fetch, lambda q: q.escalation_id, open_session=context.platform_uow)


def _checks_loader(context: Context) -> object:
    principal = context.require_principal()

    async def fetch(db: AsyncSession, ids: list[uuid.UUID]) -> list[MirrorCheckResultModel]:
        return await mirror.list_check_results(db, principal, ids)

    return grouped_loader(context, fetch, lambda r: r.publication_id)


async def checks_of(info: strawberry.Info[Context, None], publication_id: uuid.UUID) -> list[MirrorCheckResult]:
    """The viewer's organisation's own check results of a publication, newest first (one query per batch)."""
    rows = await info.context.loader("mirror_checks_by_publication", _checks_loader).load(publication_id)
    return [MirrorCheckResult.of(r) for r in rows]


@strawberry.type(description="A mirror check with a failing check, for the importer to settle.")
class MirrorEscalation(relay.Node):
    id: relay.NodeID[str]
    publication_id: relay.GlobalID = strawberry.field(description="The received footprint.")
    supplier_id: relay.GlobalID = strawberry.field(description="Its supplier.")
    check_result_id: relay.GlobalID = strawberry.field(description="The check result that raised it.")
    failed_checks: list[str] = strawberry.field(description="Codes of the failing checks.")
    status: EscalationStatus = strawberry.field(description="Open, resolved or accepted risk.")
    opened_at: datetime = strawberry.field(description="When it was raised.")
    closed_at: datetime | None = strawberry.field(description="When it was closed.")
    closed_by: str | None = strawberry.field(description="Who closed it.")
    close_note: str | None = strawberry.field(description="Why it was closed so.")

    @strawberry.field(description="Questions asked to the supplier about it, oldest first, with the answers.")
    async def questions(self, info: strawberry.Info[Context, None]) -> list[FootprintQuestion]:
        loader = info.context.loader("questions_by_escalation", _questions_loader)
        rows = await loader.load(uuid.UUID(str(self.id)))
        return [FootprintQuestion.of(r) for r in rows]

    @classmethod
    def of(cls, row: MirrorEscalationModel) -> MirrorEscalation:
        return cls(
            id=str(row.id),
            publication_id=gid("PublishedFootprint", row.publication_id),
            supplier_id=gid("Organization", row.supplier_tenant_id),
            check_result_id=gid("MirrorCheckResult", row.check_result_id),
            failed_checks=list(row.failed_checks),
            status=row.status,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            closed_by=row.closed_by,
            close_note=row.close_note,
        )


# --- inputs and payloads ---------------------------------------------------------------------------------


@strawberry.input(description="Run the mirror checks on a received footprint.")
class CheckReceivedFootprintInput:
    publication_id: NodeRef = strawberry.field(description="The received footprint.")
    shipped_mass_t: float | None = strawberry.field(
        default=None, description="The mass bought of the footprint's period's production [t], to check against it."
    )


@strawberry.type(description="The stored check result (and the escalation it raised), or why nothing was stored.")
class CheckReceivedFootprintPayload:
    result: MirrorCheckResult | None = strawberry.field(description="The stored result.")
    escalation: MirrorEscalation | None = strawberry.field(description="The escalation, when a check failed.")
    errors: list[UserError] = strawberry.field(description="Why nothing was stored.")


@strawberry.input(description="Ask the supplier about an escalation's footprint.")
class AskSupplierAboutFootprintInput:
    escalation_id: NodeRef = strawberry.field(description="The open escalation.")
    question: str = strawberry.field(description="The question (up to 4000 characters).")


@strawberry.input(description="Answer a question about one of the organisation's published footprints.")
class AnswerFootprintQuestionInput:
    question_id: NodeRef = strawberry.field(description="The question.")
    answer: str = strawberry.field(description="The answer (up to 4000 characters).")


@strawberry.type(description="The question, or why nothing changed.")
class FootprintQuestionPayload:
    question: FootprintQuestion | None = strawberry.field(description="The question.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.input(description="Close an open escalation.")
class CloseMirrorEscalationInput:
    escalation_id: NodeRef = strawberry.field(description="The escalation.")
    status: EscalationStatus = strawberry.field(description="RESOLVED or ACCEPTED_RISK.")
    note: str = strawberry.field(description="Why (up to 4000 characters).")


@strawberry.type(description="The escalation, or why nothing changed.")
class MirrorEscalationPayload:
    escalation: MirrorEscalation | None = strawberry.field(description="The escalation.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class MirrorQuery:
    @strawberry.field(description="The organisation's mirror check results of a received footprint, newest first.")
    async def mirror_check_results(
        self, info: strawberry.Info[Context, None], publication_id: NodeRef
    ) -> list[MirrorCheckResult]:
        info.context.require_principal()
        return await checks_of(info, node_uuid(publication_id, "PublishedFootprint", field="publicationId"))

    @strawberry.field(description="The organisation's mirror escalations (all, or in one status), newest first.")
    async def mirror_escalations(
        self, info: strawberry.Info[Context, None], status: EscalationStatus | None = None
    ) -> list[MirrorEscalation]:
        async def action(db: AsyncSession, principal: Principal) -> list[MirrorEscalation]:
            rows = await mirror.list_escalations(db, principal, EscalationStatusModel(status.value) if status else None)
            return [MirrorEscalation.of(r) for r in rows]

        return await info.context.in_tenant(action)

    @strawberry.field(
        description="Questions importers asked about the organisation's published footprints, newest first."
    )
    async def footprint_questions(
        self, info: strawberry.Info[Context, None], status: QuestionStatus | None = None
    ) -> list[FootprintQuestion]:
        principal = info.context.require_principal()
        async with info.context.services.db.platform_session() as session:
            rows = await mirror.questions_to_me(
                session, principal, QuestionStatusModel(status.value) if status else None
            )
        return [FootprintQuestion.of(r) for r in rows]


@strawberry.type
class MirrorMutation:
    @strawberry.mutation(
        description="Run the mirror checks on a footprint a supplier shares with the organisation and store the "
        "result; a failing check raises an escalation."
    )
    async def check_received_footprint(
        self, info: strawberry.Info[Context, None], input: CheckReceivedFootprintInput
    ) -> CheckReceivedFootprintPayload:
        principal = info.context.require_principal()

        async def body() -> CheckReceivedFootprintPayload:
            request = mirror.CheckRequest(
                publication_id=node_uuid(input.publication_id, "PublishedFootprint", field="publicationId"),
                shipped_mass_t=input.shipped_mass_t,
            )
            outcome = await mirror.check_received_footprint(info.context.services, principal, request)
            return CheckReceivedFootprintPayload(
                result=MirrorCheckResult.of(outcome.result),
                escalation=MirrorEscalation.of(outcome.escalation) if outcome.escalation else None,
                errors=[],
            )

        return await mutations.run(
            body, lambda e: CheckReceivedFootprintPayload(result=None, escalation=None, errors=e)
        )

    @strawberry.mutation(description="Ask the supplier about an open escalation's footprint (the importer's people).")
    async def ask_supplier_about_footprint(
        self, info: strawberry.Info[Context, None], input: AskSupplierAboutFootprintInput
    ) -> FootprintQuestionPayload:
        principal = info.context.require_principal()

        async def body() -> FootprintQuestionPayload:
            escalation_id = node_uuid(input.escalation_id, "MirrorEscalation", field="escalationId")
            row = await mirror.ask_supplier(info.context.services, principal, escalation_id, input.question)
            return FootprintQuestionPayload(question=FootprintQuestion.of(row), errors=[])

        return await mutations.run(body, lambda e: FootprintQuestionPayload(question=None, errors=e))

    @strawberry.mutation(description="Answer a question about one of the organisation's footprints (its people).")
    async def answer_footprint_question(
        self, info: strawberry.Info[Context, None], input: AnswerFootprintQuestionInput
    ) -> FootprintQuestionPayload:
        async def action(db: AsyncSession, principal: Principal) -> FootprintQuestionPayload:
            question_id = node_uuid(input.question_id, "FootprintQuestion", field="questionId")
            row = await mirror.answer_question(db, principal, question_id, input.answer)
            return FootprintQuestionPayload(question=FootprintQuestion.of(row), errors=[])

        return await mutations.in_platform(info, action, lambda e: FootprintQuestionPayload(question=None, errors=e))

    @strawberry.mutation(description="Close an open escalation as RESOLVED or ACCEPTED_RISK, with a note.")
    async def close_mirror_escalation(
        self, info: strawberry.Info[Context, None], input: CloseMirrorEscalationInput
    ) -> MirrorEscalationPayload:
        async def action(db: AsyncSession, principal: Principal) -> MirrorEscalationPayload:
            escalation_id = node_uuid(input.escalation_id, "MirrorEscalation", field="escalationId")
            row = await mirror.close_escalation(
                db, principal, escalation_id, EscalationStatusModel(input.status.value), input.note
            )
            return MirrorEscalationPayload(escalation=MirrorEscalation.of(row), errors=[])

        return await mutations.in_tenant(info, action, lambda e: MirrorEscalationPayload(escalation=None, errors=e))
