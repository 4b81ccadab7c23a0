"""PPA settlement intervals put on a calculation's grid: finer ones add up, coarser ones spread evenly."""

from __future__ import annotations

import uuid

import numpy as np

from backend.calculations.inputs import settlement_digest, settlement_on_grid
from backend.developers.schemas import IntervalColumns

UPLOAD = uuid.UUID(int=1)


def columns(*rows: tuple[int, int, int, int]) -> IntervalColumns:
    c = IntervalColumns()
    for start, end, res, wh in rows:
        c.start_s.append(start)
        c.end_s.append(end)
        c.resolution_s.append(res)
        c.energy_wh.append(wh)
        c.quality.append(0)
        c.upload_id.append(UPLOAD)
    return c


def test_finer_intervals_add_up_and_coarser_ones_spread_evenly() -> None:
    rows = columns(
        (0, 300, 300, 1000),  # three 5-minute intervals into the first 15-minute cell
        (300, 600, 300, 2000),
        (600, 900, 300, 3000),
        (3600, 7200, 3600, 8000),  # an hour over four cells
        (-900, 900, 1800, 4000),  # starts before the grid: only its half inside counts
    )
    energy, native = settlement_on_grid(rows, 0, 900, 12)
    assert native == 3600
    assert energy[0] == 1.0 + 2.0 + 3.0 + 2.0
    assert np.isnan(energy[1:4]).all()  # nothing covers them: missing, not zero
    assert energy[4:8].tolist() == [2.0, 2.0, 2.0, 2.0]
    assert np.isnan(energy[8:]).all()


def test_no_intervals_leave_the_grid_missing_at_its_resolution() -> None:
    energy, native = settlement_on_grid(IntervalColumns(), 0, 900, 4)
    assert native == 900 and np.isnan(energy).all()


def test_the_digest_names_values_and_uploads() -> None:
    a = columns((0, 900, 900, 1000))
    b = columns((0, 900, 900, 1001))
    assert settlement_digest(a) != settlement_digest(b)
    c = columns((0, 900, 900, 1000))
    c.upload_id[0] = uuid.UUID(int=2)
    assert settlement_digest(a) != settlement_digest(c)
    assert settlement_digest(a) == settlement_digest(columns((0, 900, 900, 1000)))
