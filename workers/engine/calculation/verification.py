"""Verification helpers: the materiality level of a reported SEE."""

from typing import Final

__all__ = ["MATERIALITY_LEVEL", "materiality_threshold"]

MATERIALITY_LEVEL: Final[float] = 0.05
"""5 % of the total specific embedded emissions per good ([IR2546] Art. 5)."""


def materiality_threshold(see_total: float, *, level: float = MATERIALITY_LEVEL) -> float:
    """Misstatement a verifier treats as material for one good [tCO2e/t].

    Parameters
    ----------
    see_total : float
        Reported total specific embedded emissions of the good [tCO2e/t].
    level : float
        Materiality level, 5 % by default ([IR2546] Art. 5).

    Returns
    -------
    float
        ``level * see_total``.

    Examples
    --------
    >>> round(materiality_threshold(2.0), 12)
    0.1
    """
    if see_total < 0:
        raise ValueError("see_total must be zero or more tCO2e/t")
    return level * see_total
