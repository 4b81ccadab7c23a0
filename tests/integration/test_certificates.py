"""Certificates: ranges, states, splits, transfers, cancellations with statements, expiry, audit."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from backend.audit.models import AuditEntry
from backend.certificates import service
from backend.certificates.errors import CertificateExpired, CertificateNotActive, IdentifiersAlreadyHeld
from backend.certificates.models import Certificate, CertificateScheme, CertificateState
from backend.certificates.schemas import CertificateFilter
from backend.errors import FieldError, ValidationFailed
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, upload_document
from backend.supply.service import create_contract
from tests.factories.certificates import go_data, register, statement_data
from tests.factories.orgs import make_org
from tests.factories.site import make_plant
from tests.factories.superuser import superuser_execute
from tests.factories.supply import ppa_contract_data


async def _all(services, org) -> list[Certificate]:
    async with services.db.tenant(org.tenant.scope()) as db:
        return await service.list_certificates(db, org.principal, CertificateFilter(), limit=100)


async def _actions(services, org) -> list[str]:
    async with services.db.tenant(org.tenant.scope()) as db:
        rows = await db.execute(select(AuditEntry.action).order_by(AuditEntry.seq))
        return [r.action for r in rows]


async def test_a_registered_range_holds_end_minus_start_plus_one_and_expires_by_its_country_rule(services):
    org = await make_org(services)
    # when
    certificate = await register(services, org, go_data(1, 250, issuing_body="  ems "))
    # then
    assert certificate.quantity == 250
    assert certificate.state == CertificateState.ACTIVE
    assert certificate.issuing_body == "EMS"
    end = certificate.production_end_on
    assert certificate.expires_on == end.replace(year=end.year + 1)
    assert certificate.expiry_rule.startswith("RS: 12 months")
    assert await _actions(services, org) == ["tenant.created", "certificate.registered"]


async def test_bad_input_is_refused_naming_every_field_and_nothing_is_stored(services):
    org = await make_org(services)
    today = date.today()
    bad = go_data(
        10,
        5,
        issuing_country="Serbia",
        energy_source="solar",
        technology="PV",
        device_name=" ",
        production_start_on=today,
        production_end_on=today - timedelta(days=3),
        issued_on=today + timedelta(days=2),
        evidence_sha256=["nothex"],
    )
    # when / then
    with pytest.raises(ValidationFailed) as refused:
        await register(services, org, bad)
    fields = {e.field for e in refused.value.errors}
    assert fields == {
        "issuingCountry",
        "rangeEnd",
        "energySource",
        "technology",
        "deviceName",
        "productionEndOn",
        "issuedOn",
        "evidenceSha256.0",
    }
    assert await _all(services, org) == []
    # a future production period, and an evidence hash the organisation does not hold
    with pytest.raises(ValidationFailed) as future:
        await register(services, org, go_data(production_end_on=today + timedelta(days=40)))
    assert {e.field for e in future.value.errors} == {"productionEndOn"}
    with pytest.raises(ValidationFailed, match="no evidence document"):
        await register(services, org, go_data(evidence_sha256=["a" * 64]))
    assert await _all(services, org) == []


async def test_other_schemes_take_their_own_energy_source_words(services):
    org = await make_org(services)
    certificate = await register(services, org, go_data(scheme=CertificateScheme.I_REC, energy_source="Solar"))
    assert certificate.scheme == CertificateScheme.I_REC and certificate.energy_source == "Solar"


async def test_the_same_identifiers_cannot_be_recorded_twice_by_one_holder(services):
    org = await make_org(services)
    await register(services, org, go_data(1, 100))
    with pytest.raises(IdentifiersAlreadyHeld):
        await register(services, org, go_data(100, 120))
    # another issuing body's identifiers are its own
    assert (await register(services, org, go_data(1, 100, issuing_body="HROTE"))).quantity == 100


async def test_split_keeps_quantity_end_minus_start_plus_one_on_both_parts(services):
    # given: TV7 of hourly-matching.md §e: [1, 1 000 000], take 400 000
    org = await make_org(services)
    original = await register(services, org, go_data(1, 1_000_000))
    # when
    async with services.db.tenant(org.tenant.scope()) as db:
        split = await service.split_certificate(db, org.principal, original.id, 400_000)
    # then
    assert (split.first.id, split.first.range_start, split.first.range_end, split.first.quantity) == (
        original.id,
        1,
        400_000,
        400_000,
    )
    assert (split.rest.range_start, split.rest.range_end, split.rest.quantity) == (400_001, 1_000_000, 600_000)
    assert split.rest.split_from_id == original.id
    assert split.first.quantity + split.rest.quantity == 1_000_000
    assert split.rest.expires_on == original.expires_on
    assert (await _actions(services, org))[-2:] == ["certificate.split", "certificate.split_off"]


@pytest.mark.parametrize("quantity", [0, 10, -1])
async def test_a_split_must_leave_something_on_both_sides(services, quantity):
    org = await make_org(services)
    original = await register(services, org, go_data(1, 10))
    with pytest.raises(FieldError, match="between 1 and 9") as refused:
        async with services.db.tenant(org.tenant.scope()) as db:
            await service.split_certificate(db, org.principal, original.id, quantity)
    assert refused.value.field == "quantity"
    assert [c.quantity for c in await _all(services, org)] == [10]


async def test_transfer_of_part_of_a_range_splits_it_and_only_that_part_leaves(services):
    org = await make_org(services)
    original = await register(services, org, go_data(101, 200))
    async with services.db.tenant(org.tenant.scope()) as db:
        moved = await service.transfer_certificate(
            db, org.principal, original.id, to="Alu Sabac d.o.o.", transferred_on=date.today(), quantity=30
        )
    assert (moved.range_start, moved.range_end, moved.state) == (101, 130, CertificateState.TRANSFERRED)
    assert moved.transferred_to == "Alu Sabac d.o.o."
    held = {c.range_start: c for c in await _all(services, org)}
    assert held[131].state == CertificateState.ACTIVE and held[131].quantity == 70
    # a transferred range is final
    with pytest.raises(CertificateNotActive):
        async with services.db.tenant(org.tenant.scope()) as db:
            await service.transfer_certificate(db, org.principal, moved.id, to="x", transferred_on=date.today())


async def test_cancel_with_a_statement_and_nothing_after_it(services):
    org = await make_org(services)
    original = await register(services, org, go_data(1, 100))
    async with services.db.tenant(org.tenant.scope()) as db:
        cancelled, statement = await service.cancel_certificate(
            db, org.principal, original.id, statement_data(statement_reference="EMS-CAN-2026-0042"), quantity=60
        )
    assert (cancelled.range_end, cancelled.state, statement.certificate_id) == (
        60,
        CertificateState.CANCELLED,
        original.id,
    )
    assert statement.beneficiary == "Alu Sabac d.o.o."
    for attempt in (
        lambda db: service.split_certificate(db, org.principal, original.id, 5),
        lambda db: service.cancel_certificate(db, org.principal, original.id, statement_data()),
    ):
        with pytest.raises(CertificateNotActive, match="cancelled"):
            async with services.db.tenant(org.tenant.scope()) as db:
                await attempt(db)
    assert (await _actions(services, org))[-1] == "certificate.cancelled"


async def test_a_bad_statement_is_refused_and_the_certificate_stays_active(services):
    org = await make_org(services)
    original = await register(services, org, go_data(1, 100))
    start, end = statement_data().consumption_start_on, statement_data().consumption_end_on
    bad = replace(
        statement_data(" "),
        consumption_start_on=end,
        consumption_end_on=start,
        consumption_country="rs",
        purpose="",
        cancelled_on=date.today() + timedelta(days=1),
    )
    with pytest.raises(ValidationFailed) as refused:
        async with services.db.tenant(org.tenant.scope()) as db:
            await service.cancel_certificate(db, org.principal, original.id, bad, quantity=10)
    assert {e.field for e in refused.value.errors} == {
        "beneficiary",
        "purpose",
        "consumptionCountry",
        "consumptionEndOn",
        "cancelledOn",
    }
    [only] = await _all(services, org)
    assert (only.state, only.quantity) == (CertificateState.ACTIVE, 100)


async def test_an_expired_certificate_reads_expired_and_cannot_change_before_and_after_the_job(services):
    org = await make_org(services)
    certificate = await register(services, org, go_data(1, 100))
    later = certificate.expires_on
    # on read, before any job ran
    async with services.db.tenant(org.tenant.scope()) as db:
        expired = await service.list_certificates(
            db, org.principal, CertificateFilter(states=("expired",)), today=later
        )
        active = await service.list_certificates(db, org.principal, CertificateFilter(states=("active",)), today=later)
    assert [c.id for c in expired] == [certificate.id] and active == []
    assert service.state_on(certificate, later) == CertificateState.EXPIRED
    with pytest.raises(CertificateExpired, match="expired on"):
        async with services.db.tenant(org.tenant.scope()) as db:
            await service.split_certificate(db, org.principal, certificate.id, 10, today=later)
    # the periodic job writes it, audited, once
    async with services.db.tenant(org.tenant.scope()) as db:
        assert await service.expire_certificates(db, org.principal, today=later) == 1
    async with services.db.tenant(org.tenant.scope()) as db:
        assert await service.expire_certificates(db, org.principal, today=later) == 0
        stored = await service.get_certificate(db, org.principal, certificate.id)
    assert stored.state == CertificateState.EXPIRED
    assert (await _actions(services, org))[-1] == "certificate.expired"
    with pytest.raises(CertificateExpired):
        async with services.db.tenant(org.tenant.scope()) as db:
            await service.cancel_certificate(db, org.principal, certificate.id, statement_data())


async def test_a_range_recorded_after_its_expiry_is_recorded_expired(services):
    org = await make_org(services)
    old = go_data(production_start_on=date(2023, 1, 1), production_end_on=date(2023, 2, 1), issued_on=date(2023, 2, 10))
    assert (await register(services, org, old)).state == CertificateState.EXPIRED


async def test_evidence_is_linked_by_hash(services):
    org = await make_org(services)
    body = b"%PDF-1.4 EMS GO statement"
    async with services.db.tenant(org.tenant.scope()) as db:
        await upload_document(
            db,
            services.store,
            org.principal,
            NewDocument(
                data=body,
                filename="go.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.GO_CANCELLATION,
                title="EMS statement",
            ),
            max_bytes=1_000_000,
        )
    sha = hashlib.sha256(body).hexdigest()
    certificate = await register(services, org, go_data(evidence_sha256=[sha]))
    assert certificate.evidence_sha256 == [sha]


async def test_filters_by_contract_scheme_state_and_production_period(services):
    org = await make_org(services)
    site = await make_plant(services, org)
    async with services.db.tenant(org.tenant.scope()) as db:
        row = await create_contract(
            db, org.principal, ppa_contract_data(site.installation_id, site.meters["MAIN"], reference="PPA-F")
        )
    contract = row.id
    a = await register(services, org, go_data(1, 10, supply_contract_id=contract))
    with pytest.raises(ValidationFailed, match="no such supply contract"):
        await register(services, org, go_data(50, 60, supply_contract_id=uuid.uuid4()))
    await register(services, org, go_data(11, 20, scheme=CertificateScheme.I_REC, energy_source="Solar"))
    async with services.db.tenant(org.tenant.scope()) as db:
        by_contract = await service.list_certificates(db, org.principal, CertificateFilter(supply_contract_id=contract))
        by_scheme = await service.list_certificates(
            db, org.principal, CertificateFilter(scheme=CertificateScheme.I_REC)
        )
        none = await service.list_certificates(
            db, org.principal, CertificateFilter(production_to=a.production_start_on)
        )
    assert [c.id for c in by_contract] == [a.id]
    assert [c.range_start for c in by_scheme] == [11]
    assert none == []


async def test_cancellation_statements_and_claims_cannot_be_rewritten_by_the_tenant(services):
    org = await make_org(services)
    original = await register(services, org, go_data(1, 10))
    async with services.db.tenant(org.tenant.scope()) as db:
        await service.cancel_certificate(db, org.principal, original.id, statement_data())
    with pytest.raises(DBAPIError, match="permission denied"):
        async with services.db.tenant(org.tenant.scope()) as db:
            schema = org.tenant.schema
            await db.execute(text(f"UPDATE \"{schema}\".cancellation_statements SET beneficiary = 'someone else'"))


async def test_the_expiry_job_writes_expired_states_tenant_by_tenant(services):
    from workers.jobs.certificates import expire_due_certificates

    # given: a range whose expiry day has come (recorded with its production two years back)
    org = await make_org(services)
    certificate = await register(services, org, go_data(1, 10))
    await superuser_execute(
        f'UPDATE "{org.tenant.schema}".certificates SET expires_on = current_date - 1 WHERE id = $1', certificate.id
    )
    # when
    result = await expire_due_certificates({"services": services})
    # then
    assert result["expired"].get(org.tenant.slug) == 1 and org.tenant.slug not in result["failed"]
    async with services.db.tenant(org.tenant.scope()) as db:
        assert (await service.get_certificate(db, org.principal, certificate.id)).state == CertificateState.EXPIRED
    assert (await _actions(services, org))[-1] == "certificate.expired"
