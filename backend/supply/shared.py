"""An organisation's electricity supply read by another through a live ``supply`` grant (a verifier).

What a verifier checks of indirect emissions: the supply contracts of one installation delivering in a
period, with their delivery points and evidence; a PPA's settlement data as the grantor holds it (a
month-by-month summary, and the interval rows on request); the certificates of the installation with
their cancellations and the claims made for it; and the emission factors in use.

Every request names one installation (directly, or through the contract it names) and a period,
which must lie inside a grant's limits; refusals name the limit (``backend.sharing.access``). Each
read is recorded in the grantor's audit trail, and nested records (delivery points, documents,
statements, claims) are read in the same unit of work with one query per kind.

Settlement data is not the grantor's own: an exporter reads its PPA's intervals from the developer
through the contract grant that accepting the PPA connection gave it. The verifier's read therefore
goes on, after the grantor's check and audit, as the grantor's read of the developer
(``backend.developers.reads``, unchanged): the developer's trail records it as the exporter's use,
labelled with the verifier, and it is refused (the summary says why) once the connection no longer
shares the data, exactly as it is for the exporter.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.calculations.service import factor_ids_used
from backend.certificates import service as certificates
from backend.certificates.models import CancellationStatement, Certificate, CertificateClaim
from backend.developers.connections import connection_of_contract, effective_status
from backend.developers.errors import ConnectionNotActive
from backend.developers.models import ConnectionStatus, SettlementInterval
from backend.developers.reads import read_contract_intervals, read_period_intervals
from backend.errors import DomainError, FieldError, ValidationFailed
from backend.evidence.models import EvidenceDocument
from backend.factors import service as factors
from backend.factors.schemas import Factor
from backend.identity.principal import Principal
from backend.installations.service import get_installation
from backend.services import Services
from backend.sharing.access import granted_read, within
from backend.sharing.models import ResourceKind
from backend.supply import service
from backend.supply.errors import ContractNotFound
from backend.supply.models import ContractDeliveryPoint, ContractDocument, ContractKind, SupplyContract

# (grantor id, resource kind) a result was read through
SharedFrom = tuple[uuid.UUID, str]
MAX_CERTIFICATES = 500


def _check_period(period: tuple[datetime, datetime]) -> None:
    start, end = period
    errors = []
    if start.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="start"))
    if end.tzinfo is None:
        errors.append(FieldError("must carry a UTC offset", field="end"))
    if not errors and end <= start:
        errors.append(FieldError("must be after the start", field="end"))
    if errors:
        raise ValidationFailed(errors)


def _days(period: tuple[datetime, datetime]) -> tuple[date, date]:
    """The UTC days [first, after last) a period touches."""
    start, end = (moment.astimezone(UTC) for moment in period)
    return start.date(), (end - timedelta(microseconds=1)).date() + timedelta(days=1)


# --- contracts ---------------------------------------------------------------------------------------


@dataclass
class SharedContracts:
    contracts: list[SupplyContract]
    points: dict[uuid.UUID, list[ContractDeliveryPoint]] = field(default_factory=dict)
    documents: dict[uuid.UUID, list[tuple[ContractDocument, EvidenceDocument]]] = field(default_factory=dict)
    shared_from: SharedFrom | None = None


async def read_contracts(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    installation_id: uuid.UUID,
    period: tuple[datetime, datetime],
) -> SharedContracts:
    """The grantor's contracts of one installation delivering in ``period``, with delivery points and evidence."""
    _check_period(period)
    async with granted_read(
        services, actor, grantor_id, ResourceKind.SUPPLY, what="supply_contracts", entity_id=installation_id
    ) as read:
        await read.allow(within(installation_ids=[installation_id], period=period))
        rows = await service.contracts_in_period(read.db, read.reader, installation_id, *period)
        ids = [r.id for r in rows]
        found = SharedContracts(rows, shared_from=read.shared_from)
        for point in await service.delivery_points_of(read.db, read.reader, ids):
            found.points.setdefault(point.contract_id, []).append(point)
        for link, doc in await service.documents_of(read.db, read.reader, ids):
            found.documents.setdefault(link.contract_id, []).append((link, doc))
    return found


# --- PPA settlement as the grantor holds it ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettlementMonth:
    start: datetime  # first instant of the installation's local month (or the period's start)
    end: datetime  # exclusive
    intervals: int
    estimated_intervals: int
    energy_kwh: float
    resolution_s: int | None  # the coarsest resolution in the month


@dataclass
class SettlementSummary:
    contract: SupplyContract
    period: tuple[datetime, datetime]
    connection_id: uuid.UUID | None = None
    # developer_settlement: read from the developer; none: not shared (``note`` says why)
    source: str = "none"
    note: str = ""
    months: list[SettlementMonth] = field(default_factory=list)

    @property
    def intervals(self) -> int:
        return sum(m.intervals for m in self.months)

    @property
    def energy_kwh(self) -> float:
        return sum(m.energy_kwh for m in self.months)


def _holder(actor: Principal, grantor_id: uuid.UUID) -> Principal:
    """The grantor as the reader of its own PPA's settlement data, on the verifier's behalf."""
    return Principal(
        kind="system",
        id=actor.id,
        label=f"{actor.label} of organisation {actor.tenant_id}, verifying through the PPA connection"[:320],
        tenant_id=grantor_id,
        scopes=frozenset({"interval:read"}),
    )


async def _ppa_contract(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    contract_id: uuid.UUID,
    period: tuple[datetime, datetime],
    *,
    what: str,
) -> tuple[SupplyContract, ZoneInfo]:
    """The grantor's PPA, allowed for its installation over ``period`` (the use recorded in its trail), and
    the installation's time zone."""
    async with granted_read(services, actor, grantor_id, ResourceKind.SUPPLY, what=what, entity_id=contract_id) as read:
        try:
            contract = await service.get_contract(read.db, read.reader, contract_id)
        except ContractNotFound:
            raise ContractNotFound("no such supply contract", field="contractId") from None
        await read.allow(within(installation_ids=[contract.installation_id], period=period))
        installation = await get_installation(read.db, read.reader, contract.installation_id)
        read.db.expunge(contract)
    if contract.kind != ContractKind.PPA:
        raise ValidationFailed([FieldError("not a PPA: only a PPA has settlement data", field="contractId")])
    return contract, ZoneInfo(installation.timezone)


def _month_of(moment: datetime, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    return datetime(local.year, local.month, 1, tzinfo=zone)


def _month_after(month: datetime) -> datetime:
    # calendar arithmetic on the local first of the month: DST shifts stay out of the month's length
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=month.tzinfo)


async def read_settlement_summary(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    contract_id: uuid.UUID,
    period: tuple[datetime, datetime],
) -> SettlementSummary:
    """A PPA's settlement intervals in ``period`` summed per month of the installation's local calendar
    (a CBAM reporting period is local), as the grantor reads them."""
    _check_period(period)
    contract, zone = await _ppa_contract(services, actor, grantor_id, contract_id, period, what="settlement_summary")
    summary = SettlementSummary(contract, period)
    async with services.db.platform_session() as platform:
        connection = await connection_of_contract(platform, grantor_id, contract.id)
    if connection is None:
        summary.note = "no PPA connection shares this contract's settlement data"
        return summary
    summary.connection_id = connection.id
    if (status := effective_status(connection)) != ConnectionStatus.ACTIVE:
        summary.note = f"the developer no longer shares this PPA ({status.value})"
        return summary
    try:
        _, columns = await read_period_intervals(services, _holder(actor, grantor_id), connection.id, *period)
    except DomainError as refused:
        summary.note = f"the developer's data could not be read ({refused.message})"
        return summary
    summary.source = "developer_settlement"
    buckets: dict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # intervals, estimated, wh, resolution
    for start_s, resolution_s, energy_wh, quality in zip(
        columns.start_s, columns.resolution_s, columns.energy_wh, columns.quality, strict=True
    ):
        bucket = buckets[_month_of(datetime.fromtimestamp(start_s, UTC), zone)]
        bucket[0] += 1
        bucket[1] += 1 if quality == 1 else 0
        bucket[2] += energy_wh
        bucket[3] = max(bucket[3], resolution_s)
    month = _month_of(period[0], zone)
    while month < period[1]:
        intervals, estimated, wh, resolution = buckets.get(month, [0, 0, 0, 0])
        summary.months.append(
            SettlementMonth(
                start=max(month, period[0]),
                end=min(_month_after(month), period[1]),
                intervals=intervals,
                estimated_intervals=estimated,
                energy_kwh=wh / 1000,
                resolution_s=resolution or None,
            )
        )
        month = _month_after(month)
    return summary


async def read_settlement_intervals(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    contract_id: uuid.UUID,
    period: tuple[datetime, datetime],
) -> list[SettlementInterval]:
    """A PPA's settlement intervals starting in ``period`` (at most 31 days), as the grantor reads them."""
    _check_period(period)
    contract, _ = await _ppa_contract(services, actor, grantor_id, contract_id, period, what="settlement_intervals")
    async with services.db.platform_session() as platform:
        connection = await connection_of_contract(platform, grantor_id, contract.id)
    if connection is None:
        return []
    try:
        _, rows = await read_contract_intervals(services, _holder(actor, grantor_id), connection.id, *period)
    except ConnectionNotActive as refused:
        # the caller named the contract, not the connection
        raise ConnectionNotActive(refused.message, field="contractId") from None
    return rows


# --- certificates -------------------------------------------------------------------------------------


@dataclass
class SharedCertificates:
    certificates: list[Certificate]
    statements: dict[uuid.UUID, CancellationStatement] = field(default_factory=dict)
    claims: dict[uuid.UUID, list[CertificateClaim]] = field(default_factory=dict)


async def read_certificates(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    installation_id: uuid.UUID,
    period: tuple[datetime, datetime],
    *,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = MAX_CERTIFICATES,
) -> SharedCertificates:
    """The installation's certificates of ``period`` (produced, cancelled or claimed for consumption in it),
    with their cancellation statements and the claims made for the installation."""
    _check_period(period)
    start_on, end_on = _days(period)
    async with granted_read(
        services, actor, grantor_id, ResourceKind.SUPPLY, what="certificates", entity_id=installation_id
    ) as read:
        await read.allow(within(installation_ids=[installation_id], period=period))
        contracts = await service.list_contracts(read.db, read.reader, installation_id=installation_id)
        rows = await certificates.certificates_of_installation(
            read.db,
            read.reader,
            installation_id,
            [c.id for c in contracts],
            start_on,
            end_on,
            after=after,
            limit=limit,
        )
        ids = [r.id for r in rows]
        found = SharedCertificates(rows)
        for statement in await certificates.statements_of(read.db, ids):
            found.statements[statement.certificate_id] = statement
        for claim in await certificates.claims_for_installation(read.db, read.reader, ids, installation_id):
            found.claims.setdefault(claim.certificate_id, []).append(claim)
    return found


# --- emission factors in use ---------------------------------------------------------------------------


async def read_factors(
    services: Services,
    actor: Principal,
    grantor_id: uuid.UUID,
    installation_id: uuid.UUID,
    period: tuple[datetime, datetime],
) -> list[Factor]:
    """The factor versions the installation's calculations over ``period`` used, and the supplier-specific
    factors its contracts delivering in it name."""
    _check_period(period)
    async with granted_read(
        services, actor, grantor_id, ResourceKind.SUPPLY, what="emission_factors", entity_id=installation_id
    ) as read:
        await read.allow(within(installation_ids=[installation_id], period=period))
        used = dict.fromkeys(await factor_ids_used(read.db, read.reader, installation_id, *period))
        for contract in await service.contracts_in_period(read.db, read.reader, installation_id, *period):
            if contract.supplier_factor_id is not None:
                used[contract.supplier_factor_id] = None
        return await factors.factors_by_ids(read.db, read.reader, list(used))
