"""The demo's exchange: the exporter listed in the supplier directory, the importer connected to it,
last month's footprints published and shared with the importer. Each step is skipped when done."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from backend.calculations.models import CalculationRun, FootprintVersion, RunStatus
from backend.db import utcnow
from backend.exchange import connections, directory, mirror, reads, requests, service
from backend.exchange import repository as exchange_repository
from backend.exchange.directory import ListingData
from backend.exchange.models import PublicationStatus
from backend.exchange.repository import PublicationFilter
from backend.identity.models import MembershipRole
from backend.identity.principal import ROLE_SCOPES, Principal
from backend.services import Services
from backend.sharing.models import SubscriptionStatus
from backend.tenants.models import Tenant, TenantKind

LISTING = ListingData(
    display_name="Alu Profil Šabac d.o.o.",
    country="RS",
    sectors=["aluminium"],
    cn_codes=["7604", "7608"],
    description="Aluminium extrusions (6060/6063 profiles, bars and tubes) from the Šabac press lines, "
    "with hourly-matched solar PPA supply.",
    contact_email="energy@alu-sabac.example",
)


@dataclass(frozen=True, slots=True)
class DemoExchange:
    published: int  # publications made on this start
    shared: bool  # a share was made on this start
    checked: dict[str, int]  # the importer's mirror checks run on this start, by overall status
    questions: int  # questions asked and answered about failing checks on this start
    fulfilled: int  # publications a data request of the importer was fulfilled with on this start (0: none made)


def _admin(tenant: Tenant) -> Principal:
    return Principal(
        kind="system", id="demo", label="demo", tenant_id=tenant.id, scopes=ROLE_SCOPES[MembershipRole.OWNER]
    )


async def _listing(services: Services, exporter: Tenant) -> None:
    async with services.db.platform() as db:
        if await exchange_repository.listed_entry(db, exporter.id) is None:
            await directory.set_listing(db, _admin(exporter), await services.tenants.get(exporter.id), LISTING)


async def _connection(services: Services, exporter: Tenant, importer: Tenant) -> None:
    async with services.db.platform() as db:
        found = await exchange_repository.connection_between(db, importer.id, exporter.id)
        if found is not None and found.status == SubscriptionStatus.ACTIVE:
            return
        if found is None or found.status != SubscriptionStatus.REQUESTED:
            found = await connections.request_connection(
                db,
                _admin(importer),
                TenantKind.IMPORTER,
                exporter.id,
                "Fassadenbau Nord buys your 6060/6063 profiles: please share their CBAM footprints.",
            )
        await connections.accept_connection(db, _admin(exporter), found.id)


async def _publish(services: Services, exporter: Tenant, run: CalculationRun) -> int:
    async with services.db.platform_session() as platform:
        organisation = await service.exporter_of(platform, exporter.id)
        shares = await service.shares_to_notify(platform, exporter.id)
    published = 0
    async with services.db.tenant(exporter.scope()) as db:
        versions = list(
            (
                await db.execute(
                    select(FootprintVersion).where(FootprintVersion.run_id == run.id).order_by(FootprintVersion.id)
                )
            ).scalars()
        )
        for version in versions:
            if await exchange_repository.publication_of_version(db, version.id) is None:
                await service.publish_footprint(
                    db, _admin(exporter), organisation, TenantKind.EXPORTER, version.id, shares=shares
                )
                published += 1
    return published


async def _share(services: Services, exporter: Tenant, importer: Tenant) -> bool:
    async with services.db.platform_session() as platform:
        shares = await exchange_repository.shares_given(platform, exporter.id)
    if any(s.grantee_tenant_id == importer.id and s.revoked_at is None for s in shares):
        return False
    await connections.share(
        services,
        _admin(exporter),
        connections.ShareData(
            customer_id=importer.id, cn_codes=["7604", "7608"], purpose="CBAM footprints of the profiles we deliver"
        ),
    )
    return True


async def seed_exchange(
    services: Services, exporter: Tenant, importer: Tenant, run: CalculationRun
) -> DemoExchange | None:
    """List, connect, publish the run's footprints and share them; None when the run did not succeed."""
    if run.status != RunStatus.SUCCEEDED:
        return None
    await _listing(services, exporter)
    await _connection(services, exporter, importer)
    # shared first, so the importer's feed tells it of each publication
    shared = await _share(services, exporter, importer)
    published = await _publish(services, exporter, run)
    fulfilled = await _data_request(services, exporter, importer, run)
    checked, questions = await _mirror_checks(services, exporter, importer)
    return DemoExchange(published, shared, checked, questions, fulfilled)


async def _data_request(services: Services, exporter: Tenant, importer: Tenant, run: CalculationRun) -> int:
    """The importer asks for the month's footprints of its profiles (CN 7604); the exporter fulfils the
    request with its active publications of that month."""
    async with services.db.platform_session() as db:
        if await requests.list_requests(db, _admin(importer), incoming=False, supplier_id=exporter.id):
            return 0
    asked = await requests.request_footprints(
        services,
        _admin(importer),
        requests.RequestData(
            supplier_id=exporter.id,
            period_start=run.period_start,
            period_end=run.period_end,
            due_date=(utcnow() + timedelta(days=14)).date(),
            cn_codes=["7604"],
            message="For our CBAM report of the quarter: the footprints of the profiles you delivered last month.",
        ),
    )
    published = await reads.list_shared_publications(
        services,
        _admin(importer),
        PublicationFilter(
            supplier_id=exporter.id,
            cn_code="7604",
            start=run.period_start,
            end=run.period_end,
            status=PublicationStatus.ACTIVE,
        ),
    )
    if not published:
        return 0
    await requests.fulfil_request(services, _admin(exporter), asked.id, [p.id for p in published])
    return len(published)


async def _mirror_checks(services: Services, exporter: Tenant, importer: Tenant) -> tuple[dict[str, int], int]:
    """The importer checks each active footprint it received and has not checked; a failing check's
    escalation gets a question, which the exporter answers."""
    buyer = _admin(importer)
    received = await reads.list_shared_publications(
        services, buyer, PublicationFilter(supplier_id=exporter.id, status=PublicationStatus.ACTIVE)
    )
    async with services.db.tenant(importer.scope()) as db:
        done = {r.publication_id for r in await exchange_repository.check_results_of(db, [p.id for p in received])}
    checked: dict[str, int] = {}
    questions = 0
    for publication in received:
        if publication.id in done:
            continue
        outcome = await mirror.check_received_footprint(services, buyer, mirror.CheckRequest(publication.id))
        status = outcome.result.status.value
        checked[status] = checked.get(status, 0) + 1
        if outcome.escalation is not None:
            failing = ", ".join(
                c["code"] for c in outcome.result.report["checks"] if str(c["status"]).upper() == "FAIL"
            )
            question = await mirror.ask_supplier(
                services,
                buyer,
                outcome.escalation.id,
                f"Our plausibility check of {publication.document['product']['code']} failed ({failing}): "
                "please explain the figure or the evidence behind it.",
            )
            async with services.db.platform() as db:
                await mirror.answer_question(
                    db,
                    _admin(exporter),
                    question.id,
                    "The figure follows our metered data and the allocation in the calculation bundle; the "
                    "verifier's statement covers this month.",
                )
            questions += 1
    return checked, questions


def describe(exchange: DemoExchange) -> str:
    """The start-up line: what this start added (nothing on a later start)."""
    return (
        "exchange: Alu Profil Šabac listed in the supplier directory, Fassadenbau Nord connected, "
        f"{exchange.published} footprints published"
        + (", shared with Fassadenbau Nord" if exchange.shared else "")
        + (
            "; mirror checks by Fassadenbau Nord: "
            + ", ".join(f"{n} {status.lower()}" for status, n in sorted(exchange.checked.items()))
            if exchange.checked
            else ""
        )
        + (f", {exchange.questions} questions asked and answered" if exchange.questions else "")
        + (f"; a data request fulfilled with {exchange.fulfilled} footprints" if exchange.fulfilled else "")
    )
