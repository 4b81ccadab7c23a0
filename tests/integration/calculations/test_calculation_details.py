"""Details of a run: natural gas burnt on a line gives direct emissions with the factor library's NCV, EF and
oxidation factor (and a stated density); a batch far from its product's electricity per tonne is reported."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backend.errors import ValidationFailed
from backend.factors import service as factors
from backend.factors.schemas import FuelDensityData, Source
from backend.metering import service as metering
from backend.metering.models import Medium, MeterRole, Quantity
from backend.metering.schemas import DataPointData, DeviceData, MeterData
from tests.factories.calculations import FIRST_DAY, N_DAYS, local, small_plant, store_intervals
from tests.factories.jobs import work_off_queue
from tests.factories.production import record
from tests.factories.tenants import login, make_tenant
from tests.integration.calculations.test_calculation_runs import read_run, start
from tests.operations import operation


async def _gas_meter(db: Any, owner: Any, plant: Any) -> Any:
    """A gas meter (volume in m3) on the small plant's line."""
    return await metering.create_meter(
        db,
        owner.principal,
        MeterData(
            installation_id=plant.plant.installation_id,
            code="GAS1",
            name="Billet heater gas",
            medium=Medium.NATURAL_GAS,
            role=MeterRole.MAIN,
            line_id=plant.plant.line_id,
            data_points=[DataPointData(Quantity.GAS_VOLUME, "m3")],
            device=DeviceData(serial_number="SN-GAS1", installed_at=datetime(2025, 1, 1, tzinfo=UTC)),
        ),
    )


async def test_a_factor_that_changes_inside_the_period_fails_the_run_naming_the_day(services, http):
    # given: the gas supplier's density in the library ends on the period's second day
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    async with services.db.tenant(owner.tenant.scope()) as db:
        gas = await _gas_meter(db, owner, plant)
        await factors.add_fuel_density(
            db,
            owner.principal,
            FuelDensityData(
                fuel="Natural gas",
                value=Decimal("0.000785"),
                valid_from=date(2026, 1, 1),
                valid_to=FIRST_DAY + timedelta(days=1),
                supplier="Srbijagas",
                source=Source(document="Srbijagas gas quality certificate 2026"),
            ),
        )
    await store_intervals(services, owner, gas.id, FIRST_DAY - timedelta(days=1), N_DAYS + 1, 10.0)
    session = await login(http, owner.email)
    # when
    started = await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    # then: one factor for half the period is not the period's factor: the run says where to split it
    run = await read_run(session, started["run"]["id"])
    assert run["status"] == "FAILED" and run["errorCode"] == "FACTOR_CHANGES_IN_PERIOD", run
    assert "fuel_density" in run["errorMessage"] and "2026-11-11" in run["errorMessage"], run["errorMessage"]
    assert run["outputDigest"] is None


async def test_gas_burnt_on_the_line_gives_direct_emissions_with_its_factors(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    async with services.db.tenant(owner.tenant.scope()) as db:
        gas = await _gas_meter(db, owner, plant)
    await store_intervals(services, owner, gas.id, FIRST_DAY - timedelta(days=1), N_DAYS + 1, 10.0)
    session = await login(http, owner.email)
    # when: the supplier's density is given for one run, not for the other
    given = await start(session, plant, plant.start, plant.end, fuelDensity={"natural_gas": 0.0008})
    assumed = await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    # then: 10 m3 per quarter hour over two days, at NCV 0.048 TJ/t, EF 56.1 t/TJ, OF 1
    for started, density in ((given, 0.0008), (assumed, 0.000717)):
        run = await read_run(session, started["run"]["id"])
        assert run["status"] == "SUCCEEDED", run
        expected = 10.0 * 96 * N_DAYS * density * 0.048 * 56.1
        assert run["summary"]["direct_tco2"] == pytest.approx(expected)
        codes = {w["code"] for w in run["warnings"]}
        assert ("FUEL_DENSITY_ASSUMED" in codes) == (density == 0.000717)
        results = await session.gql(operation("CalculationResults"), {"id": run["id"]})
        (product,) = results["data"]["calculationRun"]["productResults"]
        assert product["seeDirect"]["value"] == pytest.approx(expected / 20.0)
        refs = product["seeDirect"]["factorRefs"]
        assert any(r.startswith("fuel_ncv:natural_gas:") for r in refs)
        assert any(r.startswith("fuel_emission_factor:natural_gas:") for r in refs)


async def test_the_factor_librarys_gas_density_is_preferred_to_the_assumed_one_and_named(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    async with services.db.tenant(owner.tenant.scope()) as db:
        gas = await _gas_meter(db, owner, plant)
        # the gas supplier's density for 2026 in the organisation's factor library
        density = await factors.add_fuel_density(
            db,
            owner.principal,
            FuelDensityData(
                fuel="Natural gas",
                value=Decimal("0.000785"),
                valid_from=date(2026, 1, 1),
                valid_to=date(2027, 1, 1),
                supplier="Srbijagas",
                source=Source(document="Srbijagas gas quality certificate 2026"),
            ),
        )
    await store_intervals(services, owner, gas.id, FIRST_DAY - timedelta(days=1), N_DAYS + 1, 10.0)
    session = await login(http, owner.email)
    # when: one run without a density in its parameters, one with
    from_library = await start(session, plant, plant.start, plant.end)
    given = await start(session, plant, plant.start, plant.end, fuelDensity={"natural_gas": 0.0008})
    await work_off_queue(services)
    for started, value, source in ((from_library, 0.000785, "factor_library"), (given, 0.0008, "run_parameter")):
        run = await read_run(session, started["run"]["id"])
        assert run["status"] == "SUCCEEDED", run
        # then: the density used, and where it came from, is in the manifest and the direct figures' references
        used = run["manifest"]["fuel_densities"]["natural_gas"]
        assert used["value"] == pytest.approx(value) and used["source"] == source
        assert "FUEL_DENSITY_ASSUMED" not in {w["code"] for w in run["warnings"]}
        expected = 10.0 * 96 * N_DAYS * value * 0.048 * 56.1
        assert run["summary"]["direct_tco2"] == pytest.approx(expected)
        results = await session.gql(operation("CalculationResults"), {"id": run["id"]})
        (product,) = results["data"]["calculationRun"]["productResults"]
        assert used["ref"] in product["seeDirect"]["factorRefs"]
    assert used_ref_of_library(await read_run(session, from_library["run"]["id"])) == str(density.id)


def used_ref_of_library(run: dict) -> str:
    ref = run["manifest"]["fuel_densities"]["natural_gas"]["ref"]
    assert ref.startswith("fuel_density:natural_gas:v1:")
    (entry,) = [f for f in run["manifest"]["factors"] if f["ref"] == ref]
    assert entry["unit"] == "t/m3" and entry["source"] == "Srbijagas gas quality certificate 2026"
    return ref.rsplit(":", 1)[1]


async def test_a_density_in_kilograms_per_cubic_metre_is_refused_naming_the_value(services):
    owner = await make_tenant(services)
    with pytest.raises(ValidationFailed) as refused:
        async with services.db.tenant(owner.tenant.scope()) as db:
            await factors.add_fuel_density(
                db,
                owner.principal,
                FuelDensityData(fuel="natural_gas", value=Decimal("0.785"), valid_from=date(2026, 1, 1)),
            )
    assert {e.field for e in refused.value.errors} == {"sourceDocument"}
    with pytest.raises(ValidationFailed) as refused:
        async with services.db.tenant(owner.tenant.scope()) as db:
            await factors.add_fuel_density(
                db,
                owner.principal,
                FuelDensityData(
                    fuel="natural_gas",
                    value=Decimal("785"),
                    valid_from=date(2026, 1, 1),
                    source=Source(document="certificate"),
                ),
            )
    assert [e.field for e in refused.value.errors] == ["value"]
    assert "kg per cubic metre" in refused.value.errors[0].message


async def test_a_batch_far_from_its_products_electricity_per_tonne_is_reported(services, http):
    owner = await make_tenant(services)
    plant = await small_plant(services, owner)
    second = FIRST_DAY + timedelta(days=1)
    # four hours on the line for half a tonne: ten times the others' electricity per tonne
    await record(
        services, owner, plant.plant, "B-4", local(second, 17), local(second, 21), product="PRF-2990", mass=0.5
    )
    await record(
        services, owner, plant.plant, "B-5", local(second, 21), local(second, 23), product="PRF-2990", mass=2.5
    )
    session = await login(http, owner.email)
    started = await start(session, plant, plant.start, plant.end)
    await work_off_queue(services)
    run = await read_run(session, started["run"]["id"])
    (check,) = [c for c in run["validationReport"] if c["code"] == "intensity_outliers"]
    assert check["status"] == "WARN" and check["subject"] == "PRF-2990"
    assert [o["number"] for o in check["figures"]["outliers"]] == ["B-4"]
    assert check["figures"]["batches"] == 5
