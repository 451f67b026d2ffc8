"""Every migration, up and down, keeps the rows of the tables it does not own (SQLite and PostgreSQL).

On SQLite, Alembic alters a table by copying it; with foreign keys on, dropping the old copy used to cascade
and delete every upvote and feed entry (migrations/env.py turns them off for the migration).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from conftest import make_settings
from dailypapers.store.engine import alembic_config, upgrade

WHEN = "'2026-08-21 00:00:00'"


def _seed(engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (id, username, type, origin, created_at) "
            f"VALUES (7, 'alice', 'user', 'local', {WHEN})"
        )
        conn.exec_driver_sql(
            "INSERT INTO papers (id, arxiv_id, version, title, abstract, authors, imported_upvotes, "
            "upvotes, num_comments, created_at, modified_at) "
            f"VALUES (3, '2608.00001', 1, 'T', 'A', '[]', 4, 5, 0, {WHEN}, {WHEN})"
        )
        conn.exec_driver_sql(f"INSERT INTO upvotes (user_id, paper_id, created_at) VALUES (7, 3, {WHEN})")
        conn.exec_driver_sql(
            "INSERT INTO feed_entries (paper_id, day, submitted_at, submitted_by_id) "
            f"VALUES (3, '2026-08-21', {WHEN}, 7)"
        )
        conn.exec_driver_sql(
            "INSERT INTO paper_versions (paper_id, version, seen_at) VALUES (3, 1, " + WHEN + ")"
        )


def _kept(engine) -> tuple:
    with engine.connect() as conn:
        return (
            conn.exec_driver_sql("SELECT user_id, paper_id FROM upvotes").all(),
            conn.exec_driver_sql("SELECT paper_id, submitted_by_id FROM feed_entries").all(),
            conn.exec_driver_sql("SELECT paper_id, version FROM paper_versions").all(),
            conn.exec_driver_sql("SELECT id, upvotes FROM papers").all(),
        )


def test_up_to_head_down_and_up_again_keeps_every_row(unmigrated_url):
    settings = make_settings(unmigrated_url)
    upgrade(settings, "0003")
    engine = sa.create_engine(unmigrated_url)
    try:
        _seed(engine)
        before = _kept(engine)
        assert before[0] == [(7, 3)]
        upgrade(settings, "head")
        assert _kept(engine) == before
        command.downgrade(alembic_config(settings), "0003")
        assert _kept(engine) == before
        upgrade(settings, "head")
        assert _kept(engine) == before
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced_again_after_a_migration(tmp_path):
    from dailypapers.store.engine import make_engine

    url = f"sqlite:///{tmp_path / 'fk.db'}"
    upgrade(make_settings(url))
    engine = make_engine(make_settings(url))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


def test_hugging_face_comment_counts_move_to_their_own_column(unmigrated_url):
    settings = make_settings(unmigrated_url)
    upgrade(settings, "0007")
    engine = sa.create_engine(unmigrated_url)
    try:
        _seed(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO papers (id, arxiv_id, version, title, abstract, authors, imported_upvotes, "
                "upvotes, num_comments, created_at, modified_at) VALUES "
                f"(4, '2608.00004', 1, 'T', 'A', '[]', 0, 0, 7, {WHEN}, {WHEN}), "  # 7 imported, none of ours
                f"(5, '2608.00005', 1, 'T', 'A', '[]', 0, 0, 3, {WHEN}, {WHEN})"  # 2 imported + 1 of ours
            )
            conn.exec_driver_sql(
                "INSERT INTO comments (paper_id, user_id, body, html, created_at) "
                f"VALUES (5, 7, 'ours', '<p>ours</p>', {WHEN})"
            )
        upgrade(settings, "head")
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, num_comments, hf_comments FROM papers WHERE id IN (4, 5) ORDER BY id"
            ).all()
        assert [tuple(r) for r in rows] == [(4, 0, 7), (5, 1, 2)]
    finally:
        engine.dispose()
