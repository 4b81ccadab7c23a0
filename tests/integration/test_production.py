"""The product catalogue and production batches through GraphQL: checked, audited, never overlapping on a line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.production.errors import BatchesRejected, BatchOverlaps
from backend.production.models import ProductionBatch
from tests.factories.production import make_catalogue, record
from tests.factories.site import make_plant
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation

T0 = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)


def product_input(**overrides):
    return {
        "code": "PRF-6063",
        "name": "Profile 6063",
        "cnCode": "7604 29 10",
        "productionRoute": "ALL_ROUTES",
        "scrapTonnesPerTonne": 0.1,
        "preConsumerScrapShare": 0.5,
        "nonAluminiumShare": 0.012,
        **overrides,
    }


async def count_batches(services, owner) -> int:
    async with services.db.tenant(owner.tenant.scope()) as db:
        return int(await db.scalar(select(func.count()).select_from(ProductionBatch)))


async def test_a_product_is_saved_with_the_goods_category_of_its_cn_code_and_audited(services, http):
    # given
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    # when
    body = await session.gql(operation("CreateProduct"), {"input": product_input()})
    # then
    payload = body["data"]["createProduct"]
    assert payload["errors"] == []
    assert payload["product"]["cnCode"] == "76042910"
    assert payload["product"]["goodsCategory"] == "Aluminium products"
    async with services.db.tenant(owner.tenant.scope()) as db:
        actions = (await db.execute(select(AuditEntry.action))).scalars().all()
    assert "product.created" in actions


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"cnCode": "7615 10 10"}, "cnCode", "not a good listed"),
        ({"cnCode": "7604"}, "cnCode", "8 digits"),
        ({"productionRoute": "PRIMARY_SMELTING"}, "productionRoute", "ALL_ROUTES"),
        ({"preConsumerScrapShare": 1.5}, "preConsumerScrapShare", "between 0 and 1"),
        ({"nonAluminiumShare": -0.1}, "nonAluminiumShare", "between 0 and 1"),
        ({"scrapTonnesPerTonne": -1.0}, "scrapTonnesPerTonne", "0 or more"),
        ({"cnCode": "2523 29 00"}, "scrapTonnesPerTonne", "not aluminium"),
        ({"code": "bad code!"}, "code", "letters"),
    ],
)
async def test_a_bad_product_is_refused_naming_the_field(services, http, overrides, field, reason):
    owner = await make_tenant(services)
    session = await login(http, owner.email)
    body = await session.gql(operation("CreateProduct"), {"input": product_input(**overrides)})
    payload = body["data"]["createProduct"]
    assert payload["product"] is None
    assert any(e["field"] == field and reason in e["message"] for e in payload["errors"]), payload["errors"]
    products = await session.gql(operation("Products"), {})
    assert products["data"]["products"]["edges"] == []


async def test_a_viewer_cannot_add_a_product(services, http):
    from backend.identity.models import MembershipRole
    from tests.factories.tenants import add_person

    owner = await make_tenant(services)
    email, _ = await add_person(services, owner, MembershipRole.VIEWER)
    session = await login(http, email)
    body = await session.gql(operation("CreateProduct"), {"input": product_input()})
    assert body["data"]["createProduct"]["errors"][0]["code"] == "PERMISSION_DENIED"


def batch_input(plant, catalogue, **overrides):
    return {
        "installationId": gid("Installation", plant.installation_id),
        "batchNumber": "B-1001",
        "productId": gid("Product", catalogue.profile_id),
        "lineId": gid("ProductionLine", plant.line_id),
        "alloy": "6060",
        "startedAt": T0.isoformat(),
        "endedAt": (T0 + timedelta(hours=3)).isoformat(),
        "netMassT": 6.4,
        "scrapT": 0.3,
        "orderRef": "PO-77",
        "precursors": [
            {
                "massT": 7.0,
                "cnCode": "7601 20 20",
                "supplierInstallation": "Smelter X",
                "embeddedEmissions": 6.7,
                "emissionsSource": "supplier communication 2026-Q3",
            }
        ],
        **overrides,
    }


async def test_a_batch_is_recorded_shown_in_local_time_and_the_same_post_again_is_no_change(services, http):
    # given
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    catalogue = await make_catalogue(services, owner, plant)
    session = await login(http, owner.email)
    # when
    body = await session.gql(operation("RecordProductionBatch"), {"input": batch_input(plant, catalogue)})
    again = await session.gql(operation("RecordProductionBatch"), {"input": batch_input(plant, catalogue)})
    # then
    payload = body["data"]["recordProductionBatch"]
    assert payload["errors"] == [] and payload["created"] is True
    batch = payload["batch"]
    assert batch["startedAtLocal"] == "2026-11-03T07:00:00+01:00"  # Europe/Belgrade, winter time
    assert batch["line"]["code"] == "L1" and batch["product"]["code"] == "PRF-6060"
    assert batch["precursors"][0]["emissionsSource"] == "supplier communication 2026-Q3"
    assert again["data"]["recordProductionBatch"]["created"] is False
    assert await count_batches(services, owner) == 1
    listed = await session.gql(
        operation("ProductionBatches"), {"installationId": gid("Installation", plant.installation_id)}
    )
    assert [e["node"]["batchNumber"] for e in listed["data"]["productionBatches"]["edges"]] == ["B-1001"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        actions = (await db.execute(select(AuditEntry.action))).scalars().all()
    assert actions.count("production_batch.recorded") == 1


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"endedAt": T0.isoformat()}, "endedAt", "END_BEFORE_START"),
        ({"netMassT": 0.0}, "netMassT", "MASS_NOT_POSITIVE"),
        ({"netMassT": -2.0}, "netMassT", "MASS_NOT_POSITIVE"),
        ({"scrapT": -0.1}, "scrapT", "SCRAP_NEGATIVE"),
        (
            {
                "startedAt": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                "endedAt": (datetime.now(UTC) + timedelta(days=1, hours=2)).isoformat(),
            },
            "startedAt",
            "TIME_IN_FUTURE",
        ),
        (
            {"precursors": [{"massT": 1.0, "embeddedEmissions": 2.0}]},
            "precursors.0.emissionsSource",
            "EMISSIONS_WITHOUT_SOURCE",
        ),
        ({"precursors": [{"massT": 0.0}]}, "precursors.0.massT", "MASS_NOT_POSITIVE"),
        ({"startedAt": "2026-11-03T06:00:00"}, "startedAt", "INVALID"),
        ({"lineId": None, "processId": None}, "lineId", "INVALID"),
    ],
)
async def test_a_bad_batch_is_refused_naming_field_and_reason_and_nothing_is_stored(
    services, http, overrides, field, code
):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    catalogue = await make_catalogue(services, owner, plant)
    session = await login(http, owner.email)
    body = await session.gql(operation("RecordProductionBatch"), {"input": batch_input(plant, catalogue, **overrides)})
    payload = body["data"]["recordProductionBatch"]
    assert payload["batch"] is None
    assert any(e["field"] == field and e["code"] == code for e in payload["errors"]), payload["errors"]
    assert await count_batches(services, owner) == 0


async def test_an_overlapping_batch_on_the_same_line_is_refused_but_another_line_is_fine(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    catalogue = await make_catalogue(services, owner, plant)
    await record(services, owner, plant, "B-1", T0, T0 + timedelta(hours=3))
    session = await login(http, owner.email)
    overlapping = batch_input(
        plant, catalogue, batchNumber="B-2", startedAt=(T0 + timedelta(hours=2)).isoformat(), precursors=[]
    )
    body = await session.gql(operation("RecordProductionBatch"), {"input": overlapping})
    errors = body["data"]["recordProductionBatch"]["errors"]
    assert errors[0]["code"] == "OVERLAPS_STORED_BATCH" and errors[0]["field"] == "startedAt"
    assert "B-1" in errors[0]["message"]
    # the same time on line 2, and a batch starting when B-1 ends, are fine
    other_line = {**overlapping, "lineId": gid("ProductionLine", catalogue.line2_id)}
    body = await session.gql(operation("RecordProductionBatch"), {"input": other_line})
    assert body["data"]["recordProductionBatch"]["errors"] == []
    adjacent = {
        **overlapping,
        "batchNumber": "B-3",
        "startedAt": (T0 + timedelta(hours=3)).isoformat(),
        "endedAt": (T0 + timedelta(hours=5)).isoformat(),
    }
    body = await session.gql(operation("RecordProductionBatch"), {"input": adjacent})
    assert body["data"]["recordProductionBatch"]["errors"] == []
    assert await count_batches(services, owner) == 3


async def test_a_batch_number_stored_with_other_values_is_a_conflict(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    catalogue = await make_catalogue(services, owner, plant)
    session = await login(http, owner.email)
    await session.gql(operation("RecordProductionBatch"), {"input": batch_input(plant, catalogue)})
    changed = batch_input(plant, catalogue, netMassT=9.9)
    body = await session.gql(operation("RecordProductionBatch"), {"input": changed})
    errors = body["data"]["recordProductionBatch"]["errors"]
    assert errors[0]["code"] == "BATCH_NUMBER_EXISTS" and errors[0]["field"] == "batchNumber"


async def test_a_line_of_another_installation_is_refused(services, http):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    other = await make_plant(services, owner)
    catalogue = await make_catalogue(services, owner, plant)
    session = await login(http, owner.email)
    body = await session.gql(
        operation("RecordProductionBatch"),
        {"input": batch_input(plant, catalogue, lineId=gid("ProductionLine", other.line_id))},
    )
    errors = body["data"]["recordProductionBatch"]["errors"]
    assert errors[0]["field"] == "lineId"


async def test_concurrent_overlapping_batches_on_one_line_exactly_one_is_stored(services):
    # given: two writers, each checking before the other has committed
    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    await make_catalogue(services, owner, plant)

    async def post(number: str, offset_h: int) -> str:
        try:
            await record(
                services, owner, plant, number, T0 + timedelta(hours=offset_h), T0 + timedelta(hours=offset_h + 4)
            )
        except (BatchOverlaps, BatchesRejected):
            return "refused"
        return "stored"

    # when
    outcomes = await asyncio.gather(post("C-1", 0), post("C-2", 1), post("C-3", 2), post("C-4", 3))
    # then: PostgreSQL's exclusion constraint lets one through (or the check, when one committed first)
    stored = await count_batches(services, owner)
    assert stored == 1
    assert outcomes.count("stored") == 1


async def test_the_database_refuses_overlapping_batches_on_one_line_whatever_the_code_does(services):
    from sqlalchemy.exc import IntegrityError

    from backend.production import repository

    owner = await make_tenant(services)
    plant = await make_plant(services, owner)
    catalogue = await make_catalogue(services, owner, plant)
    await record(services, owner, plant, "D-1", T0, T0 + timedelta(hours=3))
    row = {
        "id": __import__("uuid").uuid4(),
        "installation_id": plant.installation_id,
        "batch_number": "D-2",
        "line_id": plant.line_id,
        "process_id": plant.process_id,
        "product_id": catalogue.profile_id,
        "alloy": "",
        "started_at": T0 + timedelta(hours=1),
        "ended_at": T0 + timedelta(hours=2),
        "net_mass_t": 1.0,
        "scrap_t": 0.0,
        "order_ref": "",
        "shipment_ref": "",
        "source": "api",
        "source_ref": "test",
        "created_at": T0,
    }
    with pytest.raises(IntegrityError, match="production_batches_line_period_excl"):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await repository.insert_batches(db, [row], [])
