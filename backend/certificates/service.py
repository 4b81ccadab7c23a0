"""Use cases of certificates: register, split, transfer, cancel with a statement, claim, expire.

Rules: only an active certificate that has not expired may be split, transferred or cancelled;
transferred, cancelled and expired are final. Only a cancelled certificate may back a claim, and
an identifier backs at most one claim on the whole exchange (``repository.add_claim``). Every
change is in the tenant's audit trail. Reads and writes need ``site:read`` / ``site:write``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import service as audit
from backend.audit.service import record
from backend.certificates import repository
from backend.certificates.errors import (
    CertificateExpired,
    CertificateNotActive,
    CertificateNotCancelled,
    CertificateNotFound,
    ClaimOutsideStatement,
)
from backend.certificates.expiry import expires_on, is_expired
from backend.certificates.models import (
    CancellationStatement,
    Certificate,
    CertificateClaim,
    CertificateState,
)
from backend.certificates.schemas import (
    CertificateData,
    CertificateFilter,
    ClaimData,
    StatementData,
    normalise_body,
)
from backend.db import tenant_scope_of, utcnow
from backend.developers.models import PpaConnection
from backend.errors import FieldError, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.schemas import check_text, text_errors
from backend.supply import service as supply
from backend.supply.errors import ContractNotFound


def today_utc() -> date:
    return utcnow().date()


def state_on(certificate: Certificate, today: date) -> CertificateState:
    """The state as of ``today``: an active certificate past its expiry day is expired, even before
    the periodic job has written it."""
    if certificate.state == CertificateState.ACTIVE and is_expired(certificate.expires_on, today):
        return CertificateState.EXPIRED
    return certificate.state


@dataclass(frozen=True, slots=True)
class SplitResult:
    """The first part keeps the certificate's id; the rest is a new certificate."""

    first: Certificate
    rest: Certificate


async def get_certificate(db: AsyncSession, principal: Principal, certificate_id: uuid.UUID) -> Certificate:
    principal.require("site:read")
    certificate = await repository.get_certificate(db, certificate_id)
    if certificate is None:
        raise CertificateNotFound("no such certificate", field="id")
    return certificate


async def list_certificates(
    db: AsyncSession,
    principal: Principal,
    filters: CertificateFilter,
    *,
    after: tuple[str, str] | None = None,
    limit: int = 50,
    today: date | None = None,
) -> list[Certificate]:
    """The tenant's certificates, filtered; states as of today."""
    principal.require("site:read")
    cursor = (datetime.fromisoformat(after[0]), uuid.UUID(after[1])) if after else None
    return await repository.list_certificates(db, filters, today or today_utc(), after=cursor, limit=limit)


async def _check_references(
    db: AsyncSession, *, evidence: list[str] | None = None, installation_id: uuid.UUID | None = None
) -> list[FieldError]:
    errors: list[FieldError] = []
    missing = await repository.missing_evidence(db, evidence or [])
    for index, sha in enumerate(evidence or []):
        if sha in missing:
            errors.append(FieldError(f"no evidence document with SHA-256 {sha}", field=f"evidenceSha256.{index}"))
    if installation_id is not None and not await repository.installation_exists(db, installation_id):
        errors.append(FieldError("no such installation", field="installationId"))
    return errors


async def register_certificate(
    db: AsyncSession,
    principal: Principal,
    data: CertificateData,
    *,
    connection: PpaConnection | None = None,
    today: date | None = None,
) -> Certificate:
    """Record a range as issued or received: an exporter's holding (optionally of one of its supply
    contracts), or a developer's issuance record for a PPA ``connection`` it is the developer of."""
    principal.require("site:write")
    today = today or today_utc()
    data.validate(today)
    errors = await _check_references(db, evidence=data.evidence_sha256)
    if data.supply_contract_id is not None:
        try:
            await supply.get_contract(db, principal, data.supply_contract_id)
        except ContractNotFound:
            errors.append(FieldError("no such supply contract", field="supplyContractId"))
    if connection is not None and connection.developer_tenant_id != tenant_scope_of(db).tenant_id:
        errors.append(FieldError("your organisation is not the developer of this PPA", field="connectionId"))
    if errors:
        raise ValidationFailed(errors)
    expiry, rule = expires_on(data.issuing_country, data.production_end_on)
    certificate = Certificate(
        scheme=data.scheme,
        issuing_body=normalise_body(data.issuing_body),
        issuing_country=data.issuing_country,
        range_start=data.range_start,
        range_end=data.range_end,
        registry_reference=data.registry_reference,
        device_id=data.device_id.strip(),
        device_name=data.device_name.strip(),
        device_country=data.device_country,
        energy_source=data.energy_source,
        technology=data.technology,
        production_start_on=data.production_start_on,
        production_end_on=data.production_end_on,
        issued_on=data.issued_on,
        expires_on=expiry,
        expiry_rule=rule.describe(),
        # a range recorded after its expiry day is recorded as what it is
        state=CertificateState.EXPIRED if is_expired(expiry, today) else CertificateState.ACTIVE,
        supply_contract_id=data.supply_contract_id,
        ppa_connection_id=connection.id if connection is not None else None,
        evidence_sha256=list(data.evidence_sha256),
        created_by=principal.label,
    )
    await repository.insert_certificate(db, certificate)
    await record(
        db, principal, "certificate.registered", "certificate", certificate.id, after=audit.snapshot(certificate)
    )
    return certificate


async def _active(db: AsyncSession, certificate_id: uuid.UUID, today: date) -> Certificate:
    certificate = await repository.get_certificate(db, certificate_id, lock=True)
    if certificate is None:
        raise CertificateNotFound("no such certificate", field="id")
    state = state_on(certificate, today)
    if state == CertificateState.EXPIRED:
        raise CertificateExpired(
            f"the certificate expired on {certificate.expires_on.isoformat()} ({certificate.expiry_rule})", field="id"
        )
    if state != CertificateState.ACTIVE:
        raise CertificateNotActive(f"the certificate is {state.value}: only an active one can change", field="id")
    return certificate


async def _split(
    db: AsyncSession, principal: Principal, certificate: Certificate, quantity: int, field: str
) -> SplitResult:
    if not 0 < quantity < certificate.quantity:
        raise FieldError(
            f"between 1 and {certificate.quantity - 1} (the certificate holds {certificate.quantity})", field=field
        )
    before = audit.snapshot(certificate)
    original_end = certificate.range_end
    await repository.shrink(db, certificate, certificate.range_start + quantity - 1)
    rest = Certificate(
        **{
            key: getattr(certificate, key)
            for key in (
                "scheme",
                "issuing_body",
                "issuing_country",
                "registry_reference",
                "device_id",
                "device_name",
                "device_country",
                "energy_source",
                "technology",
                "production_start_on",
                "production_end_on",
                "issued_on",
                "expires_on",
                "expiry_rule",
                "state",
                "supply_contract_id",
                "ppa_connection_id",
            )
        },
        range_start=certificate.range_end + 1,
        range_end=original_end,
        split_from_id=certificate.id,
        evidence_sha256=list(certificate.evidence_sha256),
        created_by=principal.label,
    )
    await repository.insert_certificate(db, rest)
    details = {"first": [certificate.range_start, certificate.range_end], "rest": [rest.range_start, rest.range_end]}
    await record(
        db,
        principal,
        "certificate.split",
        "certificate",
        certificate.id,
        before=before,
        after=audit.snapshot(certificate),
        details=details,
    )
    await record(
        db, principal, "certificate.split_off", "certificate", rest.id, after=audit.snapshot(rest), details=details
    )
    return SplitResult(certificate, rest)


async def split_certificate(
    db: AsyncSession, principal: Principal, certificate_id: uuid.UUID, quantity: int, *, today: date | None = None
) -> SplitResult:
    """Split an active range after its first ``quantity`` certificates; both keep quantity = end - start + 1."""
    principal.require("site:write")
    certificate = await _active(db, certificate_id, today or today_utc())
    return await _split(db, principal, certificate, quantity, "quantity")


async def _part(
    db: AsyncSession, principal: Principal, certificate_id: uuid.UUID, quantity: int | None, today: date
) -> Certificate:
    """The certificate, or its first ``quantity`` split off when only part of it is to change."""
    certificate = await _active(db, certificate_id, today)
    if quantity is None or quantity == certificate.quantity:
        return certificate
    return (await _split(db, principal, certificate, quantity, "quantity")).first


async def transfer_certificate(
    db: AsyncSession,
    principal: Principal,
    certificate_id: uuid.UUID,
    *,
    to: str,
    transferred_on: date,
    quantity: int | None = None,
    today: date | None = None,
) -> Certificate:
    """Record that the range (or its first ``quantity``) went to another account holder (the offtaker)."""
    principal.require("site:write")
    today = today or today_utc()
    errors = text_errors(check_text(to, field="to", max_length=200, required=True))
    if transferred_on > today:
        errors.append(FieldError("must not be in the future", field="transferredOn"))
    if errors:
        raise ValidationFailed(errors)
    certificate = await _part(db, principal, certificate_id, quantity, today)
    before = audit.snapshot(certificate)
    await repository.set_state(
        db, certificate, CertificateState.TRANSFERRED, transferred_to=to.strip(), transferred_on=transferred_on
    )
    await record(
        db,
        principal,
        "certificate.transferred",
        "certificate",
        certificate.id,
        before=before,
        after=audit.snapshot(certificate),
    )
    return certificate


async def cancel_certificate(
    db: AsyncSession,
    principal: Principal,
    certificate_id: uuid.UUID,
    statement: StatementData,
    *,
    quantity: int | None = None,
    today: date | None = None,
) -> tuple[Certificate, CancellationStatement]:
    """Cancel the range (or its first ``quantity``) with its statement: beneficiary, period, purpose."""
    principal.require("site:write")
    today = today or today_utc()
    errors = statement.errors(today) + await _check_references(db, installation_id=statement.installation_id)
    if errors:
        raise ValidationFailed(errors)
    certificate = await _part(db, principal, certificate_id, quantity, today)
    before = audit.snapshot(certificate)
    await repository.set_state(db, certificate, CertificateState.CANCELLED)
    row = CancellationStatement(
        certificate_id=certificate.id,
        beneficiary=statement.beneficiary.strip(),
        consumption_start_on=statement.consumption_start_on,
        consumption_end_on=statement.consumption_end_on,
        consumption_country=statement.consumption_country,
        purpose=statement.purpose.strip(),
        installation_id=statement.installation_id,
        statement_reference=statement.statement_reference,
        cancelled_on=statement.cancelled_on,
        created_by=principal.label,
    )
    await repository.add_statement(db, row)
    await record(
        db,
        principal,
        "certificate.cancelled",
        "certificate",
        certificate.id,
        before=before,
        after=audit.snapshot(certificate),
        details={"statement": audit.snapshot(row)},
    )
    return certificate, row


async def claim_certificate(db: AsyncSession, principal: Principal, data: ClaimData) -> CertificateClaim:
    """Claim a cancelled range (or part of it) for one use; refused if any identifier already backs a
    claim anywhere on the exchange, without saying whose."""
    principal.require("site:write")
    data.validate()
    errors = await _check_references(db, installation_id=data.installation_id)
    if errors:
        raise ValidationFailed(errors)
    certificate = await repository.get_certificate(db, data.certificate_id, lock=True)
    if certificate is None:
        raise CertificateNotFound("no such certificate", field="certificateId")
    if certificate.state != CertificateState.CANCELLED:
        raise CertificateNotCancelled(
            f"the certificate is {certificate.state.value}: only a cancelled one backs a claim", field="certificateId"
        )
    start = certificate.range_start if data.range_start is None else data.range_start
    end = certificate.range_end if data.range_end is None else data.range_end
    if start < certificate.range_start or end > certificate.range_end:
        raise FieldError(
            f"inside the certificate's identifiers {certificate.range_start}-{certificate.range_end}",
            field="rangeStart",
        )
    statements = await repository.statements_of(db, [certificate.id])
    if statements:
        statement = statements[0]
        if data.period_start_on < statement.consumption_start_on or data.period_end_on > statement.consumption_end_on:
            raise ClaimOutsideStatement(
                "the claim's period must lie inside the statement's consumption period "
                f"[{statement.consumption_start_on.isoformat()}, {statement.consumption_end_on.isoformat()})",
                field="periodStartOn",
            )
    claim = CertificateClaim(
        certificate_id=certificate.id,
        range_start=start,
        range_end=end,
        installation_id=data.installation_id,
        period_start_on=data.period_start_on,
        period_end_on=data.period_end_on,
        purpose=data.purpose.strip(),
        claimed_by=principal.label,
    )
    await repository.add_claim(db, claim, certificate, tenant_scope_of(db).tenant_id)
    await record(db, principal, "certificate.claimed", "certificate_claim", claim.id, after=audit.snapshot(claim))
    return claim


async def expire_certificates(db: AsyncSession, principal: Principal, *, today: date | None = None) -> int:
    """Write the expired state of every active certificate whose expiry day has come (periodic job)."""
    principal.require("site:write")
    ids = await repository.expire_due(db, today or today_utc())
    for certificate_id in ids:
        await record(
            db,
            principal,
            "certificate.expired",
            "certificate",
            certificate_id,
            details={"state": CertificateState.EXPIRED.value},
        )
    return len(ids)


async def statements_of(db: AsyncSession, certificate_ids: list[uuid.UUID]) -> list[CancellationStatement]:
    return await repository.statements_of(db, certificate_ids)


async def claims_of(db: AsyncSession, certificate_ids: list[uuid.UUID]) -> list[CertificateClaim]:
    return await repository.claims_of(db, certificate_ids)


async def cancelled_for_installation(
    db: AsyncSession, principal: Principal, installation_id: uuid.UUID, first_day: date, last_day: date
) -> list[tuple[Certificate, CancellationStatement]]:
    """Certificates cancelled for the installation with production in [first_day, last_day] (inclusive):
    information beside a footprint, never an input of it."""
    principal.require("site:read")
    return await repository.cancelled_for_installation(db, installation_id, first_day, last_day)


async def certificates_of_installation(
    db: AsyncSession,
    principal: Principal,
    installation_id: uuid.UUID,
    contract_ids: list[uuid.UUID],
    start_on: date,
    end_on: date,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Certificate]:
    """An installation's certificates (through its contracts, cancellations or claims) produced in
    [start_on, end_on) or cancelled or claimed for consumption in it."""
    principal.require("site:read")
    return await repository.certificates_of_installation(
        db, installation_id, contract_ids, start_on, end_on, after=after, limit=limit
    )


async def claims_for_installation(
    db: AsyncSession, principal: Principal, certificate_ids: list[uuid.UUID], installation_id: uuid.UUID
) -> list[CertificateClaim]:
    principal.require("site:read")
    return await repository.claims_for_installation(db, certificate_ids, installation_id)
