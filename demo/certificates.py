"""Demo certificates: last month's GOs of Dunav Solar's plant SE Mišar (the PPA plant of
demo/supply.py), transferred to Alu Profil Šabac and cancelled there with a statement naming it as
beneficiary, then claimed for the Šabac plant.

The developer (dunav-solar) files its issuance and transfer records, for its PPA with alu-sabac when
that connection exists; the exporter (alu-sabac) records the range it received, cancels it with the
EMS cancellation statement (evidence by hash) and claims it in the exchange-wide registry. The
quantity is last month's delivered generation of the PPA when the developer uploaded it (1 GO per
whole MWh, rounded down), otherwise an estimate from the plant's capacity and a monthly capacity
factor (below). Idempotent: a second run finds the records and leaves them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from backend.certificates import service as certificates
from backend.certificates.models import CertificateScheme
from backend.certificates.schemas import CertificateData, CertificateFilter, ClaimData, StatementData
from backend.db import Database
from backend.developers import service as developers
from backend.developers.models import ConnectionStatus, PpaConnection
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, SubjectRef, upload_document
from backend.evidence.store import ObjectStore
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.tenants.models import Tenant

DEVICE_ID = "RS-EMS-PV-MISAR-01"
# the PPA plant of demo/supply.py
DEVICE_NAME = "SE Mišar 10 MWp"
CAPACITY_MW = 10.0
# our estimate of a south-facing PV plant's monthly capacity factor near Šabac (order of magnitude of
# PVGIS figures for the Pannonian plain; used only when the developer has not uploaded generation)
CAPACITY_FACTOR = (0.05, 0.08, 0.12, 0.15, 0.17, 0.19, 0.20, 0.18, 0.14, 0.10, 0.06, 0.04)
# EMS identifiers of the demo plant: one block of a million per production month
IDENTIFIER_BASE = 381_000_000_000
BENEFICIARY = "Alu Profil Šabac d.o.o."


def _owner(tenant: Tenant) -> Principal:
    return Principal(
        kind="system", id="demo", label="demo", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )


def last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1)
    return (end - timedelta(days=1)).replace(day=1), end


async def _connection(db: Database, developer: Tenant, exporter: Tenant) -> PpaConnection | None:
    async with db.platform_session() as session:
        row = (
            await session.execute(
                select(PpaConnection)
                .where(
                    PpaConnection.developer_tenant_id == developer.id,
                    PpaConnection.offtaker_tenant_id == exporter.id,
                    PpaConnection.status == ConnectionStatus.ACTIVE,
                )
                .order_by(PpaConnection.created_at)
                .limit(1)
            )
        ).scalar_one_or_none()
        if row is not None:
            session.expunge(row)
    return row


async def _quantity(db: Database, developer: Tenant, connection: PpaConnection | None, month: tuple[date, date]) -> int:
    """Whole MWh delivered last month under the PPA, or the capacity-factor estimate."""
    start = datetime.combine(month[0], datetime.min.time(), UTC)
    end = datetime.combine(month[1], datetime.min.time(), UTC)
    if connection is not None:
        async with db.tenant(developer.scope()) as session:
            rows = await developers.contract_intervals(session, _owner(developer), connection, start, end)
        energy_wh = sum(r.energy_wh for r in rows)
        if energy_wh >= 1_000_000:
            return energy_wh // 1_000_000
    hours = (end - start).total_seconds() / 3600
    return int(CAPACITY_MW * hours * CAPACITY_FACTOR[month[0].month - 1])


async def seed_certificates(
    db: Database,
    store: ObjectStore | None,
    tenants: dict[str, Tenant],
    installation_id: uuid.UUID | None,
    *,
    today: date | None = None,
) -> None:
    today = today or datetime.now(UTC).date()
    developer, exporter = tenants["dunav-solar"], tenants["alu-sabac"]
    month = last_month(today)
    wanted = CertificateFilter(device_id=DEVICE_ID, production_from=month[0], production_to=month[1])
    async with db.tenant(exporter.scope()) as session:
        if await certificates.list_certificates(session, _owner(exporter), wanted, today=today):
            return  # already seeded for last month
    connection = await _connection(db, developer, exporter)
    quantity = await _quantity(db, developer, connection, month)
    start = IDENTIFIER_BASE + (month[0].year * 12 + month[0].month) * 1_000_000
    issued_on = month[1] + timedelta(days=min(4, (today - month[1]).days))
    go = CertificateData(
        scheme=CertificateScheme.GO_EECS,
        issuing_body="EMS",
        issuing_country="RS",
        range_start=start,
        range_end=start + quantity - 1,
        device_id=DEVICE_ID,
        device_name=DEVICE_NAME,
        device_country="RS",
        energy_source="F01010100",
        production_start_on=month[0],
        production_end_on=month[1],
        issued_on=issued_on,
        registry_reference=f"EMS-GO-{month[0]:%Y%m}-MISAR01",
    )
    # the developer: issuance and transfer records for its PPA with the exporter (unless a run that
    # stopped half-way already filed them)
    async with db.tenant(developer.scope()) as session:
        filed = await certificates.list_certificates(session, _owner(developer), wanted, today=today)
        if filed:
            go = dataclasses.replace(go, range_start=filed[0].range_start, range_end=filed[0].range_end)
        else:
            issued = await certificates.register_certificate(
                session, _owner(developer), go, connection=connection, today=today
            )
            await certificates.transfer_certificate(
                session, _owner(developer), issued.id, to=BENEFICIARY, transferred_on=issued_on, today=today
            )
    # the exporter: the range received, cancelled for itself with the EMS statement, and claimed
    evidence: list[str] = []
    statement_title = f"EMS cancellation statement {month[0]:%Y-%m} SE Mišar"
    async with db.tenant(exporter.scope()) as session:
        if store is not None and installation_id is not None:
            body = f"%PDF-1.4\n% cbamx demo document: {statement_title}\n%%EOF\n".encode()
            await upload_document(
                session,
                store,
                _owner(exporter),
                NewDocument(
                    data=body,
                    filename=f"{statement_title}.pdf",
                    content_type="application/pdf",
                    kind=EvidenceKind.GO_CANCELLATION,
                    title=statement_title,
                    subjects=[SubjectRef("installation", str(installation_id))],
                    period_start=datetime.combine(month[0], datetime.min.time(), UTC),
                    period_end=datetime.combine(month[1], datetime.min.time(), UTC),
                ),
                max_bytes=1_000_000,
            )
            evidence.append(hashlib.sha256(body).hexdigest())
        held = await certificates.register_certificate(
            session,
            _owner(exporter),
            CertificateData(
                **{
                    **{k: getattr(go, k) for k in go.__dataclass_fields__},
                    "supply_contract_id": connection.contract_id if connection else None,
                    "evidence_sha256": evidence,
                }
            ),
            today=today,
        )
        cancelled, statement = await certificates.cancel_certificate(
            session,
            _owner(exporter),
            held.id,
            StatementData(
                beneficiary=BENEFICIARY,
                consumption_start_on=month[0],
                consumption_end_on=month[1],
                consumption_country="RS",
                purpose="CBAM: electricity of aluminium extrusion at the Šabac plant (indirect emissions evidence)",
                cancelled_on=issued_on,
                installation_id=installation_id,
                statement_reference=f"EMS-CAN-{month[0]:%Y%m}-0001",
            ),
            today=today,
        )
        await certificates.claim_certificate(
            session,
            _owner(exporter),
            ClaimData(
                certificate_id=cancelled.id,
                period_start_on=statement.consumption_start_on,
                period_end_on=statement.consumption_end_on,
                purpose="CBAM indirect emissions, aluminium extrusion",
                installation_id=installation_id,
            ),
        )
