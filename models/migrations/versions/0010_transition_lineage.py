"""audit log: the unit's parents each step was judged with, so the audit re-runs it against the registry as it was

Revision ID: 0010_transition_lineage
Revises: 0009_job_run

A judge may not act on a case of their own unit or of a unit under it; the API resolves the case unit's parents from
the unit registry when the step is sent. The audit re-ran each step against today's registry, so a unit moved under
another parent later made an earlier, valid step look refused. Rows written before hold NULL: the audit falls back to
today's registry for them, and says so.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_transition_lineage"
down_revision: str | None = "0009_job_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("transition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lineage", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transition", schema=None) as batch_op:
        batch_op.drop_column("lineage")
