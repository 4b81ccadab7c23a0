"""Check (2): electricity per tonne against the supplier's own history and the sector's range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.mirror import HistoryPoint, IntensityRange, Status, Unavailable, default_rules, run_mirror_checks
from tests.unit.mirror.builders import context, document, history


def intensity(value: float) -> dict[str, object]:
    return document(electricity__mwhPerT=value)


def test_no_history_is_not_applicable():
    result = run_mirror_checks(intensity(1.5), context()).check("ELECTRICITY_VS_HISTORY")
    assert result.status is Status.NOT_APPLICABLE
    assert "1.5 MWh/t" in result.message and result.figures["median"] is None


def test_close_to_the_median_of_the_history_passes():
    # given: median 1.0 of five months with a small spread
    result = run_mirror_checks(intensity(1.1), context(history=history(0.9, 0.95, 1.0, 1.05, 1.1))).check(
        "ELECTRICITY_VS_HISTORY"
    )
    assert result.status is Status.PASS
    assert result.figures["median"] == 1.0 and result.figures["relativeDeviation"] == pytest.approx(0.1)
    assert "against the median 1 of 5 earlier publication(s)" in result.message


@pytest.mark.parametrize(
    ("observed", "status"),
    [(1.2, Status.PASS), (1.2001, Status.WARN), (1.5, Status.WARN), (1.5001, Status.FAIL), (0.4999, Status.FAIL)],
)
def test_relative_deviation_bands_with_an_identical_history(observed, status):
    # given: three identical months (MAD 0: only the relative deviation judges)
    result = run_mirror_checks(intensity(observed), context(history=history(1.0, 1.0, 1.0))).check(
        "ELECTRICITY_VS_HISTORY"
    )
    assert result.status is status, result.message
    assert result.figures["robustZ"] is None


def test_two_earlier_publications_are_too_few_to_fail():
    result = run_mirror_checks(intensity(3.0), context(history=history(1.0, 1.0))).check("ELECTRICITY_VS_HISTORY")
    assert result.status is Status.WARN and "more than 20% away" in result.message


def test_a_large_relative_jump_within_a_wide_history_is_only_a_warning():
    # given: a history spread so wide that +60 % is within 3 scaled MADs
    points = history(0.5, 1.0, 1.5, 0.6, 1.4)
    result = run_mirror_checks(intensity(1.6), context(history=points)).check("ELECTRICITY_VS_HISTORY")
    assert result.status is Status.WARN
    assert abs(result.figures["robustZ"]) <= 3.0  # type: ignore[arg-type]


def test_an_outlier_by_robust_z_but_within_twenty_percent_warns():
    # given: median 1.0, MAD 0.01 (scaled 0.014826); 1.1 is +10 % but z = 6.7
    result = run_mirror_checks(intensity(1.1), context(history=history(0.99, 1.0, 1.01, 1.0, 0.99))).check(
        "ELECTRICITY_VS_HISTORY"
    )
    assert result.status is Status.WARN and "scaled MADs" in result.message


def test_the_document_itself_and_earlier_versions_of_its_period_are_left_out():
    same_period = HistoryPoint(
        publication_id="older-version",
        period_start=datetime(2026, 11, 1, tzinfo=UTC),
        period_end=datetime(2026, 12, 1, tzinfo=UTC),
        mwh_per_t=9.0,
    )
    itself = HistoryPoint(
        publication_id=str(document()["id"]),
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        period_end=datetime(2026, 11, 1, tzinfo=UTC),
        mwh_per_t=9.0,
    )
    result = run_mirror_checks(intensity(1.0), context(history=(same_period, itself, *history(1.0)))).check(
        "ELECTRICITY_VS_HISTORY"
    )
    assert result.figures["historyCount"] == 1 and result.figures["historyIds"] == ("earlier-0",)
    assert result.status is Status.PASS


def test_a_history_without_electricity_cannot_give_a_relative_deviation():
    result = run_mirror_checks(intensity(0.3), context(history=history(0.0, 0.0))).check("ELECTRICITY_VS_HISTORY")
    assert result.status is Status.WARN and result.figures["relativeDeviation"] is None


# --- sector range -----------------------------------------------------------------------------------------


def test_the_aluminium_products_range_is_open_below_and_bounded_above_with_its_source():
    band = default_rules().sector_range_for("7604 29 90", "all_routes")
    assert band is not None
    assert (band.low, band.high, band.unit) == (None, 16.129, "MWh/t")
    assert "0.929" in band.source and "15.2" in band.source


@pytest.mark.parametrize(
    ("observed", "status", "words"),
    [
        (16.129, Status.PASS, "within the range"),
        (16.13, Status.WARN, "above the range"),
        (32.258, Status.WARN, "above the range"),  # exactly twice the upper bound
        (32.259, Status.FAIL, "implausible"),
        (-0.1, Status.FAIL, "negative"),
        (0.0, Status.PASS, "within the range"),
    ],
)
def test_aluminium_products_sector_bands(observed, status, words):
    result = run_mirror_checks(intensity(observed), context()).check("ELECTRICITY_VS_SECTOR")
    assert result.status is status, result.message
    assert words in result.message
    assert result.figures["high"] == 16.129 and result.figures["failAboveMultiple"] == 2.0


@pytest.mark.parametrize(("observed", "status"), [(12.99, Status.WARN), (13.0, Status.PASS), (15.2, Status.PASS)])
def test_primary_smelting_has_a_lower_bound_too(observed, status):
    band = default_rules().sector_range_for("7601", "PRIMARY_SMELTING")
    result = run_mirror_checks(
        document(
            electricity__mwhPerT=observed, product__cnCode="76012000", product__productionRoute="primary_smelting"
        ),
        context(sector_range=band, goods_default=Unavailable("not compared here")),
    ).check("ELECTRICITY_VS_SECTOR")
    assert result.status is status
    assert result.figures["low"] == 13.0


def test_secondary_melting_has_no_lower_bound():
    band = default_rules().sector_range_for("7601", "secondary_melting")
    assert band == IntensityRange(band.label, None, 15.2, "MWh/t", band.source)  # type: ignore[union-attr]


def test_a_good_outside_the_aluminium_chapter_or_7615_has_no_range_and_is_not_applicable():
    assert default_rules().sector_range_for("76151010", None) is None
    assert default_rules().sector_range_for("25231000", None) is None
    result = run_mirror_checks(intensity(1.0), context(sector_range=None)).check("ELECTRICITY_VS_SECTOR")
    assert result.status is Status.NOT_APPLICABLE and "no sector range for CN 76042990" in result.message
