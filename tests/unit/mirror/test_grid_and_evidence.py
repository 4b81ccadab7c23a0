"""Checks (3) and (4): the grid factor against the country default, and the evidence behind an actual factor."""

from __future__ import annotations

from typing import Any

import pytest

from backend.mirror import Status, Unavailable, run_mirror_checks
from tests.unit.mirror.builders import context, document


def electricity(value: float, method: str, sources: list[dict[str, Any]], unit: str = "tCO2/MWh") -> dict[str, Any]:
    return document(
        electricity__factor={"value": value, "unit": unit, "method": method, "source": "s"},
        electricity__sources=sources,
    )


def source(kind: str, share: float, factor: float, tier: str, name: str = "") -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name or kind.lower(),
        "mwh": 100.0 * share,
        "share": share,
        "factor": factor,
        "factorSource": "s",
        "evidenceTier": tier,
    }


GRID = source("GRID", 1.0, 0.729, "conditions_not_met", "EPS grid")


# --- (3) grid factor ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "status"), [(0.729, Status.PASS), (0.7295, Status.PASS), (0.7284, Status.FAIL)])
def test_a_country_default_must_equal_the_published_value_within_half_the_last_digit(value, status):
    result = run_mirror_checks(electricity(value, "COUNTRY_DEFAULT", [GRID]), context()).check("GRID_FACTOR_VS_DEFAULT")
    assert result.status is status, result.message
    assert result.figures["expected"] == 0.729 and result.figures["tolerance"] == 0.0005


def test_a_country_default_method_with_another_value_names_the_difference():
    result = run_mirror_checks(electricity(0.612, "COUNTRY_DEFAULT", [GRID]), context()).check("GRID_FACTOR_VS_DEFAULT")
    assert result.status is Status.FAIL
    assert "factor 0.612 tCO2/MWh (COUNTRY_DEFAULT) against the RS grid default 0.729" in result.message
    assert "differs by -0.117" in result.message


def test_a_factor_below_the_default_without_an_actual_method_fails():
    result = run_mirror_checks(electricity(0.5, "SUPPLIER_MIX", [GRID]), context()).check("GRID_FACTOR_VS_DEFAULT")
    assert (
        result.status is Status.FAIL
        and "below the default without an actual-factor method (method 'SUPPLIER_MIX')" in result.message
    )


def test_an_unknown_method_at_the_default_warns():
    result = run_mirror_checks(electricity(0.729, "SUPPLIER_MIX", [GRID]), context()).check("GRID_FACTOR_VS_DEFAULT")
    assert result.status is Status.WARN


def test_an_actual_factor_below_the_default_passes_here_and_points_to_the_evidence_check():
    sources = [source("PPA", 0.4, 0.0, "eligible_hourly"), source("GRID", 0.6, 0.729, "conditions_not_met")]
    result = run_mirror_checks(electricity(0.4374, "ACTUAL_PPA", sources), context()).check("GRID_FACTOR_VS_DEFAULT")
    assert result.status is Status.PASS and "ACTUAL_FACTOR_EVIDENCE" in result.message


def test_a_factor_in_kilograms_fails_on_its_unit():
    result = run_mirror_checks(electricity(729.0, "COUNTRY_DEFAULT", [GRID], unit="kgCO2/MWh"), context()).check(
        "GRID_FACTOR_VS_DEFAULT"
    )
    assert result.status is Status.FAIL and "'kgCO2/MWh'" in result.message


def test_without_a_grid_default_the_factor_check_is_not_applicable():
    ctx = context(grid_default=Unavailable("DE is an EU member state: its goods and electricity are outside CBAM"))
    result = run_mirror_checks(electricity(0.3, "COUNTRY_DEFAULT", [GRID]), ctx).check("GRID_FACTOR_VS_DEFAULT")
    assert result.status is Status.NOT_APPLICABLE and "EU member state" in result.message


# --- (4) evidence tier ------------------------------------------------------------------------------------


def test_the_country_default_makes_no_claim():
    result = run_mirror_checks(electricity(0.729, "COUNTRY_DEFAULT", [GRID]), context()).check("ACTUAL_FACTOR_EVIDENCE")
    assert result.status is Status.NOT_APPLICABLE and "no actual-factor claim" in result.message


def test_an_hourly_matched_ppa_backs_the_art_9_weighted_factor_of_tv_13():
    # given: TV-13, 40 % solar PPA (0) and 60 % Serbian grid (0.729): 0.4374 tCO2/MWh
    sources = [source("PPA", 0.4, 0.0, "eligible_hourly", "Solar"), source("GRID", 0.6, 0.729, "conditions_not_met")]
    result = run_mirror_checks(electricity(0.4374, "ACTUAL_PPA", sources), context()).check("ACTUAL_FACTOR_EVIDENCE")
    assert result.status is Status.PASS
    assert result.figures["supportedFactor"] == pytest.approx(0.4374, abs=1e-12)
    assert result.figures["qualifyingShare"] == 0.4
    assert "cover 40.0% of the electricity and support at least 0.4374" in result.message


def test_a_direct_link_with_hourly_meter_data_qualifies():
    sources = [source("DIRECT_LINK", 1.0, 0.0, "eligible_hourly", "Hydro link")]
    result = run_mirror_checks(electricity(0.0, "ACTUAL_DIRECT_LINK", sources), context()).check(
        "ACTUAL_FACTOR_EVIDENCE"
    )
    assert result.status is Status.PASS


@pytest.mark.parametrize(
    ("kind", "tier", "words"),
    [
        ("PPA", "eligible_coarse", "coarser than one hour"),
        ("PPA", "conditions_not_met", "not all evidenced"),
        ("DIRECT_LINK", "", "tier none given"),
        ("PPA", "annual_matching", "tier annual_matching)"),
        ("GRID", "eligible_hourly", "GRID 'Green tariff'"),
    ],
)
def test_annual_matching_certificates_or_missing_evidence_fail_an_actual_factor(kind, tier, words):
    sources = [source(kind, 0.4, 0.0, tier, "Green tariff"), source("GRID", 0.6, 0.729, "conditions_not_met")]
    result = run_mirror_checks(electricity(0.4374, "ACTUAL_PPA", sources), context()).check("ACTUAL_FACTOR_EVIDENCE")
    assert result.status is Status.FAIL
    assert "do not qualify" in result.message and words in result.message
    assert result.figures["failingSources"] == ("Green tariff",)


def test_a_source_below_the_default_is_a_claim_even_under_the_country_default_method():
    sources = [source("GRID", 0.4, 0.0, "", "Certificates"), source("GRID", 0.6, 0.729, "conditions_not_met")]
    result = run_mirror_checks(electricity(0.729, "COUNTRY_DEFAULT", sources), context()).check(
        "ACTUAL_FACTOR_EVIDENCE"
    )
    assert result.status is Status.FAIL and "Certificates" in result.message


def test_an_actual_claim_without_any_source_below_the_default_fails():
    result = run_mirror_checks(electricity(0.5, "ACTUAL_PPA", [GRID]), context()).check("ACTUAL_FACTOR_EVIDENCE")
    assert result.status is Status.FAIL and "no electricity source with qualifying evidence" in result.message


@pytest.mark.parametrize(("declared", "status"), [(0.4369, Status.PASS), (0.4368, Status.FAIL)])
def test_the_declared_factor_may_not_be_lower_than_the_qualifying_sources_support(declared, status):
    # given: qualifying 40 % at 0: the rest at 0.729 supports 0.4374; tolerance 0.0005
    sources = [source("PPA", 0.4, 0.0, "eligible_hourly"), source("GRID", 0.6, 0.729, "conditions_not_met")]
    result = run_mirror_checks(electricity(declared, "ACTUAL_PPA", sources), context()).check("ACTUAL_FACTOR_EVIDENCE")
    assert result.status is status, result.message


def test_an_actual_factor_at_or_above_the_default_lowers_nothing_and_passes():
    sources = [source("OWN_GENERATION", 1.0, 0.9, "conditions_not_met", "Gas engine")]
    result = run_mirror_checks(electricity(0.9, "ACTUAL_OWN_GENERATION", sources), context()).check(
        "ACTUAL_FACTOR_EVIDENCE"
    )
    assert result.status is Status.PASS and "lowers nothing" in result.message


def test_without_a_grid_default_an_actual_claim_needs_a_qualifying_non_grid_source():
    ctx = context(grid_default=Unavailable("no grid default for XX"))
    backed = electricity(0.0, "ACTUAL_PPA", [source("PPA", 1.0, 0.0, "eligible_hourly")])
    unbacked = electricity(0.0, "ACTUAL_PPA", [GRID])
    assert run_mirror_checks(backed, ctx).check("ACTUAL_FACTOR_EVIDENCE").status is Status.PASS
    assert run_mirror_checks(unbacked, ctx).check("ACTUAL_FACTOR_EVIDENCE").status is Status.FAIL


def test_without_a_grid_default_sources_alone_make_no_claim():
    ctx = context(grid_default=Unavailable("AT is an EU member state: its goods and electricity are outside CBAM"))
    doc = electricity(0.3, "COUNTRY_DEFAULT", [source("OWN_GENERATION", 1.0, 0.3, "conditions_not_met")])
    assert run_mirror_checks(doc, ctx).check("ACTUAL_FACTOR_EVIDENCE").status is Status.NOT_APPLICABLE
