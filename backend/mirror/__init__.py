"""Mirror checks: an importer's plausibility checks of a supplier's published footprint (docs/mirror-checks.md).

The public surface: :func:`run_mirror_checks` with a :class:`MirrorContext` (build it with
:func:`load_context`), giving a :class:`MirrorReport` of :class:`CheckResult` s.
"""

from backend.mirror.checks import CHECK_CODES, run_mirror_checks
from backend.mirror.defaults import goods_default, grid_default, history_from_documents, load_context
from backend.mirror.errors import FootprintDocumentInvalid, MirrorContextInvalid
from backend.mirror.rules import IntensityRange, MirrorRules, default_rules
from backend.mirror.schemas import (
    CheckResult,
    GoodsDefault,
    GridDefault,
    HistoryPoint,
    MirrorContext,
    MirrorReport,
    Status,
    Unavailable,
)

__all__ = [
    "CHECK_CODES",
    "CheckResult",
    "FootprintDocumentInvalid",
    "GoodsDefault",
    "GridDefault",
    "HistoryPoint",
    "IntensityRange",
    "MirrorContext",
    "MirrorContextInvalid",
    "MirrorReport",
    "MirrorRules",
    "Status",
    "Unavailable",
    "default_rules",
    "goods_default",
    "grid_default",
    "history_from_documents",
    "load_context",
    "run_mirror_checks",
]
