"""Property tests of the calculation engine: conservation, score order, ledger caps, DST, digests."""

import itertools
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from tests.unit.engine.calculation.builders import T0, batches, fuels, inputs, meters, products, supply
from workers.engine.calculation import CalculationParameters, calculate, inputs_digest
from workers.engine.calculation.calendar import calendar_buckets

RESOLUTIONS = ("interval", "hour", "day", "month", "year")


def _plant(
    seed: int,
    *,
    n: int,
    resolution_s: int,
    negative_unmetered: bool,
    missing: bool,
    offsets=None,
    tile_batches: bool = False,
):
    """A random small plant: lines with sub-meters, auxiliaries, fuels, batches and supply sources."""
    rng = np.random.default_rng(seed)
    n_lines = int(rng.integers(1, 4))
    subs_line = [int(x) for x in rng.integers(-1, n_lines, int(rng.integers(1, 6)))]
    subs = rng.random((len(subs_line), n)) * 10 * (rng.random((len(subs_line), n)) > 0.2)
    unmetered = rng.random(n) * 5 - (4 if negative_unmetered else 0)
    main = subs.sum(axis=0) + unmetered
    energy = np.vstack([main, subs])
    if missing:
        energy[rng.random(energy.shape) < 0.05] = np.nan
    mt = meters(energy, ["main"] + ["sub"] * len(subs_line), [-1, *subs_line], status=rng.integers(0, 4, energy.shape))
    end = T0 + n * resolution_s
    spans, lines = [], []
    if tile_batches:
        cuts = np.unique(np.concatenate([[0, n * resolution_s], rng.integers(1, n * resolution_s, 6) // 60 * 60]))
        spans = [(T0 + int(a), T0 + int(b)) for a, b in itertools.pairwise(cuts)]
        lines = [0] * len(spans)
    else:
        for line in range(-1, n_lines):
            t = T0 - 3600 + int(rng.integers(0, 7200))
            while t < end and len(spans) < 12:
                length = int(rng.integers(1, 6 * resolution_s)) // 60 * 60 + 60
                spans.append((t, t + length))
                lines.append(line)
                t += length + int(rng.integers(0, 4 * resolution_s)) // 60 * 60
    if not spans:
        spans, lines = [(T0, T0 + resolution_s)], [0]
    bs = batches(spans, lines, (rng.random(len(spans)) * 5).tolist(), rng.integers(0, 2, len(spans)).tolist())
    n_sources = int(rng.integers(0, 4))
    sp = (
        supply(
            rng.random((n_sources, n)) * 15,
            native=[resolution_s] * n_sources,
            dedicated=[int(x) for x in rng.integers(-1, n_lines, n_sources)],
            eligible=[bool(x) for x in rng.integers(0, 2, n_sources)],
            factor=(rng.random(n_sources) * 0.5).tolist(),
            tiers=["A", "B", "A"][:n_sources],
        )
        if n_sources
        else None
    )
    fl = fuels(rng.random((2, n)), [0, -1], [0.048, 0.048], [56.1, 56.1])
    return inputs(
        n=n,
        resolution_s=resolution_s,
        offsets=offsets,
        meter_set=mt,
        batch_set=bs,
        n_lines=n_lines,
        supply_set=sp,
        fuel_set=fl,
        product_set=products(2, [False, True]),
    )


plants = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**32 - 1),
        "n": st.sampled_from([4, 24, 96, 200]),
        "resolution_s": st.sampled_from([900, 3600]),
        "negative_unmetered": st.booleans(),
        "missing": st.booleans(),
    }
)


@settings(max_examples=60, deadline=None)
@given(plant=plants, resolution=st.sampled_from(RESOLUTIONS))
def test_energy_fuel_and_matched_supply_are_conserved(plant, resolution):
    # given
    data = _plant(**plant)

    # when
    result = calculate(data, CalculationParameters(matching_resolution=resolution))

    # then
    inst = result.installation
    b = result.batches
    scale = np.abs(inst.consumption_by_interval_kwh).sum() + 1.0
    assert_allclose(b.energy_kwh.sum() + inst.unallocated_kwh, inst.consumption_kwh, rtol=1e-12, atol=1e-12 * scale)
    assert_allclose(b.line_kwh + b.overhead_kwh + b.idle_kwh, b.energy_kwh, rtol=1e-12, atol=1e-12 * scale)
    assert_allclose(b.direct_tco2.sum() + inst.direct_unallocated_tco2, inst.direct_tco2, rtol=1e-12, atol=1e-12)
    assert_allclose(
        b.matched_kwh.sum() + inst.unallocated_matched_kwh, inst.matched_kwh, rtol=1e-12, atol=1e-12 * scale
    )
    assert_allclose(b.matched_by_source_kwh.sum(axis=1), b.matched_kwh, rtol=1e-12, atol=1e-12 * scale)
    assert_allclose(inst.ledger.used_kwh.sum(), inst.matched_kwh, rtol=1e-12, atol=1e-12 * scale)
    shares = b.measured_share + b.estimated_share + b.missing_share
    assert_allclose(shares[~np.isnan(shares)], 1.0, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(plant=plants)
def test_scores_grow_with_the_bucket_and_stay_within_zero_and_one(plant):
    # given: no negative unmetered energy (consumption at least the line energy)
    data = _plant(**{**plant, "negative_unmetered": False})

    # when
    scores = calculate(data, CalculationParameters()).installation.scores

    # then
    values = [scores.interval, scores.hour, scores.day, scores.month, scores.year]
    assert all(v is not None for v in values)
    for finer, coarser in itertools.pairwise(values):
        assert 0.0 <= finer <= coarser + 1e-12 <= 1.0 + 2e-12


@settings(max_examples=60, deadline=None)
@given(plant=plants, resolution=st.sampled_from(RESOLUTIONS))
def test_supply_used_never_exceeds_supply_per_source_and_bucket(plant, resolution):
    # given
    data = _plant(**{**plant, "negative_unmetered": False})

    # when
    result = calculate(data, CalculationParameters(matching_resolution=resolution))

    # then
    ledger = result.installation.ledger
    assert (ledger.used_kwh >= 0).all()
    assert (ledger.used_kwh <= ledger.supplied_kwh * (1 + 1e-12) + 1e-12).all()
    # and never more than the consumption of the bucket
    buckets = calendar_buckets(data.grid).at(resolution)
    consumption = np.bincount(
        buckets.index, weights=result.installation.consumption_by_interval_kwh, minlength=buckets.k
    )
    row_bucket = np.searchsorted(buckets.start_s, ledger.bucket_start_s)
    assert_array_equal(buckets.start_s[row_bucket], ledger.bucket_start_s)
    used = np.bincount(row_bucket, weights=ledger.used_kwh, minlength=buckets.k)
    assert (used <= np.maximum(consumption, 0) * (1 + 1e-12) + 1e-9).all()
    assert (result.batches.matched_kwh <= np.abs(result.batches.energy_kwh) * (1 + 1e-12) + 1e-9).all()


def _spring_forward_offsets(n: int, resolution_s: int, at: int) -> np.ndarray:
    hour_aligned = at - at % (3600 // resolution_s)
    return np.where(np.arange(n) < hour_aligned, 3600, 7200).astype(np.int64)


@settings(max_examples=40, deadline=None)
@given(plant=plants, resolution=st.sampled_from(["interval", "hour"]), at=st.integers(0, 199))
def test_batch_results_do_not_depend_on_dst_when_no_day_pooling_is_involved(plant, resolution, at):
    # given: the same UTC data under a constant offset and under a spring-forward change; batches tile the
    # grid on one line that always draws energy, so no interval is idle and nothing is pooled per local day.
    # Local hours of whole-hour offsets are UTC hours, so hour buckets are the same too.
    n, res = plant["n"], plant["resolution_s"]
    base = _plant(**{**plant, "tile_batches": True, "missing": False}, offsets=np.full(n, 3600, np.int64))
    line0 = np.array([r == "sub" for r in base.meters.role]) & (base.meters.line == 0)
    energy = base.meters.energy_kwh.copy()
    energy[np.flatnonzero(line0)[:1]] += 1.0  # line 0 always draws something
    energy[0] = np.nansum(energy[1:], axis=0) + 1.0
    base = replace(base, meters=replace(base.meters, energy_kwh=energy))
    if not line0.any():
        return
    shifted = replace(base, grid=replace(base.grid, utc_offsets_s=_spring_forward_offsets(n, res, at % n)))

    # when
    a = calculate(base, CalculationParameters(matching_resolution=resolution))
    b = calculate(shifted, CalculationParameters(matching_resolution=resolution))

    # then
    for name in (
        "energy_kwh",
        "line_kwh",
        "overhead_kwh",
        "idle_kwh",
        "matched_kwh",
        "direct_tco2",
        "indirect_tco2",
        "matched_by_source_kwh",
    ):
        assert_allclose(getattr(a.batches, name), getattr(b.batches, name), rtol=1e-12, atol=1e-12)
    assert_allclose(a.batches.idle_kwh, 0.0, atol=0)
    assert a.installation.scores.hour == b.installation.scores.hour
    assert a.installation.scores.interval == b.installation.scores.interval


@settings(max_examples=30, deadline=None)
@given(plant=plants)
def test_same_inputs_give_the_same_digests_and_a_changed_input_another(plant):
    # given
    data = _plant(**plant)
    again = _plant(**plant)
    params = CalculationParameters()

    # when
    first = calculate(data, params)
    second = calculate(again, params)

    # then
    assert inputs_digest(data, params) == inputs_digest(again, params)
    assert first.output_digest() == second.output_digest()
    heavier = replace(data, batches=replace(data.batches, net_mass_t=data.batches.net_mass_t + 1.0))
    assert inputs_digest(heavier, params) != inputs_digest(data, params)
    assert calculate(heavier, params).output_digest() != first.output_digest()
    assert inputs_digest(data, CalculationParameters(matching_resolution="day")) != inputs_digest(data, params)


def test_digest_ignores_the_last_bits_and_negative_zero():
    # given: values with few decimals, so one ulp never crosses a 12th significant digit
    data = _plant(seed=7, n=24, resolution_s=3600, negative_unmetered=False, missing=False)
    energy = np.round(data.meters.energy_kwh, 4)
    data = replace(data, meters=replace(data.meters, energy_kwh=energy))
    nudged = replace(data, meters=replace(data.meters, energy_kwh=np.nextafter(energy, np.inf)))
    zeros = energy.copy()
    zeros[zeros == 0] = -0.0
    signed = replace(data, meters=replace(data.meters, energy_kwh=zeros))
    params = CalculationParameters()

    # then
    assert (zeros == 0).any()
    assert inputs_digest(data, params) == inputs_digest(nudged, params)
    assert inputs_digest(data, params) == inputs_digest(signed, params)
    assert calculate(data, params).output_digest() == calculate(signed, params).output_digest()


def test_docstring_examples_of_the_calculation_modules_run():
    import doctest
    import importlib
    import pathlib

    import workers.engine.calculation as package

    for path in sorted(pathlib.Path(package.__file__).parent.glob("*.py")):
        module = importlib.import_module(f"workers.engine.calculation.{path.stem}")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, path.stem


@settings(max_examples=40, deadline=None)
@given(plant=plants, seed=st.integers(0, 2**32 - 1))
def test_conservation_holds_for_any_batches_even_overlapping_or_outside(plant, seed):
    # given: batches anywhere, overlapping on a line, without line, partly or wholly outside the grid
    data = _plant(**plant)
    rng = np.random.default_rng(seed)
    n, res = plant["n"], plant["resolution_s"]
    b = int(rng.integers(1, 15))
    start = T0 + rng.integers(-2 * res, (n + 2) * res, b)
    length = rng.integers(1, 8 * res, b)
    lines = rng.integers(-1, len(data.lines.ids), b)
    wild = batches(
        list(zip(start.tolist(), (start + length).tolist(), strict=True)),
        lines.tolist(),
        (rng.random(b) * 3).tolist(),
        rng.integers(0, 2, b).tolist(),
    )
    data = replace(data, batches=wild)

    # when
    result = calculate(data, CalculationParameters(matching_resolution="day"))

    # then
    inst = result.installation
    scale = np.abs(inst.consumption_by_interval_kwh).sum() + 1.0
    assert_allclose(
        result.batches.energy_kwh.sum() + inst.unallocated_kwh, inst.consumption_kwh, rtol=1e-12, atol=1e-12 * scale
    )
    assert_allclose(
        result.batches.matched_kwh.sum() + inst.unallocated_matched_kwh,
        inst.matched_kwh,
        rtol=1e-12,
        atol=1e-12 * scale,
    )


@settings(max_examples=30, deadline=None)
@given(plant=plants, pick=st.integers(0, 2**32 - 1))
def test_reporting_a_subset_gives_the_same_batch_figures_as_the_full_run(plant, pick):
    # given
    data = _plant(**plant)
    ids = data.batches.ids
    chosen = tuple(i for k, i in enumerate(ids) if (pick >> (k % 32)) & 1) or ids[:1]

    # when
    full = calculate(data, CalculationParameters())
    part = calculate(data, CalculationParameters(only_batches=chosen))

    # then
    rows = part.batches.index
    assert part.batches.ids == tuple(ids[i] for i in rows.tolist())
    for name in ("energy_kwh", "matched_kwh", "direct_tco2", "indirect_tco2", "matched_by_source_kwh"):
        assert_array_equal(getattr(part.batches, name), getattr(full.batches, name)[rows])
    assert part.installation.consumption_kwh == full.installation.consumption_kwh
