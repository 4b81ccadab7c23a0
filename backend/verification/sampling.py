"""Drawing a reproducible random sample: numpy's PCG64 from a recorded seed over a population in a
stable order.

Anyone holding the seed, the population size and the population in its stable order (see
``docs/verification.md``) draws the same items again::

    rng = numpy.random.Generator(numpy.random.PCG64(seed))
    indices = rng.choice(population_size, size=sample_size, replace=False)

``indices`` are positions in the population's order, in drawing order.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

import numpy as np

# numpy's SeedSequence takes any non-negative integer; 128 bits is what it draws itself
SEED_BITS = 128


def new_seed() -> int:
    """A fresh seed of 128 random bits."""
    return secrets.randbits(SEED_BITS)


def draw(population_size: int, sample_size: int, seed: int) -> list[int]:
    """Positions of ``sample_size`` distinct items of a population of ``population_size``, in drawing order.

    >>> draw(10, 3, 42) == draw(10, 3, 42)
    True
    """
    if not 0 <= seed < 2**SEED_BITS:
        raise ValueError(f"seed must be an integer in [0, 2**{SEED_BITS})")
    if not 0 < sample_size <= population_size:
        raise ValueError("sample size must be between 1 and the population size")
    rng = np.random.Generator(np.random.PCG64(seed))
    return [int(i) for i in rng.choice(population_size, size=sample_size, replace=False)]


def population_digest(lines: Iterable[str]) -> str:
    """SHA-256 (hex) of the population's description: one line per key, each ending in a newline."""
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


def materiality(amounts: Iterable[tuple[float, float | None]], share: float) -> tuple[float, float]:
    """In-scope total emissions [tCO2e] and the materiality threshold [tCO2e] at ``share`` of it.

    ``amounts`` are (net mass [t], specific embedded emissions [tCO2e/t]) per footprint version; a
    version without a total specific figure adds nothing.

    >>> materiality([(100.0, 2.0), (50.0, 4.0)], 0.05)
    (400.0, 20.0)
    """
    total = float(sum(mass * see for mass, see in amounts if see is not None))
    return total, total * share
