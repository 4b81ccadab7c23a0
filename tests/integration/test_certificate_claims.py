"""Claims: an identifier backs at most one claim on the whole exchange, enforced by PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from backend.certificates import service
from backend.certificates.errors import (
    CertificateNotCancelled,
    ClaimOutsideStatement,
    IdentifiersAlreadyHeld,
    RangeAlreadyClaimed,
)
from backend.certificates.schemas import ClaimData
from backend.errors import FieldError, ValidationFailed
from tests.factories.certificates import go_data, last_month, register, register_cancelled
from tests.factories.orgs import make_org
from tests.factories.superuser import superuser_fetch


def claim_of(certificate_id: uuid.UUID, **changes: object) -> ClaimData:
    start, end = last_month()
    values: dict[str, object] = {
        "certificate_id": certificate_id,
        "period_start_on": start,
        "period_end_on": end,
        "purpose": "CBAM indirect emissions, aluminium extrusion",
    }
    values.update(changes)
    return ClaimData(**values)  # type: ignore[arg-type]


async def _registry_rows(start: int, end: int) -> list[object]:
    return await superuser_fetch(
        "SELECT tenant_id, registered_by_role FROM claims.claim_registry "
        "WHERE issuing_body = 'EMS' AND id_range && int8range($1, $2, '[]')",
        start,
        end,
    )


async def test_two_concurrent_overlapping_claims_one_waits_for_the_other_and_loses(services):
    # given: two organisations that both recorded (and cancelled) GOs whose identifiers overlap
    first = await make_org(services)
    second = await make_org(services)
    a, _ = await register_cancelled(services, first, go_data(7_000_001, 7_000_100))
    b, _ = await register_cancelled(services, second, go_data(7_000_051, 7_000_150))
    # when: the first claim is written but not committed, and the second starts on its own connection
    async with contextlib.AsyncExitStack() as stack:
        db_a = await stack.enter_async_context(services.db.tenant(first.tenant.scope()))
        won = await service.claim_certificate(db_a, first.principal, claim_of(a.id))

        async def second_claim() -> object:
            async with services.db.tenant(second.tenant.scope()) as db_b:
                return await service.claim_certificate(db_b, second.principal, claim_of(b.id))

        racing = asyncio.create_task(second_claim())
        await asyncio.sleep(0.8)
        # then: PostgreSQL holds the second insert until the first transaction ends
        assert not racing.done()
        waiting = await superuser_fetch(
            "SELECT count(*) AS n FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query ILIKE '%claim_registry%'"
        )
        assert waiting[0]["n"] >= 1
    # the first commits when the block ends; the second is refused
    with pytest.raises(RangeAlreadyClaimed) as refused:
        await racing
    # and the refusal names nobody
    assert str(first.id) not in refused.value.message and first.tenant.name not in refused.value.message
    rows = await _registry_rows(7_000_001, 7_000_150)
    assert [r["tenant_id"] for r in rows] == [first.id]
    assert rows[0]["registered_by_role"] == first.tenant.role
    assert won.quantity == 100
    # the loser stored nothing: no claim row in its schema either
    async with services.db.tenant(second.tenant.scope()) as db:
        assert await service.claims_of(db, [b.id]) == []


async def test_concurrent_claims_of_the_same_range_exactly_one_wins(services):
    # given: three organisations holding the same cancelled range
    orgs = [await make_org(services) for _ in range(3)]
    certificates = [(await register_cancelled(services, o, go_data(8_000_001, 8_000_010)))[0] for o in orgs]

    async def claim(index: int) -> object:
        async with services.db.tenant(orgs[index].tenant.scope()) as db:
            return await service.claim_certificate(db, orgs[index].principal, claim_of(certificates[index].id))

    # when: all claim at once, each in its own transaction on its own connection
    results = await asyncio.gather(*(claim(i) for i in range(3)), return_exceptions=True)
    # then
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, BaseException)]
    assert len(winners) == 1
    assert len(losers) == 2 and all(isinstance(e, RangeAlreadyClaimed) for e in losers)
    assert len(await _registry_rows(8_000_001, 8_000_010)) == 1


async def test_disjoint_ranges_and_other_issuing_bodies_do_not_conflict(services):
    org = await make_org(services)
    other = await make_org(services)
    a, _ = await register_cancelled(services, org, go_data(9_000_001, 9_000_010))
    b, _ = await register_cancelled(services, other, go_data(9_000_011, 9_000_020))
    c, _ = await register_cancelled(services, other, go_data(9_000_001, 9_000_010, issuing_body="HROTE"))
    for owner, certificate in ((org, a), (other, b), (other, c)):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await service.claim_certificate(db, owner.principal, claim_of(certificate.id))
    assert len(await _registry_rows(9_000_001, 9_000_020)) == 2  # the HROTE one has another issuing body


async def test_a_holder_claims_part_of_a_range_and_then_the_rest_but_never_twice(services):
    org = await make_org(services)
    certificate, _ = await register_cancelled(services, org, go_data(9_100_001, 9_100_100))
    async with services.db.tenant(org.tenant.scope()) as db:
        part = await service.claim_certificate(
            db, org.principal, claim_of(certificate.id, range_start=9_100_001, range_end=9_100_040)
        )
    async with services.db.tenant(org.tenant.scope()) as db:
        rest = await service.claim_certificate(
            db, org.principal, claim_of(certificate.id, range_start=9_100_041, range_end=9_100_100)
        )
    assert part.quantity + rest.quantity == certificate.quantity
    with pytest.raises(RangeAlreadyClaimed):
        async with services.db.tenant(org.tenant.scope()) as db:
            await service.claim_certificate(db, org.principal, claim_of(certificate.id))


async def test_only_a_cancelled_certificate_inside_its_statement_backs_a_claim(services):
    org = await make_org(services)
    active = await register(services, org, go_data(9_200_001, 9_200_010))
    cancelled, statement = await register_cancelled(services, org, go_data(9_200_011, 9_200_020))
    async with services.db.tenant(org.tenant.scope()) as db:
        with pytest.raises(CertificateNotCancelled):
            await service.claim_certificate(db, org.principal, claim_of(active.id))
    async with services.db.tenant(org.tenant.scope()) as db:
        with pytest.raises(ClaimOutsideStatement):
            await service.claim_certificate(
                db, org.principal, claim_of(cancelled.id, period_end_on=statement.consumption_end_on.replace(year=2099))
            )
    async with services.db.tenant(org.tenant.scope()) as db:
        with pytest.raises(FieldError, match="inside the certificate's identifiers"):
            await service.claim_certificate(db, org.principal, claim_of(cancelled.id, range_start=1, range_end=5))
    async with services.db.tenant(org.tenant.scope()) as db:
        with pytest.raises(ValidationFailed) as bad:
            await service.claim_certificate(db, org.principal, claim_of(cancelled.id, purpose=" ", range_start=3))
    assert {e.field for e in bad.value.errors} == {"purpose", "rangeEnd"}
    assert await _registry_rows(9_200_001, 9_200_020) == []


async def test_a_tenant_role_adds_to_the_registry_but_cannot_read_it(services):
    org = await make_org(services)
    with pytest.raises(DBAPIError, match="permission denied for table claim_registry"):
        async with services.db.tenant(org.tenant.scope()) as db:
            await db.execute(text("SELECT * FROM claims.claim_registry"))
    with pytest.raises(DBAPIError, match="permission denied"):
        async with services.db.tenant(org.tenant.scope()) as db:
            await db.execute(text("DELETE FROM claims.claim_registry"))


async def test_a_tenant_role_holds_insert_only_on_the_registry_and_no_extension_is_needed(services):
    # given: a provisioned organisation (its privileges are those every migration re-applies)
    org = await make_org(services)
    role = org.tenant.role
    # when
    rows = await superuser_fetch(
        "SELECT privilege_type FROM information_schema.role_table_grants "
        "WHERE grantee = $1 AND table_schema = 'claims' AND table_name = 'claim_registry'",
        role,
    )
    extension = await superuser_fetch("SELECT extname FROM pg_extension WHERE extname = 'btree_gist'")
    # then
    assert [r["privilege_type"] for r in rows] == ["INSERT"]
    # the embedded PostgreSQL ships no btree_gist: the migrations must not need it
    assert extension == []
    # and the tenant's own exclusion constraint (issuer as a one-point range) works as the tenant role
    await register(services, org, go_data(9_300_001, 9_300_010))
    with pytest.raises(IdentifiersAlreadyHeld):
        await register(services, org, go_data(9_300_005, 9_300_020))
