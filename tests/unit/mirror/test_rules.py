"""The thresholds are data with their sources, and the checks follow the data."""

from __future__ import annotations

from backend.mirror import Status, default_rules, run_mirror_checks
from backend.mirror.rules import Threshold, parse_rules, raw_rules
from tests.unit.mirror.builders import context, document


def test_every_threshold_and_range_names_its_source():
    rules = default_rules()
    thresholds = [getattr(rules, name) for name in rules.__slots__ if isinstance(getattr(rules, name), Threshold)]
    assert len(thresholds) == 12
    assert all(t.source.strip() for t in thresholds)
    assert all(r.range.source.strip() for r in rules.sector_ranges)
    assert rules.version == "mirror-rules-1"


def test_a_changed_threshold_in_the_data_changes_the_status():
    # given: direct 2.0 against 2.496 is 0.801 x the default; raise the PASS band's lower edge above that
    data = raw_rules()
    data["specificEmissions"]["warnBelowRatio"]["value"] = 0.9
    strict = parse_rules(data)
    doc = document()
    # then
    assert run_mirror_checks(doc, context()).check("SEE_DIRECT_VS_DEFAULT").status is Status.PASS
    assert run_mirror_checks(doc, context(rules=strict)).check("SEE_DIRECT_VS_DEFAULT").status is Status.WARN
