"""For you: reader profiles (named interests with keyword filters) and their like/dislike signals

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reader_profiles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_reader_profiles_user_id_users"),
            nullable=False,
        ),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("musts", sa.JSON(), nullable=False),
        sa.Column("excludes", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("feed_key", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reader_profiles"),
        sa.UniqueConstraint("user_id", "name", name="uq_reader_profiles_user_id_name"),
        sa.UniqueConstraint("feed_key", name="uq_reader_profiles_feed_key"),
    )
    op.create_table(
        "reader_signals",
        sa.Column(
            "profile_id",
            sa.Integer(),
            sa.ForeignKey(
                "reader_profiles.id", ondelete="CASCADE", name="fk_reader_signals_profile_id_reader_profiles"
            ),
            nullable=False,
        ),
        sa.Column(
            "paper_id",
            sa.Integer(),
            sa.ForeignKey("papers.id", ondelete="CASCADE", name="fk_reader_signals_paper_id_papers"),
            nullable=False,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_reader_signals_user_id_users"),
            nullable=False,
        ),
        sa.Column("signal", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", "paper_id", name="pk_reader_signals"),
    )
    op.create_index("ix_reader_signals_user_id_paper_id", "reader_signals", ["user_id", "paper_id"])
    op.create_index("ix_reader_signals_paper_id", "reader_signals", ["paper_id"])


def downgrade() -> None:
    op.drop_table("reader_signals")
    op.drop_table("reader_profiles")
