"""Embedded emissions of production batches and products (calculation methodology version 1).

Pure numpy: metered electricity and fuel are allocated to batches, supply is matched to consumption
per calendar bucket, and specific embedded emissions (SEE) per product follow [IR2547] Annex III.
See ``docs/methodology/calculation.md``.
"""

from workers.engine.calculation.compute import calculate
from workers.engine.calculation.digest import inputs_digest
from workers.engine.calculation.model import (
    CALCULATION_METHODOLOGY_VERSION,
    MATCHING_RESOLUTIONS,
    Batches,
    BatchResults,
    CalculationInputError,
    CalculationInputs,
    CalculationParameters,
    CalculationResult,
    CalculationWarning,
    ElectricityMeters,
    FuelMeters,
    Grid,
    GridFactor,
    IdleDays,
    InstallationResults,
    Ledger,
    Lines,
    MatchingScores,
    Precursors,
    ProductResults,
    Products,
    SupplySources,
    validate_inputs,
)
from workers.engine.calculation.verification import materiality_threshold

__all__ = [
    "CALCULATION_METHODOLOGY_VERSION",
    "MATCHING_RESOLUTIONS",
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
    "MatchingScores",
    "Precursors",
    "ProductResults",
    "Products",
    "SupplySources",
    "calculate",
    "inputs_digest",
    "materiality_threshold",
    "validate_inputs",
]
