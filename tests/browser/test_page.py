"""The dashboard page in a real browser against a real server: loads clean and offline-safe,
updates live from OTLP, remembers the theme, fits a phone, sorts, and asks for no more
history points than the chart has pixels."""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.browser.otlp import post_portfolio
from tests.browser.sdk_bot import run_sdk_bot
from tests.support import RunningServer, wait_until

BOT = "page-bot"
POSITIONS = {"AAPL": (40.0, 7_600.0, 15.5), "MSFT": (-12.0, -5_040.0, -410.25),
             "NVDA": (25.0, 3_100.0, 120.0)}
VALUE = '#figures [data-field="portfolio_value"] dd'


EQUITY = [100_000.0, 100_420.0, 99_800.0, 99_150.0, 100_900.0, 101_600.0, 101_100.0,
          102_300.0, 101_900.0, 100_000.0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Performance snapshots persist every 0.2 s, so a few posts make an equity history."""
    running = RunningServer(tmp_path_factory.mktemp("data"),
                            {"performance_monitor": {"update_interval": 0.2}})
    try:
        yield running
    finally:
        running.stop()


def history_length(server) -> int:
    return len(server.api(f"/performance/history?service={BOT}&field=portfolio_value"
                          "&since=1h")["points"])


@pytest.fixture(scope="module")
def bot(server):
    """A bot with an equity history, positions, orders, fills and traces before the page
    opens; its value ends at 100,000 USD."""
    run_sdk_bot(server.otlp, BOT)
    for value in EQUITY:
        stored = history_length(server)
        post_portfolio(server.otlp, BOT, value, cash=94_340.0, positions=POSITIONS)
        wait_until(lambda stored=stored, value=value: history_length(server) > stored
                   and server.api(f"/performance?service={BOT}")["performance"][0][
                       "portfolio_value"] == value,
                   what=f"a persisted snapshot with value {value}")
    return server


def open_page(watched, server, **options):
    view = watched(**options)
    view.page.goto(server.dashboard + "/")
    expect(view.page.locator("#connection")).to_have_attribute("data-state", "live")
    return view


def test_page_loads_live_without_console_errors_or_requests_off_loopback(watched, bot):
    view = open_page(watched, bot)
    expect(view.page.locator(VALUE)).to_have_text("$100,000.00")
    expect(view.page.locator("#currency")).to_have_text("USD")
    expect(view.page.locator("#positions-table tbody tr")).to_have_count(3)
    view.page.wait_for_function("() => typeof window.Plotly === 'object'")
    assert view.errors == []
    assert view.foreign == []


def test_a_request_off_loopback_would_be_caught(watched, bot):
    view = watched()
    with pytest.raises(PlaywrightError):
        view.page.goto("http://198.51.100.7/x")
    assert view.foreign == ["http://198.51.100.7/x"]


def test_a_portfolio_value_posted_over_otlp_appears_within_2_s_without_reload(watched, bot):
    view = open_page(watched, bot)
    expect(view.page.locator(VALUE)).not_to_have_text("—")
    view.page.evaluate("window.__sameDocument = true")
    post_portfolio(bot.otlp, BOT, 123_456.78, cash=94_340.0, positions=POSITIONS)
    expect(view.page.locator(VALUE)).to_have_text("$123,456.78", timeout=2000)
    assert view.page.evaluate("window.__sameDocument") is True
    assert view.errors == []


def test_the_theme_follows_the_os_then_the_toggle_and_is_remembered(watched, bot):
    view = open_page(watched, bot, color_scheme="dark")
    root = view.page.locator("html")
    expect(root).to_have_attribute("data-theme", "dark")
    view.page.click("#theme-toggle")
    expect(root).to_have_attribute("data-theme", "light")
    background = view.page.evaluate("getComputedStyle(document.body).backgroundColor")
    view.page.reload()
    expect(root).to_have_attribute("data-theme", "light")
    assert view.page.evaluate("localStorage.getItem('tradepulse.theme')") == "light"
    assert view.page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    view.page.click("#theme-toggle")
    expect(root).to_have_attribute("data-theme", "dark")
    assert view.errors == []


def test_nothing_overflows_horizontally_at_390_px(watched, bot):
    view = open_page(watched, bot, viewport=PHONE)
    expect(view.page.locator(VALUE)).not_to_have_text("—")
    expect(view.page.locator("#chart-equity.has-chart, #performance .empty:visible")
           ).not_to_have_count(0)
    assert view.page.evaluate("document.documentElement.scrollWidth") <= 390


def test_positions_sort_by_the_clicked_column(watched, bot):
    view = open_page(watched, bot)
    symbols = view.page.locator("#positions-table tbody th")
    expect(symbols).to_have_text(["AAPL", "MSFT", "NVDA"])  # by |market value|, largest first
    view.page.click('#positions-table [data-sort="symbol"]')
    expect(symbols).to_have_text(["AAPL", "MSFT", "NVDA"])
    view.page.click('#positions-table [data-sort="symbol"]')
    expect(symbols).to_have_text(["NVDA", "MSFT", "AAPL"])
    view.page.click('#positions-table [data-sort="quantity"]')
    expect(symbols).to_have_text(["AAPL", "NVDA", "MSFT"])
    view.page.click('#positions-table [data-sort="unrealized_pnl"]')
    expect(symbols).to_have_text(["MSFT", "NVDA", "AAPL"])


def test_positions_show_their_unrealized_pnl_green_or_red_in_the_portfolio_currency(
        watched, bot):
    view = open_page(watched, bot)
    pnl = view.page.locator("#positions-table tbody td:last-child")
    expect(view.page.locator("#positions-table tbody th")).to_have_text(["AAPL", "MSFT", "NVDA"])
    expect(pnl).to_have_text(["+$15.50", "-$410.25", "+$120.00"])
    expect(pnl.nth(0)).to_have_class("num pos")
    expect(pnl.nth(1)).to_have_class("num neg")
    assert view.page.evaluate(
        "getComputedStyle(document.querySelector('#positions-table tbody td.neg')).color"
    ) != view.page.evaluate(
        "getComputedStyle(document.querySelector('#positions-table tbody td.pos')).color")
    assert view.errors == []


def test_range_buttons_ask_for_no_more_points_than_the_chart_is_wide(watched, bot):
    view = open_page(watched, bot)
    expect(view.page.locator("#chart-equity.has-chart")).to_have_count(1)
    with view.page.expect_request(
            lambda r: "/performance/history" in r.url and "field=portfolio_value" in r.url
    ) as request:
        view.page.click('[data-range="1w"]')
    width = view.page.evaluate(
        "Math.round(document.getElementById('chart-equity').getBoundingClientRect().width)")
    equity = parse_qs(urlsplit(request.value.url).query)
    since = datetime.fromisoformat(equity["since"][0].replace("Z", "+00:00")).timestamp()
    until = datetime.fromisoformat(equity["until"][0].replace("Z", "+00:00")).timestamp()
    first_seen = next(s["first_seen_unix_nano"] for s in bot.api("/services")["services"]
                      if s["name"] == BOT) / 1e9
    assert since == pytest.approx(max(time.time() - 7 * 86_400, first_seen), abs=60)
    assert until == pytest.approx(time.time(), abs=60)
    assert 50 <= int(equity["max_points"][0]) <= width
    expect(view.page.locator('[data-range="1w"]')).to_have_attribute("aria-pressed", "true")


def test_screenshots_of_desktop_and_phone_in_light_and_dark(watched, bot):
    """One page follows the OS theme and the window width live; each state is saved."""
    view = open_page(watched, bot, viewport=DESKTOP, color_scheme="light")
    page = view.page
    expect(page.locator(VALUE)).not_to_have_text("—")
    page.wait_for_function("() => typeof window.Plotly === 'object'")
    expect(page.locator("#chart-equity.has-chart")).to_have_count(1)
    expect(page.locator("#chart-latency.has-chart")).to_have_count(1)
    page.locator("#trace-list button").first.click()
    expect(page.locator("#waterfall .span-row")).to_have_count(2)
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_function(
            "(width) => document.querySelector('#chart-equity .main-svg')"
            ".getBoundingClientRect().width <= width", arg=viewport["width"])
        for scheme in ("light", "dark") if name == "desktop" else ("dark", "light"):
            page.emulate_media(color_scheme=scheme)
            expect(page.locator("html")).to_have_attribute("data-theme", scheme)
            path = screenshot(page, f"{name}-{scheme}")
            assert path.stat().st_size > 10_000
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert view.errors == []


def test_reconnect_delays_grow_exponentially_with_jitter_up_to_30_s(watched, bot):
    view = open_page(watched, bot)
    delays = view.page.evaluate("""async () => {
        const { backoffDelay } = await import('/static/js/live.js');
        return [0, 1, 2, 3, 10, 40].map((attempt) => [
            backoffDelay(attempt, () => 0), backoffDelay(attempt, () => 0.999999)]);
    }""")
    assert delays == [[250, 500], [500, 1000], [1000, 2000], [2000, 4000],
                      [15000, 30000], [15000, 30000]]


def test_a_new_bot_joins_the_all_bots_table_live(watched, bot):
    view = open_page(watched, bot)
    rows = view.page.locator("#bots-table tbody tr")
    expect(rows).to_have_count(1)
    post_portfolio(bot.otlp, "second-bot", 5_000.0, cash=5_000.0)
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("$5,000.00")
    expect(view.page.locator("#service-select option")).to_have_count(2)
    assert view.page.title() == f"{BOT} — tradepulse"
