"""The dashboard and the widget's script.js in a real headless browser (Debian's chromium).

The app runs on a free loopback port in a background thread with the fixture data. The widget test
loads ``widget/script.js`` into a small host page that stands in for amoCRM: it provides ``define``,
``get_settings``, ``i18n`` and an ``$authorizedAjax`` that adds a fresh X-Auth-Token to each call,
as amoCRM does. A screenshot of the dashboard is saved under ``test-artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request
from werkzeug.serving import make_server

from amo_bridge.clock import FakeClock
from amo_bridge.secrets import Secret
from amo_bridge.store import Store
from amo_bridge.widget import links
from amo_bridge.widget.fixture import FixtureDashboard
from amo_bridge.widget.package import default_source
from tests.widget_helpers import NOW, SECRET, make_app, make_token

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        "browser tests need Debian's chromium and chromium-driver "
        "(/usr/bin/chromium, /usr/bin/chromedriver); "
        "`make test` installs them when run as root with apt-get",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (pip, dev extra)")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>amoCRM stand-in</title>
<script>function define(deps, factory) { window.widgetFactory = factory; }</script>
<script src="/test/widget/script.js"></script>
</head><body>
<div id="work-area-amo_bridge_kpi"></div>
<script>
var Widget = window.widgetFactory();
var widget = new Widget();
var words = __WORDS__;
widget.get_settings = function () {
  return {backend_url: location.origin + '/', widget_code: 'amo_bridge_kpi'};
};
widget.system = function () { return {lang: '__LANG__'}; };
widget.i18n = function (key) { return words[key]; };
widget.$authorizedAjax = function (options) {
  return fetch('/test/token?admin=__ADMIN__').then(function (r) { return r.text(); }).then(function (token) {
    return fetch(options.url, {method: options.type || 'GET', headers: {'X-Auth-Token': token}});
  }).then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); });
};
widget.callbacks.init();
widget.callbacks.advancedSettings();
</script>
</body></html>"""


class Server:
    def __init__(self, app: Flask, fixture: FixtureDashboard) -> None:
        self.fixture = fixture
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="widget-test-server", daemon=True
        )

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)

    def link(self, ttl: int = 600, lang: str = "ru") -> str:
        params = links.link_params(links.link_key(Secret(SECRET)), now=NOW, ttl=ttl, lang=lang)
        return links.dashboard_url(self.url, params)


def add_host_routes(app: Flask) -> None:
    """Routes of the stand-in for amoCRM: the host page, the widget's script, fresh tokens."""
    source = default_source()

    @app.get("/test/widget/script.js")
    def script() -> Response:
        return Response((source / "script.js").read_text(encoding="utf-8"), mimetype="text/javascript")

    @app.get("/test/token")
    def token() -> str:
        return make_token(NOW, is_admin=request.args.get("admin") == "1", user_id=7001)

    @app.get("/test/host")
    def host() -> Response:
        lang = request.args.get("lang", "en")
        words = json.loads((source / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
        page = (
            HOST_PAGE.replace("__WORDS__", json.dumps(words, ensure_ascii=False))
            .replace("__LANG__", lang)
            .replace("__ADMIN__", "1" if request.args.get("admin") == "1" else "0")
        )
        return Response(page, mimetype="text/html")


@pytest.fixture
def server(sqlite_url: str) -> Iterator[Server]:
    store = Store(sqlite_url)
    store.upgrade()
    app, fixture = make_app(store, FakeClock(NOW))
    add_host_routes(app)
    with Server(app, fixture) as running:
        yield running
    store.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="amo-bridge-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
        "--lang=ru-RU",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "ru-RU,ru"})
    # An explicit driver path: Selenium Manager never runs, nothing is downloaded.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: Any, css: str, timeout: float = 15) -> Any:
    return WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.CSS_SELECTOR, css))


def text_of(driver: Any, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def fetch_status(driver: Any, url: str, token: str | None = None) -> tuple[int, str]:
    """Status and body of a request the browser itself makes."""
    result = driver.execute_async_script(
        """
        const [url, token, done] = arguments;
        fetch(url, {headers: token ? {'X-Auth-Token': token} : {}})
          .then(r => r.text().then(body => done([r.status, body])))
          .catch(e => done([0, String(e)]));
        """,
        url,
        token,
    )
    return int(result[0]), str(result[1])


def screenshot(driver: Any, name: str, *, publish: bool = False) -> Path:
    """A full-page screenshot into test-artifacts/ (and docs/img/ with AMO_UPDATE_SCREENSHOT=1)."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    metrics = {"width": 1280, "height": min(max(height, 600), 4000), "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    try:
        assert driver.save_screenshot(str(path))
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    if publish and os.environ.get("AMO_UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, ROOT / "docs" / "img" / name)
    return path


def test_signed_link_shows_the_fixture_numbers(browser: Any, server: Server) -> None:
    browser.get(server.link(lang="ru"))
    wait_for(browser, "#kpis .card")
    assert browser.title.startswith("KPI отдела продаж")
    assert text_of(browser, "#period") == "Ноябрь 2026"
    l1_cards = browser.find_elements(By.CSS_SELECTOR, '.level[data-level="L1"] .card')
    assert len(l1_cards) == 2
    assert "184" in l1_cards[0].text
    assert "план 200" in l1_cards[0].text
    assert "92 %" in l1_cards[0].text
    l2 = text_of(browser, '.level[data-level="L2"]')
    assert "3 150 000 ₽" in l2.replace("\u202f", " ").replace("\u00a0", " ")
    rows = browser.find_elements(By.CSS_SELECTOR, "#employees tbody tr")
    assert [row.get_attribute("data-user-id") for row in rows] == ["101", "102", "201", "202", "301"]
    assert "Вера Петрова" in rows[2].text
    assert "106 %" in rows[2].text.replace("\u00a0", " ")
    assert text_of(browser, "#weakest") == "Успешно реализовано"
    weak_bars = browser.find_elements(By.CSS_SELECTOR, "#funnel g.bar.weak")
    assert [bar.get_attribute("data-label") for bar in weak_bars] == ["Успешно реализовано"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#distribution svg")) == 3
    assert len(browser.find_elements(By.CSS_SELECTOR, "#trend svg polyline")) == 2
    # The page loads nothing from anywhere: no script, no external resource.
    assert browser.find_elements(By.TAG_NAME, "script") == []
    resources = browser.execute_script("return performance.getEntriesByType('resource').length")
    assert resources == 0
    path = screenshot(browser, "dashboard.png", publish=True)
    assert path.stat().st_size > 20_000


def test_page_links_keep_the_signature_and_switch_language(browser: Any, server: Server) -> None:
    browser.get(server.link(lang="ru"))
    wait_for(browser, "header .langs a")
    browser.find_element(By.LINK_TEXT, "EN").click()
    wait_for(browser, "#period")
    assert text_of(browser, "#period") == "November 2026"
    assert text_of(browser, "#weakest") == "Won"
    browser.find_element(By.ID, "prev").click()
    wait_for(browser, "#period")
    assert text_of(browser, "#period") == "October 2026"
    assert "Leads qualified" in text_of(browser, "#kpis")


def test_refused_without_credentials(browser: Any, server: Server) -> None:
    browser.get(f"{server.url}/widget/dashboard?lang=en")
    wait_for(browser, "h1")
    body = text_of(browser, "body")
    assert "Access denied" in body
    assert "184" not in body
    assert browser.find_elements(By.CSS_SELECTOR, "#kpis") == []
    status, body = fetch_status(browser, f"{server.url}/widget/kpis")
    assert status == 401
    assert body.strip() == '{"error":"unauthorized"}'


def test_expired_or_tampered_link_is_refused(browser: Any, server: Server) -> None:
    expired = links.link_params(links.link_key(Secret(SECRET)), now=NOW - 3600, ttl=600)
    browser.get(links.dashboard_url(server.url, expired))
    wait_for(browser, "h1")
    assert "Доступ запрещён" in text_of(browser, "h1")
    tampered = server.link().replace("exp=", "exp=9")
    browser.get(tampered)
    wait_for(browser, "h1")
    assert "Доступ запрещён" in text_of(browser, "h1")
    assert browser.find_elements(By.CSS_SELECTOR, ".card") == []


def test_token_calls_from_the_browser(browser: Any, server: Server) -> None:
    browser.get(f"{server.url}/test/token")  # any page of the origin, to run fetch from
    token = make_token(NOW)
    status, body = fetch_status(browser, f"{server.url}/widget/kpis", token)
    assert status == 200
    assert json.loads(body)["items"][0]["fact"] == 184
    status, body = fetch_status(browser, f"{server.url}/widget/kpis", token)  # the same token again
    assert status == 401
    assert "184" not in body
    status, _ = fetch_status(browser, f"{server.url}/widget/kpis", make_token(NOW - 7200))
    assert status == 401


def test_widget_script_opens_the_dashboard_and_admin_pauses_a_member(browser: Any, server: Server) -> None:
    browser.get(f"{server.url}/test/host?admin=1&lang=en")
    frame = wait_for(browser, "iframe.amo-bridge-dashboard")
    switches = wait_for(browser, ".amo-bridge-switches")
    items = switches.find_elements(By.CSS_SELECTOR, "li")
    assert len(items) == 5
    browser.switch_to.frame(frame)
    wait_for(browser, "#kpis .card")
    assert text_of(browser, "#period") == "November 2026"
    assert "184" in text_of(browser, '.level[data-level="L1"]')
    assert browser.find_elements(By.CSS_SELECTOR, "#employees tr.paused") == []
    browser.switch_to.default_content()

    button = browser.find_element(By.CSS_SELECTOR, 'button[data-member-id="202"]')
    assert button.text == "Pause"
    button.click()
    WebDriverWait(browser, 15).until(
        lambda d: d.find_element(By.CSS_SELECTOR, 'button[data-member-id="202"]').text == "Resume"
    )
    assert server.fixture.actions == [("pause", 202, 7001)]
    state = browser.find_element(By.CSS_SELECTOR, 'li[data-member-id="202"] .state')
    assert state.text == "paused"
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.amo-bridge-dashboard"))
    WebDriverWait(browser, 15).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, '#employees tr.paused[data-user-id="202"]')
    )
    browser.switch_to.default_content()
    screenshot(browser, "widget-admin.png")


def test_widget_script_for_a_non_admin_shows_no_switches(browser: Any, server: Server) -> None:
    browser.get(f"{server.url}/test/host?admin=0&lang=ru")
    frame = wait_for(browser, "iframe.amo-bridge-dashboard")
    browser.switch_to.frame(frame)
    wait_for(browser, "#kpis .card")
    assert text_of(browser, "#period") == "Ноябрь 2026"
    browser.switch_to.default_content()
    assert browser.find_elements(By.CSS_SELECTOR, ".amo-bridge-switches") == []
    assert server.fixture.actions == []
