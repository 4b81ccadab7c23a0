"""Database access: declarative bases, the engine, and units of work per tenant or platform.

Two metadata objects: ``PlatformBase`` tables live in the ``platform`` schema; ``TenantBase``
tables carry no schema and are routed to ``tenant_<key>`` by ``schema_translate_map``. A tenant
transaction also runs ``SET LOCAL ROLE`` to the tenant's own role, so PostgreSQL refuses any other
tenant's tables even if application code asks for them.

The API and workers log in as a runtime role that owns nothing, and each tenant's transactions
log in as the tenant's own role on a pool of their own (``tenant_password``): PostgreSQL checks
``SET ROLE`` against the login role, so a statement inside one tenant's transaction can neither
``RESET ROLE`` to anything useful nor switch to another tenant's role. Without ``tenant_password``
(the owner's handle, used by migrations and provisioning) the login role switches with
``SET LOCAL ROLE`` instead.
"""

from __future__ import annotations

import asyncio
import enum
import re
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import DateTime, Enum, MetaData, event, exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.util.concurrency import await_

if TYPE_CHECKING:
    import asyncpg

PLATFORM_SCHEMA = "platform"
# published reference data (regulatory emission factors): read-only for the runtime and every tenant role
PUBLISHED_SCHEMA = "published"
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class PlatformBase(DeclarativeBase):
    metadata = MetaData(schema=PLATFORM_SCHEMA, naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class TenantBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def str_enum(enum_cls: type[enum.Enum], *, length: int = 32) -> Enum:
    """Store an enum as its string values; checked in Python, no database type to migrate."""
    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def key_range_sql(*columns: str) -> str:
    """SQL for a one-point ``numrange`` over a 64-bit hash of ``columns``, for a generated column.

    A GiST exclusion constraint can then say "same key, overlapping range" with PostgreSQL's built-in
    range operators alone: equality on plain columns inside GiST needs the btree_gist extension, which
    the embedded PostgreSQL of the demo does not ship. Two different keys that hash alike would refuse
    each other's rows; two rows of one key can never both pass.
    """
    key = " || '|' || ".join(f"{column}::text" for column in columns)
    point = f"hashtextextended({key}, 0)::numeric"
    return f"numrange({point}, {point}, '[]')"


def quote_ident(name: str) -> str:
    """Quote a schema or role name that DDL cannot take as a parameter."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"not a valid identifier: {name!r}")
    return f'"{name}"'


def asyncpg_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Where a tenant's rows live: its schema and the role its transactions run as."""

    tenant_id: uuid.UUID
    schema: str
    role: str

    @property
    def quoted_schema(self) -> str:
        """The schema as a quoted identifier, for the raw SQL that must name it."""
        return quote_ident(self.schema)


class _TenantSyncSession(Session):
    """Sync session class whose transactions switch to the tenant role first."""


@event.listens_for(_TenantSyncSession, "after_begin")
def _set_tenant_role(session: Session, transaction: Any, connection: Any) -> None:
    role = session.info.get("tenant_role")
    if role:
        connection.exec_driver_sql(f"SET LOCAL ROLE {quote_ident(role)}")


def _checkout(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """A connection leaves the pool alive and as its login user, checked in one round trip.

    ``RESET ROLE`` (simple protocol, outside any transaction) undoes a session-level ``SET ROLE`` a
    statement may have made, so no transaction inherits another tenant's role (tenant transactions use
    ``SET LOCAL ROLE``, which ends with the transaction anyway); and it is the liveness check: a
    connection that cannot answer is discarded and the pool hands out another (``DisconnectionError``).
    SQLAlchemy's own ``pool_pre_ping`` and a reset when the connection is returned would cost six round
    trips per unit of work (each wrapped in ``BEGIN`` and ``ROLLBACK`` by the asyncpg adapter).
    """
    try:
        await_(dbapi_connection._connection.execute("RESET ROLE"))
    except Exception as error:  # any failure here means: use another connection
        raise exc.DisconnectionError(f"connection unusable: {error}") from error


class AfterCommitRelay(Protocol):
    """Hands a transaction's outbox rows to the queue once it has committed (``backend.outbox``)."""

    async def deliver_after_commit(self, scope: TenantScope | None, ids: Sequence[uuid.UUID]) -> None: ...


def _engine(url: str | URL, *, pool_size: int, max_overflow: int, statement_cache_size: int) -> AsyncEngine:
    engine = create_async_engine(
        asyncpg_url(url) if isinstance(url, str) else url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # one cached statement per (statement x tenant): schema_translate_map renders
        # schema-qualified SQL, so the default of 100 would re-prepare on every query
        connect_args={"prepared_statement_cache_size": statement_cache_size},
    )
    event.listen(engine.sync_engine.pool, "checkout", _checkout)
    return engine


@dataclass
class Database:
    """The application's handle on PostgreSQL."""

    engine: AsyncEngine
    relay: AfterCommitRelay | None = None
    # set: tenant transactions log in as the tenant's role (its password from this function)
    tenant_password: Callable[[str], str] | None = None
    max_tenant_pools: int = 32
    # a tenant's pool keeps one connection between units of work; busier moments open overflow
    # connections (up to the runtime pool's size) that close when they are returned
    tenant_pool_size: int = 1
    tenant_max_overflow: int = 10
    _platform_maker: async_sessionmaker[AsyncSession] = field(init=False)
    _tenant_engines: OrderedDict[str, AsyncEngine] = field(init=False, default_factory=OrderedDict)
    _retired: set[asyncio.Task[None]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._platform_maker = async_sessionmaker(
            self.engine, expire_on_commit=False, info={"tenant_logins": self.tenant_password is not None}
        )

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        pool_size: int = 10,
        statement_cache_size: int = 1000,
        tenant_password: Callable[[str], str] | None = None,
        max_tenant_pools: int = 32,
    ) -> Database:
        engine = _engine(url, pool_size=pool_size, max_overflow=pool_size, statement_cache_size=statement_cache_size)
        return cls(
            engine=engine,
            tenant_password=tenant_password,
            max_tenant_pools=max_tenant_pools,
            tenant_max_overflow=pool_size,
        )

    def platform_session(self) -> AsyncSession:
        return self._platform_maker()

    def _tenant_engine(self, role: str) -> AsyncEngine:
        """The tenant role's own pool (least recently used pools beyond the limit are closed)."""
        if self.tenant_password is None:
            return self.engine
        engine = self._tenant_engines.get(role)
        if engine is not None:
            self._tenant_engines.move_to_end(role)
            return engine
        url = self.engine.url.set(username=role, password=self.tenant_password(role))
        engine = _engine(
            url, pool_size=self.tenant_pool_size, max_overflow=self.tenant_max_overflow, statement_cache_size=200
        )
        self._tenant_engines[role] = engine
        # close the least recently used idle pools beyond the limit (a pool in use stays open)
        for old_role in list(self._tenant_engines)[: max(0, len(self._tenant_engines) - self.max_tenant_pools)]:
            old = self._tenant_engines[old_role]
            if old.sync_engine.pool.checkedout():  # type: ignore[attr-defined]
                continue
            del self._tenant_engines[old_role]
            task = asyncio.get_running_loop().create_task(old.dispose())
            self._retired.add(task)
            task.add_done_callback(self._retired.discard)
        return engine

    def tenant_session(self, scope: TenantScope) -> AsyncSession:
        bind = self._tenant_engine(scope.role).execution_options(schema_translate_map={None: scope.schema})
        session = AsyncSession(bind=bind, expire_on_commit=False, sync_session_class=_TenantSyncSession)
        # a tenant login already is the tenant's role (and can be no other): SET LOCAL ROLE only where
        # the login switches (the owner's handle)
        session.info["tenant_role"] = scope.role if self.tenant_password is None else None
        session.info["tenant_scope"] = scope
        return session

    @asynccontextmanager
    async def platform(self) -> AsyncIterator[AsyncSession]:
        """One platform transaction: commits on success, then hands its outbox rows to the queue."""
        async with self.platform_session() as session:
            async with session.begin():
                yield session
            await self._after_commit(session)

    @asynccontextmanager
    async def tenant(self, scope: TenantScope) -> AsyncIterator[AsyncSession]:
        """One tenant transaction (the unit of work): commits on success, then hands its outbox rows to
        the queue."""
        async with self.tenant_session(scope) as session:
            async with session.begin():
                yield session
            await self._after_commit(session)

    async def _after_commit(self, session: AsyncSession) -> None:
        ids: list[uuid.UUID] = session.info.pop("outbox_ids", [])
        if ids and self.relay is not None:
            # never raises: the commit has happened, so the caller is answered with success and
            # rows Redis did not take wait for the periodic relay
            await self.relay.deliver_after_commit(session.info.get("tenant_scope"), ids)

    async def dispose(self) -> None:
        for engine in self._tenant_engines.values():
            await engine.dispose()
        self._tenant_engines.clear()
        if self._retired:
            await asyncio.gather(*self._retired, return_exceptions=True)
        await self.engine.dispose()


def defer_job(session: AsyncSession, function: str, *args: Any, job_id: str | None = None) -> None:
    """Write a job to the transactional outbox: it exists if and only if the transaction commits,
    and is handed to the queue after the commit, or later by the periodic relay if Redis is down.

    Arguments must be JSON values (ids as strings).
    """
    from backend.outbox import add_job

    session.info.setdefault("outbox_ids", []).append(add_job(session, function, args, job_id))


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The unit of work's own asyncpg connection, in its transaction: for COPY, and for array
    parameters and packed rows that would cost more through SQLAlchemy's row objects."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = cast("asyncpg.Connection", raw.driver_connection)
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN with its first statement, not when the unit of work
        # begins: start it through the adapter (which then knows it began), or the driver's own
        # statements would run outside the transaction, each committed on its own
        await connection.exec_driver_sql("SELECT 1")
    return driver


def tenant_scope_of(session: AsyncSession) -> TenantScope:
    scope = session.info.get("tenant_scope")
    if scope is None:
        raise RuntimeError("this session is not a tenant session")
    return scope  # type: ignore[no-any-return]


async def tenant_session_on(connection: Any, scope: TenantScope) -> AsyncSession:
    """A tenant session joined to a connection whose transaction the caller already began."""
    bind = await connection.execution_options(schema_translate_map={None: scope.schema})
    session = AsyncSession(
        bind=bind,
        expire_on_commit=False,
        sync_session_class=_TenantSyncSession,
        join_transaction_mode="create_savepoint",
    )
    session.info["tenant_role"] = scope.role
    session.info["tenant_scope"] = scope
    return session


@asynccontextmanager
async def tenant_within_platform(platform_db: AsyncSession, scope: TenantScope) -> AsyncIterator[AsyncSession]:
    """A tenant session on the platform transaction's own connection.

    For the few platform changes that must commit together with tenant rows (an audit entry, a
    check of the tenant's own records). The owner's handle runs it as the tenant's role and resets
    the role afterwards, so the platform session can go on. The runtime login is no member of any
    tenant role: it runs as itself, with the narrow grants provisioning gives it in every tenant
    schema (append to and read the audit trail, read installation ids).
    """
    connection = await platform_db.connection()
    session = await tenant_session_on(connection, scope)
    as_role = not platform_db.info.get("tenant_logins")
    if not as_role:
        session.info["tenant_role"] = None
    try:
        yield session
        await session.commit()  # releases the savepoint only; the caller's transaction stays open
    finally:
        await session.close()
        if as_role:
            await connection.exec_driver_sql("RESET ROLE")
