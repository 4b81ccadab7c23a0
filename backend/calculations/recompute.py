"""Recompute a calculation bundle and compare the result with the digest recorded in it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from backend.calculations.bundle import read_bundle
from workers.engine.calculation import CalculationResult, Products, calculate, inputs_digest

__all__ = ["DISPLAY_DECIMALS", "Recomputed", "display_rounded", "format_products", "recompute_bundle"]

DISPLAY_DECIMALS = 5
"""SEE are shown with at most 5 decimals ([IR2547] Annex II A.1 point 8); the digest uses full values."""


@dataclass(frozen=True, slots=True)
class Recomputed:
    """Outcome of recomputing a bundle.

    Attributes
    ----------
    output_digest : str
        Digest of the result computed now.
    expected_digest : str or None
        ``output_digest`` recorded in the manifest, if any.
    inputs_digest, recorded_inputs_digest : str, str or None
    result : CalculationResult
    products : Products
        The bundle's products, so that results can be shown by code and CN code.
    """

    output_digest: str
    expected_digest: str | None
    inputs_digest: str
    recorded_inputs_digest: str | None
    result: CalculationResult
    products: Products

    @property
    def matches(self) -> bool | None:
        """True or False when the manifest records a digest, None when it does not."""
        if self.expected_digest is None:
            return None
        return self.expected_digest == self.output_digest


def recompute_bundle(path: str | Path) -> Recomputed:
    """Read a bundle (checking every file's SHA-256), calculate, and compare digests.

    Raises
    ------
    BundleError
        The bundle cannot be read or a file was changed.
    """
    inputs, parameters, manifest = read_bundle(path)
    result = calculate(inputs, parameters)
    expected = manifest.get("output_digest")
    return Recomputed(
        output_digest=result.output_digest(),
        expected_digest=str(expected) if expected else None,
        inputs_digest=inputs_digest(inputs, parameters),
        recorded_inputs_digest=manifest.get("inputs_digest"),
        result=result,
        products=inputs.products,
    )


def display_rounded(value: float) -> str:
    """A value as shown: half-up to 5 decimals of its shortest decimal text (``0.003645`` -> ``0.00365``).

    [IR2547] Annex II A.1 point 8 allows at most 5 decimals for SEE but states no rounding method;
    half-up is ours. NaN (no value) is shown as ``-``.
    """
    if value != value:
        return "-"
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-DISPLAY_DECIMALS), rounding=ROUND_HALF_UP)
    return f"{rounded + 0:.{DISPLAY_DECIMALS}f}"


_cell = display_rounded


def format_products(result: CalculationResult, products: Products) -> str:
    """The per-product results as a plain-text table (SEE in tCO2e/t, rounded for display only)."""
    header = (
        "product",
        "cn_code",
        "net_mass_t",
        "mwh_per_t",
        "see_direct",
        "see_indirect",
        "see_total",
        "see_obligation",
        "default_obligation",
    )
    p = result.products
    rows = [header]
    label = dict(zip(products.ids, zip(products.codes, products.cn_codes, strict=True), strict=True))
    for q, product_id in enumerate(p.ids):
        code, cn_code = label.get(product_id, (product_id, "-"))
        rows.append(
            (
                code or product_id,
                cn_code or "-",
                _cell(float(p.net_mass_t[q])),
                _cell(float(p.electricity_mwh_per_t[q])),
                _cell(float(p.see_direct[q])),
                _cell(float(p.see_indirect[q])),
                _cell(float(p.see_total[q])),
                _cell(float(p.see_obligation[q])),
                _cell(float(p.default_see_obligation[q])),
            )
        )
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[c]) if c == 0 else cell.rjust(widths[c]) for c, cell in enumerate(row))
        for row in rows
    ]
    return "\n".join(lines)
