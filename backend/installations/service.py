"""Use cases of the site model: installations, grid connection points, processes, lines."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.identity.principal import Principal
from backend.installations.errors import CodeTaken, InstallationNotFound, ProcessNotFound
from backend.installations.models import GridConnectionPoint, Installation, ProductionLine, ProductionProcess
from backend.installations.schemas import (
    GridPointData,
    InstallationData,
    LineData,
    ProcessData,
    check_code,
    check_text,
    text_errors,
)


def _scope_installations(principal: Principal) -> uuid.UUID | None:
    """A machine client bound to one installation sees only that one."""
    return principal.installation_id if principal.kind == "client" else None


async def get_installation(db: AsyncSession, principal: Principal, installation_id: uuid.UUID) -> Installation:
    """One installation of the tenant; readers and up."""
    if not principal.has("ingest"):
        principal.require("site:read")
    bound = _scope_installations(principal)
    installation = await db.get(Installation, installation_id)
    if installation is None or (bound is not None and bound != installation_id):
        raise InstallationNotFound("no such installation", field="installationId")
    return installation


async def list_installations(
    db: AsyncSession, principal: Principal, *, after: tuple[str, str] | None = None, limit: int = 50
) -> list[Installation]:
    principal.require("site:read")
    query = select(Installation).order_by(Installation.created_at, Installation.id).limit(limit)
    if after is not None:
        from datetime import datetime

        created, ident = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        query = query.where(
            (Installation.created_at > created) | ((Installation.created_at == created) & (Installation.id > ident))
        )
    if (bound := _scope_installations(principal)) is not None:
        query = query.where(Installation.id == bound)
    return list((await db.execute(query)).scalars())


async def create_installation(db: AsyncSession, principal: Principal, data: InstallationData) -> Installation:
    """Add an installation; members and up (not a client bound to one installation)."""
    principal.require("site:write")
    if _scope_installations(principal) is not None:
        raise PermissionDenied("a client bound to one installation cannot add installations")
    data.validate()
    installation = Installation(**dataclasses.asdict(data))
    db.add(installation)
    await db.flush()
    await record(db, principal, "installation.created", "installation", installation.id, after=snapshot(installation))
    return installation


async def update_installation(
    db: AsyncSession, principal: Principal, installation_id: uuid.UUID, data: InstallationData
) -> Installation:
    principal.require("site:write")
    data.validate()
    try:
        installation = await get_installation(db, principal, installation_id)
    except InstallationNotFound:
        raise InstallationNotFound("no such installation", field="id") from None
    before = snapshot(installation)
    for key, value in dataclasses.asdict(data).items():
        setattr(installation, key, value)
    await db.flush()
    await record(
        db,
        principal,
        "installation.updated",
        "installation",
        installation.id,
        before=before,
        after=snapshot(installation),
    )
    return installation


async def _unique_code(db: AsyncSession, model: type, installation_id: uuid.UUID, code: str) -> None:
    exists = await db.execute(select(model.id).where(model.installation_id == installation_id, model.code == code))
    if exists.first() is not None:
        raise CodeTaken(f"the code '{code}' is already used in this installation", field="code")


Part = TypeVar("Part", ProductionProcess, ProductionLine, GridConnectionPoint)


def _code_and_name_errors(code: str, name: str, *checks: FieldError | None) -> list[FieldError]:
    """The checks every part of an installation (process, line, grid point) passes, and its own ``checks``."""
    return text_errors(check_code(code), check_text(name, field="name", max_length=200, required=True), *checks)


async def _add_part(
    db: AsyncSession,
    principal: Principal,
    model: type[Part],
    values: dict[str, Any],
    errors: list[FieldError],
    event: str,
    kind: str,
) -> Part:
    """Store a new part of an installation once its checks passed and its code is free there; audited."""
    if errors:
        raise ValidationFailed(errors)
    await _unique_code(db, model, values["installation_id"], values["code"])
    part = model(**values)
    db.add(part)
    await db.flush()
    await record(db, principal, event, kind, part.id, after=snapshot(part))
    return part


async def create_process(db: AsyncSession, principal: Principal, data: ProcessData) -> ProductionProcess:
    principal.require("site:write")
    await get_installation(db, principal, data.installation_id)
    errors = _code_and_name_errors(
        data.code,
        data.name,
        check_text(data.goods_category, field="goodsCategory", max_length=120),
        check_text(data.boundary, field="boundary", max_length=10_000),
    )
    values = dataclasses.asdict(data)
    return await _add_part(db, principal, ProductionProcess, values, errors, "process.created", "production_process")


async def get_process(db: AsyncSession, principal: Principal, process_id: uuid.UUID) -> ProductionProcess:
    principal.require("site:read")
    process = await db.get(ProductionProcess, process_id)
    if process is None:
        raise ProcessNotFound("no such production process", field="processId")
    return process


async def create_line(db: AsyncSession, principal: Principal, data: LineData) -> ProductionLine:
    principal.require("site:write")
    process = await get_process(db, principal, data.process_id)
    errors = _code_and_name_errors(data.code, data.name, check_text(data.boundary, field="boundary", max_length=10_000))
    values = {"installation_id": process.installation_id, **dataclasses.asdict(data)}
    return await _add_part(db, principal, ProductionLine, values, errors, "line.created", "production_line")


async def create_grid_point(db: AsyncSession, principal: Principal, data: GridPointData) -> GridConnectionPoint:
    principal.require("site:write")
    await get_installation(db, principal, data.installation_id)
    errors = _code_and_name_errors(
        data.code, data.name, check_text(data.grid_operator, field="gridOperator", max_length=200)
    )
    if data.voltage_kv is not None and not (0 < data.voltage_kv <= 1_000):
        errors.append(FieldError("a positive voltage up to 1000 kV", field="voltageKv"))
    values = dataclasses.asdict(data)
    return await _add_part(
        db, principal, GridConnectionPoint, values, errors, "grid_point.created", "grid_connection_point"
    )


async def processes_of(db: AsyncSession, installation_ids: list[uuid.UUID]) -> list[ProductionProcess]:
    rows = await db.execute(
        select(ProductionProcess)
        .where(ProductionProcess.installation_id.in_(installation_ids))
        .order_by(ProductionProcess.code)
    )
    return list(rows.scalars())


async def lines_of(db: AsyncSession, process_ids: list[uuid.UUID]) -> list[ProductionLine]:
    rows = await db.execute(
        select(ProductionLine).where(ProductionLine.process_id.in_(process_ids)).order_by(ProductionLine.code)
    )
    return list(rows.scalars())


async def grid_points_of(db: AsyncSession, installation_ids: list[uuid.UUID]) -> list[GridConnectionPoint]:
    rows = await db.execute(
        select(GridConnectionPoint)
        .where(GridConnectionPoint.installation_id.in_(installation_ids))
        .order_by(GridConnectionPoint.code)
    )
    return list(rows.scalars())
