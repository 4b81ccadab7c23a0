"""Reproducibility digests (workers/engine/hashing.py)."""

import numpy as np
import pytest

from workers.engine.counters import interval_energy_from_counters
from workers.engine.hashing import array_digest


def _arrays():
    energy = np.linspace(0.0, 10.0, 96)
    status = np.zeros(96, dtype=np.uint8)
    flags = np.arange(96, dtype=np.uint16)
    return energy, status, flags


def test_same_inputs_same_digest_regardless_of_layout_and_byte_order():
    # given
    energy, status, flags = _arrays()
    matrix = energy.reshape(8, 12)

    # when / then
    assert array_digest(energy, status, flags) == array_digest(energy.copy(), status.copy(), flags.copy())
    assert array_digest(matrix) == array_digest(np.asfortranarray(matrix))
    assert array_digest(energy) == array_digest(energy.astype(">f8"))


def test_one_changed_bit_changes_the_digest():
    # given
    energy, status, flags = _arrays()
    flipped = energy.copy()
    flipped.view(np.uint64)[37] ^= np.uint64(1)  # last mantissa bit of one value

    # when / then
    assert array_digest(energy, status, flags) != array_digest(flipped, status, flags)


def test_dtype_shape_and_order_are_part_of_the_digest():
    # given
    energy, status, _ = _arrays()

    # when / then
    assert array_digest(energy) != array_digest(energy.reshape(8, 12))
    assert array_digest(status) != array_digest(status.astype(np.int8))
    assert array_digest(energy, status) != array_digest(status, energy)
    assert array_digest(energy) != array_digest(energy, np.zeros(0))


def test_nan_payloads_are_canonical():
    # given: 0/0 yields a NaN whose sign bit may differ from np.nan
    with np.errstate(invalid="ignore"):
        computed_nan = np.zeros(1) / np.zeros(1)
    signed_nan = np.array([np.nan])
    signed_nan.view(np.uint64)[0] |= np.uint64(1 << 63)

    # when / then
    assert array_digest(computed_nan) == array_digest(np.array([np.nan])) == array_digest(signed_nan)


def test_unsupported_arguments_raise():
    # when / then
    with pytest.raises(ValueError, match="not an ndarray"):
        array_digest([1.0, 2.0])
    with pytest.raises(ValueError, match="dtype"):
        array_digest(np.array(["a"], dtype=object))


def test_golden_digest_of_an_engine_result():
    # given: a fixed counter input on 2026-03-29: 1-min reads advancing 0.5 kWh (30 kW, exact in
    # binary floating point), one NaN read, a 20-min hole making intervals 1 to 3 MISSING
    day0 = 1_774_742_400
    ts = np.arange(day0 - 60, day0 + 4 * 900 + 61, 60, dtype=np.int64)
    counter = 1000.0 + 0.5 * np.arange(ts.shape[0])
    counter[7] = np.nan
    counter[(ts > day0 + 1740) & (ts < day0 + 2940)] = np.nan

    # when
    result = interval_energy_from_counters(ts, counter, grid_start_s=day0, n_intervals=4, resolution_s=900)
    digest = array_digest(result.energy_kwh, result.status, result.flags, result.boundary_energy_kwh)

    # then: pinned; a change means a methodology change (bump METHODOLOGY_VERSION) or a bug
    assert digest == GOLDEN


GOLDEN = "f5f75573f79c230589a3d0901ab4a21a28ef319c0136d22df0b7d9232c0a957b"
