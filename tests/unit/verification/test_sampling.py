"""Sampling draws and materiality: pure functions."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from backend.verification import sampling


def test_the_same_seed_draws_the_same_positions_and_another_seed_others():
    # given / when
    first = sampling.draw(1000, 25, 20261203)
    again = sampling.draw(1000, 25, 20261203)
    other = sampling.draw(1000, 25, 20261204)
    # then
    assert first == again and first != other
    assert len(set(first)) == 25 and all(0 <= p < 1000 for p in first)


def test_a_draw_is_what_numpy_pcg64_gives_anyone():
    # the documented recipe (docs/verification.md), written out independently
    rng = np.random.Generator(np.random.PCG64(7))
    assert sampling.draw(50, 5, 7) == [int(i) for i in rng.choice(50, size=5, replace=False)]


def test_a_128_bit_seed_is_taken_and_a_larger_one_refused():
    seed = 2**128 - 1
    assert sampling.draw(10, 10, seed) == sampling.draw(10, 10, seed)
    assert sorted(sampling.draw(10, 10, seed)) == list(range(10))
    with pytest.raises(ValueError, match="seed"):
        sampling.draw(10, 1, 2**128)
    with pytest.raises(ValueError, match="seed"):
        sampling.draw(10, 1, -1)
    with pytest.raises(ValueError, match="sample size"):
        sampling.draw(3, 4, 1)
    assert 0 <= sampling.new_seed() < 2**128


def test_population_digest_depends_on_order():
    assert sampling.population_digest(["a", "b"]) != sampling.population_digest(["b", "a"])
    # sha256 of "a\nb\n"
    assert sampling.population_digest(["a", "b"]) == hashlib.sha256(b"a\nb\n").hexdigest()


def test_materiality_is_five_percent_of_mass_times_specific_emissions():
    # given: 100 t at 2.0 tCO2e/t and 50 t at 4.0 tCO2e/t (400 tCO2e), and a version without a total
    total, threshold = sampling.materiality([(100.0, 2.0), (50.0, 4.0), (10.0, None)], 0.05)
    # then
    assert total == pytest.approx(400.0)
    assert threshold == pytest.approx(20.0)
    assert sampling.materiality([], 0.05) == (0.0, 0.0)
