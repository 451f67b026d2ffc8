"""leases, schedule_runs, pacing: several workers on several machines, one schedule, one arXiv budget

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 20:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("job", "slot", name=op.f("pk_schedule_runs")),
    )
    op.create_table(
        "pacing",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("last_end", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pacing")),
    )


def downgrade() -> None:
    op.drop_table("pacing")
    op.drop_table("schedule_runs")
    op.drop_table("leases")
