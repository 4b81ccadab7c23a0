"""The CBAM goods list: every row sourced, lookups by the most specific Annex I line (methodology b.6, c.1)."""

from __future__ import annotations

import pytest

from backend.production.goods import SECTORS, browse, check_cn_code, goods_list


def test_every_sector_of_annex_i_is_listed_and_every_row_has_a_source():
    # given / when
    entries = goods_list()
    # then
    assert {e.sector for e in entries} == set(SECTORS)
    assert all(e.source for e in entries)
    assert all(e.aggregated_category for e in entries if e.covered)
    assert len({e.cn_code for e in entries}) == len(entries)


@pytest.mark.parametrize(
    ("code", "category", "indirect"),
    [
        ("7604 21 00", "Aluminium products", False),  # methodology c.1: 7604 bars, rods and profiles
        ("76042910", "Aluminium products", False),
        ("7608 10 00", "Aluminium products", False),
        ("7601 20 20", "Unwrought aluminium", False),
        ("2523 29 00", "Cement", True),  # b.6: cement counts indirect emissions
        ("3102 10 10", "Urea", True),  # more specific than 3102
        ("3102 30 10", "Mixed fertilisers", True),
        ("7202 11 20", "FeMn", True),  # ferro-manganese is excepted from Annex II chapter 72
        ("7208 51 20", "Iron or steel products", False),
        ("7218 10 00", "Crude steel", False),
        ("2716 00 00", "Electricity", False),  # Annex II after Reg 2025/2083
        ("2804 10 00", "Hydrogen", False),
    ],
)
def test_an_8_digit_code_is_covered_by_the_most_specific_line(code, category, indirect):
    # when
    found = check_cn_code(code)
    # then
    assert found.covered, found.reason
    assert found.entry is not None
    assert found.entry.aggregated_category == category
    assert found.entry.indirect_emissions_count is indirect


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("7615 10 10", "not a good listed"),  # table and kitchen articles: not covered (c.1)
        ("3105 60 00", "excepted"),
        ("7202 30 00", "not a good listed"),  # ferro-silico-manganese: not in Annex I
        ("7604", "8 digits"),
        ("7604 21 0x", "8 digits"),
    ],
)
def test_codes_outside_annex_i_are_refused_with_the_reason(code, reason):
    # when
    found = check_cn_code(code)
    # then
    assert not found.covered
    assert reason in found.reason


def test_browse_filters_by_sector_and_code_prefix():
    assert {e.sector for e in browse(sector="aluminium")} == {"aluminium"}
    assert [e.display_code for e in browse(search="7604 21")] == ["7604"]
    assert any(e.cn_code == "2814" for e in browse(search="ammonia"))
