"""PPA connections (platform schema): a developer and an offtaker connect through one PPA.

Either side invites, the other accepts (naming its own record: the developer its plant, the
offtaker its supply contract) or declines. Accepting creates a grant from the developer to the
offtaker scoped to that one contract, expiring when the contract ends; revoking the connection
(either side) revokes the grant at once. Each side sees the connection and the other's name, no more.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.db import utcnow
from backend.developers.errors import (
    ConnectionNotActive,
    ConnectionNotFound,
    ConnectionStateConflict,
)
from backend.developers.models import ConnectionStatus, GenerationPlant, PpaConnection
from backend.developers.schemas import Terms
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.sharing.grants import NewGrant, create_grant, revoke_grant
from backend.sharing.models import ResourceKind
from backend.supply.models import ContractKind, SupplyContract
from backend.tenants.models import Tenant, TenantKind, TenantStatus

OFFTAKER_KINDS = frozenset({TenantKind.EXPORTER})
MAX_LISTED = 500


def effective_status(connection: PpaConnection, now: datetime | None = None) -> ConnectionStatus:
    """An active connection whose contract period is over has ended."""
    if connection.status == ConnectionStatus.ACTIVE and connection.period_end <= (now or utcnow()):
        return ConnectionStatus.ENDED
    return connection.status


def _admin(actor: Principal, tenant: Tenant) -> None:
    if actor.kind != "system" and actor.tenant_id != tenant.id:
        raise PermissionDenied("act for your own organisation")
    if actor.kind == "client" and actor.installation_id is not None:
        raise PermissionDenied("a client bound to one installation does not handle PPA connections")
    actor.require_role(MembershipRole.ADMIN)


async def _counterpart(db: AsyncSession, tenant_id: uuid.UUID, kinds: frozenset[TenantKind], field: str) -> Tenant:
    other = await db.get(Tenant, tenant_id)
    if other is None or other.kind not in kinds or other.status != TenantStatus.ACTIVE:
        what = "renewable developer" if TenantKind.RENEWABLE_DEVELOPER in kinds else "exporter"
        raise ValidationFailed([FieldError(f"no such {what}", field=field)])
    return other


async def _ppa_contract(db: AsyncSession, offtaker: Tenant, contract: SupplyContract) -> SupplyContract:
    """The offtaker's PPA contract (read in its own tenant by the caller), free of another connection."""
    if contract.kind != ContractKind.PPA:
        raise ValidationFailed([FieldError("name a PPA contract", field="contractId")])
    taken = await db.execute(
        select(PpaConnection.id).where(
            PpaConnection.offtaker_tenant_id == offtaker.id,
            PpaConnection.contract_id == contract.id,
            PpaConnection.status.in_([ConnectionStatus.INVITED, ConnectionStatus.ACTIVE]),
        )
    )
    if taken.first() is not None:
        raise ValidationFailed([FieldError("this contract already has a connection", field="contractId")])
    return contract


async def _audit_both(
    db: AsyncSession, actor: Principal, connection: PpaConnection, action: str, **details: object
) -> None:
    """The change in both parties' trails (each side's entry names only the shared connection)."""
    for tenant_id in (connection.developer_tenant_id, connection.offtaker_tenant_id):
        tenant = await db.get(Tenant, tenant_id)
        assert tenant is not None
        await record_in_platform_transaction(
            db,
            tenant.scope(),
            actor,
            action,
            "ppa_connection",
            connection.id,
            details={"status": connection.status.value, "reference": connection.reference, **details},
        )


async def invite_developer(
    db: AsyncSession, actor: Principal, *, offtaker: Tenant, developer_id: uuid.UUID, contract: SupplyContract
) -> PpaConnection:
    """The offtaker invites the developer of one of its PPA contracts; the terms are the contract's.

    ``contract`` was read in the offtaker's own tenant by the caller (``backend.developers.flows``).
    """
    _admin(actor, offtaker)
    if offtaker.kind not in OFFTAKER_KINDS:
        raise PermissionDenied("only an exporter invites a developer to a PPA")
    developer = await _counterpart(db, developer_id, frozenset({TenantKind.RENEWABLE_DEVELOPER}), "developerId")
    contract = await _ppa_contract(db, offtaker, contract)
    if contract.period_end is None or contract.settlement is None or contract.delivery_shape is None:
        raise ValidationFailed([FieldError("the PPA contract lacks its end, settlement or shape", field="contractId")])
    connection = PpaConnection(
        developer_tenant_id=developer.id,
        offtaker_tenant_id=offtaker.id,
        invited_by_tenant_id=offtaker.id,
        status=ConnectionStatus.INVITED,
        reference=contract.reference,
        title=contract.title,
        period_start=contract.period_start,
        period_end=contract.period_end,
        settlement=contract.settlement,
        delivery_shape=contract.delivery_shape,
        contracted_volume_mwh=contract.contracted_volume_mwh,
        contract_id=contract.id,
    )
    db.add(connection)
    await db.flush()
    await _audit_both(db, actor, connection, "ppa_connection.invited")
    return connection


async def invite_offtaker(
    db: AsyncSession,
    actor: Principal,
    *,
    developer: Tenant,
    offtaker_id: uuid.UUID,
    plant: GenerationPlant,
    terms: Terms,
) -> PpaConnection:
    """The developer invites an offtaker to a PPA from one of its plants (read by the caller), stating the terms."""
    _admin(actor, developer)
    if developer.kind != TenantKind.RENEWABLE_DEVELOPER:
        raise PermissionDenied("only a renewable developer invites an offtaker to a PPA")
    errors = terms.errors()
    if errors:
        raise ValidationFailed(errors)
    offtaker = await _counterpart(db, offtaker_id, OFFTAKER_KINDS, "offtakerId")
    assert terms.period_end is not None
    connection = PpaConnection(
        developer_tenant_id=developer.id,
        offtaker_tenant_id=offtaker.id,
        invited_by_tenant_id=developer.id,
        status=ConnectionStatus.INVITED,
        reference=terms.reference,
        title=terms.title,
        period_start=terms.period_start,
        period_end=terms.period_end,
        settlement=terms.settlement,
        delivery_shape=terms.delivery_shape,
        contracted_volume_mwh=terms.contracted_volume_mwh,
        message=terms.message,
        plant_id=plant.id,
    )
    db.add(connection)
    await db.flush()
    await _audit_both(db, actor, connection, "ppa_connection.invited")
    return connection


async def _party_connection(
    db: AsyncSession, tenant: Tenant, connection_id: uuid.UUID, *, for_update: bool = False
) -> PpaConnection:
    connection = await db.get(PpaConnection, connection_id, with_for_update=for_update)
    if connection is None or tenant.id not in (connection.developer_tenant_id, connection.offtaker_tenant_id):
        raise ConnectionNotFound("no such PPA connection", field="id")
    return connection


async def accept(
    db: AsyncSession,
    actor: Principal,
    *,
    tenant: Tenant,
    connection_id: uuid.UUID,
    plant: GenerationPlant | None = None,
    contract: SupplyContract | None = None,
) -> PpaConnection:
    """The invited side accepts, naming its own record (read by the caller in its own tenant): the developer
    its plant, the offtaker its PPA contract. The contract-scoped grant is created."""
    _admin(actor, tenant)
    connection = await _party_connection(db, tenant, connection_id, for_update=True)
    if connection.invited_by_tenant_id == tenant.id:
        raise ConnectionStateConflict("the invited organisation accepts, not the one that invited", field="id")
    if connection.status != ConnectionStatus.INVITED:
        raise ConnectionStateConflict(f"the connection is {connection.status.value}, not invited", field="id")
    if connection.period_end <= utcnow():
        raise ConnectionStateConflict("the contract period is over", field="id")
    developer = await db.get(Tenant, connection.developer_tenant_id)
    assert developer is not None
    if tenant.id == connection.developer_tenant_id:
        if plant is None:
            raise ValidationFailed([FieldError("name the plant that delivers under this PPA", field="plantId")])
        connection.plant_id = plant.id
    else:
        if contract is None:
            raise ValidationFailed([FieldError("name your PPA contract with this developer", field="contractId")])
        contract = await _ppa_contract(db, tenant, contract)
        if (contract.period_start, contract.period_end) != (connection.period_start, connection.period_end):
            raise ValidationFailed(
                [
                    FieldError(
                        f"the contract runs {contract.period_start.isoformat()} to "
                        f"{contract.period_end.isoformat() if contract.period_end else 'open'}; the invitation "
                        f"{connection.period_start.isoformat()} to {connection.period_end.isoformat()}",
                        field="contractId",
                    )
                ]
            )
        connection.contract_id = contract.id
    grant = await create_grant(
        db,
        actor if actor.kind == "system" else Principal.system(f"{actor.label} (PPA connection)", developer.id),
        grantor=developer,
        data=NewGrant(
            grantee_tenant_id=connection.offtaker_tenant_id,
            resource_kinds=[ResourceKind.PPA_CONTRACT],
            contract_ids=[connection.id],
            expires_at=connection.period_end,
            purpose=f"PPA {connection.reference}",
        ),
    )
    connection.status, connection.decided_at, connection.grant_id = ConnectionStatus.ACTIVE, utcnow(), grant.id
    await db.flush()
    await _audit_both(db, actor, connection, "ppa_connection.accepted", grant_id=str(grant.id))
    return connection


async def decline(db: AsyncSession, actor: Principal, *, tenant: Tenant, connection_id: uuid.UUID) -> PpaConnection:
    """The invited side declines; nothing is shared."""
    _admin(actor, tenant)
    connection = await _party_connection(db, tenant, connection_id, for_update=True)
    if connection.invited_by_tenant_id == tenant.id:
        raise ConnectionStateConflict("the invited organisation declines; withdraw with revoke", field="id")
    if connection.status != ConnectionStatus.INVITED:
        raise ConnectionStateConflict(f"the connection is {connection.status.value}, not invited", field="id")
    connection.status, connection.decided_at = ConnectionStatus.DECLINED, utcnow()
    await db.flush()
    await _audit_both(db, actor, connection, "ppa_connection.declined")
    return connection


async def revoke(db: AsyncSession, actor: Principal, *, tenant: Tenant, connection_id: uuid.UUID) -> PpaConnection:
    """Either side ends the connection (or withdraws an invitation); the grant is revoked at once."""
    _admin(actor, tenant)
    connection = await _party_connection(db, tenant, connection_id, for_update=True)
    if connection.status not in (ConnectionStatus.INVITED, ConnectionStatus.ACTIVE):
        raise ConnectionStateConflict(f"the connection is already {connection.status.value}", field="id")
    connection.status, connection.ended_at = ConnectionStatus.REVOKED, utcnow()
    if connection.grant_id is not None:
        developer = await db.get(Tenant, connection.developer_tenant_id)
        assert developer is not None
        await revoke_grant(
            db,
            Principal.system(f"{actor.label} (PPA connection)", developer.id),
            grantor=developer,
            grant_id=connection.grant_id,
        )
    await db.flush()
    await _audit_both(db, actor, connection, "ppa_connection.revoked")
    return connection


async def list_connections(db: AsyncSession, actor: Principal) -> list[PpaConnection]:
    """The connections the actor's organisation is a party to, newest first."""
    actor.require("site:read")
    if actor.kind == "client" and actor.installation_id is not None:
        raise PermissionDenied("a client bound to one installation does not see PPA connections")
    tenant_id = actor.require_tenant()
    rows = await db.execute(
        select(PpaConnection)
        .where(or_(PpaConnection.developer_tenant_id == tenant_id, PpaConnection.offtaker_tenant_id == tenant_id))
        .order_by(PpaConnection.created_at.desc(), PpaConnection.id)
        .limit(MAX_LISTED)
    )
    return list(rows.scalars())


async def get_connection(db: AsyncSession, actor: Principal, connection_id: uuid.UUID) -> PpaConnection:
    actor.require("site:read")
    if actor.kind == "client" and actor.installation_id is not None:
        raise ConnectionNotFound("no such PPA connection", field="id")
    tenant_id = actor.require_tenant()
    connection = await db.get(PpaConnection, connection_id)
    if connection is None or tenant_id not in (connection.developer_tenant_id, connection.offtaker_tenant_id):
        raise ConnectionNotFound("no such PPA connection", field="id")
    return connection


async def connection_of_contract(
    db: AsyncSession, offtaker_id: uuid.UUID, contract_id: uuid.UUID
) -> PpaConnection | None:
    """The offtaker's newest connection for one of its contracts, if any."""
    rows = await db.execute(
        select(PpaConnection)
        .where(PpaConnection.offtaker_tenant_id == offtaker_id, PpaConnection.contract_id == contract_id)
        .order_by(PpaConnection.created_at.desc())
        .limit(1)
    )
    return rows.scalar_one_or_none()


async def live_connection(
    db: AsyncSession, actor: Principal, connection_id: uuid.UUID, *, side: str, field: str = "connectionId"
) -> PpaConnection:
    """A connection of the actor's organisation on ``side`` (developer | offtaker) that is active now."""
    tenant_id = actor.require_tenant()
    connection = await db.get(PpaConnection, connection_id)
    party = connection and (connection.developer_tenant_id if side == "developer" else connection.offtaker_tenant_id)
    if connection is None or party != tenant_id:
        raise ConnectionNotFound("no such PPA connection", field=field)
    status = effective_status(connection)
    # the developer may still file data after the period's end; the offtaker reads only while it runs
    allowed = {ConnectionStatus.ACTIVE} | ({ConnectionStatus.ENDED} if side == "developer" else set())
    if status not in allowed:
        raise ConnectionNotActive(f"the PPA connection is {status.value}", field=field)
    return connection
