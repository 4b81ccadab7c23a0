"""Shipments to EU customers: recorded from batches through GraphQL, every bad field refused by
name with nothing stored, a batch never shipped beyond its net mass (also under concurrency, by
PostgreSQL), references unique, every change audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from backend.audit.models import AuditEntry
from backend.errors import ValidationFailed
from backend.production.models import ProductionBatch
from backend.shipments import service
from backend.shipments.models import Shipment, ShipmentBatch
from backend.shipments.schemas import BatchShare, ShipmentData
from tests.factories.shipments import HOLLOW, PROFILES, Goods, make_goods, shipment_input
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

YESTERDAY = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0) - timedelta(days=2)


async def goods(services) -> Goods:
    owner = await make_tenant(services)
    return await make_goods(
        services,
        owner,
        [
            ("B-100", "AL-PROF", YESTERDAY, 24.0),
            ("B-101", "AL-PROF", YESTERDAY + timedelta(hours=2), 18.5),
            ("B-102", "AL-HOLLOW", YESTERDAY + timedelta(hours=4), 10.0),
        ],
    )


def inst(g: Goods) -> str:
    return gid("Installation", g.plant.installation_id)


def batch(g: Goods, number: str) -> str:
    return gid("ProductionBatch", g.batches[number])


async def counts(services, g: Goods) -> dict[str, int]:
    async with services.db.tenant(g.owner.tenant.scope()) as db:
        return {
            "shipments": await db.scalar(select(func.count()).select_from(Shipment)),
            "shares": await db.scalar(select(func.count()).select_from(ShipmentBatch)),
            "audit": await db.scalar(select(func.count()).select_from(AuditEntry)),
        }


async def create(session, values: dict[str, Any]) -> dict[str, Any]:
    body = await session.gql(operation("CreateShipment"), {"input": values})
    assert not body.get("errors"), body
    return body["data"]["createShipment"]  # type: ignore[no-any-return]


async def test_a_shipment_is_recorded_from_its_batches_and_audited(services, http):
    # given
    g = await goods(services)
    session = await login(http, g.owner.email)
    values = shipment_input(inst(g), [(batch(g, "B-100"), 20.0), (batch(g, "B-101"), 1.84)])
    # when
    payload = await create(session, values)
    # then
    assert payload["errors"] == []
    shipment = payload["shipment"]
    assert shipment["netMassT"] == 21.84
    assert shipment["customerCountry"] == "DE" and shipment["mrn"] == values["mrn"]
    assert shipment["cnCodeMatchesBatches"] is True
    assert [(b["batchNumber"], b["massT"], b["productCnCode"]) for b in shipment["batches"]] == [
        ("B-100", 20.0, PROFILES),
        ("B-101", 1.84, PROFILES),
    ]
    async with services.db.tenant(g.owner.tenant.scope()) as db:
        entry = (await db.execute(select(AuditEntry).where(AuditEntry.action == "shipment.created"))).scalar_one()
    assert len(entry.details["batches"]) == 2
    # and it is listed and read back
    listed = await session.gql(operation("Shipments"), {"installationId": inst(g)})
    assert [e["node"]["reference"] for e in listed["data"]["shipments"]["edges"]] == [values["reference"]]
    one = await session.gql(operation("Shipment"), {"id": shipment["id"]})
    assert one["data"]["shipment"]["invoiceNumber"] == values["invoiceNumber"]


TOMORROW = (date.today() + timedelta(days=2)).isoformat()


def _bad_cases() -> dict[str, tuple[dict[str, Any], str, str]]:
    """name -> (overrides of a good input, field refused, code)."""
    return {
        "mass zero": ({"netMassT": 0.0, "batches": "zero"}, "netMassT", "INVALID"),
        "negative batch mass": ({"batches": "negative"}, "batches.0.massT", "INVALID"),
        "grams": ({"netMassT": 1.0001, "batches": "grams"}, "netMassT", "INVALID"),
        "masses do not add up": ({"netMassT": 25.0}, "batches", "INVALID"),
        "no batches": ({"batches": []}, "batches", "INVALID"),
        "cn code not 8 digits": ({"cnCode": "7604"}, "cnCode", "INVALID"),
        "cn code not in the goods list": ({"cnCode": "39259080"}, "cnCode", "INVALID"),
        "dispatch in the future": ({"dispatchDate": TOMORROW}, "dispatchDate", "INVALID"),
        "delivery in the future": ({"deliveryDate": TOMORROW}, "deliveryDate", "INVALID"),
        "delivery before dispatch": ({"deliveryDate": "2020-01-01"}, "deliveryDate", "INVALID"),
        "customer outside the EU": ({"customerCountry": "RS"}, "customerCountry", "INVALID"),
        "customer name empty": ({"customerName": "  "}, "customerName", "INVALID"),
        "eori malformed": ({"customerEori": "DE-12"}, "customerEori", "INVALID"),
        "eori not from the EU": ({"customerEori": "RS123456789"}, "customerEori", "INVALID"),
        "mrn malformed": ({"mrn": "26RS12"}, "mrn", "INVALID"),
        "reference empty": ({"reference": ""}, "reference", "INVALID"),
        "invoice too long": ({"invoiceNumber": "INV" + "1" * 62}, "invoiceNumber", "INVALID"),
        "unknown batch": ({"batches": "unknown"}, "batches.0.batchId", "INVALID"),
        "batch of another type": ({"batches": "wrong type"}, "batches.0.batchId", "INVALID"),
        "batch twice": ({"batches": "twice"}, "batches.1.batchId", "INVALID"),
        "batch ended after dispatch": ({"dispatchDate": "2020-01-02"}, "batches.0.batchId", "INVALID"),
        "beyond the batch's mass": ({"batches": "too much"}, "batches.0.massT", "BATCH_OVER_SHIPPED"),
        "installation unknown": (
            {"installationId": gid("Installation", "0" * 8 + "-0000-0000-0000-" + "0" * 12)},
            "installationId",
            "INSTALLATION_NOT_FOUND",
        ),
    }


def _batches(g: Goods, kind: Any) -> Any:
    b100 = batch(g, "B-100")
    return (
        {
            "zero": [{"batchId": b100, "massT": 0.0}],
            "negative": [{"batchId": b100, "massT": -1.0}, {"batchId": batch(g, "B-101"), "massT": 22.0}],
            "grams": [{"batchId": b100, "massT": 1.0001}],
            "unknown": [{"batchId": gid("ProductionBatch", "00000000-0000-0000-0000-000000000001"), "massT": 21.0}],
            "wrong type": [{"batchId": gid("Meter", "00000000-0000-0000-0000-000000000001"), "massT": 21.0}],
            "twice": [{"batchId": b100, "massT": 10.0}, {"batchId": b100, "massT": 11.0}],
            "too much": [{"batchId": b100, "massT": 24.5}],
        }.get(kind, kind)
        if isinstance(kind, str)
        else kind
    )


@pytest.mark.parametrize("case", list(_bad_cases()))
async def test_a_bad_shipment_is_refused_naming_the_field_and_stores_nothing(services, http, case):
    # given
    g = await goods(services)
    session = await login(http, g.owner.email)
    overrides, field, code = _bad_cases()[case]
    values = shipment_input(inst(g), [(batch(g, "B-100"), 21.0)])
    for key, value in overrides.items():
        values[key] = _batches(g, value) if key == "batches" else value
    if case == "beyond the batch's mass":
        values["netMassT"] = 24.5
    before = await counts(services, g)
    # when
    payload = await create(session, values)
    # then
    assert payload["shipment"] is None
    assert (field, code) in [(e["field"], e["code"]) for e in payload["errors"]], payload["errors"]
    assert await counts(services, g) == before


async def test_a_batch_is_not_shipped_beyond_its_mass_across_shipments(services, http):
    # given: 20 t of B-100's 24 t shipped
    g = await goods(services)
    session = await login(http, g.owner.email)
    first = await create(session, shipment_input(inst(g), [(batch(g, "B-100"), 20.0)]))
    assert first["errors"] == []
    before = await counts(services, g)
    # when: 4.5 t more
    second = await create(session, shipment_input(inst(g), [(batch(g, "B-100"), 4.5)]))
    # then: refused, naming what is left
    assert [(e["code"], e["field"]) for e in second["errors"]] == [("BATCH_OVER_SHIPPED", "batches.0.massT")]
    assert "4.000 t of its 24" in second["errors"][0]["message"]
    assert await counts(services, g) == before
    # and exactly what is left still ships
    third = await create(session, shipment_input(inst(g), [(batch(g, "B-100"), 4.0)]))
    assert third["errors"] == []


def _data(g: Goods, mass: str, reference: str) -> ShipmentData:
    return ShipmentData(
        installation_id=g.plant.installation_id,
        reference=reference,
        customer_name="Fassadenbau Nord GmbH",
        customer_country="DE",
        cn_code=PROFILES,
        net_mass_t=Decimal(mass),
        dispatch_date=date.today() - timedelta(days=1),
        invoice_number=f"INV-{reference}",
        batches=(BatchShare(g.batches["B-100"], Decimal(mass)),),
    )


async def test_two_concurrent_shipments_of_one_batch_exactly_one_wins(services):
    # given: 24 t, and two shipments of 15 t each, at the same time
    g = await goods(services)

    async def ship(reference: str) -> str:
        try:
            async with services.db.tenant(g.owner.tenant.scope()) as db:
                await service.create_shipment(db, g.owner.principal, _data(g, "15", reference))
                await asyncio.sleep(0.2)  # hold the lock while the other one arrives
            return "stored"
        except ValidationFailed as refused:
            return refused.errors[0].code

    # when
    outcomes = await asyncio.gather(ship("RACE-1"), ship("RACE-2"))
    # then
    assert sorted(outcomes) == ["BATCH_OVER_SHIPPED", "stored"]
    async with services.db.tenant(g.owner.tenant.scope()) as db:
        assert await db.scalar(select(func.sum(ShipmentBatch.mass_t))) == Decimal("15.000")


async def test_postgresql_refuses_a_second_writer_that_skips_the_service(services):
    # given: one transaction took 15 t of B-100 (24 t) and has not committed
    g = await goods(services)
    scope = g.owner.tenant.scope()

    async def raw_share(db: Any, reference: str) -> None:
        shipment = Shipment(
            installation_id=g.plant.installation_id,
            reference=reference,
            customer_name="X",
            customer_country="DE",
            cn_code=PROFILES,
            net_mass_t=Decimal(15),
            dispatch_date=date.today(),
            invoice_number=reference,
            created_by="raw",
        )
        db.add(shipment)
        await db.flush()
        db.add(ShipmentBatch(shipment_id=shipment.id, batch_id=g.batches["B-100"], mass_t=Decimal(15)))
        await db.flush()

    async def second() -> None:
        async with services.db.tenant(scope) as db:
            await raw_share(db, "RAW-2")

    async with services.db.tenant(scope) as first:
        await raw_share(first, "RAW-1")
        # when: a second writer inserts straight into the table
        task = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        # then: it waits for the first one's lock
        assert not task.done()
    # and once the first committed, PostgreSQL refuses it
    with pytest.raises(IntegrityError, match=r"B-100 would be shipped beyond its net mass: 30\.000 t of 24 t"):
        await task
    async with services.db.tenant(scope) as db:
        assert await db.scalar(select(func.count()).select_from(ShipmentBatch)) == 1


async def test_references_are_unique_in_the_organisation_but_not_across(services, http):
    # given
    g = await goods(services)
    session = await login(http, g.owner.email)
    values = shipment_input(inst(g), [(batch(g, "B-100"), 5.0)])
    assert (await create(session, values))["errors"] == []
    # when: the same shipment number, invoice and MRN again
    again = shipment_input(
        inst(g),
        [(batch(g, "B-101"), 5.0)],
        reference=values["reference"],
        invoiceNumber=values["invoiceNumber"],
        mrn=values["mrn"],
    )
    payload = await create(session, again)
    # then: each one named
    assert sorted((e["code"], e["field"]) for e in payload["errors"]) == [
        ("SHIPMENT_REFERENCE_TAKEN", "invoiceNumber"),
        ("SHIPMENT_REFERENCE_TAKEN", "mrn"),
        ("SHIPMENT_REFERENCE_TAKEN", "reference"),
    ]
    # and another organisation may use the same numbers
    other = await goods(services)
    other_session = await login(http, other.owner.email)
    same = shipment_input(
        inst(other),
        [(batch(other, "B-100"), 5.0)],
        reference=values["reference"],
        invoiceNumber=values["invoiceNumber"],
        mrn=values["mrn"],
    )
    assert (await create(other_session, same))["errors"] == []


async def test_a_cn_code_other_than_the_batches_product_is_recorded_and_flagged(services, http):
    # given
    g = await goods(services)
    session = await login(http, g.owner.email)
    # when: declared as hollow profiles, from a batch of (solid) profiles and one of hollow ones
    payload = await create(
        session,
        shipment_input(inst(g), [(batch(g, "B-100"), 3.0), (batch(g, "B-102"), 2.0)], cn_code=HOLLOW),
    )
    # then
    assert payload["errors"] == []
    assert payload["shipment"]["cnCodeMatchesBatches"] is False


async def test_papers_are_corrected_and_a_shipment_removed_with_audit(services, http):
    # given
    g = await goods(services)
    session = await login(http, g.owner.email)
    created = (await create(session, shipment_input(inst(g), [(batch(g, "B-100"), 24.0)])))["shipment"]
    # when: the delivery date and MRN arrive later
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    update = {
        "id": created["id"],
        "customerName": "Fassadenbau Nord GmbH",
        "customerCountry": "DE",
        "invoiceNumber": created["invoiceNumber"],
        "deliveryDate": yesterday,
        "mrn": "26RS00000000001234",
    }
    bad = await session.gql(operation("UpdateShipment"), {"input": {**update, "customerCountry": "CH"}})
    updated = await session.gql(operation("UpdateShipment"), {"input": update})
    # then
    assert [e["field"] for e in bad["data"]["updateShipment"]["errors"]] == ["customerCountry"]
    assert updated["data"]["updateShipment"]["errors"] == [], updated
    assert updated["data"]["updateShipment"]["shipment"]["deliveryDate"] == yesterday
    # when: removed, the batch's mass is free again
    removed = await session.gql(operation("DeleteShipment"), {"input": {"id": created["id"]}})
    assert removed["data"]["deleteShipment"]["errors"] == []
    again = await create(session, shipment_input(inst(g), [(batch(g, "B-100"), 24.0)]))
    assert again["errors"] == []
    async with services.db.tenant(g.owner.tenant.scope()) as db:
        actions = (
            (
                await db.execute(
                    select(AuditEntry.action).where(AuditEntry.entity_type == "shipment").order_by(AuditEntry.seq)
                )
            )
            .scalars()
            .all()
        )
    assert actions == ["shipment.created", "shipment.updated", "shipment.deleted", "shipment.created"]


async def test_a_shipped_batch_cannot_be_deleted(services):
    g = await goods(services)
    async with services.db.tenant(g.owner.tenant.scope()) as db:
        await service.create_shipment(db, g.owner.principal, _data(g, "5", "KEEP-1"))
    with pytest.raises(IntegrityError):
        async with services.db.tenant(g.owner.tenant.scope()) as db:
            await db.execute(delete(ProductionBatch).where(ProductionBatch.id == g.batches["B-100"]))


async def test_a_viewer_reads_but_does_not_record_shipments(services, http):
    from backend.identity.models import MembershipRole
    from tests.factories.tenants import add_person

    g = await goods(services)
    email, _ = await add_person(services, g.owner, MembershipRole.VIEWER)
    session = await login(http, email)
    payload = await create(session, shipment_input(inst(g), [(batch(g, "B-100"), 5.0)]))
    assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
    listed = await session.gql(operation("Shipments"), {})
    assert not listed.get("errors"), listed


async def test_another_organisations_batch_is_unknown_here(services, http):
    # given: A's plant, and B's batch
    a, b = await goods(services), await goods(services)
    session = await login(http, a.owner.email)
    before = await counts(services, b)
    # when: A ships from B's batch out of A's own installation
    payload = await create(session, shipment_input(inst(a), [(batch(b, "B-100"), 5.0)]))
    # then
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", "batches.0.batchId")]
    assert "B-100" not in str(payload)
    assert await counts(services, b) == before


async def test_a_batch_of_another_installation_of_the_same_organisation_is_refused(services, http):
    g = await goods(services)
    other = await make_goods(services, g.owner, [("C-1", "AL-C", YESTERDAY, 5.0)], products={"AL-C": PROFILES})
    session = await login(http, g.owner.email)
    payload = await create(session, shipment_input(inst(g), [(batch(other, "C-1"), 5.0)]))
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", "batches.0.batchId")]


async def test_a_client_bound_to_one_installation_sees_only_its_shipments(services, http):
    from tests.factories.tenants import Bearer, client_token, make_client

    # given: shipments from two installations of one organisation
    g = await goods(services)
    other = await make_goods(services, g.owner, [("C-1", "AL-C", YESTERDAY, 5.0)], products={"AL-C": PROFILES})
    owner = await login(http, g.owner.email)
    mine = await create(owner, shipment_input(inst(g), [(batch(g, "B-100"), 5.0)]))
    theirs = await create(owner, shipment_input(inst(other), [(batch(other, "C-1"), 5.0)]))
    client_id, secret = await make_client(
        services, g.owner, ["production:read"], installation_id=g.plant.installation_id
    )
    bearer = Bearer(http, await client_token(http, client_id, secret))
    # when
    listed = await bearer.gql(operation("Shipments"), {})
    one = await bearer.gql(operation("Shipment"), {"id": theirs["shipment"]["id"]})
    # then
    assert [e["node"]["id"] for e in listed["data"]["shipments"]["edges"]] == [mine["shipment"]["id"]]
    assert one["errors"][0]["extensions"]["code"] == "SHIPMENT_NOT_FOUND"


TRIGGERS = (
    "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = :s AND c.relname = 'shipment_batches' AND NOT t.tgisinternal"
)


async def test_the_mass_trigger_exists_in_provisioned_and_in_migrated_schemas(services):
    from sqlalchemy import text as sql

    from tenancy.migrate import _upgrade
    from tests.factories.owner import owner_db

    # given: a provisioned tenant, and a scratch schema built by replaying the tenant migrations
    g = await goods(services)
    scratch = f"tenant_replay{g.owner.tenant.slug[-8:]}"
    async with owner_db().engine.connect() as conn:
        transaction = await conn.begin()
        default_schema = conn.dialect.default_schema_name
        try:
            await conn.run_sync(_upgrade, "tenant", tenant_schema=scratch)
            # when
            provisioned = (await conn.execute(sql(TRIGGERS), {"s": g.owner.tenant.schema})).scalars().all()
            migrated = (await conn.execute(sql(TRIGGERS), {"s": scratch})).scalars().all()
        finally:
            await transaction.rollback()
            conn.dialect.default_schema_name = default_schema
    # then
    assert provisioned == migrated == ["within_batch_mass"]


async def test_two_concurrent_shipments_with_one_invoice_number_exactly_one_wins(services):
    # given: two shipments from different batches, both invoiced as INV-SAME, sent at the same time
    g = await goods(services)

    async def ship(reference: str, batch_number: str) -> str:
        data = _data(g, "5", reference)
        data = ShipmentData(
            **{
                **{f: getattr(data, f) for f in data.__dataclass_fields__},
                "invoice_number": "INV-SAME",
                "batches": (BatchShare(g.batches[batch_number], Decimal(5)),),
            }
        )
        try:
            async with services.db.tenant(g.owner.tenant.scope()) as db:
                await service.create_shipment(db, g.owner.principal, data)
                await asyncio.sleep(0.2)  # both passed the check before either committed
            return "stored"
        except ValidationFailed as refused:
            return f"{refused.errors[0].code}:{refused.errors[0].field}"

    # when
    outcomes = await asyncio.gather(ship("SAME-1", "B-100"), ship("SAME-2", "B-101"))
    # then: the unique constraint decides, and the loser is told which field
    assert sorted(outcomes) == ["SHIPMENT_REFERENCE_TAKEN:invoiceNumber", "stored"]
    async with services.db.tenant(g.owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(Shipment)) == 1
