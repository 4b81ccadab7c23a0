"""The supplier directory: an exporter lists itself (name, country, sectors, CN codes) or withdraws; any
organisation searches what is listed. An unlisted entry is kept but shown to nobody."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record_in_platform_transaction
from backend.db import utcnow
from backend.errors import FieldError, PermissionDenied, ValidationFailed
from backend.exchange import repository
from backend.exchange.errors import DirectoryEntryNotFound, NotAnExporter
from backend.identity.models import MembershipRole
from backend.identity.principal import Principal
from backend.sharing.models import DirectoryEntry
from backend.tenants.models import TenantKind
from backend.tenants.registry import TenantRef

MAX_SECTORS = 20
MAX_CN_CODES = 200
MAX_DESCRIPTION = 2000
MAX_LISTED = 200


def is_cn_prefix(value: str) -> bool:
    return value.isascii() and value.isdigit() and 2 <= len(value) <= 8


def is_country(value: str) -> bool:
    return len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()


@dataclass(frozen=True, slots=True)
class ListingData:
    display_name: str
    country: str | None = None
    sectors: list[str] = field(default_factory=list)
    cn_codes: list[str] = field(default_factory=list)
    description: str = ""
    contact_email: str | None = None

    def validate(self) -> None:
        errors: list[FieldError] = []
        if not self.display_name.strip() or len(self.display_name) > 200 or "\x00" in self.display_name:
            errors.append(FieldError("1 to 200 characters, no NUL", field="displayName"))
        if self.country is not None and not is_country(self.country):
            errors.append(FieldError("an ISO 3166-1 alpha-2 code in capitals, such as RS", field="country"))
        if len(self.sectors) > MAX_SECTORS:
            errors.append(FieldError(f"at most {MAX_SECTORS} sectors", field="sectors"))
        for i, sector in enumerate(self.sectors[:MAX_SECTORS]):
            if not sector.strip() or len(sector) > 64 or "\x00" in sector:
                errors.append(FieldError("1 to 64 characters, no NUL", field=f"sectors.{i}"))
        if len(self.cn_codes) > MAX_CN_CODES:
            errors.append(FieldError(f"at most {MAX_CN_CODES} CN codes", field="cnCodes"))
        for i, code in enumerate(self.cn_codes[:MAX_CN_CODES]):
            if not is_cn_prefix(code):
                errors.append(FieldError("2 to 8 digits of a CN code", field=f"cnCodes.{i}"))
        if len(self.description) > MAX_DESCRIPTION or "\x00" in self.description:
            errors.append(FieldError(f"at most {MAX_DESCRIPTION} characters, no NUL", field="description"))
        email = self.contact_email
        if email is not None and (len(email) > 320 or "@" not in email or any(c.isspace() for c in email)):
            errors.append(FieldError("an email address", field="contactEmail"))
        if errors:
            raise ValidationFailed(errors)


@dataclass(frozen=True, slots=True)
class DirectorySearch:
    name: str | None = None
    country: str | None = None
    sector: str | None = None
    cn_code: str | None = None  # a prefix of 2 to 8 digits

    def validate(self) -> None:
        errors: list[FieldError] = []
        if self.name is not None and (len(self.name) > 200 or "\x00" in self.name):
            errors.append(FieldError("at most 200 characters, no NUL", field="name"))
        if self.country is not None and not is_country(self.country):
            errors.append(FieldError("an ISO 3166-1 alpha-2 code in capitals, such as RS", field="country"))
        if self.sector is not None and (len(self.sector) > 64 or "\x00" in self.sector):
            errors.append(FieldError("at most 64 characters, no NUL", field="sector"))
        if self.cn_code is not None and not is_cn_prefix(self.cn_code):
            errors.append(FieldError("2 to 8 digits, the start of a CN code", field="cnCode"))
        if errors:
            raise ValidationFailed(errors)


def _require_admin_of_exporter(principal: Principal, tenant: TenantRef) -> None:
    if principal.kind == "client":
        raise PermissionDenied("an organisation's people manage its directory entry, not its clients")
    principal.require_role(MembershipRole.ADMIN)
    if tenant.kind != TenantKind.EXPORTER:
        raise NotAnExporter("only an exporter lists itself as a supplier")


async def set_listing(db: AsyncSession, principal: Principal, tenant: TenantRef, data: ListingData) -> DirectoryEntry:
    """List the organisation in the supplier directory, or change its listing (admins of exporters)."""
    _require_admin_of_exporter(principal, tenant)
    data.validate()
    entry = await repository.directory_entry(db, tenant.id, for_update=True)
    before = _snapshot(entry) if entry is not None else None
    if entry is None:
        entry = DirectoryEntry(tenant_id=tenant.id)
        db.add(entry)
    entry.display_name = data.display_name.strip()
    entry.country = data.country
    entry.sectors = sorted({s.strip() for s in data.sectors})
    entry.cn_codes = sorted(set(data.cn_codes))
    entry.description = data.description
    entry.contact_email = data.contact_email
    entry.listed = True
    entry.updated_at = utcnow()
    await db.flush()
    await record_in_platform_transaction(
        db,
        tenant.scope,
        principal,
        "directory_entry.listed",
        "directory_entry",
        tenant.id,
        before=before,
        after=_snapshot(entry),
    )
    return entry


async def unlist(db: AsyncSession, principal: Principal, tenant: TenantRef) -> DirectoryEntry:
    """Withdraw from the directory: nobody finds the organisation there any more; connections stay."""
    _require_admin_of_exporter(principal, tenant)
    entry = await repository.directory_entry(db, tenant.id, for_update=True)
    if entry is None:
        raise DirectoryEntryNotFound("the organisation has no directory entry")
    if entry.listed:
        entry.listed = False
        entry.updated_at = utcnow()
        await db.flush()
        await record_in_platform_transaction(
            db, tenant.scope, principal, "directory_entry.unlisted", "directory_entry", tenant.id
        )
    return entry


async def own_entry(db: AsyncSession, principal: Principal) -> DirectoryEntry | None:
    """The organisation's own entry, listed or not."""
    return await repository.directory_entry(db, principal.require_tenant())


async def search(
    db: AsyncSession,
    principal: Principal,
    q: DirectorySearch,
    *,
    after: tuple[str, uuid.UUID] | None = None,
    limit: int = MAX_LISTED,
) -> list[DirectoryEntry]:
    """Listed suppliers by name, country, sector and CN code prefix, in order of name."""
    principal.require_tenant()
    q.validate()
    return await repository.search_directory(
        db,
        name=q.name.strip() if q.name else None,
        country=q.country,
        sector=q.sector,
        cn_prefix=q.cn_code,
        after=after,
        limit=min(limit, MAX_LISTED + 1),
    )


def _snapshot(entry: DirectoryEntry) -> dict[str, object]:
    return {
        "display_name": entry.display_name,
        "country": entry.country,
        "sectors": list(entry.sectors or []),
        "cn_codes": list(entry.cn_codes or []),
        "listed": entry.listed,
    }
