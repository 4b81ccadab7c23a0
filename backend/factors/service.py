"""The emission factor library's rules: which factor applies to what on which date, and how one is added.

The API other domains use:

- :func:`select_factor` ``(db, kind, subject, on)`` -> :class:`Selection`: the one factor a rule chooses,
  with its provenance and the fallback the rule used, or :class:`FactorMissing` naming kind, subject
  and date. Shorthands: :func:`grid_default`, :func:`supplier_factor`, :func:`own_generation_factor_for`,
  :func:`fuel_factors`, :func:`goods_default`; :func:`supplier_factor_by_id` checks a factor id a
  contract names.
- :func:`add_supplier_factor`, :func:`compute_own_generation_factor`: the organisation's own factors,
  audited; either may supersede an earlier version (``supersedes_id``).
- :func:`list_factors`, :func:`get_factor`: browsing, published and own together.

Selection rules (docs/emission-factors.md):

- grid default ([IR2621] Annex II): the country's value; a third country not listed uses "Other
  countries and territories" (OTHER); an EU member state or a country exempt under [REG956] Annex III
  is out of scope (:class:`FactorOutOfScope`).
- imported electricity ([IR2621] Annex III): the country's value; a country without one uses the EU value.
- goods default ([IR2621] Annex I): the most specific CN code listed (8, 6, then 4 digits), the
  country's row, else "Other countries and territories"; the year's mark-up is in the version valid
  on the date.
- fuel EF, NCV, oxidation factor; supplier-specific; own generation: the subject's own factor, no fallback.

A listed subject without a version valid on the date is an error, never a fallback: the fallbacks
above are for subjects the table does not list at all.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record, snapshot
from backend.errors import FieldError, ValidationFailed
from backend.evidence.models import EvidenceDocument
from backend.factors import repository as repo
from backend.factors.errors import (
    DisclosureMissing,
    FactorMissing,
    FactorNotFound,
    FactorNotSupersedable,
    FactorOutOfScope,
    FactorOverlaps,
)
from backend.factors.models import (
    PUBLISHED_KINDS,
    EmissionFactor,
    FactorKind,
    PublishedEmissionFactor,
)
from backend.factors.schemas import (
    Factor,
    FactorFilter,
    FuelDensityData,
    OwnGenerationData,
    Selection,
    SupplierFactorData,
)
from backend.identity.principal import Principal
from workers.engine.factors import FuelCombustionInvalid, FuelInput, own_generation_factor

# EU member states: electricity and goods produced there are out of CBAM's scope ([REG956] Art. 2)
EU_MEMBER_STATES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "HU",
    ]
)
# countries exempt from CBAM altogether ([REG956] Annex III point 1)
EXEMPT_COUNTRIES = frozenset({"IS", "LI", "NO", "CH"})
OTHER = "OTHER"
EU = "EU"

WHAT = {
    FactorKind.GRID_DEFAULT: "grid default factor for country {}",
    FactorKind.IMPORTED_ELECTRICITY: "imported-electricity factor for country {}",
    FactorKind.FUEL_EMISSION_FACTOR: "fuel emission factor for fuel {}",
    FactorKind.FUEL_NCV: "net calorific value for fuel {}",
    FactorKind.FUEL_OXIDATION_FACTOR: "oxidation factor for fuel {}",
    FactorKind.GOODS_DEFAULT: "default value for {}",
    FactorKind.SUPPLIER_SPECIFIC: "supplier-specific factor for supply contract {}",
    FactorKind.OWN_GENERATION: "own-generation factor for generator {}",
    FactorKind.FUEL_DENSITY: "density of fuel {}",
}
RULES = {
    FactorKind.GRID_DEFAULT: "[IR2621] Annex II: the country-of-origin grid default; an unlisted third country "
    "uses 'Other countries and territories'",
    FactorKind.IMPORTED_ELECTRICITY: "[IR2621] Annex III: the country's CO2 EF; a country without one uses "
    "the EU value",
    FactorKind.GOODS_DEFAULT: "[IR2621] Annex I: the most specific CN code listed, the country's row, else 'Other "
    "countries and territories'; the version valid on the date carries that year's mark-up",
    FactorKind.FUEL_EMISSION_FACTOR: "[IR2547] Annex II G Table 1: the fuel's standard EF, no fallback",
    FactorKind.FUEL_NCV: "[IR2547] Annex II G Table 1: the fuel's standard NCV, no fallback",
    FactorKind.FUEL_OXIDATION_FACTOR: "[IR2547] Annex II B Eqs. 5-6: the fuel's oxidation factor, no fallback",
    FactorKind.SUPPLIER_SPECIFIC: "the supply contract's own supplier-specific factor, no fallback",
    FactorKind.OWN_GENERATION: "the generator's own computed factor (Eq. 38), no fallback",
    FactorKind.FUEL_DENSITY: "the organisation's density of the fuel (its supplier's or measured figure), no fallback",
}
SUPPLIER_UNIT = "tCO2e/MWh"
OWN_GENERATION_UNIT = "tCO2/MWh"
DENSITY_UNIT = "t/m3"
# a density above this is almost certainly in kg/m3 (heavy fuel oil is about 1 t/m3)
MAX_FUEL_DENSITY = Decimal("2")
# a factor above this is almost certainly in the wrong unit (kg/MWh or g/kWh instead of t/MWh)
MAX_ELECTRICITY_FACTOR = Decimal("5")
COUNTRY = re.compile(r"^[A-Z]{2}$")
CN_CODE = re.compile(r"^\d{4}(\d{2}){0,2}$")
FUEL = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


# --- selection -----------------------------------------------------------------------------------------


def _table(kind: FactorKind) -> type[PublishedEmissionFactor] | type[EmissionFactor]:
    return PublishedEmissionFactor if kind in PUBLISHED_KINDS else EmissionFactor


def _describe(kind: FactorKind, subject: str) -> str:
    if kind == FactorKind.GOODS_DEFAULT:
        cn, _, country = subject.partition("|")
        return WHAT[kind].format(f"CN code {cn} from country {country}")
    return WHAT[kind].format(subject)


def normalise_subject(kind: FactorKind, subject: str) -> str:
    """The key as stored: upper-case country codes, lower-case fuel codes, CN codes without spaces or dots."""
    text = subject.strip()
    if kind in (FactorKind.GRID_DEFAULT, FactorKind.IMPORTED_ELECTRICITY):
        code = text.upper()
        if not COUNTRY.match(code):
            raise FieldError(f"not a country code: {subject!r} (give ISO 3166-1 alpha-2, e.g. RS)", field="subject")
        return code
    if kind == FactorKind.GOODS_DEFAULT:
        cn, sep, country = text.partition("|")
        cn = re.sub(r"[\s.]", "", cn)
        country = country.strip().upper()
        if not sep or not CN_CODE.match(cn) or not COUNTRY.match(country):
            raise FieldError(f"not a CN code and country: {subject!r} (give e.g. '7604 29 90|RS')", field="subject")
        return f"{cn}|{country}"
    if kind in (
        FactorKind.FUEL_EMISSION_FACTOR,
        FactorKind.FUEL_NCV,
        FactorKind.FUEL_OXIDATION_FACTOR,
        FactorKind.FUEL_DENSITY,
    ):
        fuel = text.lower().replace(" ", "_").replace("-", "_")
        if not FUEL.match(fuel):
            raise FieldError(f"not a fuel code: {subject!r} (e.g. natural_gas)", field="subject")
        return fuel
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise FieldError(
            f"not the id of a {'supply contract' if kind == FactorKind.SUPPLIER_SPECIFIC else 'generator'}",
            field="subject",
        ) from None


def _scope_check(kind: FactorKind, country: str) -> None:
    if kind not in (FactorKind.GRID_DEFAULT, FactorKind.GOODS_DEFAULT):
        return
    if country in EU_MEMBER_STATES:
        raise FactorOutOfScope(
            f"no {WHAT[kind].split(' for ')[0]} for {country}: an EU member state is outside CBAM "
            "(EU-produced electricity and goods count as zero, [IR2621])",
            field="subject",
        )
    if country in EXEMPT_COUNTRIES:
        raise FactorOutOfScope(
            f"no {WHAT[kind].split(' for ')[0]} for {country}: the country is exempt from CBAM ([REG956] Annex III)",
            field="subject",
        )


async def _missing(db: AsyncSession, kind: FactorKind, subject: str, on: date, tried: list[str]) -> FactorMissing:
    """The error for a factor not found: what was looked for, on which date, and which ranges do exist."""
    table = _table(kind)
    described = " or ".join(_describe(kind, s) for s in tried)
    ranges = []
    for s in tried:
        ranges += [(s, r) for r in await repo.validity_of(db, table, kind, s)]
    message = f"no {described} valid on {on.isoformat()}"
    if ranges:
        message += (
            " (valid: "
            + "; ".join(f"{s} {a.isoformat()} to {b.isoformat() if b else 'open'}" for s, (a, b) in ranges)
            + ")"
        )
    return FactorMissing(message, kind=kind.value, subject=subject, on=on, tried=tried)


async def select_factor(db: AsyncSession, kind: FactorKind, subject: str, on: date) -> Selection:
    """The factor of ``kind`` for ``subject`` valid on ``on`` by the kind's rule (module docstring)."""
    key = normalise_subject(kind, subject)
    table = _table(kind)
    rule = RULES[kind]
    if kind in (FactorKind.GRID_DEFAULT, FactorKind.IMPORTED_ELECTRICITY):
        _scope_check(kind, key)
        fallback_subject = OTHER if kind == FactorKind.GRID_DEFAULT else EU
        if await repo.has_subject(db, table, kind, key):
            candidates, fallback = [key], None
        else:
            candidates = [fallback_subject]
            fallback = (
                f"{key} is not listed in [IR2621] Annex II: 'Other countries and territories' applies"
                if kind == FactorKind.GRID_DEFAULT
                else f"{key} has no value in [IR2621] Annex III: the EU value applies ([REG956] Annex IV 4.2.2)"
            )
    elif kind == FactorKind.GOODS_DEFAULT:
        cn, _, country = key.partition("|")
        _scope_check(kind, country)
        candidates, fallback = await _goods_candidates(db, cn, country)
    else:
        candidates, fallback = [key], None
    for candidate in candidates:
        row = await repo.valid_factor(db, table, kind, candidate, on)
        if row is not None:
            return Selection(Factor.of(row), kind, key, on, rule, fallback)
    raise await _missing(db, kind, key, on, candidates)


async def _goods_candidates(db: AsyncSession, cn: str, country: str) -> tuple[list[str], str | None]:
    """The row of the most specific CN code listed for the country (or for 'Other'), as the rule orders them."""
    kind = FactorKind.GOODS_DEFAULT
    codes = [cn[:n] for n in (8, 6, 4) if len(cn) >= n]
    wanted = [f"{c}|{who}" for c in codes for who in (country, OTHER)]
    listed = await repo.listed_subjects(db, PublishedEmissionFactor, kind, wanted)
    for code in codes:
        own, other = f"{code}|{country}", f"{code}|{OTHER}"
        if own in listed:
            heading = None if code == cn else f"CN {cn} is covered by the listed code {code}"
            return [own], heading
        if other in listed:
            why = f"{country} is not listed for CN {code}: 'Other countries and territories' applies"
            if code != cn:
                why = f"CN {cn} is covered by the listed code {code}; " + why
            return [other], why
    return [f"{cn}|{country}"], None


async def grid_default(db: AsyncSession, country: str, on: date) -> Selection:
    return await select_factor(db, FactorKind.GRID_DEFAULT, country, on)


async def goods_default(db: AsyncSession, cn_code: str, country: str, on: date) -> Selection:
    return await select_factor(db, FactorKind.GOODS_DEFAULT, f"{cn_code}|{country}", on)


async def supplier_factor(db: AsyncSession, contract_id: uuid.UUID, on: date) -> Selection:
    return await select_factor(db, FactorKind.SUPPLIER_SPECIFIC, str(contract_id), on)


async def own_generation_factor_for(db: AsyncSession, generator_id: uuid.UUID, on: date) -> Selection:
    return await select_factor(db, FactorKind.OWN_GENERATION, str(generator_id), on)


async def fuel_factors(db: AsyncSession, fuel: str, on: date) -> tuple[Selection, Selection, Selection]:
    """EF, NCV and oxidation factor of a fuel, each with its provenance."""
    return (
        await select_factor(db, FactorKind.FUEL_EMISSION_FACTOR, fuel, on),
        await select_factor(db, FactorKind.FUEL_NCV, fuel, on),
        await select_factor(db, FactorKind.FUEL_OXIDATION_FACTOR, fuel, on),
    )


async def fuel_density(db: AsyncSession, fuel: str, on: date) -> Selection:
    """The organisation's density of ``fuel`` valid on ``on`` (FactorMissing when it has none)."""
    return await select_factor(db, FactorKind.FUEL_DENSITY, fuel, on)


async def supplier_factor_by_id(
    db: AsyncSession, factor_id: uuid.UUID, *, contract_id: uuid.UUID | None = None, field: str = "supplierFactorId"
) -> Factor:
    """A supplier-specific factor version named by id (e.g. by a grid supply contract), checked to be one of
    the organisation's supplier-specific factors and, when ``contract_id`` is given, that contract's."""
    row = await repo.tenant_factor(db, factor_id)
    if row is None or row.kind != FactorKind.SUPPLIER_SPECIFIC:
        raise FactorNotFound("no supplier-specific emission factor with this id in the organisation", field=field)
    if contract_id is not None and row.subject != str(contract_id):
        raise FieldError(f"this factor is the supplier-specific factor of supply contract {row.subject}", field=field)
    return Factor.of(row)


# --- browsing ---------------------------------------------------------------------------------------------


async def list_factors(
    db: AsyncSession, actor: Principal, f: FactorFilter, *, after: tuple[str, str, str, str] | None, limit: int
) -> list[Factor]:
    actor.require("site:read")
    errors = []
    country = f.country.strip().upper() if f.country else None
    if country is not None and not COUNTRY.match(country):
        errors.append(FieldError("not a country code (ISO 3166-1 alpha-2, e.g. RS)", field="country"))
    cn = re.sub(r"[\s.]", "", f.cn_code) if f.cn_code else None
    if cn is not None and not re.match(r"^\d{2,8}$", cn):
        errors.append(FieldError("not a CN code (2 to 8 digits)", field="cnCode"))
    if f.search is not None and len(f.search) > 200:
        errors.append(FieldError("at most 200 characters", field="search"))
    if errors:
        raise ValidationFailed(errors)
    fuel = f.fuel.strip().lower().replace(" ", "_") if f.fuel else None
    normalised = FactorFilter(
        kind=f.kind,
        country=country,
        fuel=fuel,
        cn_code=cn,
        subject=f.subject.strip() if f.subject else None,
        valid_on=f.valid_on,
        search=f.search.strip() if f.search and f.search.strip() else None,
        published=f.published,
    )
    return await repo.list_factors(db, normalised, after=after, limit=limit)


async def get_factor(db: AsyncSession, actor: Principal, factor_id: uuid.UUID) -> Factor:
    actor.require("site:read")
    row: Any = await repo.tenant_factor(db, factor_id) or await repo.published_factor(db, factor_id)
    if row is None:
        raise FactorNotFound("no such emission factor", field="id")
    return Factor.of(row)


# --- the organisation's own factors -------------------------------------------------------------------


def _check_range(valid_from: date, valid_to: date | None, errors: list[FieldError]) -> None:
    if valid_to is not None and valid_to <= valid_from:
        errors.append(FieldError("must be after validFrom (the end is exclusive)", field="validTo"))


def _check_decimal(value: Decimal, field: str, errors: list[FieldError]) -> bool:
    try:
        finite = value.is_finite()
    except (InvalidOperation, AttributeError):
        finite = False
    if not finite:
        errors.append(FieldError("must be a finite number", field=field))
    return finite


async def _supersede(
    db: AsyncSession, kind: FactorKind, subject: str, supersedes_id: uuid.UUID | None, valid_from: date
) -> EmissionFactor | None:
    """The version being superseded, checked: same key, starts before the new one, still covers its start."""
    if supersedes_id is None:
        return None
    old = await repo.tenant_factor(db, supersedes_id, for_update=True)
    if old is None:
        if await repo.published_factor(db, supersedes_id) is not None:
            raise FactorNotSupersedable(
                "a published factor is superseded only by a new edition of its regulation", field="supersedes"
            )
        raise FactorNotFound("no such emission factor of this organisation", field="supersedes")
    if old.kind != kind or old.subject != subject:
        raise FactorNotSupersedable(
            f"the factor superseded is the {_describe(FactorKind(old.kind), old.subject)}, not the "
            f"{_describe(kind, subject)}",
            field="supersedes",
        )
    if valid_from <= old.valid_from:
        raise FactorNotSupersedable(
            f"the new version must start after the one it supersedes (from {old.valid_from.isoformat()})",
            field="validFrom",
        )
    if old.valid_to is not None and valid_from > old.valid_to:
        raise FactorNotSupersedable(
            f"the version superseded already ended on {old.valid_to.isoformat()}", field="validFrom"
        )
    return old


async def _store(db: AsyncSession, actor: Principal, row: EmissionFactor, old: EmissionFactor | None) -> EmissionFactor:
    """Insert a new version (closing the one it supersedes); an overlap is refused naming the version in the way."""
    kind, subject = FactorKind(row.kind), row.subject
    if old is not None:
        before = snapshot(old)
        old.valid_to = row.valid_from
        await db.flush()
        await record(
            db,
            actor,
            "emission_factor.superseded",
            "emission_factor",
            old.id,
            before=before,
            after=snapshot(old),
            details={"superseded_from": row.valid_from, "by_version": row.version},
        )
    clash = await repo.overlapping(db, kind, subject, row.valid_from, row.valid_to, besides=None)
    if clash is not None:
        raise FactorOverlaps(
            f"the {_describe(kind, subject)} version {clash.version} is valid from {clash.valid_from.isoformat()}"
            f" to {clash.valid_to.isoformat() if clash.valid_to else 'open'}: supersede it instead",
            field="validFrom",
            factor_id=str(clash.id),
        )
    db.add(row)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as error:  # a concurrent writer won the same dates (exclusion constraint)
        if "ex_emission_factors_one_per_date" not in str(error):
            raise
        raise FactorOverlaps(
            f"another version of the {_describe(kind, subject)} was stored for these dates meanwhile",
            field="validFrom",
        ) from None
    await record(
        db,
        actor,
        "emission_factor.created",
        "emission_factor",
        row.id,
        after=snapshot(row),
        details={"kind": kind.value, "subject": subject, "supersedes": row.supersedes_id},
    )
    return row


async def add_supplier_factor(db: AsyncSession, actor: Principal, data: SupplierFactorData) -> EmissionFactor:
    """Record a supplier-specific factor of a grid contract, with the supplier's disclosure document."""
    actor.require("site:write")
    errors: list[FieldError] = []
    if _check_decimal(data.value, "value", errors):
        if data.value < 0:
            errors.append(FieldError("must be zero or more tCO2e/MWh", field="value"))
        elif data.value > MAX_ELECTRICITY_FACTOR:
            errors.append(
                FieldError(
                    f"{data.value} tCO2e/MWh is above {MAX_ELECTRICITY_FACTOR}: give the factor in t per MWh, "
                    "not kg per MWh or g per kWh",
                    field="value",
                )
            )
    _check_range(data.valid_from, data.valid_to, errors)
    for name, value, limit in (
        ("supplier", data.supplier, 200),
        ("sourceTable", data.source.table, 500),
        ("licenceNote", data.source.licence_note, 2000),
        ("notes", data.source.notes, 4000),
        ("sourceUrl", data.source.url or "", 2000),
        ("sourceDocument", data.source.document, 500),
    ):
        if len(value) > limit:
            errors.append(FieldError(f"at most {limit} characters", field=name))
    if data.source.url and not re.match(r"^https?://\S+$", data.source.url):
        errors.append(FieldError("must be an http(s) address", field="sourceUrl"))
    if errors:
        raise ValidationFailed(errors)
    document = await db.get(EvidenceDocument, data.disclosure_document_id)
    if document is None:
        raise DisclosureMissing("no evidence document with this id in the organisation", field="disclosureDocumentId")
    subject = str(data.contract_id)
    await repo.lock_key(db, FactorKind.SUPPLIER_SPECIFIC, subject)
    old = await _supersede(db, FactorKind.SUPPLIER_SPECIFIC, subject, data.supersedes_id, data.valid_from)
    row = EmissionFactor(
        kind=FactorKind.SUPPLIER_SPECIFIC,
        subject=subject,
        version=await repo.next_version(db, FactorKind.SUPPLIER_SPECIFIC, subject),
        value=data.value,
        unit=SUPPLIER_UNIT,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        source_document=data.source.document.strip() or document.title,
        source_table=data.source.table,
        source_date=data.source.date,
        source_url=data.source.url,
        licence_note=data.source.licence_note,
        notes=data.source.notes,
        formula=None,
        parameters={
            "subject_label": f"{data.supplier.strip() or 'supplier'}, contract {subject}",
            "supplier": data.supplier.strip(),
            "disclosure": {"document_id": str(document.id), "sha256": document.sha256, "filename": document.filename},
        },
        evidence_document_id=document.id,
        evidence_sha256=document.sha256,
        supersedes_id=old.id if old else None,
        created_by=actor.label,
    )
    return await _store(db, actor, row, old)


async def add_fuel_density(db: AsyncSession, actor: Principal, data: FuelDensityData) -> EmissionFactor:
    """Record a fuel's density (t/m3) from its supplier or a measurement, with an evidence document if given."""
    actor.require("site:write")
    errors: list[FieldError] = []
    try:
        subject = normalise_subject(FactorKind.FUEL_DENSITY, data.fuel)
    except FieldError as bad:
        errors.append(FieldError(bad.message, field="fuel"))
        subject = ""
    if _check_decimal(data.value, "value", errors):
        if data.value <= 0:
            errors.append(FieldError("must be more than 0 t/m3", field="value"))
        elif data.value > MAX_FUEL_DENSITY:
            errors.append(
                FieldError(
                    f"{data.value} t/m3 is above {MAX_FUEL_DENSITY}: give the density in tonnes per cubic metre "
                    "(natural gas is about 0.0007 to 0.0009), not kg per cubic metre",
                    field="value",
                )
            )
    _check_range(data.valid_from, data.valid_to, errors)
    if not data.source.document.strip() and data.evidence_document_id is None:
        errors.append(FieldError("name the document the density comes from, or attach it", field="sourceDocument"))
    if errors:
        raise ValidationFailed(errors)
    document = None
    if data.evidence_document_id is not None:
        document = await db.get(EvidenceDocument, data.evidence_document_id)
        if document is None:
            raise ValidationFailed(
                [FieldError("no evidence document with this id in the organisation", field="evidenceDocumentId")]
            )
    await repo.lock_key(db, FactorKind.FUEL_DENSITY, subject)
    old = await _supersede(db, FactorKind.FUEL_DENSITY, subject, data.supersedes_id, data.valid_from)
    row = EmissionFactor(
        kind=FactorKind.FUEL_DENSITY,
        subject=subject,
        version=await repo.next_version(db, FactorKind.FUEL_DENSITY, subject),
        value=data.value,
        unit=DENSITY_UNIT,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        source_document=data.source.document.strip() or (document.title if document else ""),
        source_table=data.source.table,
        source_date=data.source.date,
        source_url=data.source.url,
        licence_note=data.source.licence_note,
        notes=data.source.notes,
        formula=None,
        parameters={"subject_label": f"{subject}, {data.supplier.strip() or 'own figure'}", "supplier": data.supplier},
        evidence_document_id=document.id if document else None,
        evidence_sha256=document.sha256 if document else None,
        supersedes_id=old.id if old else None,
        created_by=actor.label,
    )
    return await _store(db, actor, row, old)


async def compute_own_generation_factor(db: AsyncSession, actor: Principal, data: OwnGenerationData) -> EmissionFactor:
    """Compute the EF of electricity generated on site (Eq. 38) and store it with its inputs and formula.

    A fuel's NCV, EF and oxidation factor come from the library (valid on the period's start) unless the
    operator gives measured values; which ones were used, and from where, is recorded with the factor.
    """
    actor.require("site:write")
    errors: list[FieldError] = []
    _check_range(data.valid_from, data.valid_to, errors)
    if data.period_end <= data.period_start:
        errors.append(FieldError("must be after periodStart (the end is exclusive)", field="periodEnd"))
    _check_decimal(data.net_generation_mwh, "netGenerationMwh", errors)
    _check_decimal(data.flue_gas_cleaning_t, "flueGasCleaningT", errors)
    if len(data.fuels) > 50:
        errors.append(FieldError("at most 50 fuels", field="fuels"))
    if len(data.notes) > 4000:
        errors.append(FieldError("at most 4000 characters", field="notes"))
    seen: set[str] = set()
    for i, fuel in enumerate(data.fuels):
        _check_decimal(fuel.quantity_t, f"fuels.{i}.quantityT", errors)
        for name, value in (
            ("ncvTjPerT", fuel.ncv_tj_per_t),
            ("efTPerTj", fuel.ef_t_per_tj),
            ("oxidationFactor", fuel.oxidation_factor),
        ):
            if value is not None:
                _check_decimal(value, f"fuels.{i}.{name}", errors)
        if fuel.fuel.strip().lower() in seen:
            errors.append(
                FieldError("this fuel is listed twice: give its total quantity once", field=f"fuels.{i}.fuel")
            )
        seen.add(fuel.fuel.strip().lower())
    if errors:
        raise ValidationFailed(errors)
    if data.evidence_document_id is not None and await db.get(EvidenceDocument, data.evidence_document_id) is None:
        raise DisclosureMissing("no evidence document with this id in the organisation", field="evidenceDocumentId")
    inputs: list[FuelInput] = []
    used: list[dict[str, Any]] = []
    for i, fuel in enumerate(data.fuels):
        try:
            code = normalise_subject(FactorKind.FUEL_NCV, fuel.fuel)
        except FieldError as error:
            raise FieldError(error.message, field=f"fuels.{i}.fuel") from None
        sources: dict[str, Any] = {}
        values: dict[str, Decimal] = {}
        for name, kind, given in (
            ("ncv", FactorKind.FUEL_NCV, fuel.ncv_tj_per_t),
            ("ef", FactorKind.FUEL_EMISSION_FACTOR, fuel.ef_t_per_tj),
            ("of", FactorKind.FUEL_OXIDATION_FACTOR, fuel.oxidation_factor),
        ):
            if given is not None:
                values[name], sources[name] = given, "given by the operator (measured or supplier-provided)"
                continue
            try:
                chosen = await select_factor(db, kind, code, data.period_start)
            except FactorMissing as missing:
                raise FactorMissing(
                    f"fuels.{i}: {missing.message}; give the measured value instead",
                    kind=kind.value,
                    subject=code,
                    on=data.period_start,
                    tried=missing.data["tried"],
                ) from None
            values[name] = chosen.factor.value
            sources[name] = {
                "factor_id": str(chosen.factor.id),
                "document": chosen.factor.provenance.document,
                "table": chosen.factor.provenance.table,
            }
        inputs.append(FuelInput(code, fuel.quantity_t, values["ncv"], values["ef"], values["of"], fuel.waste_gas))
        used.append({"fuel": code, "sources": sources})
    try:
        result = own_generation_factor(
            inputs, net_generation_mwh=data.net_generation_mwh, flue_gas_cleaning_t=data.flue_gas_cleaning_t
        )
    except FuelCombustionInvalid as invalid:
        raise ValidationFailed([FieldError(invalid.reason, field=invalid.field)]) from None
    if result.factor_t_per_mwh > MAX_ELECTRICITY_FACTOR:
        raise ValidationFailed(
            [
                FieldError(
                    f"the inputs give {result.factor_t_per_mwh:.4f} tCO2/MWh, above {MAX_ELECTRICITY_FACTOR}: "
                    "give fuels in tonnes and net generation in MWh",
                    field="netGenerationMwh",
                )
            ]
        )
    subject = str(data.generator_id)
    await repo.lock_key(db, FactorKind.OWN_GENERATION, subject)
    old = await _supersede(db, FactorKind.OWN_GENERATION, subject, data.supersedes_id, data.valid_from)
    parameters = {
        **result.inputs,
        "subject_label": f"generator {subject}",
        "period_start": data.period_start.isoformat(),
        "period_end": data.period_end.isoformat(),
        "factor_sources": used,
    }
    row = EmissionFactor(
        kind=FactorKind.OWN_GENERATION,
        subject=subject,
        version=await repo.next_version(db, FactorKind.OWN_GENERATION, subject),
        value=result.factor_t_per_mwh.quantize(Decimal("1e-12")),
        unit=OWN_GENERATION_UNIT,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        source_document="Computed by cbamx from the operator's monitored data ([IR2547] Annex II D.4.1, Eq. 38)",
        source_table=f"monitoring period {data.period_start.isoformat()} to {data.period_end.isoformat()}",
        source_date=data.period_end,
        source_url=None,
        licence_note="The organisation's own data.",
        notes=data.notes,
        formula=result.formula,
        parameters=parameters,
        evidence_document_id=data.evidence_document_id,
        evidence_sha256=(await db.get(EvidenceDocument, data.evidence_document_id)).sha256  # type: ignore[union-attr]
        if data.evidence_document_id
        else None,
        supersedes_id=old.id if old else None,
        created_by=actor.label,
    )
    return await _store(db, actor, row, old)


async def disclosure_documents(db: AsyncSession, document_ids: list[uuid.UUID]) -> list[EvidenceDocument]:
    """The evidence documents factors point to (for the list's loader; the caller read the factors)."""
    return await repo.documents_of(db, document_ids)


async def factors_by_ids(db: AsyncSession, actor: Principal, factor_ids: list[uuid.UUID]) -> list[Factor]:
    """Factor versions (published or the organisation's own) by id; readers of the site model."""
    actor.require("site:read")
    return await repo.factors_by_ids(db, factor_ids)
