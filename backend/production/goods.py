"""The CBAM goods list (Regulation (EU) 2023/956 Annex I) as packaged data, and the CN code lookup.

``data/cbam_goods.csv`` holds one row per CN code or heading Annex I lists (4, 6 or 8 digits), with
its sector, the aggregated goods category of [IR2547] Annex I Table 1, the greenhouse gases, whether
indirect emissions count for the obligation in the definitive period (Annex II, as amended by
Regulation (EU) 2025/2083) and the source of the row. A row marked ``covered=no`` is a code that
Annex I excepts from a heading it lists (3105 60 00). An 8-digit code is covered by the most
specific listed heading that begins it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

GOODS_FILE = "cbam_goods.csv"
GOODS_LIST_SOURCE = (
    "Regulation (EU) 2023/956 Annex I (CN codes, sectors, greenhouse gases); Commission Implementing Regulation "
    "(EU) 2025/2547 Annex I Table 1 (aggregated goods categories); Regulation (EU) 2023/956 Annex II as amended "
    "by Regulation (EU) 2025/2083 (goods for which only direct emissions count)"
)
SECTORS = ("aluminium", "cement", "electricity", "fertilisers", "hydrogen", "iron and steel")
_CN8 = re.compile(r"^[0-9]{8}$")


@dataclass(frozen=True, slots=True)
class GoodsEntry:
    """One line of Annex I: a CN code or heading (digits only, 4 to 8 of them) and what the regulation says of it."""

    cn_code: str
    covered: bool
    sector: str
    aggregated_category: str
    description: str
    greenhouse_gases: str
    indirect_emissions_count: bool  # in the CBAM obligation of the definitive period (2026+)
    source: str

    @property
    def display_code(self) -> str:
        """As the regulation writes it: ``7604 21 00``, ``7202 1``."""
        code = self.cn_code
        return " ".join([code[:4], *(code[i : i + 2] for i in range(4, len(code), 2))])


@dataclass(frozen=True, slots=True)
class CnCheck:
    """The outcome of checking one 8-digit CN code against the goods list."""

    cn_code: str
    entry: GoodsEntry | None  # the line of Annex I that covers it
    reason: str  # why it is not covered; empty when it is

    @property
    def covered(self) -> bool:
        return self.entry is not None


def normalise_cn(text: str) -> str:
    """A CN code without the spaces or dots people write in it: ``7604 21 00`` -> ``76042100``."""
    return re.sub(r"[\s.]", "", text)


@lru_cache(maxsize=1)
def goods_list() -> tuple[GoodsEntry, ...]:
    """Every line of the packaged goods list, in the file's order."""
    raw = resources.files("backend.production").joinpath("data", GOODS_FILE).read_text(encoding="utf-8")
    entries = []
    for row in csv.DictReader(io.StringIO(raw)):
        code = normalise_cn(row["cn_code"])
        if not re.fullmatch(r"[0-9]{4,8}", code):
            raise ValueError(f"{GOODS_FILE}: {row['cn_code']!r} is not a CN code or heading")
        entries.append(
            GoodsEntry(
                cn_code=code,
                covered=row["covered"] == "yes",
                sector=row["sector"],
                aggregated_category=row["aggregated_category"],
                description=row["description"],
                greenhouse_gases=row["greenhouse_gases"],
                indirect_emissions_count=row["indirect_emissions_definitive"] == "yes",
                source=row["source"],
            )
        )
    return tuple(entries)


@lru_cache(maxsize=1)
def _by_code() -> dict[str, GoodsEntry]:
    return {e.cn_code: e for e in goods_list()}


def check_cn_code(text: str) -> CnCheck:
    """Whether an 8-digit CN code is a CBAM good: the most specific Annex I line that begins it decides."""
    code = normalise_cn(text)
    if not _CN8.fullmatch(code):
        return CnCheck(code, None, "a CN code has 8 digits, e.g. 7604 21 00")
    table = _by_code()
    for length in (8, 7, 6, 5, 4):
        entry = table.get(code[:length])
        if entry is None:
            continue
        if not entry.covered:
            return CnCheck(code, None, f"{entry.display_code} is excepted from Annex I ({entry.source})")
        return CnCheck(code, entry, "")
    return CnCheck(code, None, f"{code[:4]} {code[4:6]} {code[6:]} is not a good listed in CBAM Annex I")


def browse(*, sector: str | None = None, search: str | None = None) -> list[GoodsEntry]:
    """Lines of the goods list, optionally of one sector or whose code or description contains ``search``."""
    rows = list(goods_list())
    if sector:
        rows = [e for e in rows if e.sector == sector]
    if search:
        needle = search.strip().lower()
        digits = normalise_cn(needle)
        rows = [
            e
            for e in rows
            if needle in e.description.lower()
            or needle in e.aggregated_category.lower()
            or (digits.isdigit() and (e.cn_code.startswith(digits) or digits.startswith(e.cn_code)))
        ]
    return rows
