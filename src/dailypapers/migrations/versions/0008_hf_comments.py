"""papers.hf_comments: Hugging Face's comment count as imported, apart from our own comments' count

Until now an import wrote Hugging Face's count into `num_comments`, and the first local edit recounted it
from our own comments (7 became 1). The imported number moves to its own column; `num_comments` is recounted
from the comments anyone can see.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 17:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OURS = (
    "(SELECT count(*) FROM comments WHERE comments.paper_id = papers.id "
    "AND comments.deleted_at IS NULL AND comments.hidden_at IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("hf_comments", sa.Integer(), nullable=False, server_default="0"))
    # Never recounted, `num_comments` is the imported count plus one per comment of ours; recounted (after an
    # edit or a deletion), it is ours alone and the imported count is lost: nothing to recover it from.
    op.execute(
        f"UPDATE papers SET hf_comments = "
        f"CASE WHEN num_comments > {_OURS} THEN num_comments - {_OURS} ELSE 0 END"
    )
    op.execute(f"UPDATE papers SET num_comments = {_OURS}")


def downgrade() -> None:
    op.execute("UPDATE papers SET num_comments = num_comments + hf_comments")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("hf_comments")
