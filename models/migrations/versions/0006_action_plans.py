"""action plans: the plan draft, the plan as last sent, and its indicators (issue 17)

Revision ID: 0006_action_plans
Revises: 0005_notification_read
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006_action_plans"
down_revision: str | None = "0005_notification_read"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_draft",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("saved_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("saved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", "unit"),
    )
    op.create_table(
        "plan",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", "unit"),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index("ix_plan_year_region", ["year", "region", "status"], unique=False)
    op.create_table(
        "plan_action",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kode", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("keadaan", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("year", "unit", "kode"),
    )
    with op.batch_alter_table("plan_action", schema=None) as batch_op:
        batch_op.create_index("ix_plan_action_state", ["year", "region", "keadaan"], unique=False)
        batch_op.create_index("ix_plan_action_open", ["year", "done", "target"], unique=False)


def downgrade() -> None:
    op.drop_table("plan_action")
    op.drop_table("plan")
    op.drop_table("plan_draft")
