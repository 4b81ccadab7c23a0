"""Local days and day types for like-day estimation.

Storage and the interval grid are in UTC, but a plant's load follows local time: shifts, weekends
and holidays. The caller computes the UTC offset in force at the start of every interval with the
installation's time zone (e.g. ``zoneinfo.ZoneInfo("Europe/Belgrade")``); this module turns those
offsets into local days, local clock slots and day types, so the engine itself never reads a time
zone database.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from workers.engine.codes import read_only
from workers.engine.grid import SECONDS_PER_DAY, check_grid

__all__ = ["HOLIDAY", "LocalCalendar", "local_calendar"]

HOLIDAY: Final[int] = 7
"""Day type of a public or plant holiday; 0..6 are Monday..Sunday."""

_MAX_OFFSET_S: Final[int] = 18 * 3600


@dataclass(frozen=True, slots=True)
class LocalCalendar:
    """Local-time structure of a UTC interval grid.

    Attributes
    ----------
    day_index : ndarray (n,) int64
        Local day of each interval, ``0 .. n_days - 1`` (non-decreasing).
    slot : ndarray (n,) int64
        Local clock slot of each interval, ``floor(local seconds since local midnight / resolution)``,
        ``0 .. n_slots - 1``. On a spring-forward day some slots are absent, on a fall-back day some
        occur twice.
    local_date_days : ndarray (n_days,) int64
        Each local date as days since 1970-01-01.
    day_type : ndarray (n_days,) int64
        0 = Monday .. 6 = Sunday, 7 = holiday.
    intervals_per_day : ndarray (n_days,) int64
        Grid intervals in each local day (e.g. 92 / 96 / 100 at 15 min around DST changes).
    complete : ndarray (n_days,) bool
        The grid covers the local day from its first to its last clock slot.
    n_slots : int
        Slots in a regular day, ``86400 / resolution``.
    """

    day_index: NDArray[np.int64]
    slot: NDArray[np.int64]
    local_date_days: NDArray[np.int64]
    day_type: NDArray[np.int64]
    intervals_per_day: NDArray[np.int64]
    complete: NDArray[np.bool_]
    n_slots: int

    @property
    def n_days(self) -> int:
        """Number of local days touched by the grid."""
        return int(self.local_date_days.shape[0])


def local_calendar(
    grid_start_s: int,
    *,
    resolution_s: int,
    utc_offsets_s: NDArray[np.int64],
    holidays_local_days: NDArray[np.int64] | None = None,
) -> LocalCalendar:
    """Map UTC grid intervals to local days, local clock slots and day types.

    Parameters
    ----------
    grid_start_s : int
        Start of interval 0, a UTC midnight [s since epoch].
    resolution_s : int
        Interval length [s].
    utc_offsets_s : ndarray (n,) int64
        UTC offset in force at the start of each interval, local minus UTC [s] (e.g. 3600 for CET,
        7200 for CEST). The grid has ``n`` intervals.
    holidays_local_days : ndarray (h,) int64, optional
        Local holiday dates as days since 1970-01-01; they get day type 7.

    Returns
    -------
    LocalCalendar

    Raises
    ------
    ValueError
        Bad grid, offsets not integer or beyond +-18 h.

    Notes
    -----
    With interval start :math:`t_i` and offset :math:`o_i`, local time :math:`\\ell_i = t_i + o_i`:

    .. math::

        d_i = \\max_{j \\le i} \\lfloor \\ell_j / 86400 \\rfloor, \\qquad
        s_i = \\lfloor (\\ell_i \\bmod 86400) / \\Delta t \\rfloor, \\qquad
        \\text{weekday} = (d + 3) \\bmod 7

    (1970-01-01 was a Thursday). The running maximum keeps a fall-back hour that crosses local
    midnight in the later day. An interval belongs to the local day of its start.

    Examples
    --------
    >>> offsets = np.full(96 * 2, 3600, dtype=np.int64)       # two UTC days at UTC+1
    >>> cal = local_calendar(0, resolution_s=900, utc_offsets_s=offsets)
    >>> cal.intervals_per_day.tolist(), cal.day_type.tolist(), cal.complete.tolist()
    ([92, 96, 4], [3, 4, 5], [False, True, False])
    """
    offsets = np.asarray(utc_offsets_s)
    if offsets.ndim != 1:
        raise ValueError("utc_offsets_s must be 1-D: one offset per interval")
    if not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError("utc_offsets_s must be integer seconds")
    start, n, res = check_grid(grid_start_s, offsets.shape[0], resolution_s)
    if n and int(np.max(np.abs(offsets))) > _MAX_OFFSET_S:
        raise ValueError("utc_offsets_s beyond +-18 h")
    local_s = start + np.arange(n, dtype=np.int64) * res + offsets.astype(np.int64)
    date_days = np.maximum.accumulate(local_s // SECONDS_PER_DAY) if n else np.zeros(0, dtype=np.int64)
    slot = (local_s % SECONDS_PER_DAY) // res
    n_slots = SECONDS_PER_DAY // res
    first_day = int(date_days[0]) if n else 0
    day_index = date_days - first_day
    n_days = int(day_index[-1]) + 1 if n else 0
    per_day = np.bincount(day_index, minlength=n_days).astype(np.int64)
    local_dates = first_day + np.arange(n_days, dtype=np.int64)
    present = per_day > 0
    first_iv = np.cumsum(per_day) - per_day
    last_iv = np.cumsum(per_day) - 1
    complete = present.copy()
    if n:
        complete &= (slot[np.minimum(first_iv, n - 1)] == 0) & (slot[np.clip(last_iv, 0, n - 1)] == n_slots - 1)
    day_type = (local_dates + 3) % 7
    if holidays_local_days is not None:
        day_type = np.where(np.isin(local_dates, np.asarray(holidays_local_days)), HOLIDAY, day_type)
    return LocalCalendar(
        day_index=read_only(day_index.astype(np.int64)),
        slot=read_only(slot.astype(np.int64)),
        local_date_days=read_only(local_dates),
        day_type=read_only(day_type.astype(np.int64)),
        intervals_per_day=read_only(per_day),
        complete=read_only(complete),
        n_slots=int(n_slots),
    )
