"""merge: the calculations chain and provisional footprints, both grown from shipment imports

Revision ID: f2b7c9d41e06
Revises: 3d6a9f2c8e15, c4d8e2a61b57
Create Date: 2026-12-02 18:10:00.000000

"""

from typing import Sequence, Union

revision: str = "f2b7c9d41e06"
down_revision: Union[str, Sequence[str], None] = ("3d6a9f2c8e15", "c4d8e2a61b57")
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
