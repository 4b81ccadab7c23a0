"""Certificate tables: the holdings and their statements in each tenant's schema, and the one
exchange-wide claim registry (platform metadata, in a schema of its own: ``claims``).

Why the registry is platform-wide: a range of certificate identifiers may back at most one claim
on the whole exchange, whichever organisation makes it (anti-double-counting, hourly-matching.md
§c.4.2). A per-tenant table would let two organisations that both recorded the same GO claim it
twice. PostgreSQL refuses the overlap itself with an exclusion constraint over ``int8range``; each
tenant role may INSERT into the registry but never SELECT from it, so a refused claim says nothing
about who holds the other one (the database leaves the conflicting key out of its error when the
role may not read it).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Computed, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, INT8RANGE, NUMRANGE, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PlatformBase, TenantBase, key_range_sql, new_id, str_enum, utcnow


class CertificateScheme(enum.StrEnum):
    GO_EECS = "go_eecs"  # EU/Energy Community guarantee of origin, EECS where the issuer is an AIB member
    I_REC = "i_rec"
    OTHER = "other"


class CertificateState(enum.StrEnum):
    ACTIVE = "active"  # held, may be split, transferred or cancelled until it expires
    TRANSFERRED = "transferred"  # handed to another account holder; final for this holder
    CANCELLED = "cancelled"  # used (redeemed) with a cancellation statement; final; may back a claim
    EXPIRED = "expired"  # not cancelled in time; final, can no longer be used


FINAL_STATES = frozenset({CertificateState.TRANSFERRED, CertificateState.CANCELLED, CertificateState.EXPIRED})

RANGE_SQL = "int8range(range_start, range_end, '[]')"
# scheme and issuing body as a one-point range, so the exclusion constraints need no btree_gist
ISSUER_KEY_SQL = key_range_sql("scheme", "issuing_body")
# a schema of its own: tenant roles get USAGE on it (and INSERT on the registry), never on ``platform``
CLAIMS_SCHEMA = "claims"


class Certificate(TenantBase):
    """A contiguous range of certificate identifiers with one holder state (1 certificate = 1 MWh).

    Splitting keeps ``quantity = range_end - range_start + 1`` on both parts: the first part keeps
    the row, the rest is a new row naming it in ``split_from_id``.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("range_start >= 0 AND range_end >= range_start", name="range_order"),
        CheckConstraint("production_end_on > production_start_on", name="production_period"),
        # a holder records an identifier once per scheme and issuing body
        ExcludeConstraint(
            (text("issuer_key"), "&&"),
            (text("id_range"), "&&"),
            name="ex_certificates_identifiers",
            using="gist",
        ),
        Index("ix_certificates_supply_contract_id", "supply_contract_id"),
        Index("ix_certificates_ppa_connection_id", "ppa_connection_id"),
        Index("ix_certificates_state_expires_on", "state", "expires_on"),
    )
    # the generated quantity and range come back with every INSERT and UPDATE (RETURNING)
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    scheme: Mapped[CertificateScheme] = mapped_column(str_enum(CertificateScheme, length=16))
    issuing_body: Mapped[str] = mapped_column(String(120))
    issuing_country: Mapped[str] = mapped_column(String(2))
    range_start: Mapped[int] = mapped_column(BigInteger)
    range_end: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger, Computed("range_end - range_start + 1", persisted=True))
    id_range: Mapped[object] = mapped_column(INT8RANGE, Computed(RANGE_SQL, persisted=True))
    issuer_key: Mapped[object] = mapped_column(NUMRANGE, Computed(ISSUER_KEY_SQL, persisted=True))
    registry_reference: Mapped[str] = mapped_column(String(120), default="")
    device_id: Mapped[str] = mapped_column(String(120))
    device_name: Mapped[str] = mapped_column(String(200))
    device_country: Mapped[str] = mapped_column(String(2))
    energy_source: Mapped[str] = mapped_column(String(16))
    technology: Mapped[str] = mapped_column(String(16), default="")
    # production period, half-open [start, end) in days
    production_start_on: Mapped[date] = mapped_column(Date)
    production_end_on: Mapped[date] = mapped_column(Date)
    issued_on: Mapped[date] = mapped_column(Date)
    # the first day on which the certificate is expired, from the issuing country's rule
    expires_on: Mapped[date] = mapped_column(Date)
    expiry_rule: Mapped[str] = mapped_column(String(200))
    state: Mapped[CertificateState] = mapped_column(str_enum(CertificateState, length=16))
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    transferred_to: Mapped[str] = mapped_column(String(200), default="")
    transferred_on: Mapped[date | None] = mapped_column(Date)
    # the holder's own supply contract (an offtaker's PPA or grid contract) this range came with
    supply_contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("supply_contracts.id", ondelete="RESTRICT"))
    # a developer's record for one PPA: the platform connection both sides share (no foreign key
    # across schemas); the offtaker reads these through the connection's contract grant
    ppa_connection_id: Mapped[uuid.UUID | None]
    split_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("certificates.id", ondelete="RESTRICT"))
    evidence_sha256: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), default=list, server_default=text("'{}'::varchar[]")
    )
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CancellationStatement(TenantBase):
    """What a cancellation was for (append-only): beneficiary, consumption period and country, purpose."""

    __tablename__ = "cancellation_statements"
    __table_args__ = (CheckConstraint("consumption_end_on > consumption_start_on", name="consumption_period"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id", ondelete="RESTRICT"), unique=True)
    beneficiary: Mapped[str] = mapped_column(String(200))
    # consumption period, half-open [start, end) in days
    consumption_start_on: Mapped[date] = mapped_column(Date)
    consumption_end_on: Mapped[date] = mapped_column(Date)
    consumption_country: Mapped[str] = mapped_column(String(2))
    purpose: Mapped[str] = mapped_column(String(300))
    # the CBAM installation whose consumption it covers, if the beneficiary is the holder itself
    installation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("installations.id", ondelete="RESTRICT"))
    statement_reference: Mapped[str] = mapped_column(String(120), default="")
    cancelled_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CertificateClaim(TenantBase):
    """A claim of the holder (append-only): a range of a cancelled certificate backing one use.

    Its twin row in the platform ``claim_registry`` makes it exclusive across the exchange.
    """

    __tablename__ = "certificate_claims"
    __table_args__ = (
        CheckConstraint("range_start >= 0 AND range_end >= range_start", name="range_order"),
        CheckConstraint("period_end_on > period_start_on", name="claim_period"),
    )
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id", ondelete="RESTRICT"), index=True)
    range_start: Mapped[int] = mapped_column(BigInteger)
    range_end: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger, Computed("range_end - range_start + 1", persisted=True))
    installation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("installations.id", ondelete="RESTRICT"))
    period_start_on: Mapped[date] = mapped_column(Date)
    period_end_on: Mapped[date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(String(300))
    claimed_by: Mapped[str] = mapped_column(String(320))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClaimRegistration(PlatformBase):
    """The exchange-wide record that a range of identifiers backs a claim; at most one per identifier.

    Tenant roles may only INSERT here (tenancy/ddl.py, schema ``claims``): no one reads another's claims through it.
    """

    __tablename__ = "claim_registry"
    __table_args__ = (
        CheckConstraint("range_start >= 0 AND range_end >= range_start", name="range_order"),
        ExcludeConstraint(
            (text("issuer_key"), "&&"),
            (text("id_range"), "&&"),
            name="ex_claim_registry_identifiers",
            using="gist",
        ),
        {"schema": CLAIMS_SCHEMA},
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    scheme: Mapped[str] = mapped_column(String(16))
    issuing_body: Mapped[str] = mapped_column(String(120))
    range_start: Mapped[int] = mapped_column(BigInteger)
    range_end: Mapped[int] = mapped_column(BigInteger)
    id_range: Mapped[object] = mapped_column(INT8RANGE, Computed(RANGE_SQL, persisted=True))
    issuer_key: Mapped[object] = mapped_column(NUMRANGE, Computed(ISSUER_KEY_SQL, persisted=True))
    tenant_id: Mapped[uuid.UUID]
    certificate_id: Mapped[uuid.UUID]
    claim_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the role that inserted the row: a tenant's own role, so a row names who really made it
    registered_by_role: Mapped[str] = mapped_column(Text, server_default=text("current_user"))
