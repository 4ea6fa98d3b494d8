"""action plans: whether an indicator is planned at the bottom of its scale, read off the catalogue (issue 17)

Revision ID: 0008_plan_action_lacking
Revises: 0007_evidence_name

The oversight counts "the indicators most often lacking" from this column, so a catalogue whose scale ends in other
words than "Tidak" counts as well. Rows written before it held only scales ending in "Tidak": filled from that word.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_plan_action_lacking"
down_revision: str | None = "0007_evidence_name"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan_action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lacking", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE plan_action SET lacking = (keadaan = 'Tidak')")
    with op.batch_alter_table("plan_action", schema=None) as batch_op:
        batch_op.alter_column("lacking", server_default=None)
        batch_op.drop_index("ix_plan_action_state")  # it served the count by the word "Tidak"
        batch_op.create_index("ix_plan_action_lacking", ["year", "lacking"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_action", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_action_lacking")
        batch_op.create_index("ix_plan_action_state", ["year", "region", "keadaan"], unique=False)
        batch_op.drop_column("lacking")
