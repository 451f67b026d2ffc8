def test_home_page_lists_the_latest_day(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Daily Papers" in response.text
    assert "#1 Paper of the day" in response.text


def test_a_started_web_process_keeps_what_it_made_out_of_full_collections(sqlite_url):
    """DAILYPAPERS_WEB_GC_FREEZE (on by default; the tests turn it off, an app per test): once started, the
    process's objects so far are frozen, so a full collection does not walk them during a request."""
    import gc

    from fastapi.testclient import TestClient

    from conftest import make_settings
    from dailypapers.web.app import create_app

    gc.unfreeze()
    try:
        with TestClient(create_app(make_settings(sqlite_url))) as client:
            assert gc.get_freeze_count() == 0 and client.get("/").status_code == 200
        with TestClient(create_app(make_settings(sqlite_url, web_gc_freeze=True))) as client:
            assert gc.get_freeze_count() > 10_000  # modules, routes, templates: the whole process so far
            assert client.get("/").status_code == 200
    finally:
        gc.unfreeze()
