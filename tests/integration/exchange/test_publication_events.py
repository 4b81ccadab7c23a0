"""A customer whose share covers a footprint hears of each new publication on its feed, in the publishing
transaction: published, or superseded when it replaces an earlier one; a customer it does not cover
hears nothing."""

from __future__ import annotations

import pytest

from backend.tenants.models import TenantKind
from tests.factories.exchange import (
    connected,
    exporter_with_publications,
    gid,
    published,
    run_calculation,
    share,
    versions_of,
)
from tests.factories.tenants import login, make_tenant
from tests.operations import operation

PRODUCTS = {"PRF-2990": "7604 29 90", "BAR-2100": "7604 21 00"}


@pytest.fixture(autouse=True)
def feed_at_once(services):
    # other test runs on the same PostgreSQL server would hold the feed back for its settle time
    original = services.settings
    services.settings = original.model_copy(update={"feed_settle_s": 0.0})
    yield
    services.settings = original


async def feed(session) -> list[dict]:
    body = await session.gql(operation("FeedEvents"), {"first": 50})
    assert "errors" not in body, body
    return [edge["node"] for edge in body["data"]["feedEvents"]["edges"]]


async def test_a_new_publication_reaches_the_customers_its_share_covers(services, http):
    # given: an importer sharing one product, another connected importer with no share
    exporter = await exporter_with_publications(services, http, PRODUCTS)
    importer = await make_tenant(services, TenantKind.IMPORTER)
    buyer = await login(http, importer.email)
    await connected(exporter.session, buyer, exporter.owner)
    await share(exporter.session, importer, productIds=[gid("Product", exporter.plants["PRF-2990"].product_id)])
    other = await make_tenant(services, TenantKind.IMPORTER)
    other_session = await login(http, other.email)
    await connected(exporter.session, other_session, exporter.owner)
    assert await feed(buyer) == []  # publications made before the share are not announced
    # when: both products are run again and published
    for code in PRODUCTS:
        plant = exporter.plants[code]
        await run_calculation(exporter.session, plant, services)
        *_, newest = await versions_of(services, exporter.owner, plant.product_id)
        await published(exporter.session, newest.id)
    # then: the importer hears of the shared product only, as superseding the earlier publication
    (event,) = await feed(buyer)
    assert event["type"] == "cbamx.footprint.superseded"
    assert event["sourceOrganizationId"] == gid("Organization", exporter.owner.id)
    assert event["data"]["productCode"] == "PRF-2990" and event["data"]["version"] == 2
    assert event["data"]["supersedes"] is not None and event["data"]["contentHash"].startswith("sha256:")
    assert event["subject"] == f"published_footprint/{event['data']['publicationId']}"
    # the importer without a share, and the exporter itself, hear nothing
    assert await feed(other_session) == []
    assert await feed(exporter.session) == []
