"""Where the PACT host finds the published footprints a reader may see.

``FootprintSource`` is the one seam: the host lists and gets published documents for a reader (a
principal of one tenant, usually a client) and knows nothing else of where they come from.
``GrantedFootprintSource`` serves them today from the footprint versions other organisations share
through live ``footprint`` grants, each read checked against the grant and recorded in the
exporter's audit trail; a store of published records replaces it by implementing the same two
methods (and ``backend.pact.routes.source_of`` returning it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from backend.calculations import service as calculations
from backend.calculations.models import FootprintVersion
from backend.calculations.schemas import FootprintFilter
from backend.errors import NotFound
from backend.identity.principal import Principal
from backend.installations.models import Installation
from backend.pact import repository
from backend.pact.documents import (
    Exporter,
    InstallationFacts,
    ProductFacts,
    PublishedFootprint,
    VersionFacts,
    document_from_footprint_version,
)
from backend.production.models import Product
from backend.services import Services
from backend.sharing.access import GrantedRead, granted_read, within
from backend.sharing.grants import grants_received
from backend.sharing.models import ResourceKind

# footprint versions read from one grantor for one listing
MAX_PER_GRANTOR = 200


class FootprintSource(Protocol):
    async def list_published(self, reader: Principal) -> Sequence[PublishedFootprint]:
        """Every published footprint the reader may see (active and deprecated)."""
        ...

    async def get_published(self, reader: Principal, footprint_id: uuid.UUID) -> PublishedFootprint | None:
        """One published footprint, None when the reader has none of that id; refuses one it may not see."""
        ...


def _qualifying_parameters(product: Product) -> dict[str, float]:
    values = {
        "scrapTPerT": product.scrap_t_per_t,
        "preConsumerScrapShare": product.pre_consumer_scrap_share,
        "nonAluminiumShare": product.non_aluminium_share,
    }
    return {k: v for k, v in values.items() if v is not None}


def _published(
    version: FootprintVersion,
    *,
    exporter: Exporter,
    installation: Installation,
    product: Product,
    superseded: bool,
) -> PublishedFootprint:
    document = document_from_footprint_version(
        VersionFacts.of(version),
        exporter=exporter,
        installation=InstallationFacts(
            installation.id,
            installation.name,
            installation.cbam_installation_id,
            installation.country,
            installation.timezone,
        ),
        product=ProductFacts(
            product.id,
            product.code,
            product.name,
            product.cn_code,
            product.production_route.value if product.production_route else None,
            _qualifying_parameters(product),
        ),
    )
    # a version some later version supersedes is deprecated; footprint versions carry no verification yet
    return PublishedFootprint(document, "DEPRECATED" if superseded else "ACTIVE")


class GrantedFootprintSource:
    """Footprint versions shared through live footprint grants, as published documents."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def _grantors(self, reader: Principal) -> list[uuid.UUID]:
        async with self.services.db.platform_session() as platform:
            grants = await grants_received(platform, reader)
        return sorted({g.grantor_tenant_id for g in grants if ResourceKind.FOOTPRINT.value in g.resource_kinds})

    async def _exporter(self, grantor_id: uuid.UUID) -> Exporter:
        async with self.services.db.platform_session() as platform:
            tenant = await repository.tenant(platform, grantor_id)
        if tenant is None:
            raise NotFound("no such organisation")
        return Exporter(tenant.id, tenant.name, tenant.country)

    async def _documents(
        self, read: GrantedRead, exporter: Exporter, versions: Sequence[FootprintVersion], superseded: set[uuid.UUID]
    ) -> list[PublishedFootprint]:
        # the installations and products the granted versions name, read in the same unit of work: what the
        # grant allowed is the versions, and these are the facts each version states about itself
        installations = await repository.installations(read.db, {v.installation_id for v in versions})
        products = await repository.products(read.db, {v.product_id for v in versions})
        return [
            _published(
                v,
                exporter=exporter,
                installation=installations[v.installation_id],
                product=products[v.product_id],
                superseded=v.id in superseded,
            )
            for v in versions
        ]

    async def list_published(self, reader: Principal) -> list[PublishedFootprint]:
        found: list[PublishedFootprint] = []
        for grantor_id in await self._grantors(reader):
            exporter = await self._exporter(grantor_id)
            opening = granted_read(self.services, reader, grantor_id, ResourceKind.FOOTPRINT, what="pact_footprints")
            async with opening as read:
                versions = await calculations.list_footprints(
                    read.db,
                    read.reader,
                    FootprintFilter(latest_only=False),
                    limit=MAX_PER_GRANTOR,
                    limits=read.limits,
                )
                superseded = {v.supersedes_id for v in versions if v.supersedes_id is not None}
                found += await self._documents(read, exporter, versions, superseded)
                await read.allow_listing()
        return found

    async def get_published(self, reader: Principal, footprint_id: uuid.UUID) -> PublishedFootprint | None:
        for grantor_id in await self._grantors(reader):
            exporter = await self._exporter(grantor_id)
            opening = granted_read(
                self.services,
                reader,
                grantor_id,
                ResourceKind.FOOTPRINT,
                what="pact_footprint",
                entity_id=footprint_id,
            )
            try:
                async with opening as read:
                    version = await calculations.get_footprint(read.db, read.reader, footprint_id)
                    await read.allow(
                        within(
                            installation_ids=[version.installation_id],
                            period=(version.period_start, version.period_end),
                        )
                    )
                    lineage = await calculations.lineage(read.db, read.reader, footprint_id)
                    superseded = {v.supersedes_id for v in lineage if v.supersedes_id is not None}
                    (published,) = await self._documents(read, exporter, [version], superseded)
                    return published
            except NotFound:
                continue
        return None
