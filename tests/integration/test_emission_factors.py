"""The emission factor library: seeded reference values, selection by rule and date, tenant factors."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from backend.audit.models import AuditEntry
from backend.errors import FieldError, ValidationFailed
from backend.factors import service as factors
from backend.factors.errors import (
    DisclosureMissing,
    FactorMissing,
    FactorNotFound,
    FactorNotSupersedable,
    FactorOutOfScope,
    FactorOverlaps,
)
from backend.factors.models import EmissionFactor, FactorKind
from backend.factors.schemas import FactorFilter, FuelUse, OwnGenerationData, Source, SupplierFactorData
from backend.factors.seed import load_edition
from tests.factories.factors import disclosure, supplier_factor
from tests.factories.tenants import make_tenant

ON = date(2026, 3, 1)


async def pick(services, owner, kind: FactorKind, subject: str, on: date = ON):
    async with services.db.tenant(owner.tenant.scope()) as db:
        return await factors.select_factor(db, kind, subject, on)


# --- the seeded reference values (TV-11, TV-12, TV-16) --------------------------------------------------

TV11_GRID = {
    "RS": "0.729",
    "BA": "0.734",
    "ME": "0.422",
    "MK": "0.641",
    "AL": "0",
    "TR": "0.420",
    "UA": "0.310",
    "EG": "0.387",
    "MA": "0.712",
    "CN": "0.605",
    "IN": "0.726",
    "AE": "0.451",
}


async def test_tv11_grid_defaults_of_every_listed_country(services):
    owner = await make_tenant(services)
    for country, expected in TV11_GRID.items():
        chosen = await pick(services, owner, FactorKind.GRID_DEFAULT, country)
        assert chosen.factor.value == Decimal(expected), country
        assert chosen.fallback is None
        assert chosen.factor.unit == "tCO2e/MWh"
        assert "2025/2621" in chosen.factor.provenance.document
        assert chosen.factor.provenance.url == "http://data.europa.eu/eli/reg_impl/2025/2621/oj"
        assert "Annex II" in chosen.factor.provenance.table
        assert "CC BY-NC-SA 4.0" in chosen.factor.provenance.licence_note


async def test_the_whole_annex_ii_and_iii_table_of_the_reference_is_seeded(services):
    owner = await make_tenant(services)
    document = load_edition("cbam-2026-v1")
    grid = {f["subject"]: f["value"] for f in document["factors"] if f["kind"] == "grid_default"}
    assert len(grid) == 35 and grid["XK"] == "0.909" and grid["OTHER"] == "0.465" and grid["BR"] == "0.096"
    async with services.db.tenant(owner.tenant.scope()) as db:
        listed = await factors.list_factors(
            db, owner.principal, FactorFilter(kind=FactorKind.GRID_DEFAULT, valid_on=ON), after=None, limit=100
        )
    assert {f.subject: f.value for f in listed} == {k: Decimal(v) for k, v in grid.items()}


@pytest.mark.parametrize("country", ["AF", "FJ", "PG"])
async def test_tv11_an_unlisted_third_country_falls_back_to_other_countries_named(services, country):
    owner = await make_tenant(services)
    chosen = await pick(services, owner, FactorKind.GRID_DEFAULT, country)
    assert chosen.factor.value == Decimal("0.465")
    assert chosen.factor.subject == "OTHER"
    assert chosen.fallback == f"{country} is not listed in [IR2621] Annex II: 'Other countries and territories' applies"


@pytest.mark.parametrize(("country", "reason"), [("DE", "EU member state"), ("NO", "exempt from CBAM")])
async def test_an_eu_or_exempt_country_has_no_grid_default_and_says_why(services, country, reason):
    owner = await make_tenant(services)
    with pytest.raises(FactorOutOfScope) as refused:
        await pick(services, owner, FactorKind.GRID_DEFAULT, country)
    assert reason in refused.value.message and country in refused.value.message


async def test_tv11_imported_electricity_is_another_table_with_the_eu_fallback(services):
    owner = await make_tenant(services)
    serbia = await pick(services, owner, FactorKind.IMPORTED_ELECTRICITY, "rs")
    china = await pick(services, owner, FactorKind.IMPORTED_ELECTRICITY, "CN")
    assert serbia.factor.value == Decimal("1.041") and serbia.fallback is None
    assert china.factor.value == Decimal("0.612") and china.factor.subject == "EU"
    assert "EU value" in (china.fallback or "")


@pytest.mark.parametrize(
    ("cn", "country", "on", "expected", "subject"),
    [
        ("7601", "RS", date(2026, 6, 1), "0.396", "7601|RS"),
        ("7601", "CN", date(2026, 6, 1), "3.300", "7601|CN"),
        ("7601", "CN", date(2027, 6, 1), "3.600", "7601|CN"),
        ("7601", "CN", date(2028, 6, 1), "3.900", "7601|CN"),
        ("7601", "CN", date(2031, 1, 1), "3.900", "7601|CN"),
        ("7601", "MK", date(2026, 6, 1), "2.423", "7601|OTHER"),
        ("7604 29 90", "RS", date(2026, 6, 1), "2.496", "76042990|RS"),
        ("76042990", "TR", date(2026, 6, 1), "4.116", "76042990|TR"),
        ("76011000", "RS", date(2026, 6, 1), "0.396", "7601|RS"),
    ],
)
async def test_tv11_goods_defaults_with_the_years_markup(services, cn, country, on, expected, subject):
    owner = await make_tenant(services)
    async with services.db.tenant(owner.tenant.scope()) as db:
        chosen = await factors.goods_default(db, cn, country, on)
    assert chosen.factor.value == Decimal(expected)
    assert chosen.factor.subject == subject
    assert chosen.factor.unit == "tCO2e/t"
    assert chosen.factor.parameters["markup_percent"] in (10, 20, 30)


async def test_a_goods_default_the_reference_does_not_give_for_the_year_is_refused_not_recomputed(services):
    owner = await make_tenant(services)
    with pytest.raises(FactorMissing) as missing:
        await pick(services, owner, FactorKind.GOODS_DEFAULT, "76042990|RS", date(2027, 2, 1))
    assert missing.value.message.startswith("no default value for CN code 76042990 from country RS valid on 2027-02-01")
    assert "2026-01-01 to 2027-01-01" in missing.value.message


async def test_tv12_indirect_emissions_of_the_serbian_extrusion_plant(services):
    owner = await make_tenant(services)
    serbia = await pick(services, owner, FactorKind.GRID_DEFAULT, "RS")
    turkey = await pick(services, owner, FactorKind.GRID_DEFAULT, "TR")
    assert Decimal("1800") * serbia.factor.value == Decimal("1312.2")
    assert Decimal("1800") * serbia.factor.value / Decimal("1500") == Decimal("0.8748")
    assert Decimal("1800") * turkey.factor.value == Decimal("756.0")


async def test_tv16_natural_gas_factors_with_provenance(services):
    owner = await make_tenant(services)
    async with services.db.tenant(owner.tenant.scope()) as db:
        ef, ncv, of = await factors.fuel_factors(db, "Natural gas", ON)
    assert (ef.factor.value, ncv.factor.value, of.factor.value) == (Decimal("56.1"), Decimal("0.048"), Decimal("1"))
    assert ncv.factor.value * ef.factor.value == Decimal("2.6928")
    assert "2025/2547" in ef.factor.provenance.document and "Table 1" in ef.factor.provenance.table


@pytest.mark.parametrize(
    ("kind", "subject", "on", "message"),
    [
        (
            FactorKind.GRID_DEFAULT,
            "RS",
            date(2025, 12, 31),
            "no grid default factor for country RS valid on 2025-12-31",
        ),
        (FactorKind.FUEL_NCV, "wood_pellets", ON, "no net calorific value for fuel wood_pellets valid on 2026-03-01"),
    ],
)
async def test_a_missing_factor_names_kind_subject_and_date(services, kind, subject, on, message):
    owner = await make_tenant(services)
    with pytest.raises(FactorMissing) as missing:
        await pick(services, owner, kind, subject, on)
    assert missing.value.message.startswith(message)
    assert missing.value.code == "FACTOR_MISSING"


async def test_a_listed_country_without_a_version_on_the_date_does_not_fall_back(services):
    # RS is listed from 2026-01-01: before that, no silent "Other countries" value
    owner = await make_tenant(services)
    with pytest.raises(FactorMissing) as missing:
        await pick(services, owner, FactorKind.GRID_DEFAULT, "RS", date(2025, 6, 1))
    assert missing.value.data["tried"] == ["RS"]


async def test_published_factors_are_read_only_for_the_tenant_and_the_runtime(services):
    owner = await make_tenant(services)
    with pytest.raises(DBAPIError, match="permission denied"):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await db.execute(text("UPDATE published.emission_factors SET value = 0 WHERE subject = 'RS'"))
    with pytest.raises(DBAPIError, match="permission denied"):
        async with services.db.platform() as db:
            await db.execute(text("DELETE FROM published.emission_factors"))
    chosen = await pick(services, owner, FactorKind.GRID_DEFAULT, "RS")
    assert chosen.factor.value == Decimal("0.729")


# --- supplier-specific factors ------------------------------------------------------------------------------


async def test_a_supplier_factor_is_selected_with_its_disclosure_and_audited(services):
    owner = await make_tenant(services)
    doc = await disclosure(services, owner)
    contract = uuid.uuid4()
    row = await supplier_factor(services, owner, contract_id=contract, document=doc)
    async with services.db.tenant(owner.tenant.scope()) as db:
        chosen = await factors.supplier_factor(db, contract, ON)
        entries = (await db.execute(select(AuditEntry).where(AuditEntry.entity_id == str(row.id)))).scalars().all()
    assert chosen.factor.value == Decimal("0.312")
    assert chosen.factor.evidence_sha256 == doc.sha256 and chosen.factor.evidence_document_id == doc.id
    assert chosen.factor.provenance.document == "Supplier fuel mix disclosure 2025"
    assert [e.action for e in entries] == ["emission_factor.created"]


async def test_no_supplier_factor_for_a_contract_is_an_error_not_the_grid_default(services):
    owner = await make_tenant(services)
    contract = uuid.uuid4()
    with pytest.raises(FactorMissing) as missing:
        await pick(services, owner, FactorKind.SUPPLIER_SPECIFIC, str(contract))
    assert missing.value.message == f"no supplier-specific factor for supply contract {contract} valid on 2026-03-01"


async def test_supersede_closes_the_old_version_and_each_date_has_one_factor(services):
    owner = await make_tenant(services)
    contract = uuid.uuid4()
    first = await supplier_factor(services, owner, contract_id=contract, value="0.312")
    doc = await disclosure(services, owner, "Disclosure 2026")
    async with services.db.tenant(owner.tenant.scope()) as db:
        second = await factors.add_supplier_factor(
            db,
            owner.principal,
            SupplierFactorData(
                contract_id=contract,
                value=Decimal("0.280"),
                valid_from=date(2026, 7, 1),
                disclosure_document_id=doc.id,
                supersedes_id=first.id,
            ),
        )
    async with services.db.tenant(owner.tenant.scope()) as db:
        before = await factors.supplier_factor(db, contract, date(2026, 6, 30))
        after = await factors.supplier_factor(db, contract, date(2026, 7, 1))
        old = await db.get(EmissionFactor, first.id)
        actions = (await db.execute(select(AuditEntry.action).order_by(AuditEntry.seq))).scalars().all()
    assert (before.factor.value, before.factor.version) == (Decimal("0.312"), 1)
    assert (after.factor.value, after.factor.version, after.factor.supersedes_id) == (Decimal("0.280"), 2, first.id)
    assert old.valid_to == date(2026, 7, 1) and old.value == Decimal("0.312")
    assert actions[-2:] == ["emission_factor.superseded", "emission_factor.created"]
    assert second.version == 2


async def test_an_overlapping_version_is_refused_naming_the_version_in_the_way(services):
    owner = await make_tenant(services)
    contract = uuid.uuid4()
    await supplier_factor(services, owner, contract_id=contract)
    with pytest.raises(FactorOverlaps) as refused:
        await supplier_factor(services, owner, contract_id=contract, valid_from=date(2026, 5, 1))
    assert "version 1 is valid from 2026-01-01 to open: supersede it instead" in refused.value.message
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(EmissionFactor)) == 1


async def test_the_database_allows_one_version_per_key_and_date(services):
    owner = await make_tenant(services)
    row = await supplier_factor(services, owner)
    schema = owner.tenant.scope().schema
    with pytest.raises(IntegrityError, match="ex_emission_factors_one_per_date"):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await db.execute(
                text(
                    f'INSERT INTO "{schema}".emission_factors (id, kind, subject, version, value, unit, valid_from,'
                    " valid_to, source_document, source_table, licence_note, notes, parameters, created_at, created_by,"
                    " evidence_document_id, evidence_sha256) SELECT gen_random_uuid(), kind, subject, 9, 1, unit,"
                    " '2030-01-01', NULL, 'x', '', '', '', '{}', now(), 'x', evidence_document_id, evidence_sha256"
                    f' FROM "{schema}".emission_factors WHERE id = :id'
                ),
                {"id": row.id},
            )


async def test_concurrent_writers_of_one_contract_store_one_factor(services):
    owner = await make_tenant(services)
    contract = uuid.uuid4()
    doc = await disclosure(services, owner)
    results = await asyncio.gather(
        *(supplier_factor(services, owner, contract_id=contract, document=doc, value=v) for v in ("0.3", "0.4")),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["EmissionFactor", "FactorOverlaps"]
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(EmissionFactor)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": Decimal("-0.1")}, "value"),
        ({"value": Decimal("729")}, "value"),
        ({"value": Decimal("NaN")}, "value"),
        ({"valid_to": date(2025, 1, 1)}, "validTo"),
        ({"source": Source(url="ftp://x")}, "sourceUrl"),
    ],
)
async def test_bad_supplier_factor_input_is_refused_naming_the_field_and_stores_nothing(services, change, field):
    owner = await make_tenant(services)
    doc = await disclosure(services, owner)
    data = {
        "contract_id": uuid.uuid4(),
        "value": Decimal("0.3"),
        "valid_from": date(2026, 1, 1),
        "disclosure_document_id": doc.id,
        **change,
    }
    with pytest.raises(ValidationFailed) as refused:
        async with services.db.tenant(owner.tenant.scope()) as db:
            await factors.add_supplier_factor(db, owner.principal, SupplierFactorData(**data))
    assert [e.field for e in refused.value.errors] == [field]
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(EmissionFactor)) == 0


async def test_a_supplier_factor_needs_a_disclosure_of_the_same_organisation(services):
    owner, other = await make_tenant(services), await make_tenant(services)
    foreign = await disclosure(services, other)
    with pytest.raises(DisclosureMissing) as refused:
        await supplier_factor(services, owner, document=foreign)
    assert refused.value.field == "disclosureDocumentId"


async def test_a_published_factor_cannot_be_superseded_by_a_tenant(services):
    owner = await make_tenant(services)
    serbia = await pick(services, owner, FactorKind.GRID_DEFAULT, "RS")
    doc = await disclosure(services, owner)
    with pytest.raises(FactorNotSupersedable):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await factors.add_supplier_factor(
                db,
                owner.principal,
                SupplierFactorData(
                    uuid.uuid4(), Decimal("0.1"), date(2026, 2, 1), doc.id, supersedes_id=serbia.factor.id
                ),
            )


async def test_tenant_factors_are_private(services):
    a, b = await make_tenant(services), await make_tenant(services)
    contract = uuid.uuid4()
    await supplier_factor(services, b, contract_id=contract)
    with pytest.raises(FactorMissing):
        await pick(services, a, FactorKind.SUPPLIER_SPECIFIC, str(contract))
    async with services.db.tenant(a.tenant.scope()) as db:
        listed = await factors.list_factors(db, a.principal, FactorFilter(published=False), after=None, limit=50)
    assert listed == []


# --- own generation (TV-14) --------------------------------------------------------------------------------


def tv14(generator: uuid.UUID, **change) -> OwnGenerationData:
    return OwnGenerationData(
        **{
            "generator_id": generator,
            "fuels": [FuelUse("natural_gas", Decimal("10000"))],
            "net_generation_mwh": Decimal("50000"),
            "period_start": date(2026, 1, 1),
            "period_end": date(2026, 7, 1),
            "valid_from": date(2026, 1, 1),
            **change,
        }
    )


async def test_tv14_own_generation_factor_from_the_library_values_with_inputs_recorded(services):
    owner = await make_tenant(services)
    generator = uuid.uuid4()
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = await factors.compute_own_generation_factor(db, owner.principal, tv14(generator))
    chosen = await pick(services, owner, FactorKind.OWN_GENERATION, str(generator))
    assert chosen.factor.value == Decimal("0.53856") and row.unit == "tCO2/MWh"
    assert "Eq. 38" in (chosen.factor.formula or "")
    params = chosen.factor.parameters
    assert params["emissions_t"] == "26928.0000" and params["net_generation_mwh"] == "50000"
    sources = params["factor_sources"][0]["sources"]
    assert "2025/2547" in sources["ncv"]["document"] and sources["of"]["table"].startswith("Annex II section B")


async def test_own_generation_with_measured_values_records_them_as_given(services):
    owner = await make_tenant(services)
    fuel = FuelUse("natural_gas", Decimal("10000"), ncv_tj_per_t=Decimal("0.0475"))
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = await factors.compute_own_generation_factor(db, owner.principal, tv14(uuid.uuid4(), fuels=[fuel]))
    assert row.value == (Decimal("10000") * Decimal("0.0475") * Decimal("56.1") / Decimal("50000")).quantize(
        Decimal("1e-12")
    )
    assert row.parameters["factor_sources"][0]["sources"]["ncv"].startswith("given by the operator")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"net_generation_mwh": Decimal("0")}, "netGenerationMwh"),
        ({"fuels": [FuelUse("natural_gas", Decimal("-1"))]}, "fuels.0.quantityT"),
        ({"fuels": [FuelUse("natural_gas", Decimal("1")), FuelUse("natural_gas", Decimal("2"))]}, "fuels.1.fuel"),
        ({"period_end": date(2025, 1, 1)}, "periodEnd"),
        ({"net_generation_mwh": Decimal("50")}, "netGenerationMwh"),  # 10,000 t of gas for 50 MWh: kWh given
    ],
)
async def test_bad_own_generation_input_is_refused_naming_the_field(services, change, field):
    owner = await make_tenant(services)
    with pytest.raises(ValidationFailed) as refused:
        async with services.db.tenant(owner.tenant.scope()) as db:
            await factors.compute_own_generation_factor(db, owner.principal, tv14(uuid.uuid4(), **change))
    assert [e.field for e in refused.value.errors] == [field]
    async with services.db.tenant(owner.tenant.scope()) as db:
        assert await db.scalar(select(func.count()).select_from(EmissionFactor)) == 0


async def test_own_generation_with_a_fuel_the_library_lacks_names_it(services):
    owner = await make_tenant(services)
    with pytest.raises(FactorMissing) as missing:
        async with services.db.tenant(owner.tenant.scope()) as db:
            await factors.compute_own_generation_factor(
                db, owner.principal, tv14(uuid.uuid4(), fuels=[FuelUse("wood_pellets", Decimal("5"))])
            )
    assert "no net calorific value for fuel wood_pellets valid on 2026-01-01" in missing.value.message
    assert "give the measured value instead" in missing.value.message


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {s}.emission_factors SET value = 0.1",
        "UPDATE {s}.emission_factors SET source_document = 'rewritten'",
        "UPDATE {s}.emission_factors SET valid_to = '2030-01-01'",
        "DELETE FROM {s}.emission_factors",
    ],
)
async def test_a_stored_version_cannot_be_changed_or_deleted(services, statement):
    owner = await make_tenant(services)
    await supplier_factor(services, owner, valid_to=date(2027, 1, 1))
    schema = f'"{owner.tenant.scope().schema}"'
    with pytest.raises(DBAPIError, match=r"immutable|are kept"):
        async with services.db.tenant(owner.tenant.scope()) as db:
            await db.execute(text(statement.format(s=schema)))
    async with services.db.tenant(owner.tenant.scope()) as db:
        row = (await db.execute(select(EmissionFactor))).scalar_one()
    assert row.value == Decimal("0.312") and row.valid_to == date(2027, 1, 1)


async def test_the_demo_exporter_holds_its_grid_suppliers_disclosed_factor_and_its_gas_density(services):
    from demo.factors import DEMO_GRID_CONTRACT_ID, DISCLOSURE_TITLE
    from demo.seed import seed
    from tests.factories.owner import owner_db

    state = await seed(owner_db(), services.store)
    await seed(services.db, services.store)  # a second run adds nothing
    exporter = state.tenants["alu-sabac"]
    async with services.db.tenant(exporter.scope()) as db:
        chosen = await factors.supplier_factor(db, DEMO_GRID_CONTRACT_ID, date(2026, 11, 15))
        density = await factors.fuel_density(db, "natural_gas", date(2026, 11, 15))
        count = await db.scalar(select(func.count()).select_from(EmissionFactor))
    assert chosen.factor.value == Decimal("0.694") and count == 2
    assert density.factor.value == Decimal("0.000785") and density.factor.unit == "t/m3"
    assert chosen.factor.provenance.document == DISCLOSURE_TITLE and chosen.factor.evidence_sha256


async def test_a_factor_id_named_by_a_contract_is_checked_to_be_that_contracts_supplier_factor(services):
    owner = await make_tenant(services)
    contract, other = uuid.uuid4(), uuid.uuid4()
    row = await supplier_factor(services, owner, contract_id=contract)
    async with services.db.tenant(owner.tenant.scope()) as db:
        found = await factors.supplier_factor_by_id(db, row.id, contract_id=contract)
        serbia = await factors.grid_default(db, "RS", ON)
        with pytest.raises(FactorNotFound):
            await factors.supplier_factor_by_id(db, serbia.factor.id)
        with pytest.raises(FieldError) as mismatch:
            await factors.supplier_factor_by_id(db, row.id, contract_id=other)
    assert found.id == row.id and mismatch.value.field == "supplierFactorId"
