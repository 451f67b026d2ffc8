"""authors and organizations: paper_authors, paper_categories, papers.organization_key, author_claims, follows

`paper_authors` and `paper_categories` are derived from the papers' JSON lists (one row per name, with its
folded key; one per category), filled here for the papers already stored and kept by every later write.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:40:00
"""

import json

import sqlalchemy as sa
from alembic import op

from dailypapers import names

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 2000
LIVE = sa.text("status != 'rejected'")


def upgrade() -> None:
    op.add_column("papers", sa.Column("organization_key", sa.String(length=255), nullable=True))
    op.create_table(
        "paper_authors",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_authors_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("paper_id", "position", name=op.f("pk_paper_authors")),
    )
    op.create_table(
        "paper_categories",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_categories_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("paper_id", "category", name=op.f("pk_paper_categories")),
    )
    op.create_table(
        "author_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_author_claims_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_author_claims_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_author_claims_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_author_claims")),
    )
    op.create_index("ix_author_claims_paper_id", "author_claims", ["paper_id"])
    op.create_index("ix_author_claims_user_id", "author_claims", ["user_id"])
    op.create_index("ix_author_claims_status", "author_claims", ["status"])
    for name, columns in (("uq_author_claims_live_name", ["paper_id", "position"]),
                          ("uq_author_claims_live_user", ["paper_id", "user_id"])):  # fmt: skip
        op.create_index(name, "author_claims", columns, unique=True, sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_table(
        "follows",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_follows_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", "key", name=op.f("pk_follows")),
    )
    op.create_index("ix_follows_kind_key", "follows", ["kind", "key"])
    _backfill()
    # After the rows: building an index once is quicker than keeping it during the inserts.
    op.create_index("ix_papers_organization_key", "papers", ["organization_key", "organization"])
    op.create_index("ix_paper_authors_key_paper_id", "paper_authors", ["key", "paper_id"])
    op.create_index("ix_paper_categories_category_paper_id", "paper_categories", ["category", "paper_id"])


def _list(value) -> list:
    if isinstance(value, str):
        value = json.loads(value)
    return list(value or [])


def _backfill() -> None:
    conn = op.get_bind()
    papers = sa.table(
        "papers",
        sa.column("id"),
        sa.column("authors"),
        sa.column("categories"),
        sa.column("organization"),
        sa.column("organization_key"),
    )
    authors_t = sa.table("paper_authors", sa.column("paper_id"), sa.column("position"), sa.column("name"),
                         sa.column("key"))  # fmt: skip
    categories_t = sa.table("paper_categories", sa.column("paper_id"), sa.column("category"))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(papers.c.id, papers.c.authors, papers.c.categories, papers.c.organization)
            .where(papers.c.id > last)
            .order_by(papers.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].id
        author_rows, category_rows, orgs = [], [], []
        for row in rows:
            for position, name in enumerate(_list(row.authors)):
                folded = names.key(name) if isinstance(name, str) else ""
                if folded:
                    author_rows.append(
                        {"paper_id": row.id, "position": position, "name": name, "key": folded}
                    )
            for category in dict.fromkeys(c for c in _list(row.categories) if isinstance(c, str) and c):
                category_rows.append({"paper_id": row.id, "category": category[:64]})
            if row.organization:
                orgs.append({"pid": row.id, "okey": names.key(row.organization) or None})
        if author_rows:
            conn.execute(authors_t.insert(), author_rows)
        if category_rows:
            conn.execute(categories_t.insert(), category_rows)
        if orgs:
            conn.execute(
                papers.update()
                .where(papers.c.id == sa.bindparam("pid"))
                .values(organization_key=sa.bindparam("okey")),
                orgs,
            )


def downgrade() -> None:
    op.drop_table("follows")
    op.drop_table("author_claims")
    op.drop_table("paper_categories")
    op.drop_table("paper_authors")
    op.drop_index("ix_papers_organization_key", table_name="papers")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("organization_key")
