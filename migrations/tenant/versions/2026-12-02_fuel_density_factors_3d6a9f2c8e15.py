"""an organisation's own fuel densities in its factor library (kind fuel_density, t/m3)

The factor kind is stored as text; the tenant table's check constraint lists the kinds an organisation may
own, so it gains fuel_density.

Revision ID: 3d6a9f2c8e15
Revises: 9b1e5d7c3a20
Create Date: 2026-12-02 18:10:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "3d6a9f2c8e15"
down_revision: str | Sequence[str] | None = "9b1e5d7c3a20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_emission_factors_tenant_kind"), "emission_factors", type_="check")
    op.create_check_constraint(
        op.f("ck_emission_factors_tenant_kind"),
        "emission_factors",
        "kind IN ('fuel_density', 'own_generation', 'supplier_specific')",
    )


def downgrade() -> None:
    op.execute("DELETE FROM emission_factors WHERE kind = 'fuel_density'")
    op.drop_constraint(op.f("ck_emission_factors_tenant_kind"), "emission_factors", type_="check")
    op.create_check_constraint(
        op.f("ck_emission_factors_tenant_kind"),
        "emission_factors",
        "kind IN ('own_generation', 'supplier_specific')",
    )
