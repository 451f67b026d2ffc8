"""The real `huggingface_hub` client and its `hf papers` CLI, against a live server over the demo slice.

Nothing here reaches the internet: the client is pointed at the live server, no token is read (token=False,
and an empty HF_HOME for the CLI), the CLI's update check and telemetry are off, and any other outgoing
request would go to a dead proxy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

from demo_facts import KNOWN_ID, LATEST_DAY, by_day, on_feed, records, submitter_name

DAY = date.fromisoformat(LATEST_DAY)


@pytest.fixture(autouse=True)
def _online_for_localhost(monkeypatch):
    # The client refuses every request when HF_HUB_OFFLINE was set at import; this server is local.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture(params=["", "/"], ids=["endpoint", "endpoint-with-slash"])
def api(request, live_demo):
    # A trailing slash makes the client request `//api/...`.
    return HfApi(endpoint=live_demo.url + request.param, token=False)


def _ids(papers) -> list[str]:
    return [paper.id for paper in papers]


def _upvotes_descend(papers) -> bool:
    votes = [paper.upvotes or 0 for paper in papers]
    return votes == sorted(votes, reverse=True)


def _all_pages(api: HfApi, limit: int, **filters) -> list:
    papers, page = [], 0
    while True:
        batch = list(api.list_daily_papers(p=page, limit=limit, **filters))
        if not batch:
            return papers
        assert len(batch) <= limit
        papers += batch
        page += 1
        assert page < 50, "paging does not end"


# 2026-08-06 has papers whose source did not record a submitter.
@pytest.mark.parametrize("day", [LATEST_DAY, "2026-08-06"])
def test_a_day_is_its_papers_best_first(api, day):
    papers = list(api.list_daily_papers(date=day))
    expected = {r.arxiv_id: r for r in by_day()[date.fromisoformat(day)]}
    assert sorted(_ids(papers)) == sorted(expected)
    assert _upvotes_descend(papers)
    for paper in papers:
        record = expected[paper.id]
        assert paper.title == record.title
        assert (paper.upvotes or 0) == record.upvotes
        assert paper.submitted_by is not None
        assert paper.submitted_by.username == submitter_name(record)
        # `numComments` counts our own discussion (none in the demo); Hugging Face's imported count is apart.
        assert paper.comments == 0
        assert paper.authors and [a.name for a in paper.authors] == record.authors
        assert paper.published_at is not None and paper.published_at.tzinfo is not None


def test_the_day_without_a_date_is_the_latest_day_first(api):
    papers = list(api.list_daily_papers(limit=len(by_day()[DAY])))
    assert set(_ids(papers)) == {r.arxiv_id for r in by_day()[DAY]}


def test_a_week_pages_through_all_its_papers(api):
    # ISO week 2026-W32 is Monday 3 to Sunday 9 August 2026: 160 papers, two pages of 100.
    papers = _all_pages(api, 100, week="2026-W32")
    ids = _ids(papers)
    assert len(ids) == len(set(ids))
    assert set(ids) == {r.arxiv_id for r in on_feed(date(2026, 8, 3), date(2026, 8, 10))}
    assert _upvotes_descend(papers)


def test_a_month_pages_through_all_its_papers(api):
    papers = _all_pages(api, 100, month="2026-06")
    ids = _ids(papers)
    assert len(ids) == len(set(ids)) > 100
    assert set(ids) == {r.arxiv_id for r in on_feed(date(2026, 6, 1), date(2026, 7, 1))}


def test_a_submitter_is_their_papers(api):
    name = "Franck-Dernoncourt"
    expected = {r.arxiv_id for r in records().values() if r.submitter and r.submitter.username == name}
    papers = list(api.list_daily_papers(submitter=name, limit=100))
    assert expected and set(_ids(papers)) == expected
    assert {paper.submitted_by.username for paper in papers} == {name}
    assert list(api.list_daily_papers(submitter="nobody-submitted-this")) == []


def test_pages_split_the_list_and_end_empty(api):
    whole = _ids(api.list_daily_papers(date=LATEST_DAY))
    paged = _ids(_all_pages(api, 5, date=LATEST_DAY))
    assert paged == whole
    assert list(api.list_daily_papers(date=LATEST_DAY, p=4, limit=5)) == []
    assert list(api.list_daily_papers(p=1000, limit=50)) == []


def test_sort_by_published_at_is_newest_first(api):
    papers = list(api.list_daily_papers(sort="publishedAt", limit=30))
    assert len(papers) == 30
    published = [paper.published_at for paper in papers]
    assert published == sorted(published, reverse=True)
    newest = max(r.published_at for r in on_feed(date.min, date.max))
    assert published[0] == newest


def test_sort_trending_is_the_trending_page_and_ignores_dates(api, live_demo):
    papers = list(api.list_daily_papers(sort="trending", limit=10))
    page = httpx.get(f"{live_demo.url}/papers/trending.json").json()
    assert _ids(papers) == [item["paper"]["id"] for item in page["papers"][:10]]
    assert _ids(api.list_daily_papers(sort="trending", limit=10, date="2026-06-22")) == _ids(papers)
    assert all((paper.upvotes or 0) > 0 for paper in papers)


def test_bad_parameters_raise_bad_request(api):
    for filters in ({"date": "2026-02-30"}, {"week": "2025-W60"}, {"month": "2026-13"}, {"limit": 0}):
        with pytest.raises(BadRequestError):
            list(api.list_daily_papers(**filters))


def test_paper_info(api):
    record = records()[KNOWN_ID]
    info = api.paper_info(KNOWN_ID)
    assert info.id == KNOWN_ID
    assert info.title == record.title
    assert [author.name for author in info.authors] == record.authors
    assert info.published_at == datetime(2026, 8, 20, tzinfo=UTC) == record.published_at
    assert info.github_repo == record.github_repo == "https://github.com/doby-xu/WithEveryone"
    assert info.github_stars == record.github_stars
    assert info.project_page == record.project_page
    assert info.organization is not None and info.organization.name == record.organization
    assert info.submitted_by is not None and info.submitted_by.username == "DobyXu"
    assert info.upvotes == record.upvotes
    assert info.summary == record.abstract
    # A versioned id is the same paper.
    assert api.paper_info(f"{KNOWN_ID}v1").id == KNOWN_ID


def test_unknown_papers_are_404(api):
    for paper_id in ("2699.99999", "hep-th/9901001", "not-an-id"):
        with pytest.raises(HfHubHTTPError) as caught:
            api.paper_info(paper_id)
        assert caught.value.response.status_code == 404


def test_read_paper_is_markdown(api):
    text = api.read_paper(KNOWN_ID)
    assert text.startswith(f"# {records()[KNOWN_ID].title}\n")
    assert f"https://arxiv.org/abs/{KNOWN_ID}" in text


# -- the `hf papers` CLI ----------------------------------------------------------------------------------


def _hf_command() -> list[str]:
    """The `hf` console script of this Python, else the one on PATH, else its entry point."""
    script = Path(sys.executable).with_name("hf")
    if script.exists():
        return [str(script)]
    found = shutil.which("hf")
    if found:
        return [found]
    return [sys.executable, "-c", "from huggingface_hub.cli.hf import main; main()"]


@pytest.fixture
def hf(live_demo, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.pop("TRANSFORMERS_OFFLINE", None)
    env.update(
        HF_ENDPOINT=live_demo.url,
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        # Anything not bound for the live server goes to a closed port instead of the internet.
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


def test_cli_papers_ls(hf):
    result = hf("papers", "ls", "--date", LATEST_DAY, "--limit", "50")
    assert result.returncode == 0, result.stderr
    expected = sorted(by_day()[DAY], key=lambda r: -(r.upvotes or 0))
    for record in expected:
        assert record.arxiv_id in result.stdout
    assert expected[0].title in result.stdout
    assert submitter_name(expected[0]) in result.stdout


def test_cli_papers_ls_json(hf):
    result = hf("papers", "ls", "--date", "2026-08-20", "--format", "json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    expected = {r.arxiv_id: r for r in by_day()[date(2026, 8, 20)]}
    assert {item["id"] for item in listed} == set(expected)
    for item in listed:
        assert item["title"] == expected[item["id"]].title
        assert item["submitted_by"]["username"] == submitter_name(expected[item["id"]])
    votes = [item["upvotes"] or 0 for item in listed]
    assert votes == sorted(votes, reverse=True)


def test_cli_papers_info(hf):
    record = records()[KNOWN_ID]
    result = hf("papers", "info", KNOWN_ID)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["id"] == KNOWN_ID
    assert info["title"] == record.title
    assert [a["name"] for a in info["authors"]] == record.authors
    assert info["github_repo"] == record.github_repo
    assert info["organization"]["name"] == record.organization
    assert info["published_at"].startswith("2026-08-20T00:00:00")


def test_cli_papers_info_unknown(hf):
    result = hf("papers", "info", "2699.99999")
    assert result.returncode != 0
    assert "not found" in result.stderr.lower()
