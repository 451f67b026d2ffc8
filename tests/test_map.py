"""The map: UMAP over the stored embeddings, new papers placed among their neighbours without moving the
others, regions named by key phrases; `/map`, `/map.json` and its binary points (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dailypapers.maps.builder import SHIPPED_MAP, MapBuilder, MapData, read_map, write_places
from dailypapers.maps.projection import normalize, place, region_labels
from dailypapers.search import state
from dailypapers.search.vectors import to_blob
from dailypapers.store.embeddings import NewEmbedding, SqlEmbeddings
from dailypapers.store.keyphrases import NewKeyPhrases, SqlKeyPhrases
from dailypapers.web.app import create_app
from search_support import paper, search_settings

# One worker: UMAP compiles its numba kernels once per process (seconds).
pytestmark = pytest.mark.xdist_group("map")

# -- pure ------------------------------------------------------------------------------------------------


def test_normalize_fits_the_square_and_keeps_the_aspect():
    xy = normalize(np.array([[0, 0], [10, 5], [5, 2]]))
    assert xy.min() >= -0.95 - 1e-6 and xy.max() <= 0.95 + 1e-6
    assert np.ptp(xy[:, 0]) == pytest.approx(1.9) and np.ptp(xy[:, 1]) == pytest.approx(0.95)


def test_a_new_point_lands_among_its_nearest_neighbours():
    known = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.14, 0.99]], dtype=np.float32)
    known /= np.linalg.norm(known, axis=1, keepdims=True)
    xy = np.array([[-0.8, -0.8], [-0.7, -0.8], [0.8, 0.8], [0.7, 0.8]], dtype=np.float32)
    new = np.array([[1, 0.05]], dtype=np.float32)
    placed = place(new / np.linalg.norm(new), known, xy, k=2)
    assert placed[0][0] < -0.6 and placed[0][1] < -0.7


def test_regions_are_named_by_their_most_telling_phrase():
    rng = np.random.default_rng(1)
    left = rng.normal((-0.5, 0.1), 0.03, size=(60, 2))
    right = rng.normal((0.5, 0.1), 0.03, size=(60, 2))
    xy = np.vstack([left, right]).astype(np.float32)
    phrases = [["graph neural network", "benchmark"]] * 60 + [["speech recognition", "benchmark"]] * 60
    coarse = {r["label"] for r in region_labels(xy, phrases)[0]}
    assert coarse == {"graph neural network", "speech recognition"}


# -- built from a store ------------------------------------------------------------------------------------


def _clusters(store, n=40, dim=16, seed=3):
    """Papers in two groups of meaning, with embeddings and phrases as the indexer would store them."""
    rng = np.random.default_rng(seed)
    records = [paper(f"2605.{i:05d}", f"Paper {i}", "Text.") for i in range(n)]
    store.upsert(records)
    views = {v.arxiv_id: v.id for v in store.get_many(list(range(1, n + 10)))}
    centres = np.eye(dim)[:2] * 3
    rows, phrases = [], []
    for i in range(n):
        vector = centres[i % 2] + rng.normal(0, 0.3, dim)
        vector /= np.linalg.norm(vector)
        pid = views[f"2605.{i:05d}"]
        rows.append(NewEmbedding(pid, to_blob(vector.astype(np.float32)), "h"))
        phrases.append(NewKeyPhrases(pid, ["left topic" if i % 2 == 0 else "right topic"], None, "h"))
    return views, rows, phrases


@pytest.fixture
def settings_(database_url, tmp_path):
    return search_settings(database_url, tmp_path / "index")


@pytest.mark.slow  # UMAP's first run compiles its numba kernels: a minute or more on two busy cores
def test_build_then_extend_keeps_every_place(store, settings_):
    views, rows, phrases = _clusters(store)
    model = settings_.embedding_model
    SqlEmbeddings(store.engine).add(model, rows[:-1])
    SqlKeyPhrases(store.engine).add(model, phrases)
    state.put(store.engine, state.ACTIVE_MODEL, model)
    builder = MapBuilder(store.engine, settings_)
    first = builder.build(seed=7)
    assert (first.points, first.projected, first.placed) == (39, 39, 0)
    before = read_map(builder.folder)
    SqlEmbeddings(store.engine).add(model, rows[-1:])
    second = builder.build()
    assert (second.points, second.projected, second.placed) == (40, 0, 1)
    after = read_map(builder.folder)
    same = {int(p): tuple(xy) for p, xy in zip(before.paper_ids, before.xy, strict=True)}
    for pid, xy in zip(after.paper_ids, after.xy, strict=True):
        if int(pid) in same:
            assert tuple(xy) == same[int(pid)]
    # The two groups of meaning are apart on the map: each point is nearer its own group's centre.
    group = np.array([int(pid) % 2 == views["2605.00000"] % 2 for pid in after.paper_ids])
    a, b = after.xy[group].mean(axis=0), after.xy[~group].mean(axis=0)
    assert np.linalg.norm(a - b) > 0.5
    assert {r["label"] for level in after.labels for r in level} <= {"left topic", "right topic"}


def test_a_map_starts_from_places_saved_by_arxiv_id(store, settings_, tmp_path):
    """As the demo's does: the papers the saved places name keep them, one they lack is placed."""
    views, rows, phrases = _clusters(store)
    model = settings_.embedding_model
    SqlEmbeddings(store.engine).add(model, rows)
    SqlKeyPhrases(store.engine).add(model, phrases)
    rng = np.random.default_rng(5)
    saved_ids = np.array([views[f"2605.{i:05d}"] for i in range(39)], dtype=np.int64)  # not the last
    saved = MapData(saved_ids, rng.uniform(-0.9, 0.9, (39, 2)).astype(np.float32), model, "", [])
    path = tmp_path / "places.npz"
    # Saved from another database, whose paper ids differ: only the arXiv ids carry over.
    write_places(saved, {int(p): a for a, p in views.items()}, path)
    with np.load(path) as data:
        assert set(data) == {"arxiv_ids", "xy", "model"}
    report = MapBuilder(store.engine, settings_).build(start=path)
    assert (report.points, report.projected, report.placed) == (40, 0, 1)
    built = read_map(MapBuilder(store.engine, settings_).folder)
    where = {int(p): xy for p, xy in zip(built.paper_ids, built.xy, strict=True)}
    for pid, xy in zip(saved.paper_ids, saved.xy, strict=True):
        assert np.allclose(where[int(pid)], xy, atol=1e-3)  # kept, to a thousandth of the map
    assert np.abs(where[views["2605.00039"]]).max() <= 1.0


def test_the_demo_ships_a_place_for_each_of_its_embedded_papers():
    from dailypapers.search.indexer import SHIPPED_EMBEDDINGS

    with np.load(SHIPPED_MAP) as places, np.load(SHIPPED_EMBEDDINGS) as embedded:
        assert str(places["model"]) == str(embedded["model"])
        assert sorted(map(str, places["arxiv_ids"])) == sorted(map(str, embedded["arxiv_ids"]))
        assert np.abs(places["xy"]).max() <= 1.0


def test_map_pages_serve_the_points_and_say_when_there_is_no_map(store, settings_, tmp_path):
    with TestClient(create_app(settings_, store=store)) as client:
        assert client.get("/map.json").status_code == 404
        page = client.get("/map")
        assert page.status_code == 404 and "dailypapers map build" in page.text
    _views, rows, phrases = _clusters(store)
    model = settings_.embedding_model
    SqlEmbeddings(store.engine).add(model, rows)
    SqlKeyPhrases(store.engine).add(model, phrases)
    # Places as saved ones (UMAP is the test above's): the pages serve whatever map there is.
    ids = np.array(sorted(_views.values()), dtype=np.int64)
    xy = np.random.default_rng(2).uniform(-0.9, 0.9, (len(ids), 2)).astype(np.float32)
    write_places(MapData(ids, xy, model, "", []), {p: a for a, p in _views.items()}, tmp_path / "p.npz")
    assert MapBuilder(store.engine, settings_).build(start=tmp_path / "p.npz").projected == 0
    with TestClient(create_app(settings_, store=store)) as client:
        meta = client.get("/map.json").json()
        assert meta["points"] == 40 and meta["pointsUrl"] == "/map/points.bin"
        points = np.frombuffer(client.get("/map/points.bin").content, dtype="<f4").reshape(-1, 3)
        ids = client.get("/map/ids.json").json()
        assert len(points) == len(ids) == 40
        assert np.abs(points[:, :2]).max() <= 1.0
        assert set(points[:, 2]) <= {0.0, 1.0, 2.0} and (points[:, 2] == 2).sum() >= 1  # today's papers
        html = client.get("/map").text
        assert 'id="map-canvas"' in html and "/static/map" in html and "<noscript>" in html
