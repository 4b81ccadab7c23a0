"""The verifier's workspace (platform schema): engagements, extension requests, samples and their
checks, findings with their history, statements, and each verifier's statement-signing keys.

The workspace is shared by two organisations (the exporter and the verifier), so it lives in the
platform schema, as grants do. Nothing here holds the exporter's data: the verifier reads that
through the grants an accepted engagement creates, and every change here is written to the
exporter's audit trail.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PlatformBase, new_id, str_enum, utcnow


class EngagementStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DECLINED = "declined"
    ENDED = "ended"
    REVOKED = "revoked"
    # never stored: an invited or active engagement whose access end has passed reads so (``effective_status``)
    EXPIRED = "expired"


class ExtensionStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"


class PopulationKind(enum.StrEnum):
    BATCH = "batch"
    INTERVAL = "interval"  # one meter's one interval
    METER = "meter"
    EVIDENCE = "evidence"


class CheckResult(enum.StrEnum):
    OK = "ok"
    DEVIATION = "deviation"


class FindingType(enum.StrEnum):
    MISSTATEMENT = "misstatement"
    NON_CONFORMITY = "non_conformity"
    RECOMMENDATION = "recommendation"


class FindingStatus(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    ACCEPTED = "accepted"


class AssuranceLevel(enum.StrEnum):
    REASONABLE = "reasonable"
    LIMITED = "limited"


class Opinion(enum.StrEnum):
    POSITIVE = "positive"
    QUALIFIED = "qualified"
    NEGATIVE = "negative"


class StatementKeyStatus(enum.StrEnum):
    ACTIVE = "active"  # signs new statements
    RETIRED = "retired"  # signs nothing more, stays published: statements it signed keep verifying


class Engagement(PlatformBase):
    """An exporter's invitation of a verifier to verify one installation over one period."""

    __tablename__ = "verification_engagements"
    __table_args__ = (
        CheckConstraint("period_end > period_start", name="period_order"),
        CheckConstraint("access_end > access_start", name="access_order"),
        Index("ix_verification_engagements_verifier", "verifier_tenant_id", "created_at"),
        Index("ix_verification_engagements_exporter", "exporter_tenant_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    exporter_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    verifier_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    installation_id: Mapped[uuid.UUID]
    installation_name: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    # the footprint versions in scope as they were when invited (versions never change):
    # [{"id", "product_id", "period_start", "period_end", "version", "net_mass_t", "see_total", "output_digest"}]
    footprint_versions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    access_start: Mapped[datetime]
    access_end: Mapped[datetime]
    team_emails: Mapped[list[str]] = mapped_column(ARRAY(String(320)))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[EngagementStatus] = mapped_column(str_enum(EngagementStatus, length=16))
    grant_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), default=list)
    invited_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class ExtensionRequest(PlatformBase):
    """The verifier's request for more time, and the exporter's decision."""

    __tablename__ = "verification_extension_requests"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("verification_engagements.id", ondelete="CASCADE"), index=True
    )
    previous_end: Mapped[datetime]
    requested_end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ExtensionStatus] = mapped_column(str_enum(ExtensionStatus, length=16))
    requested_by: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None]


class Sample(PlatformBase):
    """A random sample drawn from one population of an engagement's scope, reproducible from its seed."""

    __tablename__ = "verification_samples"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("verification_engagements.id", ondelete="CASCADE"), index=True
    )
    population_kind: Mapped[PopulationKind] = mapped_column(str_enum(PopulationKind, length=16))
    # a non-negative integer below 2**128, as decimal text (numpy's SeedSequence takes any size)
    seed: Mapped[str] = mapped_column(String(40))
    population_size: Mapped[int] = mapped_column(Integer)
    # SHA-256 of the population's item keys in their stable order, one per line
    population_digest: Mapped[str] = mapped_column(String(64))
    sample_size: Mapped[int] = mapped_column(Integer)
    drawn_by: Mapped[str] = mapped_column(String(320))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)


class SampleItem(PlatformBase):
    """One drawn item, and what the verifier checked on it."""

    __tablename__ = "verification_sample_items"
    __table_args__ = (UniqueConstraint("sample_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("verification_samples.id", ondelete="CASCADE"))
    # order of drawing (0 first)
    position: Mapped[int] = mapped_column(Integer)
    # index in the population's stable order
    population_index: Mapped[int] = mapped_column(Integer)
    item_key: Mapped[str] = mapped_column(String(120))
    label: Mapped[str] = mapped_column(String(300))
    checked: Mapped[str | None] = mapped_column(Text)
    result: Mapped[CheckResult | None] = mapped_column(str_enum(CheckResult, length=16))
    note: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[str | None] = mapped_column(String(320))
    checked_at: Mapped[datetime | None]


class Finding(PlatformBase):
    __tablename__ = "verification_findings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("verification_engagements.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[FindingType] = mapped_column(str_enum(FindingType, length=16))
    item_kind: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    amount_tco2e: Mapped[float] = mapped_column(Float)
    # the in-scope total and the threshold (5 % of it) when the finding was raised
    total_tco2e: Mapped[float] = mapped_column(Float)
    threshold_tco2e: Mapped[float] = mapped_column(Float)
    status: Mapped[FindingStatus] = mapped_column(str_enum(FindingStatus, length=16))
    raised_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FindingEntry(PlatformBase):
    """One step of a finding's history: who wrote what, when, and the status it left."""

    __tablename__ = "verification_finding_entries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    finding_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("verification_findings.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(320))
    author_tenant_id: Mapped[uuid.UUID]
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[FindingStatus] = mapped_column(str_enum(FindingStatus, length=16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Statement(PlatformBase):
    """A signed verification statement (compact JWS) and the footprint versions it covers."""

    __tablename__ = "verification_statements"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    engagement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("verification_engagements.id", ondelete="CASCADE"), index=True
    )
    exporter_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    verifier_tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    footprint_version_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)))
    opinion: Mapped[Opinion] = mapped_column(str_enum(Opinion, length=16))
    assurance_level: Mapped[AssuranceLevel] = mapped_column(str_enum(AssuranceLevel, length=16))
    verifier_name: Mapped[str] = mapped_column(String(200))
    accreditation_id: Mapped[str] = mapped_column(String(100))
    kid: Mapped[str] = mapped_column(String(100))
    jws: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(320))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_verification_statements_versions", Statement.footprint_version_ids, postgresql_using="gin")


class StatementKey(PlatformBase):
    """One verifier's statement-signing key pair; the private half sealed as token keys are."""

    __tablename__ = "statement_signing_keys"
    __table_args__ = (
        Index(
            "uq_statement_signing_keys_active",
            "tenant_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    sealed_private_jwk: Mapped[str] = mapped_column(Text)
    status: Mapped[StatementKeyStatus] = mapped_column(str_enum(StatementKeyStatus, length=16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
