"""Search with the real `huggingface_hub` client (`HfApi.list_papers`) and its `hf papers search` CLI, against
a live server over the indexed demo slice.

What the client does (huggingface_hub 2.4.0, hf_api.py): `list_papers(query=, limit=)` sends
`GET {endpoint}/api/papers/search` with `q` only when the query is truthy and `limit` only when given, then
builds a `PaperInfo(**item)` from each element of the JSON array. The CLI's `papers search QUERY` calls
`list_papers(query=QUERY, limit=20)` and prints a table (or JSON with `--format json`). Nothing here
reaches the internet: see test_hf_client.py for how the environment is closed off.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import BadRequestError

from conftest import LiveServer, make_settings
from demo_facts import KNOWN_ID, LATEST_DAY, RICH_ID, by_day, records
from search_support import DEMO_INDEXED


@pytest.fixture(scope="module")
def live_search(tmp_path_factory, sqlite_templates):
    """A real HTTP server over the demo slice, with its search indexes built (module-scoped: read-only)."""
    folder = tmp_path_factory.mktemp("live-search")
    url = sqlite_templates.copy(DEMO_INDEXED, folder, "demo.db")
    with LiveServer(make_settings(url, index_dir=folder / "index")) as server:
        yield server


@pytest.fixture(autouse=True)
def _online_for_localhost(monkeypatch):
    # The client refuses every request when HF_HUB_OFFLINE was set at import; this server is local.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture(params=["", "/"], ids=["endpoint", "endpoint-with-slash"])
def api(request, live_search):
    return HfApi(endpoint=live_search.url + request.param, token=False)


def test_list_papers_finds_a_paper_by_its_title(api):
    record = records()[KNOWN_ID]
    papers = list(api.list_papers(query=record.title, limit=5))
    assert 0 < len(papers) <= 5
    top = papers[0]
    assert top.id == KNOWN_ID
    assert top.title == record.title
    assert top.summary == record.abstract
    assert [a.name for a in top.authors] == record.authors
    assert top.published_at is not None and top.published_at.tzinfo is not None
    assert top.upvotes == record.upvotes
    assert top.submitted_by is not None and top.submitted_by.username
    # The search-only fields ride along (the client keeps unknown keys as attributes).
    assert top.upvoted is False
    assert "".join(s["text"] for s in top.highlightedTitle) == record.title
    assert any(s["type"] == "highlight" for s in top.highlightedTitle)


def test_list_papers_by_meaning(api):
    papers = list(api.list_papers(query="teaching robots to manipulate objects by watching people", limit=10))
    assert len(papers) == 10
    text = " ".join(f"{p.title} {p.summary}".lower() for p in papers)
    assert "robot" in text


def test_list_papers_respects_limit(api):
    for limit in (1, 3, 120):
        papers = list(api.list_papers(query="language", limit=limit))
        assert 0 < len(papers) <= limit
    assert len(list(api.list_papers(query="language", limit=3))) == 3


def test_list_papers_without_a_query_is_the_newest(api):
    papers = list(api.list_papers(limit=5))
    assert len(papers) == 5
    newest = {r.arxiv_id for r in by_day()[date.fromisoformat(LATEST_DAY)]}
    assert papers[0].id in newest
    assert all(p.title for p in papers)
    # Hugging Face's default page (no limit sent at all) works too.
    assert list(api.list_papers())


def test_list_papers_bad_limit_is_a_bad_request(api):
    with pytest.raises(BadRequestError):
        list(api.list_papers(query="attention", limit=0))
    with pytest.raises(BadRequestError):
        list(api.list_papers(query="attention", limit=121))


@pytest.mark.parametrize(
    "query", ['"unbalanced', "AND OR NOT", "title:*", "'; DROP TABLE papers; --", "注意力 🙂"]
)
def test_list_papers_odd_queries(api, query):
    papers = list(api.list_papers(query=query, limit=5))  # results, not an error
    assert all(p.id and p.title for p in papers)


def test_list_papers_with_a_long_query(api):
    record = records()[RICH_ID]
    papers = list(api.list_papers(query=(record.abstract + " ") * 3, limit=5))
    assert RICH_ID in [p.id for p in papers]


# -- the `hf papers search` CLI ----------------------------------------------------------------------


def _hf_command() -> list[str]:
    script = Path(sys.executable).with_name("hf")
    if script.exists():
        return [str(script)]
    found = shutil.which("hf")
    if found:
        return [found]
    return [sys.executable, "-c", "from huggingface_hub.cli.hf import main; main()"]


@pytest.fixture
def hf(live_search, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.pop("TRANSFORMERS_OFFLINE", None)
    env.update(
        HF_ENDPOINT=live_search.url,
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        ALL_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        NO_COLOR="1",
        COLUMNS="250",
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*_hf_command(), *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )

    return run


def test_cli_papers_search_table(hf):
    record = records()[KNOWN_ID]
    result = hf("papers", "search", record.title)
    assert result.returncode == 0, result.stderr
    assert KNOWN_ID in result.stdout
    assert "ID" in result.stdout and "TITLE" in result.stdout


def test_cli_papers_search_json(hf):
    record = records()[RICH_ID]
    result = hf("papers", "search", record.title, "--limit", "5", "--format", "json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert 0 < len(found) <= 5
    assert found[0]["id"] == RICH_ID
    assert found[0]["title"] == record.title
    assert found[0]["upvotes"] == record.upvotes


def test_cli_papers_search_gibberish_still_answers(hf):
    result = hf("papers", "search", "zzqxjv wkpfzq", "--format", "json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert isinstance(listed, list)
