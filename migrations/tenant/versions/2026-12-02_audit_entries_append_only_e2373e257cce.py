"""audit entries append-only for everyone but the owner

Revision ID: e2373e257cce
Revises: 1f9e4b2e1a1a
Create Date: 2026-12-02 00:45:00

"""

from typing import Sequence, Union

from alembic import op


revision: str = "e2373e257cce"
down_revision: Union[str, Sequence[str], None] = "1f9e4b2e1a1a"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# runs under a search_path of the tenant's schema; the privileges (tenancy.ddl) are applied after
# every tenant migration, this adds the trigger behind them
FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
    RAISE EXCEPTION '% rows are append-only: % refused for role %', TG_TABLE_NAME, TG_OP, current_user
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $f$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute("DROP TRIGGER IF EXISTS append_only_rows ON audit_entries")
    op.execute(
        "CREATE TRIGGER append_only_rows BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()"
    )
    op.execute("DROP TRIGGER IF EXISTS append_only_table ON audit_entries")
    op.execute(
        "CREATE TRIGGER append_only_table BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS append_only_table ON audit_entries")
    op.execute("DROP TRIGGER IF EXISTS append_only_rows ON audit_entries")
    op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
