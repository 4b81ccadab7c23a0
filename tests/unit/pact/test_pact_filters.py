"""ListFootprints parameters and RequestCreatedEvent criteria: each parameter good and bad, and matching."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from backend.pact.errors import InvalidQuery, UnsupportedCriterion
from backend.pact.filters import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Cursor,
    FootprintCriteria,
    criteria_of,
    parse_event_criteria,
    parse_list_query,
)
from backend.pact.model import product_footprint
from tests.unit.pact.samples import published

FOOTPRINT = product_footprint(published(), issuer_domain="cbamx.example", base_url="https://cbamx.example")
PRODUCT = "urn:pact:cbamx.example:product-id:PRF%202990%2FA"
COMPANY = "urn:cbamx:company:11111111-2222-4333-8444-555555555555"


def matches(params: list[tuple[str, str]]) -> bool:
    return parse_list_query(params).criteria.matches(FOOTPRINT)


def test_no_parameters_mean_no_restriction_and_the_default_limit():
    query = parse_list_query([])
    assert query.criteria == FootprintCriteria() and query.limit == DEFAULT_LIMIT and query.cursor is None
    assert query.criteria.matches(FOOTPRINT)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("productId", PRODUCT)], True),
        ([("productId", "URN:CBAMX:product:31111111-2222-4333-8444-555555555555")], True),  # NID case-insensitive
        ([("productId", "urn:pact:other:product-id:x"), ("productId", PRODUCT)], True),  # values OR-ed
        ([("productId", "urn:pact:other:product-id:x")], False),
        ([("companyId", COMPANY)], True),
        ([("companyId", "urn:cbamx:company:other")], False),
        ([("classification", "urn:cbamx:cn:76042990")], True),
        ([("classification", "urn:cbamx:cn:76042100")], False),
        ([("geography", "RS")], True),
        ([("geography", "DE"), ("geography", "RS")], True),
        ([("geography", "DE")], False),
        ([("geography", "Southern Europe")], False),  # the footprint states its country, not a region
        ([("status", "Active")], True),
        ([("status", "Deprecated")], False),
        ([("status", "BogusStatusValue")], False),  # conformance case 37: no footprint, no error
        ([("status", "active")], False),
        ([("geography", "XX")], False),  # conformance case 32
        ([("companyId", "Xk3vQ9pL"), ("companyId", COMPANY)], True),  # a non-URN value matches nothing
        ([("companyId", "urn:uuid:other-company")], False),
        ([("validOn", "1900-01-01T00:00:00Z")], False),  # conformance case 34
        ([("validAfter", "2099-12-31T23:59:59Z")], False),  # conformance case 35
        ([("validBefore", "1900-01-01T00:00:00Z")], False),  # conformance case 36
        ([("validAfter", "2026-11-01T00:00:00.000Z")], True),  # JavaScript's toISOString
        ([("validOn", "2027-06-01T00:00:00Z")], True),
        ([("validOn", "2026-11-30T23:00:00Z")], True),  # the first moment of validity
        ([("validOn", "2026-11-01T00:00:00Z")], False),  # inside the reference period, before validity
        ([("validOn", "2029-12-01T00:00:00+00:00")], False),  # after three years
        ([("validAfter", "2026-11-01T00:00:00Z")], True),
        ([("validAfter", "2026-12-01T00:00:00Z")], False),
        ([("validBefore", "2030-01-01T00:00:00Z")], True),
        ([("validBefore", "2029-01-01T00:00:00Z")], False),
        ([("productId", PRODUCT), ("geography", "DE")], False),  # criteria AND-ed
        ([("productId", PRODUCT), ("geography", "RS"), ("status", "Active")], True),
    ],
)
def test_each_criterion_keeps_what_it_names(params, expected):
    assert matches(params) is expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ([("productId", "PRF-2990")], "productId"),
        ([("productId", "")], "productId"),
        ([("companyId", " ")], "companyId"),
        ([("classification", "76042990")], "classification"),
        ([("geography", "Serbia")], "geography"),
        ([("geography", "rs")], "geography"),
        ([("validOn", "yesterday")], "validOn"),
        ([("validOn", "2026-01-01T00:00:00")], "validOn"),  # no time zone
        ([("validAfter", "2026-13-01T00:00:00Z")], "validAfter"),
        ([("validBefore", "2026-01-01T00:00:00Z"), ("validBefore", "2027-01-01T00:00:00Z")], "validBefore"),
        ([("status", "")], "status"),
        ([("limit", "0")], "limit"),
        ([("limit", "-1")], "limit"),
        ([("limit", "ten")], "limit"),
        ([("limit", "5"), ("limit", "6")], "limit"),
        ([("cursor", "not-ours")], "cursor"),
        ([("cursor", Cursor("a", "b").encode()), ("cursor", "x")], "cursor"),
        ([("cursor", Cursor("2026-12-02T10:00:00Z", "b").encode())], "cursor"),  # not a footprint id
        ([("cursor", Cursor("2026-12-02T10:00:00", "6f1c2d3e-4b5a-4c6d-8e7f-901234567890").encode())], "cursor"),
        ([("offset", "10")], "offset"),
        ([("productIds", PRODUCT)], "productIds"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(params, field):
    with pytest.raises(InvalidQuery) as caught:
        parse_list_query(params)
    assert caught.value.field == field


@pytest.mark.parametrize("name", ["$filter", "x-atq-invoice-id", "X-Other"])
def test_odata_and_unknown_implementer_filters_are_not_implemented(name):
    with pytest.raises(UnsupportedCriterion) as caught:
        parse_list_query([(name, "x")])
    assert caught.value.field == name


def test_limit_and_cursor_are_read_and_the_page_never_exceeds_the_maximum():
    cursor = Cursor("2026-12-02T10:00:00Z", "6f1c2d3e-4b5a-4c6d-8e7f-901234567890")
    query = parse_list_query([("limit", "5"), ("cursor", cursor.encode())])
    assert query.limit == 5 and query.page_size == 5 and query.cursor == cursor
    assert cursor.position == (datetime(2026, 12, 2, 10, tzinfo=UTC), uuid.UUID(cursor.id))
    assert parse_list_query([("limit", "5000")]).page_size == MAX_LIMIT


def test_moments_are_read_in_utc():
    criteria = criteria_of({"validOn": ["2027-01-01T01:00:00+01:00"]})
    assert criteria.valid_on == datetime(2027, 1, 1, tzinfo=UTC)


def test_event_criteria_take_lists_or_single_strings_and_a_comment():
    criteria, comment = parse_event_criteria(
        {"productId": [PRODUCT], "geography": "RS", "validOn": "2027-01-01T00:00:00Z", "comment": "Q4 please"}
    )
    assert comment == "Q4 please"
    assert criteria.matches(FOOTPRINT)
    assert criteria.as_json() == {"productId": [PRODUCT], "geography": ["RS"], "validOn": "2027-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("data", "error", "field"),
    [
        ({"productId": [1]}, InvalidQuery, "data.productId"),
        ({"productId": {"a": 1}}, InvalidQuery, "data.productId"),
        ({"productId": ["nope"]}, InvalidQuery, "productId"),
        ({"comment": 5}, InvalidQuery, "data.comment"),
        ({"pf": {"productIds": [PRODUCT]}}, InvalidQuery, "pf"),  # the v2 fragment is obsolete in v3
        ({"x-acme-po": ["1"]}, UnsupportedCriterion, "x-acme-po"),
    ],
)
def test_bad_event_criteria_are_refused_naming_them(data, error, field):
    with pytest.raises(error) as caught:
        parse_event_criteria(data)
    assert caught.value.field == field
