"""The rows derived from a paper's author list, categories and organization (`paper_authors`,
`paper_categories`, `papers.organization_key`), rewritten in the transaction that writes the paper."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam

from dailypapers import names
from dailypapers.store.schema import paper_authors, paper_categories, papers


def author_rows(paper_id: int, authors: Iterable[Any]) -> list[dict[str, Any]]:
    rows = []
    for position, name in enumerate(authors or []):
        folded = names.key(name) if isinstance(name, str) else ""
        if folded:
            rows.append({"paper_id": paper_id, "position": position, "name": name, "key": folded})
    return rows


def category_rows(paper_id: int, categories: Iterable[Any]) -> list[dict[str, Any]]:
    wanted = dict.fromkeys(c[:64] for c in categories or [] if isinstance(c, str) and c)
    return [{"paper_id": paper_id, "category": c} for c in wanted]


def sync(conn, changed: dict[int, dict[str, Any]]) -> None:
    """Rewrite the derived rows of these papers: {paper id: {"authors", "categories", "organization"}}, each
    key present only when that field was written."""
    if not changed:
        return
    ids = sorted(changed)
    by_authors = [pid for pid in ids if "authors" in changed[pid]]
    by_categories = [pid for pid in ids if "categories" in changed[pid]]
    by_org = [pid for pid in ids if "organization" in changed[pid]]
    _replace(conn, paper_authors, by_authors, lambda pid: author_rows(pid, changed[pid]["authors"]))
    _replace(
        conn, paper_categories, by_categories, lambda pid: category_rows(pid, changed[pid]["categories"])
    )
    if by_org:
        conn.execute(
            papers.update().where(papers.c.id == bindparam("pid")).values(organization_key=bindparam("okey")),
            [{"pid": pid, "okey": names.key(changed[pid]["organization"]) or None} for pid in by_org],
        )


def _replace(conn, table, paper_ids: list[int], rows_of) -> None:
    """The rows of `table` for these papers deleted and written anew (`rows_of(paper_id)`), 500 at a time."""
    for start in range(0, len(paper_ids), 500):
        chunk = paper_ids[start : start + 500]
        conn.execute(table.delete().where(table.c.paper_id.in_(chunk)))
        rows = [row for pid in chunk for row in rows_of(pid)]
        if rows:
            conn.execute(table.insert(), rows)
