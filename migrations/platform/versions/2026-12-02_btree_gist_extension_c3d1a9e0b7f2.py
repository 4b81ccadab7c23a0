"""btree_gist: exclusion constraints that combine equality with range overlap (batches per line)

Revision ID: c3d1a9e0b7f2
Revises: ea158a62fb5d
Create Date: 2026-12-02 13:40:00

"""

from collections.abc import Sequence

from alembic import op

revision: str = "c3d1a9e0b7f2"
down_revision: str | Sequence[str] | None = "ea158a62fb5d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # database-wide; tenant schemas use its operator classes (e.g. uuid WITH = in a GiST exclusion)
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")


def downgrade() -> None:
    # other constraints may use it: the extension stays
    pass
