"""Headless Chromium for the dashboard benchmarks: a driver whose pages time themselves (performance.now() on the
first animation frame where a condition holds), polling helpers and the bench admin's sign-in."""
from __future__ import annotations

import json
import time

ADMIN, PASSWORD = "bench-admin", "bench-password-123"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900")


FIRST_ROW = """
const cells = [...document.querySelectorAll('.run-grid .ag-row[row-index="0"] [col-id="name"]')];
const cell = cells.find(c => c.innerText.trim());
return cell ? cell.innerText.trim() : null;"""
CHART_DRAWN = """
const paths = [...document.querySelectorAll('.metric-chart .js-plotly-plot .scatterlayer .trace path')];
return paths.some(p => (p.getAttribute('d') || '').length > 100);"""
# Timed inside the page, so polling from the bench costs the page nothing: every animation frame records
# performance.now() (ms since the navigation started) when a watched condition first holds.
MARKS = """
window.__et = {marks: {}, watch: {}};
(function () {
  const probes = {row: function () {%s}, chart: function () {%s}};
  function frame() {
    const now = performance.now();
    for (const [name, probe] of Object.entries(probes)) {
      const value = probe();
      if (value && !(name in window.__et.marks)) window.__et.marks[name] = now;
      if (typeof value === 'string' && !((name + ':' + value) in window.__et.marks)) window.__et.marks[name + ':' + value] = now;
      const w = window.__et.watch[name];
      if (w && w.at === undefined && value === w.expect) w.at = now - w.t0;
    }
    requestAnimationFrame(frame);
  }
  requestAnimationFrame(frame);
})();""" % (FIRST_ROW, CHART_DRAWN)


def chrome():  # noqa: ANN201
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARKS})
    return driver


def wait_js(driver, script: str, timeout: float = 60.0, poll: float = 0.01):  # noqa: ANN001, ANN201
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(script[:120])


def login(driver, base: str) -> None:  # noqa: ANN001
    driver.get(base + "/login")
    driver.find_element("id", "username").send_keys(ADMIN)
    driver.find_element("id", "password").send_keys(PASSWORD)
    driver.find_element("id", "login-submit").click()
    wait_js(driver, "return !location.pathname.startsWith('/login') && document.readyState === 'complete'")


def timed_nav(driver, url: str, mark: str, expect=None, timeout: float = 60.0) -> tuple[float, object]:  # noqa: ANN001
    """Seconds from the navigation's start until `mark` ("row" or "chart") first held in the page (with
    `expect`: until the first row is that run), read from the page's own clock."""
    driver.get("about:blank")
    driver.get(url)
    key = mark if expect is None else f"{mark}:{expect}"
    ms = wait_js(driver, f"return window.__et && window.__et.marks[{json.dumps(key)}]", timeout, poll=0.05)
    probe = FIRST_ROW if mark == "row" else CHART_DRAWN
    return ms / 1000, driver.execute_script(probe)


def watched(driver, name: str, expect: object, action: str, timeout: float = 60.0) -> float:  # noqa: ANN001
    """Seconds from running `action` in the page until the `name` probe returns `expect` (page clock)."""
    driver.execute_script(f"window.__et.watch[{json.dumps(name)}] = {{expect: arguments[0], t0: performance.now()}};"
                          f" {action}", expect)
    return wait_js(driver, f"return window.__et.watch[{json.dumps(name)}].at", timeout, poll=0.05) / 1000
