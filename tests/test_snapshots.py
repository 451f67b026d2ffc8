"""Index snapshots for new web nodes: published consistently, switched atomically, checked before use
(dailypapers.search.snapshots, `dailypapers index publish | bootstrap`)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import make_settings
from dailypapers.cli import app
from dailypapers.search.service import Search
from dailypapers.search.snapshots import CURRENT, SNAPSHOT_FILE, SnapshotError, bootstrap, publish
from dailypapers.store.engine import make_engine
from search_support import DEMO_INDEXED, shared_embedder


@pytest.fixture(scope="module")
def origin(tmp_path_factory, sqlite_templates):
    """The demo slice with both indexes built: the node that publishes (module-scoped; only read)."""
    folder = tmp_path_factory.mktemp("origin")
    url = sqlite_templates.copy(DEMO_INDEXED, folder, "demo.db")
    return make_settings(url, index_dir=folder / "index")


def _search(settings):
    return Search(make_engine(settings), settings, embedder_factory=shared_embedder(settings))


def _results(settings, query: str, mode: str) -> list[int]:
    search = _search(settings)
    try:
        return [h.paper_id for h in search.search(query, mode=mode, limit=10)]
    finally:
        search.close()
        search.engine.dispose()


def test_a_new_node_serves_the_same_results_from_a_snapshot(origin, tmp_path):
    snapshot = publish(origin.index_dir, tmp_path / "snaps")
    assert (tmp_path / "snaps" / CURRENT).read_text().strip() == snapshot.name
    assert snapshot.files > 3 and snapshot.bytes > 1_000_000
    node = origin.model_copy(update={"index_dir": tmp_path / "node" / "index"})
    installed = bootstrap(tmp_path / "snaps", node.index_dir)
    assert installed.name == snapshot.name
    for mode in ("keyword", "semantic", "hybrid"):
        assert _results(node, "diffusion transformers for video", mode) == _results(
            origin, "diffusion transformers for video", mode
        ), mode


def test_current_switches_to_the_newest_and_old_ones_are_pruned(origin, tmp_path):
    names = [publish(origin.index_dir, tmp_path / "snaps").name for _ in range(3)]
    assert (tmp_path / "snaps" / CURRENT).read_text().strip() == names[-1]
    kept = sorted(p.name for p in (tmp_path / "snaps").iterdir() if p.name.startswith("snap-"))
    assert kept == sorted(names[-2:])
    assert not [p for p in (tmp_path / "snaps").iterdir() if p.name.startswith(".")]  # no leftovers


def test_a_damaged_snapshot_is_refused_and_nothing_is_installed(origin, tmp_path):
    snapshot = publish(origin.index_dir, tmp_path / "snaps")
    listed = json.loads((tmp_path / "snaps" / snapshot.name / SNAPSHOT_FILE).read_text())["files"]
    victim = tmp_path / "snaps" / snapshot.name / max(listed, key=lambda f: f.endswith(".idx"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="checksum"):
        bootstrap(tmp_path / "snaps", tmp_path / "node")
    assert not (tmp_path / "node").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["snaps"]  # the staging copy is gone too


def test_bootstrap_keeps_an_existing_index_unless_told(origin, tmp_path):
    publish(origin.index_dir, tmp_path / "snaps")
    (tmp_path / "node").mkdir()
    (tmp_path / "node" / "keep.txt").write_text("mine")
    with pytest.raises(SnapshotError, match="--replace"):
        bootstrap(tmp_path / "snaps", tmp_path / "node")
    assert (tmp_path / "node" / "keep.txt").exists()
    bootstrap(tmp_path / "snaps", tmp_path / "node", replace=True)
    assert not (tmp_path / "node" / "keep.txt").exists()


def test_nothing_published_or_a_pointer_that_points_outside(tmp_path):
    with pytest.raises(SnapshotError, match="no snapshot"):
        bootstrap(tmp_path / "snaps", tmp_path / "node")
    (tmp_path / "snaps").mkdir()
    (tmp_path / "snaps" / CURRENT).write_text("../../etc\n")
    with pytest.raises(SnapshotError, match="names no snapshot"):
        bootstrap(tmp_path / "snaps", tmp_path / "node")
    with pytest.raises(SnapshotError, match="index build"):
        publish(tmp_path / "empty", tmp_path / "snaps")


def test_the_commands(origin, tmp_path):
    env = {
        "DAILYPAPERS_DATABASE_URL": origin.database_url,
        "DAILYPAPERS_ENVIRONMENT": "test",
        "DAILYPAPERS_SECRET_KEY": origin.secret_key,
        "DAILYPAPERS_INDEX_DIR": str(origin.index_dir),
    }
    runner = CliRunner()
    published = runner.invoke(app, ["index", "publish", str(tmp_path / "snaps")], env=env)
    assert published.exit_code == 0, published.output
    assert "Published snap-" in published.output
    node = {**env, "DAILYPAPERS_INDEX_DIR": str(tmp_path / "node")}
    installed = runner.invoke(app, ["index", "bootstrap", str(tmp_path / "snaps")], env=node)
    assert installed.exit_code == 0, installed.output
    again = runner.invoke(app, ["index", "bootstrap", str(tmp_path / "snaps")], env=node)
    assert again.exit_code == 1 and "--replace" in again.output
    missing = runner.invoke(app, ["index", "bootstrap", str(tmp_path / "nothing")], env=node)
    assert missing.exit_code == 1 and "no snapshot" in missing.output
