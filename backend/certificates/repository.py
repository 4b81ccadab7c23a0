"""The certificates domain's SQL. The fetchers check nothing: ``service`` checks the principal first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.certificates.errors import IdentifiersAlreadyHeld, RangeAlreadyClaimed
from backend.certificates.models import (
    CancellationStatement,
    Certificate,
    CertificateClaim,
    CertificateState,
    ClaimRegistration,
)
from backend.certificates.schemas import CertificateFilter
from backend.db import utcnow
from backend.evidence.models import EvidenceDocument
from backend.installations.models import Installation


def effective_state(today: date) -> ColumnElement[str]:
    """The state as of ``today``: an active certificate past its expiry reads as expired."""
    return case(
        (
            (Certificate.state == CertificateState.ACTIVE.value) & (Certificate.expires_on <= today),
            literal(CertificateState.EXPIRED.value),
        ),
        else_=Certificate.state,
    )


def _constraint(error: IntegrityError) -> str:
    orig = error.orig
    name = getattr(orig, "constraint_name", None) or getattr(getattr(orig, "__cause__", None), "constraint_name", None)
    return name or str(orig)


async def get_certificate(db: AsyncSession, certificate_id: uuid.UUID, *, lock: bool = False) -> Certificate | None:
    query = select(Certificate).where(Certificate.id == certificate_id)
    if lock:
        query = query.with_for_update()
    return (await db.execute(query)).scalar_one_or_none()


async def list_certificates(
    db: AsyncSession,
    filters: CertificateFilter,
    today: date,
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 50,
) -> list[Certificate]:
    query = select(Certificate).order_by(Certificate.created_at, Certificate.id).limit(limit)
    if filters.states:
        query = query.where(effective_state(today).in_(filters.states))
    if filters.scheme is not None:
        query = query.where(Certificate.scheme == filters.scheme)
    if filters.supply_contract_id is not None:
        query = query.where(Certificate.supply_contract_id == filters.supply_contract_id)
    if filters.ppa_connection_id is not None:
        query = query.where(Certificate.ppa_connection_id == filters.ppa_connection_id)
    if filters.production_from is not None:
        query = query.where(Certificate.production_end_on > filters.production_from)
    if filters.production_to is not None:
        query = query.where(Certificate.production_start_on < filters.production_to)
    if filters.device_id is not None:
        query = query.where(Certificate.device_id == filters.device_id)
    if after is not None:
        created, ident = after
        query = query.where(
            (Certificate.created_at > created) | ((Certificate.created_at == created) & (Certificate.id > ident))
        )
    return list((await db.execute(query)).scalars())


async def insert_certificate(db: AsyncSession, certificate: Certificate) -> None:
    """Add a range; the holder's own exclusion constraint refuses identifiers it already records."""
    try:
        async with db.begin_nested():
            db.add(certificate)
            await db.flush()
    except IntegrityError as error:
        if "ex_certificates_identifiers" not in _constraint(error):
            raise
        raise IdentifiersAlreadyHeld(
            "your organisation already records some of these identifiers for this scheme and issuing body",
            field="rangeStart",
        ) from None


async def shrink(db: AsyncSession, certificate: Certificate, range_end: int) -> None:
    certificate.range_end = range_end
    await db.flush()


async def set_state(db: AsyncSession, certificate: Certificate, state: CertificateState, **values: object) -> None:
    certificate.state = state
    certificate.state_changed_at = utcnow()
    for key, value in values.items():
        setattr(certificate, key, value)
    await db.flush()


async def expire_due(db: AsyncSession, today: date) -> list[uuid.UUID]:
    """Active certificates whose expiry day has come become expired; their ids."""
    rows = await db.execute(
        update(Certificate)
        .where(Certificate.state == CertificateState.ACTIVE, Certificate.expires_on <= today)
        .values(state=CertificateState.EXPIRED, state_changed_at=utcnow())
        .returning(Certificate.id)
    )
    return [r.id for r in rows]


async def add_statement(db: AsyncSession, statement: CancellationStatement) -> None:
    db.add(statement)
    await db.flush()


async def statements_of(db: AsyncSession, certificate_ids: Sequence[uuid.UUID]) -> list[CancellationStatement]:
    rows = await db.execute(
        select(CancellationStatement).where(CancellationStatement.certificate_id.in_(certificate_ids))
    )
    return list(rows.scalars())


async def claims_of(db: AsyncSession, certificate_ids: Sequence[uuid.UUID]) -> list[CertificateClaim]:
    rows = await db.execute(
        select(CertificateClaim)
        .where(CertificateClaim.certificate_id.in_(certificate_ids))
        .order_by(CertificateClaim.range_start)
    )
    return list(rows.scalars())


async def add_claim(db: AsyncSession, claim: CertificateClaim, certificate: Certificate, tenant_id: uuid.UUID) -> None:
    """The holder's claim and its exchange-wide registration, in the caller's transaction.

    The registration is a plain INSERT without RETURNING: the tenant role may insert into the
    registry but not read it, and PostgreSQL then leaves the conflicting key out of its error.
    """
    try:
        async with db.begin_nested():
            db.add(claim)
            await db.flush()
            await db.execute(
                insert(ClaimRegistration).values(
                    id=uuid.uuid4(),
                    scheme=certificate.scheme.value,
                    issuing_body=certificate.issuing_body,
                    range_start=claim.range_start,
                    range_end=claim.range_end,
                    tenant_id=tenant_id,
                    certificate_id=certificate.id,
                    claim_id=claim.id,
                    registered_at=utcnow(),
                )
            )
    except IntegrityError as error:
        if "ex_claim_registry_identifiers" not in _constraint(error):
            raise
        raise RangeAlreadyClaimed(
            "these certificate identifiers, or some of them, already back a claim on the exchange",
            field="certificateId",
        ) from None


async def missing_evidence(db: AsyncSession, hashes: Sequence[str]) -> set[str]:
    if not hashes:
        return set()
    rows = await db.execute(select(EvidenceDocument.sha256).where(EvidenceDocument.sha256.in_(list(hashes))))
    return set(hashes) - {r.sha256 for r in rows}


async def installation_exists(db: AsyncSession, installation_id: uuid.UUID) -> bool:
    return (await db.execute(select(func.count()).where(Installation.id == installation_id))).scalar_one() > 0


async def cancelled_for_installation(
    db: AsyncSession, installation_id: uuid.UUID, first_day: date, last_day: date
) -> list[tuple[Certificate, CancellationStatement]]:
    """Certificates cancelled for the installation whose production period overlaps [first_day, last_day]
    (both inclusive), with their cancellation statements, by production start."""
    rows = await db.execute(
        select(Certificate, CancellationStatement)
        .join(CancellationStatement, CancellationStatement.certificate_id == Certificate.id)
        .where(
            CancellationStatement.installation_id == installation_id,
            Certificate.state == CertificateState.CANCELLED,
            Certificate.production_start_on <= last_day,
            Certificate.production_end_on >= first_day,
        )
        .order_by(Certificate.production_start_on, Certificate.range_start)
    )
    return [(r[0], r[1]) for r in rows.all()]


def _of_installation(installation_id: uuid.UUID, contract_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """A certificate tied to the installation: through its supply contract, its cancellation or a claim."""
    cancelled_for = select(CancellationStatement.certificate_id).where(
        CancellationStatement.installation_id == installation_id
    )
    claimed_for = select(CertificateClaim.certificate_id).where(CertificateClaim.installation_id == installation_id)
    return or_(
        Certificate.supply_contract_id.in_(list(contract_ids)),
        Certificate.id.in_(cancelled_for),
        Certificate.id.in_(claimed_for),
    )


async def certificates_of_installation(
    db: AsyncSession,
    installation_id: uuid.UUID,
    contract_ids: Sequence[uuid.UUID],
    start_on: date,
    end_on: date,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Certificate]:
    """The installation's certificates produced in [start_on, end_on), or cancelled or claimed for
    consumption in it; by recording time."""
    cancelled_in = select(CancellationStatement.certificate_id).where(
        CancellationStatement.consumption_start_on < end_on, CancellationStatement.consumption_end_on > start_on
    )
    claimed_in = select(CertificateClaim.certificate_id).where(
        CertificateClaim.period_start_on < end_on, CertificateClaim.period_end_on > start_on
    )
    query = (
        select(Certificate)
        .where(
            _of_installation(installation_id, contract_ids),
            or_(
                and_(Certificate.production_start_on < end_on, Certificate.production_end_on > start_on),
                Certificate.id.in_(cancelled_in),
                Certificate.id.in_(claimed_in),
            ),
        )
        .order_by(Certificate.created_at, Certificate.id)
        .limit(limit)
    )
    if after is not None:
        created, ident = after
        query = query.where(
            (Certificate.created_at > created) | ((Certificate.created_at == created) & (Certificate.id > ident))
        )
    return list((await db.execute(query)).scalars())


async def claims_for_installation(
    db: AsyncSession, certificate_ids: Sequence[uuid.UUID], installation_id: uuid.UUID
) -> list[CertificateClaim]:
    """Claims on these certificates made for one installation."""
    rows = await db.execute(
        select(CertificateClaim)
        .where(
            CertificateClaim.certificate_id.in_(list(certificate_ids)),
            CertificateClaim.installation_id == installation_id,
        )
        .order_by(CertificateClaim.claimed_at, CertificateClaim.id)
    )
    return list(rows.scalars())
