"""merge: the calculations chain and provisional footprints, both grown from shipment imports

Revision ID: e5a19c3f7d20
Revises: 3d6a9f2c8e15, c4d8e2a61b57
Create Date: 2026-12-02 17:10:00.000000

"""

from typing import Sequence, Union

revision: str = "e5a19c3f7d20"
down_revision: Union[str, Sequence[str], None] = ("3d6a9f2c8e15", "c4d8e2a61b57")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
