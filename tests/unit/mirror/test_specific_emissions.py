"""Check (1): specific embedded emissions against the CBAM default with the year's mark-up."""

from __future__ import annotations

import pytest

from backend.mirror import Status, Unavailable, run_mirror_checks
from tests.unit.mirror.builders import context, document, with_indirect


def see(direct: float, indirect: float = 0.5, **doc: object) -> dict[str, object]:
    return document(
        specificEmissions__direct=direct,
        specificEmissions__indirect=indirect,
        specificEmissions__total=direct + indirect,
        **doc,
    )


def test_serbian_profiles_within_the_default_pass_naming_both_numbers():
    # given: 2.0 tCO2e/t against the 2026 column 2.496 ([IR2621] Annex I, TV-11)
    report = run_mirror_checks(see(2.0), context())
    # then
    result = report.check("SEE_DIRECT_VS_DEFAULT")
    assert result.status is Status.PASS
    assert "direct 2 tCO2e/t is 0.801 x the 2026 default of CN 76042990 for RS" in result.message
    assert "10 % mark-up, 2.496 tCO2e/t" in result.message
    assert result.figures["observed"] == 2.0 and result.figures["expected"] == 2.496
    assert result.figures["ratio"] == pytest.approx(2.0 / 2.496, rel=1e-12)
    assert result.figures["unit"] == "tCO2e/t"
    assert "Annex I" in result.source


def test_aluminium_indirect_and_total_are_not_applicable_because_annex_i_shows_n_a():
    report = run_mirror_checks(see(2.0, indirect=1.12), context())
    indirect, total = report.check("SEE_INDIRECT_VS_DEFAULT"), report.check("SEE_TOTAL_VS_DEFAULT")
    assert indirect.status is Status.NOT_APPLICABLE
    assert "N/A for indirect emissions of CN 76042990" in indirect.message and "1.12" in indirect.message
    assert total.status is Status.NOT_APPLICABLE and "2.496" in total.message and "3.12" in total.message


@pytest.mark.parametrize(
    ("direct", "status", "words"),
    [
        (0.0999, Status.FAIL, "implausibly low"),
        (0.1, Status.WARN, "without strong evidence"),  # exactly 0.05 x: not below the FAIL line
        (0.9999, Status.WARN, "without strong evidence"),
        (1.0, Status.PASS, "within the default"),  # exactly 0.5 x
        (2.0, Status.PASS, "within the default"),  # exactly the default with mark-up
        (2.0002, Status.WARN, "above the default with mark-up"),
        (20.0, Status.WARN, "above the default with mark-up"),  # exactly 10 x
        (20.002, Status.FAIL, "implausibly high"),
        (-0.1, Status.FAIL, "is negative"),
    ],
)
def test_each_band_of_the_ratio_to_the_default_at_its_boundaries(direct, status, words):
    # given: a default of 2.0 direct (and 1.0 indirect) so the ratios are exact
    ctx = context(goods_default=with_indirect(2.0, 1.0))
    # when
    result = run_mirror_checks(see(direct), ctx).check("SEE_DIRECT_VS_DEFAULT")
    # then
    assert result.status is status, result.message
    assert words in result.message
    assert result.figures["failBelowRatio"] == 0.05 and result.figures["failAboveRatio"] == 10.0


def test_far_below_the_default_passes_with_a_verification_statement():
    ctx = context(goods_default=with_indirect(2.0, 1.0), verified=True)
    result = run_mirror_checks(see(0.4), ctx).check("SEE_DIRECT_VS_DEFAULT")
    assert result.status is Status.PASS and "accepted on strong evidence" in result.message
    assert result.figures["strongEvidence"] is True


def test_far_below_the_default_passes_with_measured_data_and_evidence_documents():
    doc = see(0.4, dataQuality={"measuredShare": 0.95}, evidence=[{"kind": "invoice", "sha256": "00", "name": "gas"}])
    result = run_mirror_checks(doc, context(goods_default=with_indirect(2.0, 1.0))).check("SEE_DIRECT_VS_DEFAULT")
    assert result.status is Status.PASS


@pytest.mark.parametrize(
    ("measured", "evidence"),
    [(0.9499, [{"kind": "invoice", "sha256": "00", "name": "gas"}]), (1.0, [])],
)
def test_measured_data_alone_or_documents_alone_are_not_strong_evidence(measured, evidence):
    doc = see(0.4, dataQuality={"measuredShare": measured}, evidence=evidence)
    result = run_mirror_checks(doc, context(goods_default=with_indirect(2.0, 1.0))).check("SEE_DIRECT_VS_DEFAULT")
    assert result.status is Status.WARN


def test_strong_evidence_does_not_rescue_an_implausibly_low_figure():
    ctx = context(goods_default=with_indirect(2.0, 1.0), verified=True)
    assert run_mirror_checks(see(0.05), ctx).check("SEE_DIRECT_VS_DEFAULT").status is Status.FAIL


def test_a_good_with_an_indirect_default_judges_indirect_and_total_too():
    # given: default 2.0 direct + 1.0 indirect = 3.0 total
    ctx = context(goods_default=with_indirect(2.0, 1.0))
    report = run_mirror_checks(see(1.5, indirect=1.5), ctx)
    indirect, total = report.check("SEE_INDIRECT_VS_DEFAULT"), report.check("SEE_TOTAL_VS_DEFAULT")
    # then: indirect 1.5 is 1.5 x its default (WARN), total 3.0 equals its default (PASS)
    assert indirect.status is Status.WARN and indirect.figures["ratio"] == 1.5
    assert total.status is Status.PASS and total.figures["expected"] == 3.0


def test_without_a_default_every_emission_check_is_not_applicable_and_says_why():
    ctx = context(goods_default=Unavailable("CN 76042100 is not listed in [IR2621] Annex I"))
    report = run_mirror_checks(see(2.0), ctx)
    for code in ("SEE_DIRECT_VS_DEFAULT", "SEE_INDIRECT_VS_DEFAULT", "SEE_TOTAL_VS_DEFAULT"):
        result = report.check(code)
        assert result.status is Status.NOT_APPLICABLE
        assert "CN 76042100 is not listed" in result.message
