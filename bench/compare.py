"""Run comparison benchmark (prints figures; not a test): server time of the /compare page's callbacks.

Seeds, through the services (runs.create_run, metrics.log_points), one experiment with N runs x P params x M
metrics (S steps each, so curves have something to draw) and a second one with --wide runs for parallel
coordinates. Then, as a signed-in admin inside a Flask request context (what Dash does per callback), times:
  load_compare (load_runs + header, controls, parcoords figure), update_tables (plain, brushed, grouped),
  update_curves (20 overlaid runs; group means over up to 100 runs), update_scatter, sync_url,
and the JSON sizes the browser receives (page, parcoords figure). Each figure is the median of --repeat calls.

Then in headless Chromium (the server, sign-in and JS-condition timing of bench/dashboard.py), on the --wide runs:
  open /compare?runs=<all> the way the experiment page's Compare button does (in-app navigation) -> parcoords
  drawn, then -> first table rows; brush the first axis with Plotly.restyle(constraintrange), as a drag does ->
  the metric table shows the narrowed number of rows; the bytes each brush sends and receives, and its server time.

    python bench/compare.py                 # SQLite; also Postgres when TEST_DATABASE_URL is set
    python bench/compare.py --pg            # SQLite and Postgres (a fresh database, dropped after)
    python bench/compare.py --wide 500      # quicker
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common  # noqa: E402
import dashboard  # noqa: E402
from headless import ADMIN, PASSWORD  # noqa: E402
import plotly.utils  # noqa: E402
from flask import g  # noqa: E402

from api.common import CORE_KEY  # noqa: E402
from app import create_app  # noqa: E402
from callbacks import compare  # noqa: E402
from components import ids, parcoords  # noqa: E402
from config import Settings  # noqa: E402
from services import accounts, compare_runs, experiments, metrics, projects, runs  # noqa: E402

T0 = 1_700_000_000_000
TARGET_S = 1.0
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def seed_runs(core: Any, actor: Any, exp_id: str, n_runs: int, n_params: int, n_metrics: int,
              steps: int) -> list[str]:
    rng = random.Random(7)
    made = []
    for i in range(n_runs):
        params = {f"p{j:02d}": round(rng.random() * 10, 4) for j in range(n_params - 1)}
        params["algo"] = ("NB", "SVM", "RF")[i % 3]  # a text param to group by
        run = runs.create_run(core, actor, exp_id, f"run-{i:05d}", params, tags={"seed": str(i % 4)},
                              start_time=T0 + i * 1000)
        base = [rng.random() for _ in range(n_metrics)]
        metrics.log_points(core, actor, run["id"], [metrics.Point(f"m{k}", base[k] + 0.01 * s, s, T0 + s)
                                                    for k in range(n_metrics) for s in range(steps)])
        made.append(run["id"])
    return made


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def size(obj: Any) -> int:
    return len(json.dumps(obj, cls=plotly.utils.PlotlyJSONEncoder))


def find(node: Any, component_id: str) -> Any:
    """The component with this id in a layout tree (children lists and components)."""
    if getattr(node, "id", None) == component_id:
        return node
    children = node if isinstance(node, (list, tuple)) else getattr(node, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children] if children is not None else []:
        hit = find(child, component_id)
        if hit is not None:
            return hit
    return None


def page_parts(page: Any) -> tuple[dict, Any]:
    """The page's handle on its runs ({"ids": [...]}) and its parcoords figure."""
    return find(page, ids.COMPARE_DATA).data, find(page, ids.COMPARE_PARCOORDS).figure


def measure(app: Any, actor: Any, run_ids: list[str], label: str, repeat: int, full: bool) -> None:
    query = {"runs": ",".join(run_ids), "metrics": "m0"}
    with app.server.test_request_context("/compare"):
        g.session_actor = actor
        core = app.server.extensions[CORE_KEY]
        t_load, loaded = timed(lambda: compare_runs.load_runs(core, actor, run_ids), repeat)
        t_page, page = timed(lambda: compare.load_compare(query), repeat)
        t_json, page_json = timed(lambda: json.dumps(page, cls=plotly.utils.PlotlyJSONEncoder), repeat)
        data, figure = page_parts(page)
        first = data["ids"][0]
        t_cached, _ = timed(lambda: compare.loaded_runs(data), repeat)
        dims = parcoords.parcoords_dimensions(compare.loaded_runs(data))
        brush = {"0": [[2.0, 6.0]], str(len(dims) - 1): [[0.2, 0.9]]}
        t_tables, plain = timed(lambda: compare.update_tables(data, {}, True, first), repeat)
        t_brushed, brushed = timed(lambda: compare.update_tables(data, brush, True, first), repeat)
        t_grouped, _ = timed(lambda: compare.update_tables(data, {}, True, first, "param:algo"), repeat)
        axes = find(page, ids.COMPARE_AXES).data
        t_url, search = timed(lambda: compare.sync_url(first, "m0", True, query, "param:algo", brush, axes),
                              repeat)
        print(f"\n  -- {label}: {len(loaded['runs'])} runs, {len(dims)} parcoords axes", flush=True)
        print(f"    load_runs (SQL)                 : {t_load * 1000:7.0f} ms")
        print(f"    load_compare (page callback)    : {t_page * 1000:7.0f} ms   + JSON encode {t_json * 1000:.0f} ms"
              f"   target <= {TARGET_S * 1000:.0f} ms together")
        print(f"    cached runs (access check + cache read): {t_cached * 1000:.0f} ms")
        print(f"    update_tables plain/brushed/grouped: {t_tables * 1000:.0f} / {t_brushed * 1000:.0f} / "
              f"{t_grouped * 1000:.0f} ms   ({brushed[1].children if brushed[1] else 'no narrowing'}); "
              f"answer {size(plain) / 1024:,.0f} KiB")
        print(f"    sync_url (group + brush)        : {t_url * 1000:7.1f} ms   ({len(search)} chars)")
        print(f"    JSON to the browser: page {len(page_json) / 1024:,.0f} KiB, of it parcoords figure "
              f"{size(figure) / 1024:,.0f} KiB and the run-ids store {size(data) / 1024:,.0f} KiB")
        if full:
            t_curves, _ = timed(lambda: compare.update_curves("m0", data), repeat)
            t_gcurves, res = timed(lambda: compare.update_curves("m0", data, "param:algo"), repeat)
            t_scatter, _ = timed(lambda: compare.update_scatter("p00", "m0", data), repeat)
            print(f"    update_curves 20 runs / grouped : {t_curves * 1000:.0f} / {t_gcurves * 1000:.0f} ms"
                  f"   ({res[1]})")
            print(f"    update_scatter                  : {t_scatter * 1000:7.0f} ms")
            total = t_page + t_json + t_tables + t_curves + t_scatter
            print(f"    first view, all callbacks summed: {total * 1000:7.0f} ms   (page callback + JSON: "
                  f"{'within' if t_page + t_json <= TARGET_S else 'OVER'} the 1 s target)")


class Wire(dashboard.Counter):
    """dashboard.Counter that also keeps each callback's request and response bytes."""

    def __init__(self, app) -> None:  # noqa: ANN001
        super().__init__(app)
        self.sizes: list[tuple[float, str, int, int]] = []  # (wall time at start, output, bytes in, bytes out)

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        if environ.get("PATH_INFO") != "/_dash-update-component":
            return self.app(environ, start_response)
        began, size_in = time.time(), int(environ.get("CONTENT_LENGTH") or 0)
        result = super().__call__(environ, start_response)
        out = sum(len(chunk) for chunk in result)
        with self.lock:
            self.sizes.append((began, self.calls[-1][1] if self.calls else "?", size_in, out))
        return result


PARCOORDS_DRAWN = """
const gd = document.querySelector('#compare-parcoords .js-plotly-plot');
return !!(gd && gd._fullData && gd._fullData.length
          && document.querySelectorAll('#compare-parcoords .parcoords .axis').length > 0);"""
TABLE_ROWS = "document.querySelectorAll('#compare-metrics tbody tr').length"


def brushed_count(app: Any, actor: Any, run_ids: list[str], ranges: list | None) -> int:
    with app.server.test_request_context("/compare"):
        g.session_actor = actor
        loaded = compare.loaded_runs({"ids": run_ids})
    return len(parcoords.brushed(loaded, {"0": ranges} if ranges else {}))


def browser(app: Any, actor: Any, run_ids: list[str], repeat: int) -> None:
    """Open the comparison of every run in Chromium, then brush its first axis; print the timings."""
    wire = Wire(app.server.wsgi_app)
    app.server.wsgi_app = wire
    srv = dashboard.make_server("127.0.0.1", 0, app.server, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base, driver = f"http://127.0.0.1:{srv.server_port}", dashboard.chrome()
    target = f"/compare?runs={','.join(run_ids)}&metrics=m0"
    go = ("window.history.pushState({}, '', arguments[0]);"
          "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));")
    try:
        dashboard.login(driver, base)
        status = requests_status(base + target, driver)
        opens, tables = [], []
        for attempt in range(repeat + 1):  # the first warms the browser's cache of the Dash bundles
            driver.get(base + "/compare")
            dashboard.wait_js(driver, "return !!document.querySelector('#compare-empty')")
            started = time.perf_counter()
            driver.execute_script(go, target)
            try:
                dashboard.wait_js(driver, PARCOORDS_DRAWN, timeout=120, poll=0.05)
            except TimeoutError:
                print("      not drawn; page says:", driver.execute_script(
                    "return document.body.innerText.slice(0, 300)"), flush=True)
                raise
            drawn = time.perf_counter() - started
            dashboard.wait_js(driver, f"return {TABLE_ROWS} === {min(len(run_ids), compare.MAX_TABLE_ROWS)};",
                              timeout=120, poll=0.05)
            if attempt:
                opens.append(drawn)
                tables.append(time.perf_counter() - started)
        print(f"    browser: open {len(run_ids)} runs (in-app navigation) -> parcoords drawn: "
              f"{dashboard.fmt(opens)}; -> table rows: {dashboard.fmt(tables)}", flush=True)
        print(f"    browser: a direct GET of the {len(target):,}-character link answers HTTP {status} "
              f"(Werkzeug refuses request lines over 64 KiB; gunicorn.conf.py lifts gunicorn's limit)", flush=True)
        brushes = [[[2.0, 6.0]], [[2.0, 3.0]], [[7.0, 7.5]], None, [[4.0, 8.0]], [[0.5, 1.0]]]
        times, server, sizes, redraws = [], [], [], []
        for ranges in brushes:
            expect = brushed_count(app, actor, run_ids, ranges)
            label = f"Brushed: {expect} of {len(run_ids)} runs shown" if expect != len(run_ids) else ""
            t_wall = time.time()
            started = time.perf_counter()
            redraw = driver.execute_script(  # the synchronous part: plotly redraws the 2,000 lines (WebGL)
                "const t0 = performance.now(); Plotly.restyle(document.querySelector('#compare-parcoords "
                ".js-plotly-plot'), {'dimensions[0].constraintrange': arguments[0]}); return performance.now() - t0;",
                ranges)
            redraws.append(redraw / 1000)
            shown = f"t.startsWith({json.dumps(label)})" if label else "!t.startsWith('Brushed')"
            dashboard.wait_js(driver, "const s = document.querySelector('#compare-selection'); const t = s ? "
                                      f"s.innerText.trim() : null; return t !== null && {shown} && "
                                      f"{TABLE_ROWS} === {min(expect, compare.MAX_TABLE_ROWS)};", timeout=60, poll=0.05)
            times.append(time.perf_counter() - started)
            server += [c[2] for c in wire.since(t_wall) if ids.COMPARE_TABLES in c[1]]
            sizes += [(c[2], c[3]) for c in wire.sizes if c[0] >= t_wall and ids.COMPARE_TABLES in c[1]]
            print(f"      brush {ranges} -> {expect} runs: {times[-1] * 1000:.0f} ms (of it Plotly.restyle "
                  f"{redraw:.0f} ms)", flush=True)
        up = [s[0] for s in sizes]
        down = [s[1] for s in sizes]
        print(f"    browser: brush -> table narrowed: {dashboard.fmt(times)} (median "
              f"{statistics.median(times) * 1000:.0f} ms; of it Plotly.restyle's redraw "
              f"{statistics.median(redraws) * 1000:.0f} ms); server tables callback {dashboard.fmt(server)}; "
              f"sent {max(up) / 1024:,.0f} KiB, received {min(down) / 1024:,.0f}-{max(down) / 1024:,.0f} KiB per "
              f"brush   uptime: {os.getloadavg()}", flush=True)
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if errors:
            print(f"    browser console errors: {errors[:3]}")
    finally:
        driver.quit()
        srv.shutdown()


def requests_status(url: str, driver: Any) -> int:
    """The HTTP status of a direct GET of `url` with the browser's session cookie."""
    import requests

    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    return requests.get(url, cookies=cookies, timeout=60).status_code


def bench(backend: str, args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory())
        url = stack.enter_context(common.fresh_pg_database()) if backend == "postgres" else ""
        app = create_app(Settings(data_dir=data_dir, database_url=url, secret_key="bench", log_level="WARNING"))
        core = app.server.extensions[CORE_KEY]
        accounts.create_user(core, None, ADMIN, PASSWORD, is_admin=True)
        actor = accounts.authenticate(core, ADMIN, PASSWORD)
        project = projects.create_project(core, actor, "bench-compare", team="bench")
        started = time.perf_counter()
        exp = experiments.create_experiment(core, actor, project["id"], "compare",
                                            validation_criteria={"m0": ">= 0.5"})
        table_ids = seed_runs(core, actor, exp["id"], args.runs, args.params, args.metrics, args.steps)
        seeded = time.perf_counter() - started
        started = time.perf_counter()
        wide = experiments.create_experiment(core, actor, project["id"], "parcoords")
        wide_ids = seed_runs(core, actor, wide["id"], args.wide, args.wide_params, args.metrics, 1)
        wide_seeded = time.perf_counter() - started
        print(f"\n== {backend}: seeded {args.runs} runs x {args.params} params x {args.metrics} metrics x "
              f"{args.steps} steps in {seeded:.1f} s; {args.wide} runs x {args.wide_params} params in "
              f"{wide_seeded:.1f} s   load: {os.getloadavg()}", flush=True)
        measure(app, actor, table_ids, f"{args.runs} runs x {args.params} params", args.repeat, full=True)
        measure(app, actor, wide_ids, f"{args.wide} runs x {args.wide_params} params (parcoords)", args.repeat,
                full=False)
        if not args.no_browser:
            browser(app, actor, wide_ids, args.repeat)
        print(f"  load after: {os.getloadavg()}", flush=True)
        core.sessions.kw["bind"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--params", type=int, default=50)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--wide", type=int, default=2000)
    parser.add_argument("--wide-params", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", action="store_true", help="also run on Postgres (TEST_DATABASE_URL or local)")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium part")
    args = parser.parse_args()
    if os.environ.get("TEST_DATABASE_URL"):
        common.PG_ADMIN_URL = os.environ["TEST_DATABASE_URL"]
    for backend in ["sqlite", *(["postgres"] if args.pg or os.environ.get("TEST_DATABASE_URL") else [])]:
        bench(backend, args)


if __name__ == "__main__":
    main()
