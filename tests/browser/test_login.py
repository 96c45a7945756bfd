"""With `dashboard.auth` on, the page, its files, the API and the WebSocket refuse a browser
without credentials (the page sends it to the login form); after logging in, it works live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

from tests.browser.otlp import post_portfolio
from tests.support import RunningServer

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    users = [{"username": "trader", "password_hash": generate_password_hash(PASSWORD)}]
    running = RunningServer(tmp_path_factory.mktemp("data"),
                            {"dashboard": {"auth": {"users": users}}})
    try:
        yield running
    finally:
        running.stop()


def test_the_page_refuses_without_login_and_works_after_it(watched, server):
    post_portfolio(server.otlp, "guarded-bot", 42_000.0, cash=42_000.0)
    view = watched()
    page = view.page
    page.goto(server.dashboard + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    for path in ("/api/v1/performance", "/static/js/main.js", "/vendor/plotly.min.js"):
        assert page.request.get(server.dashboard + path).status == 401, path

    page.fill("#username", "trader")
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/login"))

    page.fill("#username", "trader")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(server.dashboard + "/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator('#figures [data-field="portfolio_value"] dd')).to_have_text("$42,000.00")
    assert page.request.get(server.dashboard + "/api/v1/performance").status == 200
