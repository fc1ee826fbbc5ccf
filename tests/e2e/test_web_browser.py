"""
End to end in a real browser: headless Chromium (driven by chromedriver through
Selenium) against a real `twistd -n` running the chat hub's line door and the web
service with its pages and WebSocket door, on 127.0.0.1.

A person's steps: open /chat/, pick a nick, say something that a raw-socket client on
the line door reads, read its answer, join a room, survive a dropped connection; open
the dashboard and see its charts drawn. Screenshots are saved in the test's temporary
directory (under _trial_temp/ with trial) as artifacts.

The server is a .tac composing `netsuite-chat` and `netsuite-web` the way the suite
does, plus the pages (`WebUI.install`): one process, one hub, netsuite as installed
(so the pages must be in the package: setup.cfg's package_data).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from netsuite.testing import TwistdProcess, require_tool

from .chatclient import LineClient

WAIT = 20.0  # seconds any one step may take before the test fails

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,860", "--disable-dev-shm-usage",
]  # fmt: skip

#: Counts, per chart canvas, the pixels of a colour (not the grey grid, not the white).
COLOURED_PIXELS = """
return Array.from(document.querySelectorAll("canvas[data-chart]")).map((canvas) => {
  const ctx = canvas.getContext("2d");
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const r = data[i], g = data[i + 1], b = data[i + 2];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured += 1;
  }
  return {service: canvas.closest("[data-service]").dataset.service,
          chart: canvas.dataset.chart, points: Number(canvas.dataset.points || 0),
          width: canvas.width, coloured};
});
"""


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path is not None:
            return path
    return require_tool("chromium")  # skips, or fails in CI


def require_selenium() -> None:
    if importlib.util.find_spec("selenium") is not None:
        return
    message = "selenium is not installed (pip install '.[test]')"
    if os.environ.get("NETSUITE_REQUIRE_TOOLS"):
        raise AssertionError(message + " (NETSUITE_REQUIRE_TOOLS is set)")
    raise SkipTest(message)


class BrowserTests(SynchronousTestCase):
    def setUp(self) -> None:
        chromium = find_chromium()
        chromedriver = require_tool("chromedriver")
        require_selenium()
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        self.base = Path(self.mktemp()).resolve()
        self.base.mkdir(parents=True)
        # The real suite: one hub behind the line door and the web's WebSocket door.
        self.server = TwistdProcess(
            "netsuite",
            [
                "--no-echo",
                "--chat-args",
                "--listen tcp:0:interface=127.0.0.1 --irc-listen none "
                "--flood-rate 100 --flood-burst 100",
                "--web-args",
                "--listen tcp:0:interface=127.0.0.1",
            ],
            expect=2,
        )
        self.server.start()
        self.addCleanup(self.stop_server)
        host, port = self.server.address("web/http")
        self.http = f"http://{host}:{port}"

        options = Options()
        options.binary_location = chromium
        for flag in [*FLAGS, f"--user-data-dir={self.base / 'profile'}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=chromedriver,
                          log_output=str(self.base / "chromedriver.log"))  # fmt: skip
        # The profile (some 20 MB) goes once the browser has quit; screenshots and logs stay.
        self.addCleanup(shutil.rmtree, self.base / "profile", ignore_errors=True)
        self.driver = webdriver.Chrome(options=options, service=service)
        self.addCleanup(self.driver.quit)
        self.driver.set_page_load_timeout(WAIT)
        self.driver.set_script_timeout(WAIT)
        self.console: list[dict[str, Any]] = []

    def stop_server(self) -> None:
        self.assertEqual(self.server.stop(), 0, self.server.log())

    # --- helpers ----------------------------------------------------------------------

    def wait(self, condition: Callable[[], Any], what: str) -> Any:
        """Poll C{condition} (a browser query) until it holds; fail after L{WAIT} seconds."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, WAIT, poll_frequency=0.05).until(
                lambda _: condition()
            )
        except TimeoutException:
            shot = self.base / "failure.png"
            self.driver.save_screenshot(str(shot))
            raise AssertionError(
                f"timed out waiting for {what} (screenshot {shot})\n" + self.server.log()
            ) from None

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def element(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def type_into(self, css: str, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        field = self.element(css)
        field.clear()
        field.send_keys(text + Keys.ENTER)

    def message_texts(self) -> list[str]:
        return list(self.js(
            "return Array.from(document.querySelectorAll('#messages li'),"
            " (li) => li.textContent);"
        ))  # fmt: skip

    def csp_violations(self) -> list[str]:
        self.console += self.driver.get_log("browser")
        return [e["message"] for e in self.console if "Content Security Policy" in e["message"]]

    def line_client(self) -> LineClient:
        client = LineClient(self.server.address("chat/line"))
        self.addCleanup(client.close)
        return client

    # --- the tests --------------------------------------------------------------------

    def test_chat_with_a_line_client(self) -> None:
        liner = self.line_client()
        liner.send("/nick liner")
        liner.expect("is now known as liner")

        self.driver.get(self.http + "/chat/")
        self.wait(lambda: self.element("#status").get_attribute("data-state") == "open",
                  "the WebSocket to open")  # fmt: skip
        guest = self.element("body").get_attribute("data-nick")
        liner.expect(f"-> {guest} joined")

        # Pick a nick.
        self.type_into("#nick", "alice")
        self.wait(lambda: self.element("body").get_attribute("data-nick") == "alice",
                  "the nick to change")  # fmt: skip
        liner.expect(f"-- {guest} is now known as alice")
        self.wait(lambda: "liner" in self.element("#who").text, "liner in the who list")

        # Say something; the line client reads it. It answers; the page shows it.
        self.type_into("#say", "hello from the browser")
        liner.expect("[#lobby] <alice> hello from the browser")
        liner.send("hi alice, the line door here")
        self.wait(lambda: any("hi alice, the line door here" in t for t in self.message_texts()),
                  "the line client's answer on the page")  # fmt: skip

        # Markup from others is text, never markup.
        liner.send('<img src=x id=injected onerror="document.title=1"><b>bold</b>')
        self.wait(lambda: any("<b>bold</b>" in t for t in self.message_texts()),
                  "the markup, as text")  # fmt: skip
        self.assertIsNone(self.js("return document.getElementById('injected');"))

        # /me, and a private message in its own conversation.
        self.type_into("#say", "/me waves")
        liner.expect("[#lobby] * alice waves")
        liner.send("/msg alice psst")
        self.wait(lambda: "@liner" in self.element("#my-rooms").text, "the private conversation")

        # Join a room from the page; the line client sees it and joins too.
        self.type_into("#join-room", "#e2e")
        self.wait(lambda: self.element("#room-title").text == "#e2e", "#e2e to be shown")
        liner.send("/join #e2e")
        liner.expect("[#e2e] -> liner joined")
        self.wait(lambda: "liner" in self.element("#who").text, "liner in #e2e's who list")
        self.type_into("#say", "in the new room")
        liner.expect("[#e2e] <alice> in the new room")
        self.driver.save_screenshot(str(self.base / "chat.png"))

        # The connection drops: the page reconnects, takes its nick and rooms back.
        self.js("window.netsuiteChat.ws.close(4000, 'test drop');")
        liner.expect("<- alice quit")
        liner.expect("is now known as alice")
        liner.expect("[#e2e] -> alice joined")
        self.wait(lambda: self.element("#status").get_attribute("data-state") == "open"
                  and self.element("body").get_attribute("data-nick") == "alice",
                  "the page to reconnect as alice")  # fmt: skip
        self.type_into("#say", "back again")
        liner.expect("[#e2e] <alice> back again")

        # The policy is enforced: an inline script added to the page does not run.
        self.js("const s = document.createElement('script');"
                " s.textContent = 'window.inlineRan = true';"
                " document.body.append(s);")  # fmt: skip
        self.wait(lambda: self.csp_violations(), "the inline script's CSP report")
        self.assertIsNone(self.js("return window.inlineRan === undefined ? null : true;"))
        self.driver.save_screenshot(str(self.base / "chat-after-reconnect.png"))

    def test_dashboard_draws_live_charts(self) -> None:
        self.driver.get(self.http + "/")
        self.wait(lambda: self.js("return window.netsuiteDashboard.polls;") >= 3,
                  "three polls of /api/stats")  # fmt: skip
        self.assertEqual(self.element("#status").get_attribute("data-state"), "open")
        # Traffic while it watches: a line client talks, and the chart moves.
        liner = self.line_client()
        for i in range(5):
            liner.send(f"message {i}")
            liner.expect(f"> message {i}")
        moving = (
            "const s = window.netsuiteDashboard.services.get('chat');"
            " return s && s.rate.some((v) => v > 0);"
        )
        self.wait(lambda: self.js(moving), "a non-zero chat message rate")
        charts = self.js(COLOURED_PIXELS)
        services = {c["service"] for c in charts}
        self.assertLessEqual({"web", "chat", "chat/ws"}, services)
        for chart in charts:
            self.assertGreaterEqual(chart["points"], 3, chart)
            self.assertGreater(chart["width"], 100, chart)
            self.assertGreater(chart["coloured"], 0, f"blank chart: {json.dumps(chart)}")
        self.driver.save_screenshot(str(self.base / "dashboard.png"))
        self.assertEqual(self.csp_violations(), [])
