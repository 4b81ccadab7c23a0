"""Loading stored interval days into a matrix: gaps, meters without data, other resolutions, bad rows."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from backend.metering.arrays import day_start_s
from backend.metering.repository import load_interval_matrix, store_days
from tests.factories.site import make_plant
from tests.factories.tenants import make_tenant
from workers.engine import IntervalStatus

START = date(2025, 3, 1)
N_DAYS = 10
PER_DAY = 96


def day_arrays(meter: int, day: int, per_day: int = PER_DAY) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values that tell meter, day and interval apart, with some estimated and flagged intervals."""
    energy = meter * 1000.0 + day + np.arange(per_day) / 1000.0
    status = np.full(per_day, IntervalStatus.MEASURED, dtype=np.uint8)
    status[::7] = IntervalStatus.ESTIMATED
    flags = (np.arange(per_day) % 3).astype(np.uint16) * (meter + 1)
    return energy, status, flags


async def store(db, meter_id: uuid.UUID, meter: int, days: list[int], *, resolution_s: int = 900) -> None:
    per_day = 86_400 // resolution_s
    for day in days:
        energy, status, flags = day_arrays(meter, day, per_day)
        await store_days(
            db,
            meter_id,
            grid_start_s=day_start_s(START + timedelta(days=day)),
            resolution_s=resolution_s,
            energy_kwh=energy,
            status=status,
            flags=flags,
            unit="kWh",
            methodology_version="test",
            inputs_digest="0" * 64,
        )


@pytest.fixture
async def three_meters(services):
    owner = await make_tenant(services)
    plant = await make_plant(services, owner, meters=("MAIN", "SUB1", "SUB2"))
    return owner, [plant.meters[c] for c in ("MAIN", "SUB1", "SUB2")]


async def test_the_matrix_holds_stored_days_in_place_and_missing_elsewhere(services, three_meters):
    # given: MAIN has days 0-2 and 5-9 (3 and 4 missing in the middle), plus a day before and the day
    # after the range; SUB1 has nothing; SUB2 has days 1 and 8 at 15 minutes and days 2-4 hourly
    owner, (main, sub1, sub2) = three_meters
    async with services.db.tenant(owner.tenant.scope()) as db:
        await store(db, main, 0, [-1, 0, 1, 2, 5, 6, 7, 8, 9, 10])
        await store(db, sub2, 2, [1, 8])
        await store(db, sub2, 2, [2, 3, 4], resolution_s=3600)
    # when: loaded in an order other than the meters' creation
    async with services.db.tenant(owner.tenant.scope()) as db:
        matrix = await load_interval_matrix(
            db, [sub2, sub1, main], start_day=START, end_day=START + timedelta(days=N_DAYS), resolution_s=900
        )
    # then: rows follow the order asked for; every stored day is where it belongs, byte for byte
    assert matrix.meter_ids == [sub2, sub1, main]
    assert matrix.grid_start_s == day_start_s(START) and matrix.resolution_s == 900
    assert matrix.energy_kwh.shape == matrix.status.shape == matrix.flags.shape == (3, N_DAYS * PER_DAY)
    assert (matrix.energy_kwh.dtype, matrix.status.dtype, matrix.flags.dtype) == (np.float64, np.uint8, np.uint16)
    expected_days = {0: [1, 8], 1: [], 2: [0, 1, 2, 5, 6, 7, 8, 9]}
    meter_number = {0: 2, 1: 1, 2: 0}
    for row, days in expected_days.items():
        assert np.flatnonzero(matrix.stored_days[row]).tolist() == days
        for day in range(N_DAYS):
            cut = slice(day * PER_DAY, (day + 1) * PER_DAY)
            if day in days:
                energy, status, flags = day_arrays(meter_number[row], day)
                assert np.array_equal(matrix.energy_kwh[row, cut], energy)
                assert np.array_equal(matrix.status[row, cut], status)
                assert np.array_equal(matrix.flags[row, cut], flags)
            else:  # never stored, outside the range's rows, or stored at another resolution
                assert np.isnan(matrix.energy_kwh[row, cut]).all()
                assert (matrix.status[row, cut] == IntervalStatus.MISSING).all()
                assert (matrix.flags[row, cut] == 0).all()
    assert matrix.first_stored_interval(1) is None
    assert matrix.first_stored_interval(0) == PER_DAY


async def test_days_stored_at_another_resolution_load_at_theirs(services, three_meters):
    owner, (main, _, sub2) = three_meters
    async with services.db.tenant(owner.tenant.scope()) as db:
        await store(db, sub2, 2, [1, 8])
        await store(db, sub2, 2, [2, 3, 4], resolution_s=3600)
        matrix = await load_interval_matrix(
            db, [main, sub2], start_day=START, end_day=START + timedelta(days=N_DAYS), resolution_s=3600
        )
    assert matrix.energy_kwh.shape == (2, N_DAYS * 24)
    assert not matrix.stored_days[0].any()
    assert np.flatnonzero(matrix.stored_days[1]).tolist() == [2, 3, 4]
    assert np.array_equal(
        matrix.energy_kwh[1, 2 * 24 : 5 * 24], np.concatenate([day_arrays(2, d, 24)[0] for d in (2, 3, 4)])
    )
    assert np.isnan(matrix.energy_kwh[1, : 2 * 24]).all() and np.isnan(matrix.energy_kwh[1, 5 * 24 :]).all()


async def test_no_meters_or_no_days_give_empty_matrices(services, three_meters):
    owner, (main, _, _) = three_meters
    async with services.db.tenant(owner.tenant.scope()) as db:
        await store(db, main, 0, [0])
        none = await load_interval_matrix(db, [], start_day=START, end_day=START + timedelta(days=2), resolution_s=900)
        empty = await load_interval_matrix(db, [main], start_day=START, end_day=START, resolution_s=900)
    assert none.energy_kwh.shape == (0, 2 * PER_DAY) and none.stored_days.shape == (0, 2)
    assert empty.energy_kwh.shape == (1, 0) and empty.stored_days.shape == (1, 0)


async def test_a_stored_day_of_the_wrong_length_is_refused_not_misplaced(services, three_meters):
    # given: a row at 900 s whose arrays hold 95 intervals (written by hand: store_days never does)
    owner, (main, _, _) = three_meters
    async with services.db.tenant(owner.tenant.scope()) as db:
        await store(db, main, 0, [0, 2])
        await db.execute(
            text(
                f"INSERT INTO {owner.tenant.scope().quoted_schema}.interval_days (meter_id, day, resolution_s, "
                "energy, status, flags, unit, methodology_version, inputs_digest, computed_at) "
                "VALUES (:m, :d, 900, :e, :s, :f, 'kWh', 'test', repeat('0', 64), now())"
            ),
            {
                "m": main,
                "d": START + timedelta(days=1),
                "e": np.zeros(95).tobytes(),
                "s": np.zeros(95, np.uint8).tobytes(),
                "f": np.zeros(95, np.uint16).tobytes(),
            },
        )
        # when / then
        with pytest.raises(ValueError, match=str(main)):
            await load_interval_matrix(db, [main], start_day=START, end_day=START + timedelta(days=3), resolution_s=900)
