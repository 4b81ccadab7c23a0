"""What of the PACT criteria goes into the exchange's query: necessary conditions only, never fewer rows
than the criteria keep, and nothing at all to read when no publication can meet them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from backend.exchange.models import PublicationStatus
from backend.exchange.repository import PublicationFilter
from backend.pact.filters import criteria_of
from backend.pact.source import publication_filter

TENANT = uuid.UUID("a1111111-2222-4333-8444-5555555555bc")
PRODUCT = uuid.UUID("31111111-2222-4333-8444-555555555555")


def pushed(**values: list[str]) -> PublicationFilter | None:
    return publication_filter(criteria_of(values))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, PublicationFilter()),
        ({"companyId": [f"urn:cbamx:company:{TENANT}"]}, PublicationFilter(supplier_id=TENANT)),
        # several organisations: the listing reads every supplier, the host keeps the ones named
        ({"companyId": [f"urn:cbamx:company:{TENANT}", f"urn:cbamx:company:{uuid.uuid4()}"]}, PublicationFilter()),
        # a value naming no organisation of this host is left to the host's matching
        (
            {"companyId": [f"urn:cbamx:company:{TENANT}", "urn:example:company:x"]},
            PublicationFilter(supplier_id=TENANT),
        ),
        ({"productId": [f"urn:cbamx:product:{PRODUCT}"]}, PublicationFilter(product_id=PRODUCT)),
        # a PACT product id names the product code, which the query does not hold
        ({"productId": [f"urn:cbamx:product:{PRODUCT}", "urn:pact:h:product-id:P"]}, PublicationFilter()),
        ({"classification": ["urn:cbamx:cn:76042990"]}, PublicationFilter(cn_code="76042990")),
        ({"classification": ["urn:cbamx:cn:76042990", "urn:cbamx:cn:76041010"]}, PublicationFilter(cn_code="7604")),
        # a single digit in common starts no CN code the query accepts: left to the host
        ({"classification": ["urn:cbamx:cn:76042990", "urn:cbamx:cn:72042990"]}, PublicationFilter()),
        ({"status": ["Deprecated"]}, PublicationFilter(status=PublicationStatus.DEPRECATED)),
        ({"status": ["Active", "Deprecated"]}, PublicationFilter()),
        ({"status": ["Active", "BogusStatusValue"]}, PublicationFilter(status=PublicationStatus.ACTIVE)),
        # valid from the reference period's end: valid on a day or ending before it means the period ended by then
        (
            {"validOn": ["2027-06-01T00:00:00Z"], "validBefore": ["2030-01-01T00:00:00Z"]},
            PublicationFilter(end=datetime(2027, 6, 1, tzinfo=UTC)),
        ),
        ({"validAfter": ["2027-06-01T00:00:00Z"], "geography": ["RS"]}, PublicationFilter()),
    ],
)
def test_the_query_holds_the_criteria_it_can_apply_exactly(values, expected):
    assert pushed(**values) == expected


@pytest.mark.parametrize(
    "values",
    [
        {"companyId": ["urn:cbamx:company:not-an-organisation"]},
        {"companyId": [f"urn:cbamx:company:{str(TENANT).upper()}"]},  # company ids are written in lower case
        {"productId": ["urn:example:product:x"]},
        {"productId": ["urn:cbamx:product:not-a-uuid"]},
        {"classification": ["urn:cbamx:cn:7604", "urn:example:cn:76042990"]},
        {"status": ["BogusStatusValue"]},  # a status no footprint has
        {"companyId": ["Xk3vQ9pL"]},  # not a company URN
    ],
)
def test_criteria_no_publication_can_meet_read_nothing(values):
    assert pushed(**values) is None
