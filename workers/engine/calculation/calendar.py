"""Calendar buckets of the UTC grid: interval, local clock hour, local day, month and year.

Matching compares consumption and supply per bucket, and idle overhead is pooled per local day,
so every grid interval needs the bucket it belongs to at each resolution. The caller supplies the
UTC offset at every interval start; no time-zone database is read here.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from workers.engine.calculation.model import MATCHING_RESOLUTIONS, Grid
from workers.engine.codes import read_only
from workers.engine.daytypes import local_calendar

__all__ = ["Buckets", "CalendarBuckets", "calendar_buckets"]

IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Buckets:
    """One partition of the grid into consecutive buckets.

    Attributes
    ----------
    index : ndarray (n,) int64
        Bucket of each interval, ``0 .. k-1``, non-decreasing.
    start_s : ndarray (k,) int64
        UTC start of each bucket's first interval [s since epoch].
    first : ndarray (k,) int64
        First interval of each bucket.
    """

    index: IntArray
    start_s: IntArray
    first: IntArray

    @property
    def k(self) -> int:
        """Number of buckets."""
        return int(self.start_s.shape[0])


@dataclass(frozen=True, slots=True)
class CalendarBuckets:
    """Buckets at every matching resolution, plus the local dates of the day buckets.

    Attributes
    ----------
    interval, hour, day, month, year : Buckets
    local_date_days : ndarray (d,) int64
        Local date of each day bucket as days since 1970-01-01.
    """

    interval: Buckets
    hour: Buckets
    day: Buckets
    month: Buckets
    year: Buckets
    local_date_days: IntArray

    def at(self, resolution: str) -> Buckets:
        """The buckets of a resolution name (see ``MATCHING_RESOLUTIONS``)."""
        if resolution not in MATCHING_RESOLUTIONS:
            raise ValueError(f"unknown resolution {resolution!r}")
        buckets: Buckets = getattr(self, resolution)
        return buckets


def _runs(key: IntArray, starts_s: IntArray) -> Buckets:
    n = key.shape[0]
    if n == 0:
        empty = read_only(np.zeros(0, dtype=np.int64))
        return Buckets(index=empty, start_s=empty, first=empty)
    change = np.empty(n, dtype=bool)
    change[0] = True
    np.not_equal(key[1:], key[:-1], out=change[1:])
    first = np.flatnonzero(change).astype(np.int64)
    index = np.cumsum(change, dtype=np.int64) - 1
    return Buckets(index=read_only(index), start_s=read_only(starts_s[first]), first=read_only(first))


def calendar_buckets(grid: Grid) -> CalendarBuckets:
    """Partition the grid into interval, hour, local day, local month and local year buckets.

    Parameters
    ----------
    grid : Grid
        Start, resolution and the UTC offset at each interval start.

    Returns
    -------
    CalendarBuckets

    Notes
    -----
    With interval start :math:`t_i` and offset :math:`o_i` (local minus UTC) [ours]:

    - hour: the local clock hour, keyed by its UTC start :math:`t_i - ((t_i + o_i) \\bmod 3600)`, so
      the hour repeated when clocks go back is two buckets and a half-hour offset gives local
      hours;
    - day: the local date of the interval start, kept non-decreasing as in
      :func:`workers.engine.daytypes.local_calendar` (23, 24 or 25 h long around DST changes);
    - month and year: those of the local date.

    Each bucket is a run of consecutive intervals.

    Examples
    --------
    >>> g = Grid(0, 3600, np.full(48, 3600, dtype=np.int64))   # two UTC days at UTC+1
    >>> cb = calendar_buckets(g)
    >>> cb.hour.k, cb.day.k, cb.day.start_s.tolist(), cb.month.k
    (48, 3, [0, 82800, 169200], 1)
    """
    n = grid.n
    res = int(grid.resolution_s)
    t = int(grid.grid_start_s) + np.arange(n, dtype=np.int64) * res
    offsets = grid.utc_offsets_s.astype(np.int64)
    interval = Buckets(
        index=read_only(np.arange(n, dtype=np.int64)),
        start_s=read_only(t.copy()),
        first=read_only(np.arange(n, dtype=np.int64)),
    )
    hour_key = t - np.mod(t + offsets, 3600)
    if n:
        hour_key = np.maximum.accumulate(hour_key)
    hour = _runs(hour_key, t)
    cal = local_calendar(int(grid.grid_start_s), resolution_s=res, utc_offsets_s=offsets)
    day = _runs(cal.day_index, t)
    date_days = cal.local_date_days[cal.day_index] if n else np.zeros(0, dtype=np.int64)
    months = date_days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    month = _runs(months, t)
    year = _runs(months // 12, t)
    present = np.unique(cal.day_index) if n else np.zeros(0, dtype=np.int64)
    return CalendarBuckets(
        interval=interval,
        hour=hour,
        day=day,
        month=month,
        year=year,
        local_date_days=read_only(cal.local_date_days[present].astype(np.int64)),
    )
