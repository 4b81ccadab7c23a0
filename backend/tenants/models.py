"""The tenant registry (platform schema)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PlatformBase, TenantScope, new_id, str_enum, utcnow


class TenantKind(enum.StrEnum):
    EXPORTER = "exporter"
    IMPORTER = "importer"
    VERIFIER = "verifier"
    RENEWABLE_DEVELOPER = "renewable_developer"


class TenantStatus(enum.StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(PlatformBase):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(24), unique=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TenantKind] = mapped_column(str_enum(TenantKind))
    country: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[TenantStatus] = mapped_column(str_enum(TenantStatus), default=TenantStatus.PROVISIONING)
    schema_revision: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def schema(self) -> str:
        return schema_name(self.key)

    @property
    def role(self) -> str:
        return role_name(self.key)

    def scope(self) -> TenantScope:
        return TenantScope(tenant_id=self.id, schema=self.schema, role=self.role)


def schema_name(key: str) -> str:
    return f"tenant_{key}"


def role_name(key: str) -> str:
    return f"cbamx_t_{key}"
