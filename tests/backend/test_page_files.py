"""The page's files: `/` is the HTML page, its modules and styles are revalidated on each load,
plotly.js comes from the installed `plotly` package with a week's caching and an ETag, and
nothing inline could need a CSP exception."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from importlib.resources import files

import pytest

from tests.support import InProcessApp
from tradepulse_backend.dashboard.page import STATIC_DIR


@pytest.fixture
def app(tmp_path):
    running = InProcessApp(tmp_path, {"dashboard": {"auto_refresh_interval": 1234}})
    yield running
    running.close()


def test_the_root_serves_the_page_and_the_api_index_moved_to_api_v1(app):
    page = app.client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Cache-Control"] == "no-cache"
    assert b'<script type="module" src="/static/js/main.js">' in page.data
    status, body = app.get("/api/v1/")
    assert status == 200 and body["endpoints"]["page"] == "/"


def test_page_files_are_revalidated_with_etags(app):
    response = app.client.get("/static/js/main.js")
    assert response.status_code == 200 and "javascript" in response.mimetype
    assert response.headers["Cache-Control"] == "no-cache"
    etag = response.headers["ETag"]
    again = app.client.get("/static/js/main.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_plotly_comes_from_the_installed_package_with_long_caching_and_an_etag(app):
    response = app.client.get("/vendor/plotly.min.js")
    bundle = files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    assert response.status_code == 200 and response.data == bundle
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=604800"
    etag = response.headers["ETag"]
    again = app.client.get("/vendor/plotly.min.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_plotly_is_gzipped_for_browsers_that_accept_it(app):
    response = app.client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip, br"})
    bundle = files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert gzip.decompress(response.data) == bundle and len(response.data) < len(bundle) / 2
    plain_etag = app.client.get("/vendor/plotly.min.js").headers["ETag"]
    assert response.headers["ETag"] != plain_etag


def test_the_dashboard_config_gives_the_refresh_interval_and_no_secrets(app):
    status, body = app.get("/api/v1/dashboard-config")
    assert status == 200
    assert body["auto_refresh_interval"] == 1234
    assert body["layout"] == "default" and body["websocket"] == "/ws"
    assert body["otlp_http"].startswith("http://127.0.0.1:")
    assert set(body) == {"version", "auto_refresh_interval", "layout", "websocket", "otlp_http"}


class _Inline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        self.problems += [f"<{tag} {name}=...>" for name in names if name.startswith("on")]
        self.problems += [f"<{tag} style=...>" for name in names if name == "style"]
        if tag == "script":
            if "src" not in names:
                self.problems.append("inline <script>")
            elif not names["src"].startswith("/"):
                self.problems.append(f"script from elsewhere: {names['src']}")
        if tag == "link" and not names.get("href", "/").startswith("/"):
            self.problems.append(f"link to elsewhere: {names['href']}")


def test_the_page_has_no_inline_script_handlers_or_foreign_urls():
    parser = _Inline()
    parser.feed((STATIC_DIR / "index.html").read_text())
    assert parser.problems == []
    for module in STATIC_DIR.glob("js/**/*.js"):
        text = module.read_text()
        assert not re.search(r"https?://(?!\$\{)", text.replace("http://${", "")), module
        assert ".innerHTML" not in text and "eval(" not in text and "new Function" not in text
