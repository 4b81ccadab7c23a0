"""Local days, slots and day types across DST changes (workers/engine/daytypes.py).

The UTC offsets are computed here, as the calling job does, with zoneinfo for Europe/Belgrade:
CET (UTC+1) until 2026-03-29 02:00 local, CEST (UTC+2) until 2026-10-25 03:00 local (EU summer-time
rule: last Sunday of March and of October at 01:00 UTC).
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from workers.engine.codes import IntervalStatus as S
from workers.engine.daytypes import HOLIDAY, local_calendar
from workers.engine.estimation import fill_long_gaps_like_day

BELGRADE = ZoneInfo("Europe/Belgrade")
RES = 900


def _utc_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _offsets(grid_start_s: int, n: int, tz: ZoneInfo = BELGRADE) -> np.ndarray:
    """UTC offset at the start of each interval [s] (caller side: zoneinfo, not the engine)."""
    starts = grid_start_s + np.arange(n) * RES
    return np.array(
        [int(datetime.fromtimestamp(int(t), tz).utcoffset().total_seconds()) for t in starts], dtype=np.int64
    )


def _epoch_day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


@pytest.mark.parametrize(
    ("local_day", "expected_intervals", "absent_or_double_slots"),
    [
        (date(2026, 3, 29), 92, {8: 0, 9: 0, 10: 0, 11: 0}),  # 02:00-03:00 skipped
        (date(2026, 10, 25), 100, {8: 2, 9: 2, 10: 2, 11: 2}),  # 02:00-03:00 twice
        (date(2026, 6, 14), 96, {8: 1, 9: 1, 10: 1, 11: 1}),
    ],
)
def test_dst_days_have_92_and_100_local_intervals(local_day, expected_intervals, absent_or_double_slots):
    # given: three UTC days around the local day, offsets from zoneinfo
    grid_start = _utc_midnight(local_day) - 86_400
    offsets = _offsets(grid_start, 3 * 96)

    # when
    cal = local_calendar(grid_start, resolution_s=RES, utc_offsets_s=offsets)

    # then
    d = int(np.flatnonzero(cal.local_date_days == _epoch_day(local_day))[0])
    assert cal.intervals_per_day[d] == expected_intervals
    assert cal.day_type[d] == local_day.weekday()  # both DST days are Sundays (6)
    assert cal.complete[d]
    slots = cal.slot[cal.day_index == d]
    for slot, count in absent_or_double_slots.items():
        assert np.count_nonzero(slots == slot) == count
    assert cal.n_slots == 96


def test_holidays_get_their_own_day_type():
    # given: 2026-05-01 (Labour Day, a Friday) declared a holiday
    grid_start = _utc_midnight(date(2026, 4, 30))
    offsets = _offsets(grid_start, 3 * 96)

    # when
    cal = local_calendar(
        grid_start,
        resolution_s=RES,
        utc_offsets_s=offsets,
        holidays_local_days=np.array([_epoch_day(date(2026, 5, 1))]),
    )

    # then: local days 04-30 (partial, starts 02:00), 05-01, 05-02, 05-03 (partial)
    assert_array_equal(cal.day_type, [3, HOLIDAY, 5, 6])
    assert_array_equal(cal.complete, [False, True, True, False])


def test_bad_offsets_raise():
    # when / then
    with pytest.raises(ValueError, match="integer seconds"):
        local_calendar(0, resolution_s=RES, utc_offsets_s=np.zeros(4))
    with pytest.raises(ValueError, match="18 h"):
        local_calendar(0, resolution_s=RES, utc_offsets_s=np.full(4, 20 * 3600))
    with pytest.raises(ValueError, match="not a UTC midnight"):
        local_calendar(3600, resolution_s=RES, utc_offsets_s=np.zeros(4, dtype=np.int64))


def _local_plant_energy_kwh(grid_start: int, offsets: np.ndarray) -> np.ndarray:
    """Weekdays 1000 kW from 06:00 to 22:00 local time, otherwise 200 kW; 15-min energy [kWh]."""
    local = grid_start + np.arange(offsets.shape[0]) * RES + offsets
    hour = (local % 86_400) // 3600
    weekday = ((local // 86_400) + 3) % 7
    kw = np.where((weekday < 5) & (hour >= 6) & (hour < 22), 1000.0, 200.0)
    return kw * RES / 3600.0


def test_like_day_across_spring_forward_matches_by_local_clock():
    # given: 35 UTC days from 2026-03-02; Monday 2026-03-30 (first weekday in CEST) misses 04:00-12:00
    # local; its like days (Mondays 03-23, 03-16, 03-09) are in CET
    grid_start = _utc_midnight(date(2026, 3, 2))
    n = 35 * 96
    offsets = _offsets(grid_start, n)
    truth = _local_plant_energy_kwh(grid_start, offsets)
    local_s = grid_start + np.arange(n) * RES + offsets
    target = (local_s // 86_400 == _epoch_day(date(2026, 3, 30))) & (
        ((local_s % 86_400) >= 4 * 3600) & ((local_s % 86_400) < 12 * 3600)
    )
    status = np.where(target, S.MISSING, S.MEASURED).astype(np.uint8)
    energy = np.where(target, np.nan, truth)
    flags = np.zeros(n, dtype=np.uint16)
    cal = local_calendar(grid_start, resolution_s=RES, utc_offsets_s=offsets)

    # when
    local_fill = fill_long_gaps_like_day(energy, status, flags, day_type=cal.day_type, calendar=cal)
    utc_fill = fill_long_gaps_like_day(
        energy.reshape(35, 96),
        status.reshape(35, 96),
        flags.reshape(35, 96),
        day_type=(np.arange(35, dtype=np.int64) % 7),
    )

    # then: matched by local clock the shift change at 06:00 local is reproduced exactly; matched by
    # UTC slot the like days put it one hour late (06:00 CET = 05:00 UTC, 06:00 CEST = 04:00 UTC)
    assert local_fill.n_intervals_filled == 32
    assert_allclose(local_fill.energy_kwh[target], truth[target], rtol=0, atol=1e-12)
    wrong = ~np.isclose(utc_fill.energy_kwh.ravel()[target], truth[target])
    assert np.count_nonzero(wrong) == 4
