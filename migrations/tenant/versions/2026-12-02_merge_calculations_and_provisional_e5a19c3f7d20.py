"""merge: calculation runs and provisional footprints, both added on shipment imports

Revision ID: e5a19c3f7d20
Revises: 4fcca451b24a, c4d8e2a61b57
Create Date: 2026-12-02 17:10:00.000000

"""

from typing import Sequence, Union

revision: str = "e5a19c3f7d20"
down_revision: Union[str, Sequence[str], None] = ("4fcca451b24a", "c4d8e2a61b57")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
