"""Grants, subscriptions and the supplier directory (platform schema).

A grant is the one way a principal of tenant B reads data of tenant A. It names the resource kinds,
optionally the installations and a period, and expires; revoking it stops access at once.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ARRAY, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PlatformBase, new_id, str_enum, utcnow


class ResourceKind(enum.StrEnum):
    INSTALLATION = "installation"  # site model: installations, lines, meters, hierarchy
    INTERVAL_DATA = "interval_data"  # readings, intervals, balance, gaps
    EVIDENCE = "evidence"  # documents
    AUDIT = "audit"  # the audit trail
    FOOTPRINT = "footprint"  # product footprints
    PPA_CONTRACT = "ppa_contract"  # one PPA's plant, interval generation, statements (contract-scoped)
    PRODUCTION = "production"  # production batches (with their products, lines and precursors)
    # electricity supply: contracts (delivery points, evidence), PPA settlement as the holder reads it,
    # certificates with cancellations and claims, and the emission factors in use
    SUPPLY = "supply"


class Grant(PlatformBase):
    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_grantee", "grantee_tenant_id", "grantor_tenant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    grantor_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    grantee_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    grantee_client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    resource_kinds: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    installation_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list)
    # contract-scoped kinds (ppa_contract): only these contracts (PpaConnection ids)
    contract_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), default=list, server_default=text("'{}'::uuid[]")
    )
    # footprint shares: only these products and CN codes (prefixes of 2 to 8 digits); empty: all
    product_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(UUID(as_uuid=True)), default=list, server_default=text("'{}'::uuid[]")
    )
    cn_codes: Mapped[list[str]] = mapped_column(ARRAY(String(8)), default=list, server_default=text("'{}'::varchar[]"))
    # a share made under a connection ends with it
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL"), index=True
    )
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    access: Mapped[str] = mapped_column(String(8), default="read")
    purpose: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriptionStatus(enum.StrEnum):
    REQUESTED = "requested"
    ACTIVE = "active"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Subscription(PlatformBase):
    """An importer's request to follow a supplier's published footprints."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_tenant_id", "supplier_tenant_id"),
        Index("ix_subscriptions_subscriber_tenant_id", "subscriber_tenant_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    subscriber_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    supplier_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    status: Mapped[SubscriptionStatus] = mapped_column(str_enum(SubscriptionStatus))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class DirectoryEntry(PlatformBase):
    """What a tenant chooses to show other tenants: name, country, sectors, contact."""

    __tablename__ = "directory_entries"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    sectors: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    cn_codes: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str | None] = mapped_column(String(320))
    listed: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
