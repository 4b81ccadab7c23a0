"""Methodology version recorded with every engine run.

Bump the version whenever a rule in ``docs/methodology/interval-data.md`` changes in a way that can
change a number: a stored result is only reproducible together with the version that produced it.
"""

from typing import Final

METHODOLOGY_VERSION: Final[str] = "interval-vee/1.0"
"""Version of the interval validation, estimation and editing (VEE) rules implemented here."""
