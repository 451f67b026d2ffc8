"""key_phrases: each paper's key phrases and key sentence, extracted at index time

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "key_phrases",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("phrases", sa.JSON(), nullable=False),
        sa.Column("key_sentence", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_key_phrases_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_key_phrases")),
    )
    op.create_index("ix_key_phrases_created_at", "key_phrases", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_key_phrases_created_at", table_name="key_phrases")
    op.drop_table("key_phrases")
