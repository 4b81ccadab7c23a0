"""Mirror checks of received footprints, the importer's side of the exchange (docs/exchange.md).

An importer runs the mirror checks (``backend.mirror``) on a footprint a supplier shares with it; the report
is stored in the importer's schema as evidence of its due diligence. A report with a failing check opens an
escalation there. The importer may ask the supplier about it: the question lives in the platform schema
naming both organisations, as a connection does, so each side reads its side through these functions and
never the other's schema. Every step is written to the trail of each organisation it concerns.

The publication is read through the shared reads (``backend.exchange.reads``) on every check: a revoked or
narrowed share stops the checks as it stops the reads, and the read is in the supplier's trail.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, record_in_platform_transaction
from backend.db import utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.exchange import reads, repository
from backend.exchange.errors import (
    FootprintQuestionAnswered,
    FootprintQuestionNotFound,
    MirrorEscalationClosed,
    MirrorEscalationNotFound,
)
from backend.exchange.models import (
    EscalationStatus,
    FootprintQuestion,
    MirrorCheckResult,
    MirrorCheckStatus,
    MirrorEscalation,
    QuestionStatus,
    VerificationStatus,
)
from backend.exchange.reads import SharedPublication
from backend.exchange.repository import PublicationFilter
from backend.exchange.service import MAX_LISTED
from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.mirror import MirrorReport, Status, history_from_documents, load_context, run_mirror_checks
from backend.services import Services
from backend.tenants.models import Tenant

MAX_TEXT = 4000
# a shipped mass above this is a typing mistake, not a purchase (ten times the world's yearly aluminium)
MAX_SHIPPED_MASS_T = 1e9


@dataclass(frozen=True, slots=True)
class CheckRequest:
    publication_id: uuid.UUID
    shipped_mass_t: float | None = None  # the mass the importer bought of the period's production [t]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    result: MirrorCheckResult
    escalation: MirrorEscalation | None


def _text(value: str, field: str) -> str:
    """A question, answer or note: not blank, bounded, no NUL."""
    stripped = value.strip()
    if not stripped:
        raise ValidationFailed([FieldError("must not be empty", field=field)])
    if len(stripped) > MAX_TEXT or "\x00" in stripped:
        raise ValidationFailed([FieldError(f"at most {MAX_TEXT} characters, no NUL", field=field)])
    return stripped


def _check_shipped_mass(value: float | None) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or value > MAX_SHIPPED_MASS_T:
        raise ValidationFailed([FieldError(f"a mass in tonnes from 0 to {MAX_SHIPPED_MASS_T:g}", field="shippedMassT")])


def _require_person(principal: Principal, minimum: MembershipRole, what: str) -> uuid.UUID:
    tenant_id = principal.require_tenant()
    if principal.kind == "client":
        raise PermissionDenied(f"an organisation's people {what}, not its clients")
    principal.require_role(minimum)
    return tenant_id


async def supplier_history(
    services: Services, principal: Principal, publication: SharedPublication
) -> list[SharedPublication]:
    """The supplier's other publications of the same product and installation that the importer can see."""
    product = uuid.UUID(str(publication.document["product"]["id"]))
    installation = str(publication.document["installation"]["id"])
    rows = await reads.list_shared_publications(
        services,
        principal,
        PublicationFilter(supplier_id=publication.supplier_id, product_id=product),
        limit=MAX_LISTED,
    )
    return [r for r in rows if r.id != publication.id and str(r.document["installation"]["id"]) == installation]


def judge(
    publication: SharedPublication, history: list[SharedPublication], shipped_mass_t: float | None
) -> MirrorReport:
    """The mirror report of ``publication`` now, against the packaged defaults and the given history."""
    earlier = sorted(history, key=lambda p: (p.document["period"]["start"], p.published_at))
    context = load_context(
        publication.document,
        check_time=utcnow(),
        history=history_from_documents(p.document for p in earlier),
        shipped_mass_t=shipped_mass_t,
        verified=publication.verification_status == VerificationStatus.VERIFIED,
    )
    return run_mirror_checks(publication.document, context)


async def check_received_footprint(services: Services, principal: Principal, request: CheckRequest) -> CheckOutcome:
    """Run the mirror checks on a footprint shared with the caller and store the result in its schema.

    A failing check opens an escalation in the same unit of work. Nothing is stored when the input is
    bad or the footprint is not (or no longer) shared with the caller.
    """
    principal.require("footprints:read")
    me = principal.require_tenant()
    _check_shipped_mass(request.shipped_mass_t)
    publication = await reads.get_shared_publication(services, principal, request.publication_id)
    history = await supplier_history(services, principal, publication)
    report = judge(publication, history, request.shipped_mass_t)
    tenant = await services.tenants.get(me)
    async with services.db.tenant(tenant.scope) as db:
        return await _store(db, principal, publication, report, request.shipped_mass_t)


async def _store(
    db: AsyncSession,
    principal: Principal,
    publication: SharedPublication,
    report: MirrorReport,
    shipped_mass_t: float | None,
) -> CheckOutcome:
    result = MirrorCheckResult(
        publication_id=publication.id,
        supplier_tenant_id=publication.supplier_id,
        content_hash=publication.content_hash,
        shipped_mass_t=shipped_mass_t,
        status=MirrorCheckStatus(report.status.value),
        report=report.to_dict(),
        rules_version=report.rules_version,
        checked_at=report.checked_at,
        checked_by=principal.label,
    )
    db.add(result)
    await db.flush()
    await record(
        db,
        principal,
        "mirror_check.recorded",
        "mirror_check_result",
        result.id,
        after=result.report,
        details={
            "publication": str(publication.id),
            "supplier": str(publication.supplier_id),
            "content_hash": publication.content_hash,
            "status": result.status.value,
            "rules_version": result.rules_version,
        },
    )
    failed = [c.code for c in report.checks if c.status == Status.FAIL]
    escalation = None
    if failed:
        escalation = MirrorEscalation(
            check_result_id=result.id,
            publication_id=publication.id,
            supplier_tenant_id=publication.supplier_id,
            failed_checks=failed,
            opened_at=result.checked_at,
        )
        db.add(escalation)
        await db.flush()
        await record(
            db,
            principal,
            "mirror_escalation.opened",
            "mirror_escalation",
            escalation.id,
            details={"check_result": str(result.id), "publication": str(publication.id), "failed": failed},
        )
    return CheckOutcome(result=result, escalation=escalation)


async def list_check_results(
    db: AsyncSession, principal: Principal, publication_ids: list[uuid.UUID]
) -> list[MirrorCheckResult]:
    """The organisation's own check results of these publications, newest first (its own schema only)."""
    principal.require("footprints:read")
    return await repository.check_results_of(db, publication_ids)


async def list_escalations(
    db: AsyncSession, principal: Principal, status: EscalationStatus | None
) -> list[MirrorEscalation]:
    """The organisation's escalations, newest first."""
    principal.require("footprints:read")
    return await repository.escalations(db, status)


async def close_escalation(
    db: AsyncSession, principal: Principal, escalation_id: uuid.UUID, to: EscalationStatus, note: str
) -> MirrorEscalation:
    """Close an open escalation as resolved or as a risk the importer accepts, saying why (its people)."""
    _require_person(principal, MembershipRole.MEMBER, "close escalations")
    if to == EscalationStatus.OPEN:
        raise ValidationFailed([FieldError("RESOLVED or ACCEPTED_RISK", field="status")])
    note = _text(note, "note")
    escalation = await repository.escalation(db, escalation_id, for_update=True)
    if escalation is None:
        raise MirrorEscalationNotFound("no such escalation", field="escalationId")
    if escalation.status != EscalationStatus.OPEN:
        raise MirrorEscalationClosed(f"the escalation is {escalation.status.value} already", field="escalationId")
    escalation.status = to
    escalation.closed_at = utcnow()
    escalation.closed_by = principal.label
    escalation.close_note = note
    await db.flush()
    await record(
        db,
        principal,
        "mirror_escalation.closed",
        "mirror_escalation",
        escalation.id,
        details={"status": to.value, "publication": str(escalation.publication_id)},
        note=note,
    )
    return escalation


# --- questions between importer and supplier ---------------------------------------------------------------


async def _tenant(db: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    row = await db.get(Tenant, tenant_id)
    assert row is not None  # a question's organisations are removed with it (CASCADE)
    return row


async def _audit_both(db: AsyncSession, principal: Principal, question: FootprintQuestion, action: str) -> None:
    """A question concerns both organisations: each keeps the step in its own trail."""
    for tenant_id in (question.importer_tenant_id, question.supplier_tenant_id):
        tenant = await _tenant(db, tenant_id)
        await record_in_platform_transaction(
            db,
            tenant.scope(),
            principal,
            action,
            "footprint_question",
            question.id,
            details={
                "importer": str(question.importer_tenant_id),
                "supplier": str(question.supplier_tenant_id),
                "publication": str(question.publication_id),
                "status": question.status.value,
            },
        )


async def ask_supplier(
    services: Services, principal: Principal, escalation_id: uuid.UUID, question: str
) -> FootprintQuestion:
    """Ask the supplier about an open escalation's footprint (the importer's people).

    The escalation is read in the importer's schema first; the question is written in one platform unit
    of work with both trail entries.
    """
    me = _require_person(principal, MembershipRole.MEMBER, "ask suppliers")
    text = _text(question, "question")
    tenant = await services.tenants.get(me)
    async with services.db.tenant(tenant.scope) as db:
        escalation = await repository.escalation(db, escalation_id)
        if escalation is None:
            raise MirrorEscalationNotFound("no such escalation", field="escalationId")
        if escalation.status != EscalationStatus.OPEN:
            raise MirrorEscalationClosed(f"the escalation is {escalation.status.value}", field="escalationId")
        supplier_id, publication_id = escalation.supplier_tenant_id, escalation.publication_id
    async with services.db.platform() as db:
        row = FootprintQuestion(
            importer_tenant_id=me,
            supplier_tenant_id=supplier_id,
            publication_id=publication_id,
            escalation_id=escalation_id,
            question=text,
            asked_by=principal.label,
            asked_at=utcnow(),
            status=QuestionStatus.OPEN,
        )
        db.add(row)
        await db.flush()
        await _audit_both(db, principal, row, "footprint_question.asked")
        return row


async def answer_question(
    db: AsyncSession, principal: Principal, question_id: uuid.UUID, answer: str
) -> FootprintQuestion:
    """The supplier answers a question about one of its publications (its people), once."""
    me = _require_person(principal, MembershipRole.MEMBER, "answer questions")
    text = _text(answer, "answer")
    row = await repository.question(db, question_id, for_update=True)
    if row is None or row.supplier_tenant_id != me:
        raise FootprintQuestionNotFound("no such question to your organisation", field="questionId")
    if row.status != QuestionStatus.OPEN:
        raise FootprintQuestionAnswered("the question has its answer already", field="questionId")
    row.status = QuestionStatus.ANSWERED
    row.answer = text
    row.answered_by = principal.label
    row.answered_at = utcnow()
    await db.flush()
    await _audit_both(db, principal, row, "footprint_question.answered")
    return row


async def questions_to_me(
    db: AsyncSession, principal: Principal, status: QuestionStatus | None
) -> list[FootprintQuestion]:
    """Questions importers asked about the organisation's publications, newest first."""
    principal.require("footprints:read")
    return await repository.questions_to_supplier(db, principal.require_tenant(), status)


async def my_questions(
    db: AsyncSession, principal: Principal, escalation_ids: list[uuid.UUID]
) -> list[FootprintQuestion]:
    """The organisation's own questions about its escalations, with the answers, oldest first."""
    principal.require("footprints:read")
    return await repository.questions_of_escalations(db, principal.require_tenant(), escalation_ids)
