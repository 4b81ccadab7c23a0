"""The interval grid: UTC-midnight anchor, resolution and boundaries.

Interval ``i`` covers ``[grid_start_s + i * resolution_s, grid_start_s + (i + 1) * resolution_s)``;
timestamps are integer seconds since the Unix epoch, UTC.
"""

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["ALLOWED_RESOLUTIONS_S", "SECONDS_PER_DAY", "boundaries_s", "check_grid", "check_resolution"]

SECONDS_PER_DAY: Final[int] = 86_400
ALLOWED_RESOLUTIONS_S: Final[tuple[int, ...]] = (300, 600, 900, 1200, 1800, 3600)
"""Whole minutes from 5 to 60 that divide an hour, hence a day (and follow whole-hour DST shifts)."""


def check_resolution(resolution_s: int) -> int:
    """Check an interval resolution and return it as ``int``.

    Parameters
    ----------
    resolution_s : int
        Interval length [s].

    Raises
    ------
    ValueError
        If the resolution is outside 5-60 min or does not divide a day into whole-minute intervals
        aligned with the hour.

    Examples
    --------
    >>> check_resolution(900)
    900
    """
    if isinstance(resolution_s, bool) or not isinstance(resolution_s, int | np.integer):
        raise ValueError(f"resolution_s must be an integer number of seconds, got {resolution_s!r}")
    res = int(resolution_s)
    if res < 300 or res > 3600:
        raise ValueError(f"resolution_s={res} is outside 300..3600 s (5-60 min)")
    if res not in ALLOWED_RESOLUTIONS_S:
        raise ValueError(
            f"resolution_s={res} does not divide a day into whole-minute intervals aligned with the hour; "
            f"use one of {ALLOWED_RESOLUTIONS_S}"
        )
    return res


def check_grid(grid_start_s: int, n_intervals: int, resolution_s: int) -> tuple[int, int, int]:
    """Check a grid definition; return ``(grid_start_s, n_intervals, resolution_s)`` as ints.

    Raises
    ------
    ValueError
        If the start is not a UTC midnight, the count is negative or the resolution is invalid.
    """
    res = check_resolution(resolution_s)
    start = int(grid_start_s)
    if start % SECONDS_PER_DAY != 0:
        raise ValueError(f"grid_start_s={start} is not a UTC midnight (must be a multiple of 86400)")
    n = int(n_intervals)
    if n < 0:
        raise ValueError(f"n_intervals must be >= 0, got {n}")
    return start, n, res


def boundaries_s(grid_start_s: int, n_intervals: int, resolution_s: int) -> NDArray[np.int64]:
    """Interval boundaries ``t_0 .. t_n`` of the grid.

    Parameters
    ----------
    grid_start_s : int
        Start of interval 0, a UTC midnight [s since epoch].
    n_intervals : int
        Number of intervals ``n``.
    resolution_s : int
        Interval length [s].

    Returns
    -------
    ndarray (n + 1,) int64
        ``t_j = grid_start_s + j * resolution_s`` [s since epoch].

    Examples
    --------
    >>> boundaries_s(0, 2, 900).tolist()
    [0, 900, 1800]
    """
    start, n, res = check_grid(grid_start_s, n_intervals, resolution_s)
    out: NDArray[np.int64] = start + np.arange(n + 1, dtype=np.int64) * np.int64(res)
    return out
