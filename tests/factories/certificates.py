"""Builders for certificates: plain async functions over the service (each in its own unit of work)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from backend.certificates import service
from backend.certificates.models import CancellationStatement, Certificate, CertificateScheme
from backend.certificates.schemas import CertificateData, StatementData
from backend.services import Services
from tests.factories.tenants import TenantWithOwner


def last_month(today: date | None = None) -> tuple[date, date]:
    """[first day of last month, first day of this month)."""
    today = today or date.today()
    end = today.replace(day=1)
    return (end - timedelta(days=1)).replace(day=1), end


def go_data(start: int = 1_000_001, end: int = 1_000_500, **changes: Any) -> CertificateData:
    production_start, production_end = last_month()
    data = CertificateData(
        scheme=CertificateScheme.GO_EECS,
        issuing_body="EMS",
        issuing_country="RS",
        range_start=start,
        range_end=end,
        device_id="RS-EMS-SOLAR-0042",
        device_name="Dunav Solar 1",
        device_country="RS",
        energy_source="F01010100",
        production_start_on=production_start,
        production_end_on=production_end,
        issued_on=production_end,
    )
    return replace(data, **changes)


def statement_data(beneficiary: str = "Alu Sabac d.o.o.", **changes: Any) -> StatementData:
    start, end = last_month()
    data = StatementData(
        beneficiary=beneficiary,
        consumption_start_on=start,
        consumption_end_on=end,
        consumption_country="RS",
        purpose="CBAM indirect emissions: electricity of aluminium extrusion",
        cancelled_on=end,
    )
    return replace(data, **changes)


async def register(services: Services, owner: TenantWithOwner, data: CertificateData | None = None) -> Certificate:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return await service.register_certificate(db, owner.principal, data or go_data())


async def register_cancelled(
    services: Services,
    owner: TenantWithOwner,
    data: CertificateData | None = None,
    statement: StatementData | None = None,
) -> tuple[Certificate, CancellationStatement]:
    async with services.db.tenant(owner.tenant.scope()) as db:
        certificate = await service.register_certificate(db, owner.principal, data or go_data())
        return await service.cancel_certificate(db, owner.principal, certificate.id, statement or statement_data())


def contract_id() -> uuid.UUID:
    return uuid.uuid4()


async def cancelled_for(
    db: Any,
    principal: Any,
    numbers: tuple[int, int],
    days: tuple[date, date],
    installation_id: uuid.UUID,
    **changes: Any,
) -> Certificate:
    """A certificate produced and issued over ``days``, cancelled for ``installation_id``'s consumption in them."""
    certificate = await service.register_certificate(
        db,
        principal,
        go_data(*numbers, production_start_on=days[0], production_end_on=days[1], issued_on=days[1], **changes),
    )
    await service.cancel_certificate(
        db,
        principal,
        certificate.id,
        statement_data(
            consumption_start_on=days[0],
            consumption_end_on=days[1],
            cancelled_on=days[1],
            installation_id=installation_id,
        ),
    )
    return certificate
