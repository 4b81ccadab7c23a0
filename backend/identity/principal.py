"""Who is asking: every request, job and CLI command resolves to one principal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from backend.errors import PermissionDenied
from backend.identity.models import MembershipRole

READ_SCOPES = frozenset(
    {
        "site:read",
        "interval:read",
        "evidence:read",
        "audit:read",
        "footprints:read",
        "grants:read",
        "production:read",
        "feeds:read",
    }
)
WRITE_SCOPES = frozenset({"site:write", "interval:write", "evidence:write", "production:write", "feeds:write"})
ADMIN_SCOPES = frozenset({"tenant:admin"})
MACHINE_ONLY_SCOPES = frozenset({"ingest"})
ALL_SCOPES = READ_SCOPES | WRITE_SCOPES | ADMIN_SCOPES | MACHINE_ONLY_SCOPES

ROLE_SCOPES: dict[MembershipRole, frozenset[str]] = {
    MembershipRole.VIEWER: READ_SCOPES,
    MembershipRole.MEMBER: READ_SCOPES | WRITE_SCOPES,
    MembershipRole.ADMIN: READ_SCOPES | WRITE_SCOPES | ADMIN_SCOPES,
    MembershipRole.OWNER: READ_SCOPES | WRITE_SCOPES | ADMIN_SCOPES,
}


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Literal["user", "client", "system"]
    id: str
    label: str
    tenant_id: uuid.UUID | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    role: MembershipRole | None = None
    installation_id: uuid.UUID | None = None
    client_pk: uuid.UUID | None = None

    @classmethod
    def system(cls, label: str = "cbamx", tenant_id: uuid.UUID | None = None) -> Principal:
        return cls(kind="system", id="system", label=label, tenant_id=tenant_id, scopes=ALL_SCOPES)

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise PermissionDenied(f"this action needs the '{scope}' permission", scope=scope)

    def require_tenant(self) -> uuid.UUID:
        if self.tenant_id is None:
            raise PermissionDenied("no organisation selected")
        return self.tenant_id

    def require_role(self, minimum: MembershipRole) -> None:
        from backend.identity.models import ROLE_RANK

        if self.kind == "system":
            return
        if self.role is None or ROLE_RANK[self.role] < ROLE_RANK[minimum]:
            raise PermissionDenied(f"this action needs the {minimum.value} role")
