"""Checks (5) and (6): produced against shipped mass, and the period's consistency."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.mirror import Status, run_mirror_checks
from tests.unit.mirror.builders import context, document


@pytest.mark.parametrize(
    ("shipped", "status"),
    [(None, Status.NOT_APPLICABLE), (0.0, Status.PASS), (123.4, Status.PASS), (123.41, Status.FAIL)],
)
def test_shipped_mass_may_not_exceed_the_net_mass_produced(shipped, status):
    result = run_mirror_checks(document(), context(shipped_mass_t=shipped)).check("PRODUCED_VS_SHIPPED")
    assert result.status is status
    assert result.figures["expected"] == 123.4 and result.figures["observed"] == shipped


def test_the_mass_failure_names_both_masses():
    result = run_mirror_checks(document(), context(shipped_mass_t=150.0)).check("PRODUCED_VS_SHIPPED")
    assert result.message == "shipped 150 t is more than the 123.4 t produced in the period"


def period(start: str, end: str, published: str = "2026-12-02T10:00:00Z", **doc: object) -> dict[str, object]:
    return document(period={"start": start, "end": end}, publishedAt=published, **doc)


def test_a_month_ended_and_published_after_its_end_passes():
    result = run_mirror_checks(period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"), context()).check(
        "PERIOD_CONSISTENCY"
    )
    assert result.status is Status.PASS and result.figures["reportingYear"] == 2026
    assert "Art. 7" in result.source


def test_published_exactly_at_the_end_is_final():
    doc = period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert run_mirror_checks(doc, context()).check("PERIOD_CONSISTENCY").status is Status.PASS


def test_published_before_the_end_warns_that_it_is_not_final():
    doc = period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "2026-11-30T23:59:59Z")
    result = run_mirror_checks(doc, context()).check("PERIOD_CONSISTENCY")
    assert result.status is Status.WARN
    assert "published at 2026-11-30T23:59:59Z, before the period ended: not a final figure" in result.message


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z"), ("2026-12-01T00:00:00Z", "2026-11-01T00:00:00Z")],
)
def test_a_period_that_does_not_run_forwards_fails(start, end):
    result = run_mirror_checks(period(start, end), context()).check("PERIOD_CONSISTENCY")
    assert result.status is Status.FAIL and "the start is not before the end" in result.message


def test_a_period_ending_after_the_check_time_fails():
    ctx = context(check_time=datetime(2026, 11, 30, 12, tzinfo=UTC))
    doc = period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "2026-11-30T10:00:00Z")
    result = run_mirror_checks(doc, ctx).check("PERIOD_CONSISTENCY")
    assert result.status is Status.FAIL
    assert "ends after the check time 2026-11-30T12:00:00Z" in result.message


def test_a_period_starting_after_the_check_time_fails():
    doc = period("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z", "2027-02-02T00:00:00Z")
    result = run_mirror_checks(doc, context()).check("PERIOD_CONSISTENCY")
    assert result.status is Status.FAIL and "starts after the check time" in result.message
    assert "published at 2027-02-02T00:00:00Z, after the check time" in result.message


def test_a_period_across_two_calendar_years_fails():
    doc = period("2026-12-01T00:00:00Z", "2027-01-02T00:00:00Z", "2027-01-03T00:00:00Z")
    ctx = context(check_time=datetime(2027, 2, 1, tzinfo=UTC))
    result = run_mirror_checks(doc, ctx).check("PERIOD_CONSISTENCY")
    assert result.status is Status.FAIL and "spans the reporting years 2026 to 2027" in result.message


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),  # the year in UTC
        ("2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z"),  # the year in Belgrade (UTC+1 in winter)
    ],
)
def test_a_whole_year_in_utc_or_in_the_installations_time_zone_is_one_reporting_year(start, end):
    doc = period(start, end, "2027-01-15T00:00:00Z")
    ctx = context(check_time=datetime(2027, 2, 1, tzinfo=UTC))
    result = run_mirror_checks(doc, ctx).check("PERIOD_CONSISTENCY")
    assert result.status is Status.PASS and result.figures["reportingYear"] == 2026


def test_a_local_year_without_a_time_zone_spans_two_utc_years():
    doc = period("2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z", "2027-01-15T00:00:00Z", installation__timeZone=None)
    ctx = context(check_time=datetime(2027, 2, 1, tzinfo=UTC))
    assert run_mirror_checks(doc, ctx).check("PERIOD_CONSISTENCY").status is Status.FAIL
