def test_home_page_lists_the_latest_day(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Daily Papers" in response.text
    assert "#1 Paper of the day" in response.text
