"""The window a provisional footprint is computed over, and how far its data went."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np

from backend.provisional.service import data_until, difference, local_days, see_of

ZONE = "Europe/Belgrade"


def batch(start: datetime, end: datetime) -> SimpleNamespace:
    return SimpleNamespace(started_at=start, ended_at=end)


def test_the_window_is_the_batchs_local_days_across_midnight_and_dst():
    # a night batch from 22:30 to 01:30 local (winter, UTC+1) spans two local days
    night = batch(datetime(2026, 11, 3, 21, 30, tzinfo=UTC), datetime(2026, 11, 4, 0, 30, tzinfo=UTC))
    assert local_days(night, ZONE) == (datetime(2026, 11, 2, 23, tzinfo=UTC), datetime(2026, 11, 4, 23, tzinfo=UTC))
    # ending exactly at local midnight: the next day is not part of it
    to_midnight = batch(datetime(2026, 11, 3, 20, tzinfo=UTC), datetime(2026, 11, 3, 23, tzinfo=UTC))
    assert local_days(to_midnight, ZONE)[1] == datetime(2026, 11, 3, 23, tzinfo=UTC)
    # the day the clocks go forward has 23 hours
    spring = batch(datetime(2026, 3, 29, 6, tzinfo=UTC), datetime(2026, 3, 29, 8, tzinfo=UTC))
    start, end = local_days(spring, ZONE)
    assert (start, (end - start).total_seconds() / 3600) == (datetime(2026, 3, 28, 23, tzinfo=UTC), 23.0)


def test_data_until_is_the_end_of_the_last_interval_with_data_inside_the_period():
    # a grid of one UTC day in hours; the period is 01:00-23:00; data until 09:00, and the loader's
    # known zeros after the period
    status = np.full((2, 24), 2, dtype=np.uint8)
    status[0, 1:9] = 0
    status[1, 3:5] = 1
    status[:, 23] = 0
    day = int(datetime(2026, 11, 3, tzinfo=UTC).timestamp())
    inputs = SimpleNamespace(
        grid=SimpleNamespace(grid_start_s=day, resolution_s=3600),
        meters=SimpleNamespace(status=status),
        period_start_s=day + 3600,
        period_end_s=day + 23 * 3600,
    )
    assert data_until(inputs) == datetime(2026, 11, 3, 9, tzinfo=UTC)  # type: ignore[arg-type]
    status[:, 1:23] = 2
    assert data_until(inputs) is None  # type: ignore[arg-type]


def test_see_and_the_difference_with_the_final_figure():
    assert see_of(direct=1.0, indirect=2.0, precursor_direct=3.0, precursor_indirect=0.5, net_mass_t=2.0) == (
        2.0,
        1.25,
        3.25,
    )
    assert see_of(direct=1.0, indirect=0.0, precursor_direct=0.0, precursor_indirect=0.0, net_mass_t=0.0) == (
        0.0,
        0.0,
        0.0,
    )
    d = difference(provisional=0.9, final=1.0)
    assert abs(d.absolute - 0.1) < 1e-12 and d.relative is not None and abs(d.relative - 0.1) < 1e-12
    assert difference(provisional=0.5, final=0.0).relative is None
