"""Connection changes that need each side's own record: read first in the caller's own tenant (the
contract or the plant), then changed in one platform transaction.

The platform transaction cannot read a tenant's tables (its login holds only the narrow share
provisioning gives it), so the record is read before, as the caller, in the caller's tenant.
"""

from __future__ import annotations

import uuid

from backend.db import Database
from backend.developers import connections
from backend.developers.errors import PlantNotFound
from backend.developers.models import GenerationPlant, PpaConnection
from backend.developers.schemas import Terms
from backend.developers.service import get_plant
from backend.identity.principal import Principal
from backend.supply.errors import ContractNotFound
from backend.supply.models import SupplyContract
from backend.supply.service import get_contract
from backend.tenants.models import Tenant


async def _tenant(db: Database, actor: Principal) -> Tenant:
    async with db.platform_session() as session:
        tenant = await session.get(Tenant, actor.require_tenant())
        assert tenant is not None
        session.expunge(tenant)
    return tenant


async def _contract(db: Database, actor: Principal, tenant: Tenant, contract_id: uuid.UUID) -> SupplyContract:
    async with db.tenant(tenant.scope()) as tenant_db:
        try:
            contract = await get_contract(tenant_db, actor, contract_id)
        except ContractNotFound:
            raise ContractNotFound("no such supply contract", field="contractId") from None
        tenant_db.expunge(contract)
    return contract


async def _plant(db: Database, actor: Principal, tenant: Tenant, plant_id: uuid.UUID) -> GenerationPlant:
    async with db.tenant(tenant.scope()) as tenant_db:
        try:
            plant = await get_plant(tenant_db, actor, plant_id)
        except PlantNotFound:
            raise PlantNotFound("no such plant of yours", field="plantId") from None
        tenant_db.expunge(plant)
    return plant


async def invite_developer(
    db: Database, actor: Principal, *, contract_id: uuid.UUID, developer_id: uuid.UUID
) -> tuple[PpaConnection, Tenant]:
    tenant = await _tenant(db, actor)
    contract = await _contract(db, actor, tenant, contract_id)
    async with db.platform() as session:
        row = await connections.invite_developer(
            session, actor, offtaker=tenant, developer_id=developer_id, contract=contract
        )
    return row, tenant


async def invite_offtaker(
    db: Database, actor: Principal, *, offtaker_id: uuid.UUID, plant_id: uuid.UUID, terms: Terms
) -> tuple[PpaConnection, Tenant]:
    tenant = await _tenant(db, actor)
    plant = await _plant(db, actor, tenant, plant_id)
    async with db.platform() as session:
        row = await connections.invite_offtaker(
            session, actor, developer=tenant, offtaker_id=offtaker_id, plant=plant, terms=terms
        )
    return row, tenant


async def accept(
    db: Database,
    actor: Principal,
    *,
    connection_id: uuid.UUID,
    plant_id: uuid.UUID | None = None,
    contract_id: uuid.UUID | None = None,
) -> tuple[PpaConnection, Tenant]:
    tenant = await _tenant(db, actor)
    plant = await _plant(db, actor, tenant, plant_id) if plant_id else None
    contract = await _contract(db, actor, tenant, contract_id) if contract_id else None
    async with db.platform() as session:
        row = await connections.accept(
            session, actor, tenant=tenant, connection_id=connection_id, plant=plant, contract=contract
        )
    return row, tenant


async def decline(db: Database, actor: Principal, *, connection_id: uuid.UUID) -> tuple[PpaConnection, Tenant]:
    tenant = await _tenant(db, actor)
    async with db.platform() as session:
        row = await connections.decline(session, actor, tenant=tenant, connection_id=connection_id)
    return row, tenant


async def revoke(db: Database, actor: Principal, *, connection_id: uuid.UUID) -> tuple[PpaConnection, Tenant]:
    tenant = await _tenant(db, actor)
    async with db.platform() as session:
        row = await connections.revoke(session, actor, tenant=tenant, connection_id=connection_id)
    return row, tenant
