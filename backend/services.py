"""The long-lived resources of one process: database, Redis, object store, caches."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from redis.asyncio import Redis

from backend.audit.service import AuditBatches
from backend.db import Database
from backend.evidence.store import LocalStore, ObjectStore, S3Store
from backend.identity.keycache import KeyCache
from backend.outbox import OutboxRelay
from backend.settings import Settings
from backend.tenants.registry import TenantRegistry


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: Redis
    queue: ArqRedis
    store: ObjectStore
    tenants: TenantRegistry
    keys: KeyCache
    # reads through grants, recorded in the grantors' trails by group commit
    audit: AuditBatches

    async def close(self) -> None:
        await self.queue.aclose()
        await self.redis.aclose()
        await self.db.dispose()


def build_store(settings: Settings) -> ObjectStore:
    if settings.s3_endpoint_url:
        return S3Store(
            endpoint_url=settings.s3_endpoint_url,
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            object_lock_days=settings.s3_object_lock_days,
        )
    return LocalStore(
        settings.data_dir / "evidence", secret=settings.resolved_secret_key(), public_url=settings.public_url
    )


async def start_services(settings: Settings) -> Services:
    if not (settings.runtime_database_url or settings.database_url) or not settings.redis_url:
        raise RuntimeError(
            "CBAMX_RUNTIME_DATABASE_URL (or DATABASE_URL) and REDIS_URL must be set "
            "(the demo command starts embedded ones)"
        )
    # the runtime login owns nothing; each tenant's transactions log in as the tenant's role
    db = Database.connect(
        settings.resolved_runtime_database_url(),
        pool_size=settings.db_pool_size,
        statement_cache_size=settings.db_statement_cache_size,
        tenant_password=settings.role_password,
        max_tenant_pools=settings.db_tenant_pools,
    )
    db.tenant_pool_size = settings.db_tenant_pool_size
    # connections are opened on first use, so the API starts and commits while Redis is down; the
    # timeouts keep a request that needs Redis from hanging on it (it answers 503 instead)
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2.0, socket_timeout=5.0)
    queue = ArqRedis.from_url(settings.redis_url, socket_connect_timeout=2.0, socket_timeout=5.0)
    db.relay = OutboxRelay(db, queue)
    store = build_store(settings)
    if isinstance(store, S3Store):
        await store.ensure_bucket()
    return Services(
        settings=settings,
        db=db,
        redis=redis,
        queue=queue,
        store=store,
        tenants=TenantRegistry(db),
        keys=KeyCache(db, secret=settings.resolved_secret_key()),
        audit=AuditBatches(db),
    )
