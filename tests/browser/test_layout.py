"""A user layout file (dashboard.layouts_dir) adds panels for an ingested metric, with
attribute filters, without code; sections it leaves out are not shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.otlp import post_gauges, post_portfolio
from tests.support import RunningServer

LAYOUT = """
title: Desk
sections:
  - id: overview
    title: Money
    panels:
      - {id: value, title: Value, source: performance, fields: [portfolio_value]}
  - id: queues
    title: Order queues
    panels:
      - {id: depth, title: Orders queued, source: metric, metric: bot.queue.depth,
         attributes: {queue: orders}, chart: stat}
      - {id: depth_chart, title: Queues over time, source: metric, metric: bot.queue.depth,
         chart: line, width: 2}
      - {id: money, title: Money now, source: performance, fields: [portfolio_value, cash]}
      - {id: equity, title: Equity, source: performance_history, fields: [portfolio_value],
         chart: area}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    layouts = tmp_path_factory.mktemp("layouts")
    (layouts / "desk.yaml").write_text(LAYOUT)
    running = RunningServer(tmp_path_factory.mktemp("data"),
                            {"dashboard": {"layouts_dir": str(layouts)}})
    try:
        yield running
    finally:
        running.stop()


def queue_depth(server, orders: float, fills: float) -> None:
    post_gauges(server.otlp, "queue-bot", [("bot.queue.depth", orders, {"queue": "orders"}),
                                           ("bot.queue.depth", fills, {"queue": "fills"})])


def test_a_layout_file_adds_live_panels_for_an_ingested_metric(watched, server):
    post_portfolio(server.otlp, "queue-bot", 10_000.0, cash=10_000.0)
    queue_depth(server, 7, 3)
    view = watched()
    page = view.page
    page.goto(server.dashboard + "/?layout=desk")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    stat = page.locator('[data-panel="depth"] .stat-value')
    expect(stat).to_have_text("7")
    expect(page.locator('[data-panel="depth_chart"] .chart.has-chart')).to_have_count(1)
    expect(page.locator("#section-queues h2")).to_have_text("Order queues")
    expect(page.locator('[data-panel="money"] [data-field="portfolio_value"] dd')
           ).to_have_text("10,000")
    expect(page.locator('[data-panel="equity"] .chart')).to_have_count(1)
    expect(page.locator("#overview-title")).to_contain_text("Money")
    for hidden in ("#alerts", "#positions", "#execution", "#performance"):
        expect(page.locator(hidden)).to_be_hidden()

    queue_depth(server, 9, 4)
    expect(stat).to_have_text("9")
    assert view.errors == []


def test_the_default_layout_shows_every_built_in_section(watched, server):
    view = watched()
    view.page.goto(server.dashboard + "/")
    expect(view.page.locator("#connection")).to_have_attribute("data-state", "live")
    for section in ("#bots", "#overview", "#performance", "#health", "#alerts", "#positions",
                    "#execution"):
        expect(view.page.locator(section)).to_be_visible()
    expect(view.page.locator("#section-queues")).to_have_count(0)
