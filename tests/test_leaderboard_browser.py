"""A real browser opens the rendered leaderboard: headless Chromium driven over the Chrome
DevTools Protocol (websocket-client). Checks the rows, a click re-sorting a column, and that a
model named ``<img src=x onerror=alert(1)>`` is shown as text with no script running. Saves a
screenshot to ``test-artifacts/leaderboard.png``.

Skipped (with the reason) when the ``chromium`` binary or ``websocket-client`` is missing.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from leaderboards.entries import EntryOptions
from leaderboards.publish import publish
from leaderboards.render import render_site
from leaderboards.schema import load_board
from tests.test_leaderboard_helpers import make_results, write_results

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
XSS = "<img src=x onerror=alert(1)>"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)"
    ),
]


class Browser:
    """Minimal CDP client: one headless Chromium, one page, commands and collected events."""

    def __init__(self) -> None:
        websocket = pytest.importorskip("websocket", reason="websocket-client not installed")
        self.profile = tempfile.mkdtemp(prefix="maple-chromium-")
        self.proc = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--allow-file-access-from-files",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "--window-size=1280,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.time() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == "Page.javascriptDialogOpening":  # never leave a dialog blocking
                    self.ws.send(
                        json.dumps(
                            {
                                "id": 0,
                                "method": "Page.handleJavaScriptDialog",
                                "params": {"accept": True},
                            }
                        )
                    )

    def wait_event(self, method: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for ev in self.events:
                if ev["method"] == method:
                    self.events.remove(ev)
                    return ev
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(method)

    def eval(self, expression: str) -> Any:
        res = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"])
        return res["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click (press + release) at the element's centre."""
        box = self.eval(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)}); el.scrollIntoView({{block: 'center'}});"
            " const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("browser")
    specs = [
        ("Omni-3B MAPO", 0.71, True),
        ("Omni-3B MUPO", 0.64, False),
        (XSS, 0.52, True),
        ("random baseline", 0.27, False),
    ]
    tags = ("V", "A", "S", "VA", "VS", "AS", "VAS")
    board = tmp_path / "board.json"
    for i, (name, base, qa_plus) in enumerate(specs):
        accs = {t: min(1.0, base + 0.04 * ((i + j) % 3 - 1)) for j, t in enumerate(tags)}
        r = write_results(
            tmp_path / f"r{i}.json", make_results(f"org/m{i}", accs=accs, qa_plus=qa_plus)
        )
        publish([r], board, options=EntryOptions(model_name=name, open_weights=bool(i % 2)))
    render_site([load_board(board)], tmp_path / "site")
    return tmp_path / "site"


def _screenshot(b: Browser, name: str, *, full: bool = True) -> None:
    params: dict[str, Any] = {"format": "png"}
    if full:
        size = b.send("Page.getLayoutMetrics")["cssContentSize"]
        params.update(
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
    png = base64.b64decode(b.send("Page.captureScreenshot", **params)["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(png)


def _column(b: Browser, table: str, col: int) -> list[str]:
    return b.eval(
        f"Array.from(document.querySelectorAll('#{table} tbody tr')).map(r => r.cells[{col}].textContent)"
    )


def test_rendered_page_in_headless_chromium(site: Path) -> None:
    b = Browser()
    try:
        b.send("Page.enable")
        b.send("Runtime.enable")
        b.send("Page.setBypassCSP", enabled=True)  # test the escaping itself, not the CSP backstop
        b.send(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        b.send("Page.navigate", url=(site / "index.html").resolve().as_uri())
        b.wait_event("Page.loadEventFired")

        # 1. the expected rows, ranked by avg_acc (the XSS-named model is 3rd)
        names = b.eval(
            "Array.from(document.querySelectorAll('#maple_qa-overall tbody td.model')).map(td => td.firstChild.textContent)"
        )
        assert names == ["Omni-3B MAPO", "Omni-3B MUPO", XSS, "random baseline"]
        assert b.eval("document.querySelectorAll('#maple_qa-by_tag tbody tr').length") == 4
        assert b.eval("document.querySelectorAll('#maple_qa-by_condition tbody tr').length") == 4
        assert b.eval("document.querySelectorAll('#definitions dt').length") >= 10

        _screenshot(b, "leaderboard.png")  # the page as rendered (full height)

        # 2. clicking "Model" sorts by name ascending; clicking "Avg acc" twice: desc then asc
        b.click("#maple_qa-overall thead th:nth-child(2)")
        col = [n.split("@")[0] for n in _column(b, "maple_qa-overall", 1)]
        assert col == sorted(col, key=str.lower) and col[0] == XSS
        avg_idx = b.eval(
            "Array.from(document.querySelectorAll('#maple_qa-overall thead th')).findIndex(th => th.textContent === 'Avg acc')"
        )
        b.click(f"#maple_qa-overall thead th:nth-child({avg_idx + 1})")
        vals = [float(v.split("[")[0]) for v in _column(b, "maple_qa-overall", avg_idx)]
        assert vals == sorted(vals, reverse=True)
        b.click(f"#maple_qa-overall thead th:nth-child({avg_idx + 1})")
        vals = [float(v.split("[")[0]) for v in _column(b, "maple_qa-overall", avg_idx)]
        assert vals == sorted(vals) and vals[0] < 30
        assert (
            b.eval(
                f"document.querySelectorAll('#maple_qa-overall thead th')[{avg_idx}].getAttribute('aria-sort')"
            )
            == "ascending"
        )

        # 3. the XSS name is text: no <img> anywhere in the tables, no dialog, no script error
        assert b.eval("document.querySelectorAll('table img').length") == 0
        assert b.eval(f"document.body.innerText.includes({json.dumps(XSS)})") is True
        data = b.eval("JSON.parse(document.getElementById('maple-leaderboard-data').textContent)")
        assert XSS in [e["model"]["name"] for e in data["boards"][0]["entries"]]
        assert b.eval("document.querySelectorAll('script').length") == 2  # ours only
        charts = b.eval(
            "Array.from(document.querySelectorAll('.charts img')).map(i => i.naturalWidth > 0)"
        )
        assert charts == [True, True, True]  # SVG charts load from file://

        _screenshot(b, "leaderboard_sorted.png", full=False)  # after the clicks (sort arrow shown)
        time.sleep(0.3)
        b.eval("1")  # drain pending events
        methods = [e["method"] for e in b.events]
        assert "Page.javascriptDialogOpening" not in methods
        assert "Runtime.exceptionThrown" not in methods
    finally:
        b.close()


def test_csp_blocks_injected_handlers_too(site: Path) -> None:
    """With the page's own CSP on, even an injected inline handler could not run."""
    b = Browser()
    try:
        b.send("Page.enable")
        b.send("Runtime.enable")
        b.send("Page.navigate", url=(site / "index.html").resolve().as_uri())
        b.wait_event("Page.loadEventFired")
        b.eval(
            "(() => { const d = document.createElement('div');"
            " d.innerHTML = '<img src=x onerror=\"document.title=\\'pwned\\'\">';"
            " document.body.appendChild(d); })()"
        )
        time.sleep(0.5)
        assert b.eval("document.title") != "pwned"
        # the charts load under the page's CSP (img-src 'self' from file://)
        assert b.eval(
            "Array.from(document.querySelectorAll('.charts img')).every(i => i.complete && i.naturalWidth > 0)"
        )
        # and the sorting script, allowed by its hash, did run
        b.click("#maple_qa-overall thead th:nth-child(2)")
        assert (
            b.eval(
                "document.querySelector('#maple_qa-overall thead th:nth-child(2)').getAttribute('aria-sort')"
            )
            == "ascending"
        )
    finally:
        b.close()
