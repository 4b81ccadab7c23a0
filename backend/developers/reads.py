"""The offtaker's reads of a developer's data for their shared contract, through the contract's grant.

Each read checks, on the platform, that the caller's organisation is the contract's offtaker and the
connection is active and running; then opens the developer's tenant under the caller's live
``ppa_contract`` grants, keeps only the grant scoped to this contract (``GRANT_CONTRACT_EXCLUDES``
otherwise) and records the use in the developer's audit trail. A revoked connection or grant, or a
contract past its end, is refused at once.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from backend.developers import service
from backend.developers.connections import live_connection
from backend.developers.models import PpaConnection, SettlementInterval
from backend.developers.schemas import IntervalColumns
from backend.identity.principal import Principal
from backend.services import Services
from backend.sharing.access import GrantedRead, granted_read
from backend.sharing.models import ResourceKind
from backend.supply.service import GeneratorData


async def offtaker_connection(services: Services, actor: Principal, connection_id: uuid.UUID) -> PpaConnection:
    """The live connection of which the caller's organisation is the offtaker."""
    async with services.db.platform_session() as platform:
        connection = await live_connection(platform, actor, connection_id, side="offtaker")
        platform.expunge(connection)
    return connection


async def developer_connection(services: Services, actor: Principal, connection_id: uuid.UUID) -> PpaConnection:
    """The connection of which the caller's organisation is the developer (active, or ended by its period)."""
    async with services.db.platform_session() as platform:
        connection = await live_connection(platform, actor, connection_id, side="developer")
        platform.expunge(connection)
    return connection


@asynccontextmanager
async def shared_contract(
    services: Services, actor: Principal, connection_id: uuid.UUID, *, what: str
) -> AsyncIterator[tuple[PpaConnection, GrantedRead]]:
    """The caller's live connection as offtaker, and the developer's tenant opened under this contract's grant."""
    connection = await offtaker_connection(services, actor, connection_id)
    async with granted_read(
        services,
        actor,
        connection.developer_tenant_id,
        ResourceKind.PPA_CONTRACT,
        what=what,
        entity_id=connection.id,
    ) as read:
        await read.allow_contract(connection.id)
        yield connection, read


async def read_contract_data(
    services: Services, actor: Principal, connection_id: uuid.UUID
) -> tuple[PpaConnection, service.ContractData]:
    """The developer's plant, statements, interval summary and documents of the shared contract."""
    async with shared_contract(services, actor, connection_id, what="ppa_contract") as (connection, read):
        data = await service.contract_data(read.db, read.reader, connection)
    return connection, data


async def read_contract_intervals(
    services: Services, actor: Principal, connection_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[PpaConnection, list[SettlementInterval]]:
    """The shared contract's intervals starting in [start, end) (at most 31 days)."""
    service.check_series(start, end)
    async with shared_contract(services, actor, connection_id, what="settlement_intervals") as (connection, read):
        rows = await service.contract_intervals(read.db, read.reader, connection, start, end)
    return connection, rows


async def read_period_intervals(
    services: Services, actor: Principal, connection_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[PpaConnection, IntervalColumns]:
    """The shared contract's intervals starting in [start, end), any length (a calculation's year), read
    31 days at a time in one grant read (one use recorded in the developer's audit trail), as columns."""
    service.check_series(start, min(end, start + service.MAX_SERIES))
    rows = IntervalColumns()
    async with shared_contract(services, actor, connection_id, what="settlement_intervals") as (connection, read):
        window = start
        while window < end:
            upto = min(end, window + service.MAX_SERIES)
            rows.extend(await service.contract_interval_columns(read.db, read.reader, connection, window, upto))
            window = upto
    return connection, rows


async def read_generator_data(
    services: Services, actor: Principal, contract_id: uuid.UUID, offtaker_id: uuid.UUID
) -> GeneratorData | None:
    """What the developer's data shows for the offtaker's contract, if a live connection shares it."""
    from backend.developers.connections import connection_of_contract, effective_status
    from backend.developers.models import ConnectionStatus

    async with services.db.platform_session() as platform:
        connection = await connection_of_contract(platform, offtaker_id, contract_id)
    if connection is None or effective_status(connection) != ConnectionStatus.ACTIVE:
        return None
    _, data = await read_contract_data(services, actor, connection.id)
    return GeneratorData(
        intervals=data.intervals,
        max_resolution_s=data.max_resolution_s,
        grid_connection_evidence=bool(data.plant and data.plant.grid_connection_document_id),
    )
