"""A document the checks cannot read is refused naming every field at fault; a context for another good too."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.mirror import FootprintDocumentInvalid, MirrorContextInvalid, Unavailable, run_mirror_checks
from tests.unit.mirror.builders import context, document, serbian_grid


def fields_of(refused: pytest.ExceptionInfo[FootprintDocumentInvalid]) -> dict[str, str]:
    return {e.field or "": e.message for e in refused.value.errors}


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"specificEmissions__direct": "0.41"}, "specificEmissions.direct", "expected a number, got '0.41'"),
        ({"specificEmissions__total": None}, "specificEmissions.total", "missing"),
        ({"specificEmissions__indirectCounts": "no"}, "specificEmissions.indirectCounts", "expected true or false"),
        ({"netMassT": -1.0}, "netMassT", "must be at least 0, got -1"),
        ({"netMassT": True}, "netMassT", "expected a number, got True"),
        ({"electricity__mwhPerT": float("nan")}, "electricity.mwhPerT", "expected a finite number"),
        ({"electricity__factor": 0.7}, "electricity.factor", "expected an object, got a number"),
        ({"product__cnCode": "7604-29"}, "product.cnCode", "expected a CN code of 4, 6 or 8 digits"),
        ({"installation__country": "SRB"}, "installation.country", "expected an ISO 3166-1 alpha-2 code"),
        ({"period__start": "1 November 2026"}, "period.start", "not an ISO 8601 time"),
        ({"period__end": "2026-12-01T00:00:00"}, "period.end", "needs a time zone"),
        ({"publishedAt": ""}, "publishedAt", "expected a non-empty string"),
        ({"dataQuality": {"measuredShare": 1.2}}, "dataQuality.measuredShare", "must be at most 1, got 1.2"),
        ({"evidence": "none"}, "evidence", "expected a list, got a string"),
        ({"electricity__sources": {"kind": "GRID"}}, "electricity.sources", "expected a list, got an object"),
    ],
)
def test_a_malformed_field_is_named_with_its_reason(changes, field, reason):
    with pytest.raises(FootprintDocumentInvalid) as refused:
        run_mirror_checks(document(**changes), context())
    assert refused.value.code == "FOOTPRINT_DOCUMENT_INVALID"
    assert field in fields_of(refused), fields_of(refused)
    assert reason in fields_of(refused)[field]


def test_a_missing_section_and_a_bad_source_are_named_together():
    doc = document()
    del doc["specificEmissions"]
    doc["electricity"]["sources"][0]["share"] = 1.5
    doc["electricity"]["sources"].append({"kind": "", "mwh": 1.0, "share": 0.1, "factor": 0.0})
    with pytest.raises(FootprintDocumentInvalid) as refused:
        run_mirror_checks(doc, context())
    fields = fields_of(refused)
    assert fields["specificEmissions"] == "missing"
    assert fields["specificEmissions.direct"] == "missing"
    assert fields["electricity.sources[0].share"] == "must be at most 1, got 1.5"
    assert "electricity.sources[1].kind" in fields
    assert fields["electricity.sources"] == "the sources' shares add up to 1.6, more than 1"
    assert str(refused.value).startswith("specificEmissions: missing")


def test_a_document_that_is_not_an_object_is_refused():
    with pytest.raises(FootprintDocumentInvalid) as refused:
        run_mirror_checks(["not", "a", "document"], context())  # type: ignore[arg-type]
    assert fields_of(refused) == {"document": "expected a JSON object, got a list"}


def test_a_context_for_another_cn_code_or_country_is_refused():
    with pytest.raises(MirrorContextInvalid) as refused:
        run_mirror_checks(document(product__cnCode="76012000"), context())
    assert refused.value.field == "goods_default" and "CN 76042990" in refused.value.message
    with pytest.raises(MirrorContextInvalid) as refused:
        run_mirror_checks(document(installation__country="BA"), context(goods_default=context().goods_default))
    assert refused.value.field == "goods_default"
    grid = serbian_grid()
    with pytest.raises(MirrorContextInvalid):
        run_mirror_checks(
            document(installation__country="BA"),
            context(goods_default=Unavailable("not compared here"), grid_default=grid),
        )


def test_a_check_time_without_a_time_zone_is_refused():
    with pytest.raises(MirrorContextInvalid) as refused:
        context(check_time=datetime(2026, 12, 3))
    assert refused.value.field == "check_time"


def test_a_negative_shipped_mass_is_refused():
    with pytest.raises(MirrorContextInvalid) as refused:
        context(shipped_mass_t=-1.0)
    assert refused.value.field == "shipped_mass_t"
