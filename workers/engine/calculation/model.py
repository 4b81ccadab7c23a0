"""Inputs, parameters and results of the embedded-emissions calculation (methodology version 1).

Everything the calculation needs is in a :class:`CalculationInputs` (frozen dataclasses of numpy
arrays and tuples of strings) and a :class:`CalculationParameters`; nothing is read from a
database, a clock or a time-zone database. Times are integer seconds since the epoch, UTC; energy
in kWh, masses in tonnes, emissions in tCO2e, electricity factors in tCO2e/MWh. Identifiers are
strings (UUID text), so a calculation bundle can be rebuilt outside the database.

:func:`validate_inputs` checks shapes, ranges and references and raises
:class:`CalculationInputError` with a code and a message naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from workers.engine.grid import ALLOWED_RESOLUTIONS_S, SECONDS_PER_DAY

__all__ = [
    "CALCULATION_METHODOLOGY_VERSION",
    "ELECTRICITY_ROLES",
    "MATCHING_RESOLUTIONS",
    "SUPPLY_KINDS",
    "BatchResults",
    "Batches",
    "CalculationInputError",
    "CalculationInputs",
    "CalculationParameters",
    "CalculationResult",
    "CalculationWarning",
    "ElectricityMeters",
    "FuelMeters",
    "Grid",
    "GridFactor",
    "IdleDays",
    "InstallationResults",
    "Ledger",
    "Lines",
    "MatchingResolution",
    "MatchingScores",
    "Precursors",
    "ProductResults",
    "Products",
    "SupplySources",
    "resolution_length_s",
    "validate_inputs",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
StatusArray = NDArray[np.uint8]

CALCULATION_METHODOLOGY_VERSION: Final[str] = "1"
"""Version of the calculation rules in ``docs/methodology/calculation.md``; bump on any rule change."""

MatchingResolution = Literal["interval", "hour", "day", "month", "year"]
MATCHING_RESOLUTIONS: Final[tuple[str, ...]] = ("interval", "hour", "day", "month", "year")
"""Matching buckets, finest first: grid interval, local clock hour, local day, local month, local year."""

ELECTRICITY_ROLES: Final[tuple[str, ...]] = ("main", "sub", "generation", "export")
SUPPLY_KINDS: Final[tuple[str, ...]] = ("ppa", "own_generation", "direct_link")
_STATUS_MAX: Final[int] = 3
_MAX_OFFSET_S: Final[int] = 18 * 3600


class CalculationInputError(ValueError):
    """Inputs the calculation cannot take.

    Attributes
    ----------
    code : str
        Stable machine-readable reason, e.g. ``"shape_mismatch"``, ``"negative_mass"``.
    message : str
        Human-readable text naming the field and the reason.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# --------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class Grid:
    """The UTC interval grid.

    Attributes
    ----------
    grid_start_s : int
        Start of interval 0, a UTC midnight [s since epoch].
    resolution_s : int
        Interval length [s], 900 or 3600 (any divisor of an hour from 5 min is accepted).
    utc_offsets_s : ndarray (n,) int64
        Installation's local offset (local minus UTC) at each interval start [s]; ``n`` is the
        number of intervals.
    """

    grid_start_s: int
    resolution_s: int
    utc_offsets_s: IntArray

    @property
    def n(self) -> int:
        """Number of intervals."""
        return int(self.utc_offsets_s.shape[0])

    @property
    def grid_end_s(self) -> int:
        """End of the last interval [s since epoch]."""
        return int(self.grid_start_s) + self.n * int(self.resolution_s)


@dataclass(frozen=True, slots=True)
class ElectricityMeters:
    """Electricity meters with their interval energy on the grid.

    Attributes
    ----------
    ids, codes : tuple of str (m,)
        Meter ids (UUID text) and codes.
    role : tuple of str (m,)
        ``"main"``, ``"sub"``, ``"generation"`` or ``"export"``.
    line : ndarray (m,) int64
        Index into :class:`Lines` the sub-meter serves; -1: none (an auxiliary if ``"sub"``).
    energy_kwh : ndarray (m, n) float64
        Active energy per interval [kWh]; NaN = missing (counted as 0 and reported).
    status : ndarray (m, n) uint8
        IntervalStatus codes: 0 measured, 1 estimated, 2 missing, 3 edited.
    """

    ids: tuple[str, ...]
    codes: tuple[str, ...]
    role: tuple[str, ...]
    line: IntArray
    energy_kwh: FloatArray
    status: StatusArray


@dataclass(frozen=True, slots=True)
class FuelMeters:
    """Fuel meters with their interval quantities and the factors of Eqs. 5-6.

    Attributes
    ----------
    ids, codes : tuple of str (k,)
    line : ndarray (k,) int64
        Line the fuel feeds; -1: the installation as a whole (overhead).
    quantity : ndarray (k, n) float64
        Fuel quantity per interval in the unit of the NCV (t or Nm3); NaN = missing.
    status : ndarray (k, n) uint8
    ncv_tj_per_unit, ef_tco2_per_tj, oxidation_factor : ndarray (k,) float64
    factor_refs : tuple of str (k,)
        Reference of the factor set used (recorded in the breakdown per factor).
    """

    ids: tuple[str, ...]
    codes: tuple[str, ...]
    line: IntArray
    quantity: FloatArray
    status: StatusArray
    ncv_tj_per_unit: FloatArray
    ef_tco2_per_tj: FloatArray
    oxidation_factor: FloatArray
    factor_refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Lines:
    """Production lines (allocation units).

    Attributes
    ----------
    ids, codes : tuple of str (l,)
    """

    ids: tuple[str, ...]
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Batches:
    """Production batches overlapping the grid.

    Attributes
    ----------
    ids, numbers : tuple of str (b,)
    line : ndarray (b,) int64
        Index into :class:`Lines`; -1: no line (only shares idle overhead by mass, and warned).
    start_s, end_s : ndarray (b,) int64
        Production interval ``[start, end)`` [s since epoch, UTC], ``end > start``.
    net_mass_t : ndarray (b,) float64
        Net mass of good produced [t], >= 0.
    product : ndarray (b,) int64
        Index into :class:`Products`.
    """

    ids: tuple[str, ...]
    numbers: tuple[str, ...]
    line: IntArray
    start_s: IntArray
    end_s: IntArray
    net_mass_t: FloatArray
    product: IntArray


@dataclass(frozen=True, slots=True)
class Precursors:
    """Precursors consumed by batches (Eq. 60: mass x SEE).

    Attributes
    ----------
    batch : ndarray (p,) int64
        Index into :class:`Batches`.
    mass_t : ndarray (p,) float64
        Precursor mass including losses and scrap [t].
    see_direct, see_indirect : ndarray (p,) float64
        Specific embedded emissions of the precursor [tCO2e/t].
    defaulted : ndarray (p,) bool
        A default value was used because the actual one is unknown.
    refs : tuple of str (p,)
    """

    batch: IntArray
    mass_t: FloatArray
    see_direct: FloatArray
    see_indirect: FloatArray
    defaulted: BoolArray
    refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Products:
    """Products (goods by CN code) the batches make.

    Attributes
    ----------
    ids, codes, cn_codes : tuple of str (q,)
    indirect_counts : ndarray (q,) bool
        Indirect emissions count for the CBAM obligation (False for aluminium, iron and steel,
        hydrogen: [REG956] Art. 7(1), Annex II).
    default_see_direct, default_see_indirect : ndarray (q,) float64
        Default SEE with the year's mark-up [tCO2e/t]; NaN when there is none.
    default_refs : tuple of str (q,)
    """

    ids: tuple[str, ...]
    codes: tuple[str, ...]
    cn_codes: tuple[str, ...]
    indirect_counts: BoolArray
    default_see_direct: FloatArray
    default_see_indirect: FloatArray
    default_refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SupplySources:
    """Electricity supply that may be matched to consumption (PPA, own generation, direct link).

    Attributes
    ----------
    ids : tuple of str (s,)
    kinds : tuple of str (s,)
        ``"ppa"``, ``"own_generation"`` or ``"direct_link"``.
    energy_kwh : ndarray (s, n) float64
        Energy delivered per grid interval [kWh]; NaN = missing (counted as 0).
    native_resolution_s : ndarray (s,) int64
        Resolution the source's data really has [s]; matching finer than that is refused.
    actual_factor : ndarray (s,) float64
        Actual emission factor [tCO2e/MWh] (0 for wind, solar, hydro).
    eligible : ndarray (s,) bool
        Definitive-period conditions for the actual factor are met ([IR2547] Annex II D.4.3).
    tiers : tuple of str (s,)
        Evidence tier code per source.
    dedicated_line : ndarray (s,) int64
        -1: shared pool; >= 0: a direct technical link dedicated to that line.
    factor_refs : tuple of str (s,)
    """

    ids: tuple[str, ...]
    kinds: tuple[str, ...]
    energy_kwh: FloatArray
    native_resolution_s: IntArray
    actual_factor: FloatArray
    eligible: BoolArray
    tiers: tuple[str, ...]
    dedicated_line: IntArray
    factor_refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GridFactor:
    """Country default emission factor of grid electricity ([IR2621] Annex II) [tCO2e/MWh]."""

    value: float
    ref: str


@dataclass(frozen=True, slots=True)
class CalculationInputs:
    """Everything one calculation reads.

    Attributes
    ----------
    grid, meters, fuels, lines, batches, precursors, products, supply, grid_factor
        See the classes.
    period_start_s, period_end_s : int
        Reporting period ``[start, end)`` [s since epoch, UTC]; ``end > start``.
    """

    grid: Grid
    meters: ElectricityMeters
    fuels: FuelMeters
    lines: Lines
    batches: Batches
    precursors: Precursors
    products: Products
    supply: SupplySources
    grid_factor: GridFactor
    period_start_s: int
    period_end_s: int


@dataclass(frozen=True, slots=True)
class CalculationParameters:
    """Choices of the calculation (recorded with every result).

    Attributes
    ----------
    matching_resolution : str
        Bucket at which supply is matched to consumption: ``"interval"``, ``"hour"`` (default),
        ``"day"``, ``"month"`` or ``"year"`` (local calendar).
    certificate_price_eur_per_t : float
        CBAM certificate price used for the default-against-actual comparison [EUR/tCO2e].
    methodology_version : str
        Must be ``"1"``.
    only_batches : tuple of str, optional
        Report only these batch ids (provisional footprints); the allocation still uses all.
    """

    matching_resolution: str = "hour"
    certificate_price_eur_per_t: float = 75.0
    methodology_version: str = CALCULATION_METHODOLOGY_VERSION
    only_batches: tuple[str, ...] | None = None


# -------------------------------------------------------------------------------------------- outputs


@dataclass(frozen=True, slots=True)
class CalculationWarning:
    """Something the user should know about a result; ``code`` is stable, ``message`` names the data."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class BatchResults:
    """Per reported batch (``r`` rows, in input order, limited by ``only_batches``).

    Attributes
    ----------
    index : ndarray (r,) int64
        Row of the batch in :class:`Batches`.
    ids : tuple of str (r,)
    net_mass_t : ndarray (r,) float64
    energy_kwh : ndarray (r,) float64
        ``line_kwh + overhead_kwh + idle_kwh`` [kWh].
    line_kwh, overhead_kwh, idle_kwh : ndarray (r,) float64
        Share of the line meters, of overhead while lines ran, of idle overhead pooled per day.
    matched_kwh : ndarray (r,) float64
        Energy matched with supply sources [kWh].
    matched_by_source_kwh : ndarray (r, s) float64
    direct_tco2 : ndarray (r,) float64
        Fuel combustion emissions attributed (Eqs. 5-6) [tCO2e].
    precursor_direct_tco2, precursor_indirect_tco2 : ndarray (r,) float64
        Eq. 60 [tCO2e].
    indirect_tco2 : ndarray (r,) float64
        Eq. 35 with the actual factor for eligible matched kWh, the grid default otherwise [tCO2e].
    indirect_actual_tco2, indirect_default_tco2 : ndarray (r,) float64
        The two parts of ``indirect_tco2``.
    measured_share, estimated_share, missing_share : ndarray (r,) float64
        Time-weighted share of the meter intervals behind the batch by status (sum 1, NaN when
        the batch overlaps no interval).
    precursor_defaulted : ndarray (r,) bool
    """

    index: IntArray
    ids: tuple[str, ...]
    net_mass_t: FloatArray
    energy_kwh: FloatArray
    line_kwh: FloatArray
    overhead_kwh: FloatArray
    idle_kwh: FloatArray
    matched_kwh: FloatArray
    matched_by_source_kwh: FloatArray
    direct_tco2: FloatArray
    precursor_direct_tco2: FloatArray
    precursor_indirect_tco2: FloatArray
    indirect_tco2: FloatArray
    indirect_actual_tco2: FloatArray
    indirect_default_tco2: FloatArray
    measured_share: FloatArray
    estimated_share: FloatArray
    missing_share: FloatArray
    precursor_defaulted: BoolArray


@dataclass(frozen=True, slots=True)
class ProductResults:
    """Per product (``q`` rows) over the reported batches; also used for the overall row.

    SEE are unrounded [tCO2e/t]; rounding to 5 decimals happens only when presenting.

    Attributes
    ----------
    ids : tuple of str (q,)
    net_mass_t : ndarray (q,)
        Activity level AL_g [t].
    energy_kwh, matched_kwh : ndarray (q,)
    electricity_mwh_per_t : ndarray (q,)
    direct_tco2, indirect_tco2, precursor_direct_tco2, precursor_indirect_tco2 : ndarray (q,)
    see_direct : ndarray (q,)
        ``(direct + precursor direct) / AL`` (Eqs. 57, 59, 60).
    see_indirect : ndarray (q,)
        ``(indirect + precursor indirect) / AL`` (Eqs. 58, 59, 60).
    see_total : ndarray (q,)
    see_obligation : ndarray (q,)
        ``see_direct`` plus ``see_indirect`` where indirect emissions count ([REG956] Art. 7(1)).
    indirect_counts : ndarray (q,) bool
    default_see_direct, default_see_indirect, default_see_obligation : ndarray (q,)
        NaN when no default exists.
    exposure_actual_eur, exposure_default_eur : ndarray (q,)
        ``see_obligation x AL x price`` and the same with the default.
    precursor_defaulted : ndarray (q,) bool
    energy_by_line_kwh : ndarray (q, l)
    matched_by_source_kwh : ndarray (q, s)
    emissions_by_factor_tco2 : ndarray (q, f)
        Columns follow :attr:`CalculationResult.factor_refs`.
    matched_by_tier_kwh : ndarray (q, k)
        Columns follow :attr:`CalculationResult.tiers`.
    measured_share, estimated_share, missing_share : ndarray (q,)
        Time-weighted over the meter intervals behind the product's batches.
    defaulted_share : ndarray (q,)
        Share of the total embedded emissions that comes from defaulted precursor values.
    """

    ids: tuple[str, ...]
    net_mass_t: FloatArray
    energy_kwh: FloatArray
    matched_kwh: FloatArray
    electricity_mwh_per_t: FloatArray
    direct_tco2: FloatArray
    indirect_tco2: FloatArray
    precursor_direct_tco2: FloatArray
    precursor_indirect_tco2: FloatArray
    see_direct: FloatArray
    see_indirect: FloatArray
    see_total: FloatArray
    see_obligation: FloatArray
    indirect_counts: BoolArray
    default_see_direct: FloatArray
    default_see_indirect: FloatArray
    default_see_obligation: FloatArray
    exposure_actual_eur: FloatArray
    exposure_default_eur: FloatArray
    precursor_defaulted: BoolArray
    energy_by_line_kwh: FloatArray
    matched_by_source_kwh: FloatArray
    emissions_by_factor_tco2: FloatArray
    matched_by_tier_kwh: FloatArray
    measured_share: FloatArray
    estimated_share: FloatArray
    missing_share: FloatArray
    defaulted_share: FloatArray


@dataclass(frozen=True, slots=True)
class MatchingScores:
    """Matched share of consumption ``sum_B min(C_B, S_B) / sum C`` per bucket size (None: not allowed)."""

    interval: float | None
    hour: float | None
    day: float | None
    month: float | None
    year: float | None

    def as_dict(self) -> dict[str, float | None]:
        """Scores by resolution name."""
        return {"interval": self.interval, "hour": self.hour, "day": self.day, "month": self.month, "year": self.year}


@dataclass(frozen=True, slots=True)
class Ledger:
    """Supply used per matching bucket and source; each kWh of supply is used at most once.

    Attributes
    ----------
    bucket_start_s : ndarray (k,) int64
        UTC start of the bucket's first interval.
    source : ndarray (k,) int64
        Index into :class:`SupplySources`.
    supplied_kwh, used_kwh : ndarray (k,) float64
        Supply of the source in the bucket and the part matched (``used <= supplied``).
    """

    bucket_start_s: IntArray
    source: IntArray
    supplied_kwh: FloatArray
    used_kwh: FloatArray


@dataclass(frozen=True, slots=True)
class IdleDays:
    """Local days with idle overhead (intervals where no line with a batch drew energy).

    Attributes
    ----------
    local_date_days : ndarray (d,) int64
        Local date as days since 1970-01-01.
    idle_kwh : ndarray (d,) float64
    allocated : ndarray (d,) bool
        False: no batch overlapped the day, the energy stays unallocated.
    """

    local_date_days: IntArray
    idle_kwh: FloatArray
    allocated: BoolArray


@dataclass(frozen=True, slots=True)
class InstallationResults:
    """Installation-level figures.

    Attributes
    ----------
    consumption_kwh : float
        ``sum_t C_t`` [kWh].
    consumption_by_interval_kwh : ndarray (n,)
    allocated_kwh, unallocated_kwh : float
        ``allocated + unallocated == consumption`` (up to float rounding).
    direct_tco2, direct_unallocated_tco2 : float
        Fuel combustion emissions of the grid and the part no batch carries.
    matched_kwh : float
        Supply matched at the chosen resolution [kWh].
    unallocated_matched_kwh : float
        Part of ``matched_kwh`` in unallocated idle overhead.
    idle_days : IdleDays
    fallback_intervals : ndarray int64
        Intervals where C_t is the sum of the sub-meters (a main meter had no value).
    unmetered_kwh : float
        ``sum_t (C_t - sum subs)``.
    negative_unmetered_intervals : ndarray int64
    missing_intervals_by_meter : ndarray (m,) int64
    line_energy_kwh : ndarray (l, n)
    matched_fraction : ndarray (n,)
        f of the bucket each interval belongs to (shared pool), at the chosen resolution.
    scores : MatchingScores
    ledger : Ledger
    """

    consumption_kwh: float
    consumption_by_interval_kwh: FloatArray
    allocated_kwh: float
    unallocated_kwh: float
    direct_tco2: float
    direct_unallocated_tco2: float
    matched_kwh: float
    unallocated_matched_kwh: float
    idle_days: IdleDays
    fallback_intervals: IntArray
    unmetered_kwh: float
    negative_unmetered_intervals: IntArray
    missing_intervals_by_meter: IntArray
    line_energy_kwh: FloatArray
    matched_fraction: FloatArray
    scores: MatchingScores
    ledger: Ledger


@dataclass(frozen=True, slots=True)
class CalculationResult:
    """Result of :func:`workers.engine.calculation.calculate`; arrays are read-only.

    Attributes
    ----------
    methodology_version : str
    matching_resolution : str
    batches : BatchResults
    products : ProductResults
    overall : ProductResults
        One row (id ``"*"``) over all reported batches.
    installation : InstallationResults
    factor_refs : tuple of str
        Columns of ``emissions_by_factor_tco2``: the grid factor, each supply source's factor,
        each fuel meter's factor, then precursor references, de-duplicated in that order.
    tiers : tuple of str
        Columns of ``matched_by_tier_kwh``, sorted.
    warnings : tuple of CalculationWarning
    """

    methodology_version: str
    matching_resolution: str
    batches: BatchResults
    products: ProductResults
    overall: ProductResults
    installation: InstallationResults
    factor_refs: tuple[str, ...]
    tiers: tuple[str, ...]
    warnings: tuple[CalculationWarning, ...] = field(default_factory=tuple)

    def output_digest(self) -> str:
        """SHA-256 hex of the canonical encoding of every output (see :mod:`.digest`)."""
        from workers.engine.calculation.digest import result_digest

        return result_digest(self)


# ----------------------------------------------------------------------------------------- validation


def resolution_length_s(resolution: str, grid_resolution_s: int) -> int:
    """Longest native data resolution a matching bucket can take [s].

    A source whose data is coarser than the bucket (e.g. monthly PPA statements) cannot be
    matched per hour: ``interval`` needs the grid resolution, ``hour`` 3600 s, ``day`` 86400 s,
    ``month`` 31 days, ``year`` 366 days.
    """
    lengths = {
        "interval": int(grid_resolution_s),
        "hour": 3600,
        "day": SECONDS_PER_DAY,
        "month": 31 * SECONDS_PER_DAY,
        "year": 366 * SECONDS_PER_DAY,
    }
    return lengths[resolution]


def _fail(code: str, message: str) -> CalculationInputError:
    return CalculationInputError(code, message)


def _array(value: object, name: str, kind: str, shape: tuple[int, ...]) -> None:
    if not isinstance(value, np.ndarray):
        raise _fail("not_an_array", f"{name} must be a numpy array, got {type(value).__name__}")
    kinds = {"f": "fc", "i": "iu", "b": "b", "u": "iu"}[kind]
    if kind == "f" and value.dtype.kind in "iu":
        kinds = "fciu"
    if value.dtype.kind not in kinds:
        expected = {"f": "float", "i": "integer", "u": "integer", "b": "bool"}[kind]
        raise _fail("bad_dtype", f"{name} has dtype {value.dtype}, expected {expected}")
    if value.shape != shape:
        raise _fail("shape_mismatch", f"{name} has shape {value.shape}, expected {shape}")


def _strings(value: object, name: str, size: int) -> None:
    if not isinstance(value, tuple) or not set(map(type, value)) <= {str}:
        raise _fail("not_strings", f"{name} must be a tuple of str")
    if len(value) != size:
        raise _fail("shape_mismatch", f"{name} has {len(value)} entries, expected {size}")


def _index(values: IntArray, name: str, size: int, *, allow_none: bool) -> None:
    if values.size == 0:
        return
    low = -1 if allow_none else 0
    bad = (values < low) | (values >= size)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail("bad_reference", f"{name}[{i}]={int(values[i])} is outside {low}..{size - 1}")


def _finite_nonneg(values: FloatArray, name: str, *, allow_nan: bool = False, code: str = "negative_value") -> None:
    if values.size == 0:
        return
    if not allow_nan and np.isnan(values).any():
        i = int(np.flatnonzero(np.isnan(values))[0])
        raise _fail("not_finite", f"{name}[{i}] is NaN")
    if np.isinf(values).any():
        raise _fail("not_finite", f"{name} contains an infinite value")
    neg = values < 0
    if neg.any():
        i = int(np.flatnonzero(neg.ravel())[0])
        raise _fail(code, f"{name} has a negative value at flat position {i}: {values.ravel()[i]!r}")


def _status(values: StatusArray, name: str) -> None:
    if values.size and (int(values.min()) < 0 or int(values.max()) > _STATUS_MAX):
        raise _fail("bad_status", f"{name} contains codes outside 0..{_STATUS_MAX} (IntervalStatus)")


def _unique(values: tuple[str, ...], name: str) -> None:
    if len(set(values)) != len(values):
        seen: set[str] = set()
        dup = next(v for v in values if v in seen or seen.add(v))  # type: ignore[func-returns-value]
        raise _fail("duplicate_id", f"{name} contains {dup!r} twice")


def validate_inputs(inputs: CalculationInputs, parameters: CalculationParameters) -> None:
    """Check the inputs and parameters of a calculation.

    Parameters
    ----------
    inputs : CalculationInputs
    parameters : CalculationParameters

    Raises
    ------
    CalculationInputError
        With ``code`` one of ``unknown_resolution``, ``bad_grid``, ``bad_period``,
        ``shape_mismatch``, ``bad_dtype``, ``not_an_array``, ``not_strings``, ``bad_reference``,
        ``bad_role``, ``bad_kind``, ``bad_status``, ``negative_mass``, ``negative_value``,
        ``not_finite``, ``bad_interval`` (batch ``end <= start``), ``bad_factor``,
        ``duplicate_id``, ``unknown_batch``, ``unknown_methodology``, ``resolution_too_fine``,
        ``bad_price``; the message names the field.
    """
    p = parameters
    if p.methodology_version != CALCULATION_METHODOLOGY_VERSION:
        raise _fail(
            "unknown_methodology",
            f"parameters.methodology_version={p.methodology_version!r}; this engine implements "
            f"{CALCULATION_METHODOLOGY_VERSION!r}",
        )
    if p.matching_resolution not in MATCHING_RESOLUTIONS:
        raise _fail(
            "unknown_resolution",
            f"parameters.matching_resolution={p.matching_resolution!r} is not one of {MATCHING_RESOLUTIONS}",
        )
    price = p.certificate_price_eur_per_t
    if not isinstance(price, int | float) or not np.isfinite(price) or price < 0:
        raise _fail("bad_price", f"parameters.certificate_price_eur_per_t={price!r} must be a finite number >= 0")

    g = inputs.grid
    if not isinstance(g.resolution_s, int | np.integer) or int(g.resolution_s) not in ALLOWED_RESOLUTIONS_S:
        raise _fail("unknown_resolution", f"grid.resolution_s={g.resolution_s!r} is not one of {ALLOWED_RESOLUTIONS_S}")
    if int(g.grid_start_s) % SECONDS_PER_DAY != 0:
        raise _fail("bad_grid", f"grid.grid_start_s={g.grid_start_s} is not a UTC midnight")
    if not isinstance(g.utc_offsets_s, np.ndarray) or g.utc_offsets_s.ndim != 1:
        raise _fail("shape_mismatch", "grid.utc_offsets_s must be a 1-D array, one offset per interval")
    if g.utc_offsets_s.dtype.kind not in "iu":
        raise _fail("bad_dtype", f"grid.utc_offsets_s has dtype {g.utc_offsets_s.dtype}, expected integer seconds")
    n = g.n
    if n and int(np.abs(g.utc_offsets_s).max()) > _MAX_OFFSET_S:
        raise _fail("bad_grid", "grid.utc_offsets_s has an offset beyond +-18 h")
    if int(inputs.period_end_s) <= int(inputs.period_start_s):
        raise _fail(
            "bad_period",
            f"period_end_s={inputs.period_end_s} must be after period_start_s={inputs.period_start_s}",
        )

    lines = inputs.lines
    n_lines = len(lines.ids)
    _strings(lines.ids, "lines.ids", n_lines)
    _strings(lines.codes, "lines.codes", n_lines)
    _unique(lines.ids, "lines.ids")

    m = inputs.meters
    n_m = len(m.ids)
    _strings(m.ids, "meters.ids", n_m)
    _unique(m.ids, "meters.ids")
    _strings(m.codes, "meters.codes", n_m)
    _strings(m.role, "meters.role", n_m)
    for i, role in enumerate(m.role):
        if role not in ELECTRICITY_ROLES:
            raise _fail("bad_role", f"meters.role[{i}]={role!r} is not one of {ELECTRICITY_ROLES}")
    _array(m.line, "meters.line", "i", (n_m,))
    _index(m.line, "meters.line", n_lines, allow_none=True)
    _array(m.energy_kwh, "meters.energy_kwh", "f", (n_m, n))
    if np.isinf(m.energy_kwh).any():
        raise _fail("not_finite", "meters.energy_kwh contains an infinite value")
    _array(m.status, "meters.status", "u", (n_m, n))
    _status(m.status, "meters.status")

    f = inputs.fuels
    n_f = len(f.ids)
    _strings(f.ids, "fuels.ids", n_f)
    _unique(f.ids, "fuels.ids")
    _strings(f.codes, "fuels.codes", n_f)
    _strings(f.factor_refs, "fuels.factor_refs", n_f)
    _array(f.line, "fuels.line", "i", (n_f,))
    _index(f.line, "fuels.line", n_lines, allow_none=True)
    _array(f.quantity, "fuels.quantity", "f", (n_f, n))
    _finite_nonneg(f.quantity, "fuels.quantity", allow_nan=True)
    _array(f.status, "fuels.status", "u", (n_f, n))
    _status(f.status, "fuels.status")
    for name in ("ncv_tj_per_unit", "ef_tco2_per_tj", "oxidation_factor"):
        values = getattr(f, name)
        _array(values, f"fuels.{name}", "f", (n_f,))
        _finite_nonneg(values, f"fuels.{name}", code="bad_factor")
    if n_f and ((f.oxidation_factor <= 0) | (f.oxidation_factor > 1)).any():
        raise _fail("bad_factor", "fuels.oxidation_factor must be more than 0 and at most 1")

    b = inputs.batches
    n_b = len(b.ids)
    _strings(b.ids, "batches.ids", n_b)
    _unique(b.ids, "batches.ids")
    _strings(b.numbers, "batches.numbers", n_b)
    for name in ("line", "start_s", "end_s", "product"):
        _array(getattr(b, name), f"batches.{name}", "i", (n_b,))
    _array(b.net_mass_t, "batches.net_mass_t", "f", (n_b,))
    _finite_nonneg(b.net_mass_t, "batches.net_mass_t", code="negative_mass")
    _index(b.line, "batches.line", n_lines, allow_none=True)
    bad = b.end_s <= b.start_s
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(
            "bad_interval",
            f"batches.end_s[{i}]={int(b.end_s[i])} must be after batches.start_s[{i}]={int(b.start_s[i])} "
            f"(batch {b.numbers[i]!r})",
        )

    q = inputs.products
    n_q = len(q.ids)
    _index(b.product, "batches.product", n_q, allow_none=False)
    _strings(q.ids, "products.ids", n_q)
    _unique(q.ids, "products.ids")
    for name in ("codes", "cn_codes", "default_refs"):
        _strings(getattr(q, name), f"products.{name}", n_q)
    _array(q.indirect_counts, "products.indirect_counts", "b", (n_q,))
    for name in ("default_see_direct", "default_see_indirect"):
        _array(getattr(q, name), f"products.{name}", "f", (n_q,))
        _finite_nonneg(getattr(q, name), f"products.{name}", allow_nan=True)

    pr = inputs.precursors
    n_p = int(pr.batch.shape[0]) if isinstance(pr.batch, np.ndarray) else -1
    _array(pr.batch, "precursors.batch", "i", (max(n_p, 0),))
    _index(pr.batch, "precursors.batch", n_b, allow_none=False)
    _array(pr.mass_t, "precursors.mass_t", "f", (n_p,))
    _finite_nonneg(pr.mass_t, "precursors.mass_t", code="negative_mass")
    for name in ("see_direct", "see_indirect"):
        _array(getattr(pr, name), f"precursors.{name}", "f", (n_p,))
        _finite_nonneg(getattr(pr, name), f"precursors.{name}")
    _array(pr.defaulted, "precursors.defaulted", "b", (n_p,))
    _strings(pr.refs, "precursors.refs", n_p)

    s = inputs.supply
    n_s = len(s.ids)
    _strings(s.ids, "supply.ids", n_s)
    _unique(s.ids, "supply.ids")
    _strings(s.kinds, "supply.kinds", n_s)
    for i, kind in enumerate(s.kinds):
        if kind not in SUPPLY_KINDS:
            raise _fail("bad_kind", f"supply.kinds[{i}]={kind!r} is not one of {SUPPLY_KINDS}")
    _strings(s.tiers, "supply.tiers", n_s)
    _strings(s.factor_refs, "supply.factor_refs", n_s)
    _array(s.energy_kwh, "supply.energy_kwh", "f", (n_s, n))
    _finite_nonneg(s.energy_kwh, "supply.energy_kwh", allow_nan=True)
    _array(s.native_resolution_s, "supply.native_resolution_s", "i", (n_s,))
    if n_s and (s.native_resolution_s <= 0).any():
        raise _fail("bad_grid", "supply.native_resolution_s must be more than 0 s")
    _array(s.actual_factor, "supply.actual_factor", "f", (n_s,))
    _finite_nonneg(s.actual_factor, "supply.actual_factor", code="bad_factor")
    _array(s.eligible, "supply.eligible", "b", (n_s,))
    _array(s.dedicated_line, "supply.dedicated_line", "i", (n_s,))
    _index(s.dedicated_line, "supply.dedicated_line", n_lines, allow_none=True)

    gf = inputs.grid_factor.value
    if not isinstance(gf, int | float) or not np.isfinite(gf) or gf < 0:
        raise _fail("bad_factor", f"grid_factor.value={gf!r} must be a finite number >= 0 tCO2e/MWh")

    if p.only_batches is not None:
        known = set(b.ids)
        for batch_id in p.only_batches:
            if batch_id not in known:
                raise _fail("unknown_batch", f"parameters.only_batches names {batch_id!r}, which is not in batches.ids")

    needed = resolution_length_s(p.matching_resolution, int(g.resolution_s))
    too_fine = s.native_resolution_s > needed
    if n_s and too_fine.any():
        i = int(np.flatnonzero(too_fine)[0])
        raise _fail(
            "resolution_too_fine",
            f"parameters.matching_resolution={p.matching_resolution!r} is finer than the data of supply source "
            f"{s.ids[i]!r} (supply.native_resolution_s[{i}]={int(s.native_resolution_s[i])} s)",
        )
