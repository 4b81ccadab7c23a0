"""Electricity supply contracts: kinds, validation naming fields, evidence by hash, audit, and the
definitive-period conditions for an actual factor with what is missing named."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.evidence.models import EvidenceKind
from backend.evidence.service import NewDocument, upload_document
from backend.supply.models import SupplyContract
from backend.tenants.models import TenantKind
from tests.factories.site import make_plant
from tests.factories.supply import generation_csv, make_ppa_world, month_start
from tests.factories.tenants import login, make_tenant
from tests.integration.test_cross_tenant import gid
from tests.operations import operation
from workers.jobs.generation import import_generation

START = "2026-01-01T00:00:00+00:00"


def grid_input(installation_id, **changes):
    return {
        "installationId": gid("Installation", installation_id),
        "kind": "GRID",
        "reference": f"EPS-{uuid.uuid4().hex[:6]}",
        "title": "Grid supply 2026",
        "periodStart": START,
        "counterparty": "EPS Snabdevanje",
    } | changes


def ppa_input(installation_id, **changes):
    return {
        "installationId": gid("Installation", installation_id),
        "kind": "PPA",
        "reference": f"PPA-{uuid.uuid4().hex[:6]}",
        "title": "Solar PPA",
        "periodStart": START,
        "periodEnd": "2029-01-01T00:00:00+00:00",
        "counterparty": "Dunav Solar d.o.o.",
        "settlement": "PHYSICAL",
        "deliveryShape": "PAY_AS_PRODUCED",
        "balancingResponsibility": "SUPPLIER",
        "plant": {
            "name": "Solar Šabac 1",
            "technology": "SOLAR_PV",
            "capacityKw": 10000,
            "commissioningDate": "2025-06-01",
            "latitude": 44.75,
            "longitude": 19.69,
            "country": "RS",
            "biddingZone": "RS",
        },
    } | changes


async def _world(services, http):
    owner = await make_tenant(services, TenantKind.EXPORTER)
    plant = await make_plant(services, owner)
    return owner, plant, await login(http, owner.email)


async def test_a_grid_contract_is_saved_with_its_delivery_points_and_audited(services, http):
    owner, plant, session = await _world(services, http)
    body = await session.gql(
        operation("CreateSupplyContract"),
        {
            "input": grid_input(
                plant.installation_id,
                meterIds=[gid("Meter", plant.meters["MAIN"])],
                gridConnectionPointIds=[gid("GridConnectionPoint", plant.grid_point_id)],
            )
        },
    )
    payload = body["data"]["createSupplyContract"]
    assert payload["errors"] == [], payload
    contract = payload["supplyContract"]
    assert contract["kind"] == "GRID" and contract["plant"] is None
    assert contract["deliveryPoints"] == [
        {"meterId": gid("Meter", plant.meters["MAIN"]), "gridConnectionPointId": None},
        {"meterId": None, "gridConnectionPointId": gid("GridConnectionPoint", plant.grid_point_id)},
    ]
    read = await session.gql(operation("SupplyContract"), {"id": contract["id"]})
    conditions = read["data"]["supplyContract"]["actualFactorConditions"]
    assert conditions["eligible"] is False and conditions["route"] == "none"
    assert conditions["missing"] == ["grid supply is not a direct technical link or a PPA: the default factor applies"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        actions = list(
            (await db.execute(select(AuditEntry.action).where(AuditEntry.entity_type == "supply_contract"))).scalars()
        )
    assert actions == ["supply_contract.created"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"periodEnd": None}, {"periodEnd"}),
        ({"settlement": None, "deliveryShape": None}, {"settlement", "deliveryShape"}),
        ({"plant": {"name": "X"}}, {"plant.technology", "plant.capacityKw", "plant.commissioningDate"}),
        ({"plant": None}, {"plant.name", "plant.technology"}),
        ({"periodEnd": "2025-01-01T00:00:00+00:00"}, {"periodEnd"}),
        ({"deliveryShape": "BASELOAD"}, {"contractedVolumeMwh"}),
        ({"contractedVolumeMwh": -5}, {"contractedVolumeMwh"}),
        ({"reference": "  "}, {"reference"}),
        ({"fuel": "coal"}, {"fuel"}),
        ({"meterIds": ["not-a-meter"]}, {"meterIds.0"}),
    ],
)
async def test_a_bad_ppa_contract_is_refused_naming_each_field_and_nothing_is_stored(services, http, changes, fields):
    owner, plant, session = await _world(services, http)
    body = await session.gql(operation("CreateSupplyContract"), {"input": ppa_input(plant.installation_id, **changes)})
    payload = body.get("data", {}).get("createSupplyContract") if body.get("data") else None
    named = (
        {e["field"] for e in payload["errors"]} if payload else {e["extensions"].get("field") for e in body["errors"]}
    )
    assert fields <= named, body
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(SupplyContract)) == 0


async def test_a_meter_of_another_installation_is_refused(services, http):
    owner, plant, session = await _world(services, http)
    other = await make_plant(services, owner, meters=("OTHER",))
    body = await session.gql(
        operation("CreateSupplyContract"),
        {"input": grid_input(plant.installation_id, meterIds=[gid("Meter", other.meters["OTHER"])])},
    )
    assert body["data"]["createSupplyContract"]["errors"][0]["field"] == "meterIds.0"


async def test_a_reference_is_unique_per_installation(services, http):
    _owner, plant, session = await _world(services, http)
    first = grid_input(plant.installation_id)
    await session.gql(operation("CreateSupplyContract"), {"input": first})
    again = await session.gql(operation("CreateSupplyContract"), {"input": first | {"title": "Again"}})
    error = again["data"]["createSupplyContract"]["errors"][0]
    assert (error["code"], error["field"]) == ("CONTRACT_REFERENCE_TAKEN", "reference")


async def test_an_update_keeps_kind_and_is_audited_with_before_and_after(services, http):
    owner, plant, session = await _world(services, http)
    created = await session.gql(operation("CreateSupplyContract"), {"input": grid_input(plant.installation_id)})
    contract = created["data"]["createSupplyContract"]["supplyContract"]
    changed = await session.gql(
        operation("UpdateSupplyContract"),
        {
            "input": {
                "id": contract["id"],
                "details": grid_input(plant.installation_id, reference=contract["reference"], title="Renamed"),
            }
        },
    )
    assert changed["data"]["updateSupplyContract"]["supplyContract"]["title"] == "Renamed"
    kind = await session.gql(
        operation("UpdateSupplyContract"),
        {"input": {"id": contract["id"], "details": ppa_input(plant.installation_id, reference=contract["reference"])}},
    )
    assert "kind" in [e["field"] for e in kind["data"]["updateSupplyContract"]["errors"]]
    async with services.db.tenant(owner.tenant.scope()) as db:
        entry = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "supply_contract.updated"))
        ).scalar_one()
    assert entry.before_digest and entry.after_digest and entry.before_digest != entry.after_digest


async def _document(services, owner, kind: EvidenceKind, title: str):
    async with services.db.tenant(owner.tenant.scope()) as db:
        doc, _ = await upload_document(
            db,
            services.store,
            owner.principal,
            NewDocument(
                data=f"%PDF-1.4 {title} {uuid.uuid4()}".encode(),
                filename=f"{title}.pdf",
                content_type="application/pdf",
                kind=kind,
                title=title,
            ),
            max_bytes=10_000_000,
        )
    return doc


async def test_a_direct_link_names_what_is_missing_until_its_evidence_is_attached(services, http):
    owner, plant, session = await _world(services, http)
    created = await session.gql(
        operation("CreateSupplyContract"),
        {
            "input": {
                "installationId": gid("Installation", plant.installation_id),
                "kind": "DIRECT_LINK",
                "reference": "DL-1",
                "title": "Direct line from the CHP",
                "periodStart": START,
                "plant": {"name": "Neighbour CHP", "technology": "CHP_GAS", "capacityKw": 4000},
                "sharedLink": True,
            }
        },
    )
    contract = created["data"]["createSupplyContract"]["supplyContract"]
    read = await session.gql(operation("SupplyContract"), {"id": contract["id"]})
    assert read["data"]["supplyContract"]["actualFactorConditions"]["missing"] == [
        "no single-line diagram",
        "no generator meter on the contract",
        "no delivery meter on the contract",
        "no off-take contract for the shared link",
    ]
    diagram = await _document(services, owner, EvidenceKind.SINGLE_LINE_DIAGRAM, "SLD")
    attached = await session.gql(
        operation("AttachSupplyContractDocument"),
        {
            "input": {
                "contractId": contract["id"],
                "documentId": gid("EvidenceDocument", diagram.id),
                "role": "SINGLE_LINE_DIAGRAM",
            }
        },
    )
    docs = attached["data"]["attachSupplyContractDocument"]["supplyContract"]["documents"]
    assert docs == [
        {
            "role": "SINGLE_LINE_DIAGRAM",
            "sha256": diagram.sha256,
            "document": {"id": gid("EvidenceDocument", diagram.id), "title": "SLD"},
        }
    ]
    read = await session.gql(operation("SupplyContract"), {"id": contract["id"]})
    assert "no single-line diagram" not in read["data"]["supplyContract"]["actualFactorConditions"]["missing"]
    again = await session.gql(
        operation("AttachSupplyContractDocument"),
        {
            "input": {
                "contractId": contract["id"],
                "documentId": gid("EvidenceDocument", diagram.id),
                "role": "SINGLE_LINE_DIAGRAM",
            }
        },
    )
    assert again["data"]["attachSupplyContractDocument"]["errors"][0]["field"] == "documentId"


async def test_a_connected_ppa_reads_the_generator_data_from_the_developer(services, http):
    # given: an accepted PPA with its contract document; no generation yet
    world = await make_ppa_world(services)
    session = await login(http, world.exporter.email)
    contract_gid = gid("SupplyContract", world.contract_id)
    read = await session.gql(operation("SupplyContract"), {"id": contract_gid})
    missing = read["data"]["supplyContract"]["actualFactorConditions"]["missing"]
    assert "no generator meter data for the period" in missing
    assert "no grid-connection evidence" in missing and "no PPA contract document" in missing
    # when: the developer uploads a day of 15-minute generation
    dev = await login(http, world.developer.email)
    response = await http.post(
        f"/developers/v1/connections/{world.connection_id}/generation",
        cookies=dev.cookies,
        headers={"X-CSRF-Token": dev.csrf},
        files={"file": ("g.csv", generation_csv(month_start(1), 96), "text/csv")},
    )
    await import_generation({"services": services}, str(world.developer.id), response.json()["upload_id"])
    # then: the generator's metering condition is met through the grant
    session = await login(http, world.exporter.email)
    read = await session.gql(operation("SupplyContract"), {"id": contract_gid})
    conditions = {c["code"]: c for c in read["data"]["supplyContract"]["actualFactorConditions"]["conditions"]}
    assert conditions["generator_metering"]["met"] is True
    assert conditions["physical_delivery"]["met"] is True


async def test_own_fossil_generation_names_its_fuel(services, http):
    _owner, plant, session = await _world(services, http)
    body = await session.gql(
        operation("CreateSupplyContract"),
        {
            "input": {
                "installationId": gid("Installation", plant.installation_id),
                "kind": "OWN_GENERATION",
                "reference": "OWN-1",
                "title": "Gas engine",
                "periodStart": START,
                "plant": {"name": "Gas engine 1", "technology": "NATURAL_GAS"},
                "generatorMeterId": gid("Meter", plant.meters["SUB1"]),
            }
        },
    )
    assert body["data"]["createSupplyContract"]["errors"][0]["field"] == "fuel"
