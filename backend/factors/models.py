"""Emission factors: published (platform schema, read-only at runtime) and tenant-owned (tenant schema).

Both tables have the same shape. A row is one *version* of a factor for one key (kind + subject)
over a validity range ``[valid_from, valid_to)``; PostgreSQL refuses two versions of one key whose
ranges overlap (an exclusion constraint over the generated ``key_range`` and ``validity``), so at most one
factor is valid for a key on any date. A version is never edited: a new version supersedes it,
which only closes the old one's range (``valid_to``) and links the two.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import DATERANGE, JSONB, NUMRANGE, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import PUBLISHED_SCHEMA, PlatformBase, TenantBase, key_range_sql, new_id, str_enum, utcnow


class FactorKind(enum.StrEnum):
    # published (platform schema), seeded from regulatory documents
    GRID_DEFAULT = "grid_default"  # [IR2621] Annex II, tCO2e/MWh, subject: country (ISO 3166-1 alpha-2) or OTHER
    IMPORTED_ELECTRICITY = "imported_electricity"  # [IR2621] Annex III, tCO2/MWh, subject: country or EU
    FUEL_EMISSION_FACTOR = "fuel_emission_factor"  # [IR2547] Annex II G Table 1, tCO2/TJ, subject: fuel code
    FUEL_NCV = "fuel_ncv"  # [IR2547] Annex II G Table 1, TJ/t, subject: fuel code
    FUEL_OXIDATION_FACTOR = "fuel_oxidation_factor"  # [IR2547] Annex II B Eq. 5-6, dimensionless, subject: fuel
    GOODS_DEFAULT = "goods_default"  # [IR2621] Annex I, tCO2e/t incl. the year's mark-up, subject: CN code|country
    # tenant-owned (tenant schema)
    SUPPLIER_SPECIFIC = "supplier_specific"  # tCO2e/MWh, subject: supply contract id
    OWN_GENERATION = "own_generation"  # [IR2547] Annex II D.4.1 Eq. 38, tCO2/MWh, subject: generator id
    # the fuel supplier's (or a measured) density, t/m3, subject: fuel code: converts a volume-metered fuel
    # to the tonnes [IR2547] gives NCVs for
    FUEL_DENSITY = "fuel_density"


PUBLISHED_KINDS = frozenset(
    {
        FactorKind.GRID_DEFAULT,
        FactorKind.IMPORTED_ELECTRICITY,
        FactorKind.FUEL_EMISSION_FACTOR,
        FactorKind.FUEL_NCV,
        FactorKind.FUEL_OXIDATION_FACTOR,
        FactorKind.GOODS_DEFAULT,
    }
)
TENANT_KINDS = frozenset({FactorKind.SUPPLIER_SPECIFIC, FactorKind.OWN_GENERATION, FactorKind.FUEL_DENSITY})


KEY_RANGE_SQL = key_range_sql("kind", "subject")


def _kinds_sql(kinds: frozenset[FactorKind]) -> str:
    return ", ".join(f"'{k.value}'" for k in sorted(kinds))


class FactorShape:
    """The columns both factor tables share."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[FactorKind] = mapped_column(str_enum(FactorKind))
    # the key the factor applies to: a country code, a fuel code, "7601|RS", a contract or generator id
    subject: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    value: Mapped[Decimal] = mapped_column(Numeric(24, 12))
    unit: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # exclusive; None: open until superseded
    validity: Mapped[Any] = mapped_column(DATERANGE, Computed("daterange(valid_from, valid_to, '[)')", persisted=True))
    # the key as a one-point range, so that one GiST exclusion constraint over two ranges says "same key,
    # overlapping validity" with PostgreSQL's built-in range operators (no btree_gist extension needed;
    # embedded PostgreSQL builds ship without it). A hash collision could only refuse a version, never let
    # two versions of one key overlap.
    key_range: Mapped[Any] = mapped_column(NUMRANGE, Computed(KEY_RANGE_SQL, persisted=True))
    # provenance
    source_document: Mapped[str] = mapped_column(Text)
    source_table: Mapped[str] = mapped_column(Text, default="")
    source_date: Mapped[date | None] = mapped_column(Date)
    source_url: Mapped[str | None] = mapped_column(Text)
    licence_note: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # how the value came about: formula and inputs (computed factors), base value and mark-up (defaults)
    formula: Mapped[str | None] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublishedEmissionFactor(FactorShape, PlatformBase):
    """A factor published by a regulator or standard body (``published.emission_factors``): the same for
    every tenant, seeded by platform migrations, read-only for the runtime and the tenant roles."""

    __tablename__ = "emission_factors"

    __table_args__ = (
        ExcludeConstraint(
            ("key_range", "&&"),
            ("validity", "&&"),
            name="ex_emission_factors_one_per_date",
            using="gist",
        ),
        CheckConstraint(f"kind IN ({_kinds_sql(PUBLISHED_KINDS)})", name="published_kind"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        Index("ix_emission_factors_kind_subject", "kind", "subject", "valid_from"),
        {"schema": PUBLISHED_SCHEMA},
    )

    # the edition of the packaged data file the row was seeded from
    edition: Mapped[str] = mapped_column(String(64))


class EmissionFactor(FactorShape, TenantBase):
    """A tenant's own factor: a supplier-specific factor with its disclosure, or one computed for own generation."""

    __tablename__ = "emission_factors"

    __table_args__ = (
        ExcludeConstraint(
            ("key_range", "&&"),
            ("validity", "&&"),
            name="ex_emission_factors_one_per_date",
            using="gist",
        ),
        CheckConstraint(f"kind IN ({_kinds_sql(TENANT_KINDS)})", name="tenant_kind"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        CheckConstraint(
            "kind <> 'supplier_specific' OR (evidence_document_id IS NOT NULL AND evidence_sha256 IS NOT NULL)",
            name="supplier_disclosure",
        ),
        CheckConstraint("kind <> 'own_generation' OR formula IS NOT NULL", name="own_generation_formula"),
        Index("ix_emission_factors_kind_subject", "kind", "subject", "valid_from"),
    )

    # the disclosure (supplier-specific) or the generation data (own generation) in the evidence store
    evidence_document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("evidence_documents.id", ondelete="RESTRICT")
    )
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("emission_factors.id", ondelete="RESTRICT"))
    created_by: Mapped[str] = mapped_column(String(320), default="")


# A stored version never changes: only its end may be set or moved earlier (when a new version
# supersedes it), and it is never deleted. PostgreSQL enforces it for every role, the owner included.
IMMUTABLE_VERSIONS_DDL = """
CREATE OR REPLACE FUNCTION emission_factors_immutable() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'emission factor versions are kept: DELETE refused' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (to_jsonb(NEW) - 'valid_to' - 'validity' - 'key_range')
     IS DISTINCT FROM (to_jsonb(OLD) - 'valid_to' - 'validity' - 'key_range')
     OR (OLD.valid_to IS NOT NULL AND (NEW.valid_to IS NULL OR NEW.valid_to > OLD.valid_to)) THEN
    RAISE EXCEPTION 'an emission factor version is immutable: supersede it with a new version'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $f$;
CREATE TRIGGER emission_factors_immutable BEFORE UPDATE OR DELETE ON emission_factors
  FOR EACH ROW EXECUTE FUNCTION emission_factors_immutable();
""".strip()

event.listen(EmissionFactor.__table__, "after_create", DDL(IMMUTABLE_VERSIONS_DDL))
