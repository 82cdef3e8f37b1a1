"""The kiosk as a cheap tablet on busy school Wi-Fi sees it: bytes and time until a page can be tapped (issue 15).

Debian's Chromium, driven by Playwright, with the CPU slowed 4x and the network shaped through the DevTools
protocol (1.6 Mbit/s down, 750 kbit/s up, 150 ms latency: Lighthouse's "slow 4G" tablet). It loads the start
screen, then walks the worry form step by step (tapping Next), in each language given:

- first visit: the browser's cache is emptied just before each page, so the page pays for everything it uses
  (HTML, stylesheet, script, pictures and the web fonts of its language);
- cached: the same walk again after an unmeasured warm-up walk, as on a tablet that is used all day.

Bytes are what came over the wire (DevTools' encodedDataLength: headers and bodies, HTTP cache hits count 0).
"Tappable" is when the page can take a tap as designed: the later of DOMContentLoaded having finished (the
deferred kiosk.js has run), the first contentful paint, and the last web font the page uses having arrived
(so the text does not move under a finger). Only 127.0.0.1 is ever contacted.
"""

import shutil
import statistics

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As tests/test_browser.py: a sandboxed machine with no network; nothing calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1024, "height": 768}  # a 10-inch classroom tablet, landscape
CPU_SLOWDOWN = 4
NETWORK = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
NEXT_BUTTON = "button[name=go][value=next]:not([hidden])"
MAX_STEPS = 20  # a guard, far above the form's steps

TIMING_JS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  const fonts = performance.getEntriesByType("resource").filter(r => /\\.woff2?(\\?|$)/.test(r.name));
  return {
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    load_ms: nav.loadEventEnd,
    first_contentful_paint_ms: paint ? paint.startTime : null,
    fonts_ms: fonts.length ? Math.max(...fonts.map(r => r.responseEnd)) : 0,
    fonts: fonts.map(r => r.name.split("/").pop()),
    timeline: [nav, ...performance.getEntriesByType("resource")].map(r => [
      r.name.split("/").pop().split("?")[0] || "/", Math.round(r.startTime), Math.round(r.responseStart),
      Math.round(r.responseEnd)]),
    step: (document.querySelector("input[name=step]") || {}).value || null,
  };
}"""


class _Wire:
    """Bytes received per request, from the DevTools protocol, between two calls of take()."""

    def __init__(self, cdp):
        self.received, self.urls, self.from_cache = {}, {}, set()
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.requestServedFromCache", lambda event: self.from_cache.add(event["requestId"]))
        cdp.on("Network.loadingFinished", self._finished)

    def _response(self, event):
        self.urls[event["requestId"]] = (event["response"]["url"].split("/", 3)[-1], event["response"]["status"])
        if event["response"].get("fromDiskCache") or event["response"].get("fromPrefetchCache"):
            self.from_cache.add(event["requestId"])

    def _finished(self, event):
        self.received[event["requestId"]] = 0 if event["requestId"] in self.from_cache else event["encodedDataLength"]

    def take(self) -> dict:
        taken = {"bytes": int(sum(self.received.values())), "requests": len(self.received),
                 "from_network": sum(1 for size in self.received.values() if size > 0),
                 "files": sorted(("/" + self.urls.get(request_id, ("?", 0))[0], self.urls.get(request_id, ("?", 0))[1],
                                  int(size)) for request_id, size in self.received.items())}
        self.received, self.urls, self.from_cache = {}, {}, set()
        return taken


def _throttle(cdp, on: bool) -> None:
    cdp.send("Network.emulateNetworkConditions", NETWORK if on else UNTHROTTLED)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN if on else 1})


def _walk(page, base_url: str, measure) -> list[dict]:
    """The start screen, then every step of the worry form by tapping Next; measure(name, go) around each."""
    pages = [measure("start screen", lambda: page.goto(base_url + "/", wait_until="load"))]
    pages.append(measure("worry step 1", lambda: page.goto(base_url + "/worry", wait_until="load")))
    for number in range(2, MAX_STEPS):
        next_button = page.locator(NEXT_BUTTON)
        if next_button.count() == 0:
            break

        def tap(button=next_button):
            with page.expect_navigation(wait_until="load"):
                button.first.tap()

        pages.append(measure("worry step %d" % number, tap))
    return pages


def walk_kiosk(browser, base_url: str, language: str) -> list[dict]:
    """Walk the kiosk in one language, first visit then cached; return one row per page."""
    context = browser.new_context(viewport=VIEWPORT, has_touch=True, is_mobile=False)
    try:
        page = context.new_page()
        page.set_default_timeout(30000)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        wire = _Wire(cdp)
        page.goto(base_url + "/language/%s" % language, wait_until="load")  # the child's language, in the session

        def measure_with(clear_cache: bool):
            def measure(name, go):
                if clear_cache:
                    cdp.send("Network.clearBrowserCache")
                page.wait_for_load_state("networkidle")
                wire.take()
                go()
                page.wait_for_load_state("networkidle")  # late fonts and pictures count too
                timing = page.evaluate(TIMING_JS)
                tappable = max(timing["dom_content_loaded_ms"], timing["first_contentful_paint_ms"] or 0,
                               timing["fonts_ms"])
                return dict(name=name, tappable_ms=round(tappable), **timing, **wire.take())
            return measure

        _throttle(cdp, True)
        first = _walk(page, base_url, measure_with(clear_cache=True))
        _throttle(cdp, False)
        _walk(page, base_url, measure_with(clear_cache=False))  # warm-up: every page's files in the cache
        _throttle(cdp, True)
        cached = _walk(page, base_url, measure_with(clear_cache=False))
    finally:
        context.close()
    rows = []
    for first_visit, again in zip(first, cached):
        rows.append({"page": first_visit["name"], "language": language, "step": first_visit["step"],
                     "first_visit": first_visit, "cached": again})
    return rows


def bench_browser(base_url: str, languages) -> dict:
    """Every page in every language given; with the settings used, for the report."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            version = browser.version
            rows = [row for language in languages for row in walk_kiosk(browser, base_url, language)]
        finally:
            browser.close()
    tappable = [row[kind]["tappable_ms"] for row in rows for kind in ("first_visit", "cached")]
    return {
        "chromium": version, "cpu_slowdown": CPU_SLOWDOWN, "network": NETWORK, "viewport": VIEWPORT,
        "languages": list(languages), "pages": rows,
        "worst": {
            "first_visit_bytes": max(row["first_visit"]["bytes"] for row in rows),
            "cached_bytes": max(row["cached"]["bytes"] for row in rows),
            "first_visit_tappable_ms": max(row["first_visit"]["tappable_ms"] for row in rows),
            "cached_tappable_ms": max(row["cached"]["tappable_ms"] for row in rows),
        },
        "median_tappable_ms": statistics.median(tappable),
    }
