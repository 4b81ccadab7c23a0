"""The context from the packaged published factors, without a database ([IR2621] values, reference TV-11)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from backend.mirror import (
    FootprintDocumentInvalid,
    GoodsDefault,
    GridDefault,
    Status,
    Unavailable,
    goods_default,
    grid_default,
    history_from_documents,
    load_context,
    run_mirror_checks,
)
from tests.unit.mirror.builders import document

IN_2026, IN_2027, IN_2028 = date(2026, 6, 1), date(2027, 6, 1), date(2030, 6, 1)


@pytest.mark.parametrize(
    ("cn", "country", "on", "direct", "markup", "listed"),
    [
        ("7601", "RS", IN_2026, 0.396, 10.0, "7601|RS"),
        ("76012000", "CN", IN_2026, 3.300, 10.0, "7601|CN"),
        ("7601", "CN", IN_2027, 3.600, 20.0, "7601|CN"),
        ("7601", "CN", IN_2028, 3.900, 30.0, "7601|CN"),
        ("7601", "MK", IN_2026, 2.423, 10.0, "7601|OTHER"),
        ("76042990", "RS", IN_2026, 2.496, 10.0, "76042990|RS"),
        ("7604 29 90", "TR", IN_2026, 4.116, 10.0, "76042990|TR"),
    ],
)
def test_goods_defaults_are_the_published_rounded_columns_with_the_years_mark_up(
    cn, country, on, direct, markup, listed
):
    found = goods_default(cn, country, on)
    assert isinstance(found, GoodsDefault)
    assert (found.direct, found.total, found.indirect, found.markup_percent) == (direct, direct, None, markup)
    assert f"{found.cn_code}|{found.country}" == listed
    assert "2025/2621" in found.source and "cbam-2026-v1" in found.source


def test_a_fallback_says_which_rule_applied():
    found = goods_default("76012000", "MK", IN_2026)
    assert isinstance(found, GoodsDefault)
    assert found.fallback == (
        "CN 76012000 is covered by the listed code 7601; MK is not listed for CN 7601: "
        "'Other countries and territories' applies"
    )


def test_a_listed_code_without_a_version_for_the_year_is_unavailable_not_a_fallback():
    found = goods_default("76042990", "RS", IN_2027)
    assert found == Unavailable(
        "no default value for CN 76042990 from RS valid on 2027-06-01 (valid: 2026-01-01 to 2027-01-01)"
    )


@pytest.mark.parametrize(
    ("cn", "country", "reason"),
    [
        ("76042100", "RS", "CN 76042100 is not listed in [IR2621] Annex I"),
        ("7601", "DE", "DE is an EU member state"),
        ("7601", "NO", "NO is exempt from CBAM"),
    ],
)
def test_goods_without_a_default(cn, country, reason):
    found = goods_default(cn, country, IN_2026)
    assert isinstance(found, Unavailable) and reason in found.reason


@pytest.mark.parametrize(
    ("country", "value", "listed"),
    [("RS", 0.729, "RS"), ("al", 0.0, "AL"), ("XK", 0.909, "XK"), ("AF", 0.465, "OTHER")],
)
def test_grid_defaults_of_annex_ii(country, value, listed):
    found = grid_default(country, IN_2026)
    assert isinstance(found, GridDefault) and (found.value, found.country) == (value, listed)


def test_no_grid_default_before_2026_or_for_an_eu_member_state():
    assert isinstance(grid_default("RS", date(2025, 12, 31)), Unavailable)
    assert isinstance(grid_default("AT", IN_2026), Unavailable)


def test_load_context_picks_the_documents_default_grid_and_sector_range():
    ctx = load_context(document(), check_time=datetime(2026, 12, 3, tzinfo=UTC), shipped_mass_t=100.0, verified=True)
    assert isinstance(ctx.goods_default, GoodsDefault) and ctx.goods_default.direct == 2.496
    assert isinstance(ctx.grid_default, GridDefault) and ctx.grid_default.value == 0.729
    assert ctx.sector_range is not None and ctx.sector_range.high == 16.129
    assert ctx.shipped_mass_t == 100.0 and ctx.verified is True
    report = run_mirror_checks(document(), ctx)
    assert report.check("SEE_DIRECT_VS_DEFAULT").status is Status.PASS


def test_a_local_calendar_year_takes_that_years_mark_up():
    # given: the Serbian year 2026 in UTC (starts 2025-12-31T23:00Z), unwrought aluminium from China
    doc = document(
        period={"start": "2025-12-31T23:00:00Z", "end": "2026-12-31T23:00:00Z"},
        product__cnCode="76012000",
        installation__country="CN",
        installation__timeZone="Asia/Shanghai",
    )
    ctx = load_context(doc, check_time=datetime(2027, 2, 1, tzinfo=UTC))
    assert isinstance(ctx.goods_default, GoodsDefault) and ctx.goods_default.direct == 3.300


def test_history_from_earlier_documents_and_a_malformed_one_named_by_place():
    earlier = [
        document(
            id="a", period={"start": "2026-09-01T00:00:00Z", "end": "2026-10-01T00:00:00Z"}, electricity__mwhPerT=1.4
        ),
        document(
            id="b", period={"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, electricity__mwhPerT=1.6
        ),
    ]
    points = history_from_documents(earlier)
    assert [(p.publication_id, p.mwh_per_t) for p in points] == [("a", 1.4), ("b", 1.6)]
    with pytest.raises(FootprintDocumentInvalid) as refused:
        history_from_documents([earlier[0], document(electricity__mwhPerT="1.5")])
    assert refused.value.errors[0].field == "history[1].electricity.mwhPerT"
