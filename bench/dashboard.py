"""Dashboard benchmark (prints figures; not a test): run table and 1M-point chart timed in headless Chromium.

Seeds one experiment with N runs x P params x M metrics (bulk SQLAlchemy Core inserts into runs, params,
metric_series — the run table reads the series summaries — and one point per series into metric_points) and one
run with a long metric (services.metrics.log_points in 50k chunks, as bench/history.py). Serves create_app from a
threaded Werkzeug server in this process; a WSGI wrapper counts /_dash-update-component requests by output and
times them server-side. Then, signed in as the admin through /login:
  (1) navigation to /experiments/<id> -> first grid row with text
  (2) sort by a metric column (AG Grid column state, as a header click does) -> first row is the expected run;
      also the same sort loaded from the URL (?sort=m:m0:last)
  (3) /runs/<id> with the long metric -> plotly trace path drawn (rollups are built while the points are written;
      the first open also compiles plotly.js, later opens use the browser's code cache)
  (4) /experiments/<id> left idle for --idle seconds -> callbacks fired, by output
Times come from the page's own clock (performance.now(): from the navigation's start, or from the click), noted
on the first animation frame where the condition holds by a script injected before every page, so the bench's
polling (every 50 ms) costs the page nothing.

    python bench/dashboard.py --backend both
    python bench/dashboard.py --runs 1000 --points 100000 --idle 20    # quicker
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import io
import json
import logging
import os
import pstats
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import fresh_pg_database  # noqa: E402
from headless import ADMIN, PASSWORD, chrome, login, timed_nav, wait_js, watched  # noqa: E402,F401
from sqlalchemy import insert, select, text  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from api.common import CORE_KEY  # noqa: E402
from app import create_app  # noqa: E402
from config import Settings  # noqa: E402
from db.models import MetricPoint, MetricSeries, Param, Run  # noqa: E402
from services import accounts, experiments, metrics, projects, run_table, runs  # noqa: E402

T0 = 1_700_000_000_000
logging.getLogger("werkzeug").setLevel(logging.ERROR)


# ----------------------------------------------------------------------------------------------------- seeding
def seed(core, actor, n_runs: int, n_params: int, n_metrics: int, points: int) -> dict:  # noqa: ANN001
    project = projects.create_project(core, actor, "bench-dash", team="bench")
    exp = experiments.create_experiment(core, actor, project["id"], "table")
    long_exp = experiments.create_experiment(core, actor, project["id"], "long")
    rng = random.Random(7)
    started = time.perf_counter()
    batch = 2000
    with core.sessions() as session:
        for lo in range(0, n_runs, batch):
            hi = min(n_runs, lo + batch)
            now = T0 + 10**9
            run_rows = [{"id": f"00000000-0000-4000-8000-{i:012d}", "experiment_id": exp["id"], "name": f"run-{i:05d}",
                         "status": "FINISHED", "user_id": actor.user_id, "start_time": T0 + i * 1000,
                         "end_time": T0 + i * 1000 + 600_000, "environment": {}, "notes": "", "locked": False,
                         "created_at": now, "updated_at": now} for i in range(lo, hi)]
            session.execute(insert(Run), run_rows)
            pks = dict(session.execute(select(Run.id, Run.pk).where(Run.id.in_([r["id"] for r in run_rows]))).all())
            params, series = [], []
            for r in run_rows:
                pk = pks[r["id"]]
                for j in range(n_params):
                    value = round(rng.random() * 10, 4)
                    params.append({"run_pk": pk, "key": f"p{j:02d}", "value": str(value), "value_num": value})
                for j in range(n_metrics):
                    v = rng.random()
                    series.append({"run_pk": pk, "key": f"m{j}", "count": 1, "last_value": v, "last_step": 0,
                                   "last_ts": T0, "min_value": v, "min_step": 0, "max_value": v, "max_step": 0,
                                   "rollup_from": 0})
            session.execute(insert(Param), params)
            session.execute(insert(MetricSeries), series)
            sids = session.execute(select(MetricSeries.id, MetricSeries.last_value)
                                   .where(MetricSeries.run_pk.in_(list(pks.values())))).all()
            session.execute(insert(MetricPoint), [{"series_id": sid, "step": 0, "ts": T0, "value": v}
                                                  for sid, v in sids])
        session.commit()
    table_s = time.perf_counter() - started
    with core.sessions() as session:  # the run the sort on m0 ascending must put first
        best = session.execute(select(Run.name).join(MetricSeries, MetricSeries.run_pk == Run.pk)
                               .where(Run.experiment_id == exp["id"], MetricSeries.key == "m0")
                               .order_by(MetricSeries.last_value.asc()).limit(1)).scalar_one()
        default_first = session.execute(select(Run.name).where(Run.experiment_id == exp["id"])
                                        .order_by(Run.start_time.desc()).limit(1)).scalar_one()
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE"))
            session.commit()
    started = time.perf_counter()
    long_run = runs.create_run(core, actor, long_exp["id"], "long")
    chunk = 50_000
    for lo in range(0, points, chunk):
        pts = [metrics.Point("loss", 1.0 / (1 + s) + (5.0 if s == points // 3 else 0.0), s, T0 + s)
               for s in range(lo, min(points, lo + chunk))]
        metrics.log_points(core, actor, long_run["id"], pts)
    long_s = time.perf_counter() - started
    return {"experiment_id": exp["id"], "project_id": project["id"], "long_run_id": long_run["id"], "sorted_first": best,
            "default_first": default_first, "table_seed_s": table_s, "long_seed_s": long_s}


# ------------------------------------------------------------------------------------------ server + counting
class Counter:
    """WSGI wrapper: counts /_dash-update-component requests by output and keeps their server times."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app, self.lock = app, threading.Lock()
        self.calls: list[tuple[float, str, float]] = []  # (wall time at start, output, seconds)

    def __call__(self, environ, start_response):  # noqa: ANN001, ANN204
        if environ.get("PATH_INFO") != "/_dash-update-component":
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            output = json.loads(body).get("output", "?")
        except ValueError:
            output = "?"
        began = time.time()
        started = time.perf_counter()
        result = list(self.app(environ, start_response))
        with self.lock:
            self.calls.append((began, output, time.perf_counter() - started))
        return result

    def since(self, t: float) -> list[tuple[float, str, float]]:
        with self.lock:
            return [c for c in self.calls if c[0] >= t]


@contextlib.contextmanager
def serve(app) -> tuple[str, Counter]:  # noqa: ANN001
    counter = Counter(app.server.wsgi_app)
    app.server.wsgi_app = counter
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}", counter
    finally:
        srv.shutdown()


# ------------------------------------------------------------------------------------------------- browser
def in_app_nav(driver, base: str, info: dict) -> float:  # noqa: ANN001
    """From the project page, click the experiment's link (Dash navigates without a page load) → first row."""
    link = f"a.row-link[href='/experiments/{info['experiment_id']}']"
    driver.get(f"{base}/projects/{info['project_id']}")
    wait_js(driver, f"return document.querySelector({json.dumps(link)})")
    return watched(driver, "row", info["default_first"], f"document.querySelector({json.dumps(link)}).click();")


def measure(base: str, counter: Counter, info: dict, idle_s: float) -> dict:
    out: dict = {}
    driver = chrome()
    try:
        login(driver, base)
        exp_url = f"{base}/experiments/{info['experiment_id']}"
        for _ in range(2):  # warm the browser cache and V8's code cache for the Dash bundles
            timed_nav(driver, exp_url, "row")
        firsts = []
        for _ in range(3):
            t_cb = time.time()
            seconds, first = timed_nav(driver, exp_url, "row")
            firsts.append(seconds)
        out["first_rows_calls"] = [(round(c[0] - t_cb, 2), c[1][:60], round(c[2] * 1000)) for c in counter.since(t_cb)]
        out["first_rows"] = firsts
        print(f"  (1) first rows visible: {fmt(firsts)}", flush=True)
        out["first_rows_row"] = first
        out["first_rows_in_app"] = [in_app_nav(driver, base, info) for _ in range(3)]
        print(f"  (1b) first rows, in-app click : {fmt(out['first_rows_in_app'])}", flush=True)
        # (2) sort: same path as a header click (AG Grid column state -> getRowsRequest -> get_rows callback)
        sorts = []
        for _ in range(3):
            timed_nav(driver, exp_url, "row", info["default_first"])
            time.sleep(1)  # the page settles (its first live tick) before the click, as a user's would
            t_cb = time.time()
            sorts.append(watched(driver, "row", info["sorted_first"],
                                 "dash_ag_grid.getApi('run-grid').applyColumnState("
                                 "{state: [{colId: 'm:m0:last', sort: 'asc'}], defaultState: {sort: null}});"))
            out.setdefault("sort_server", []).extend(
                c[2] for c in counter.since(t_cb) if "getRowsResponse" in c[1])
        out["sort"] = sorts
        print(f"  (2) sort: {fmt(sorts)}  server get_rows {fmt(out.get('sort_server', []))}", flush=True)
        url_sorts = [timed_nav(driver, exp_url + "?sort=m:m0:last", "row", info["sorted_first"])[0]
                     for _ in range(2)]
        out["sort_url"] = url_sorts
        # (3) 1M chart: cold (rollups built on first read), then warm
        run_url = f"{base}/runs/{info['long_run_id']}"
        charts = []
        for attempt in range(3):
            t_cb = time.time()
            try:
                charts.append(timed_nav(driver, run_url, "chart", timeout=90)[0])
            except TimeoutError:
                charts.append(float("nan"))
                page = driver.execute_script("return document.body.innerText.slice(0, 600)")
                print(f"  (3) chart open {attempt + 1}: NOT drawn within 90 s; page says: {page!r}", flush=True)
            out.setdefault("chart_server", []).append(max((c[2] for c in counter.since(t_cb)
                                                           if "_pages_content" in c[1]), default=float("nan")))
            print(f"  (3) chart open {attempt + 1}: {charts[-1] * 1000:.0f} ms, server page content (with the charts) "
                  f"{out['chart_server'][-1] * 1000:.0f} ms", flush=True)
        out["chart"] = charts
        out["chart_calls"] = [(round(c[0] - t_cb, 2), c[1][:60], round(c[2] * 1000)) for c in counter.since(t_cb)]
        # (4) idle
        timed_nav(driver, exp_url, "row")
        time.sleep(2)  # let the initial burst settle
        driver.get_log("performance")  # drop what came before
        t_idle = time.time()
        time.sleep(idle_s)
        server = collections.Counter(c[1] for c in counter.since(t_idle))
        browser = collections.Counter()
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg["method"] == "Network.requestWillBeSent":
                req = msg["params"]["request"]
                if req["url"].endswith("/_dash-update-component"):
                    try:
                        browser[json.loads(req.get("postData") or "{}").get("output", "?")] += 1
                    except ValueError:
                        browser["?"] += 1
                else:
                    browser["other: " + req["url"].split("?")[0].replace(base, "")] += 1
        out["idle_server"], out["idle_browser"] = dict(server), dict(browser)
        out["idle_times"] = [c[2] for c in counter.since(t_idle)]
    finally:
        driver.quit()
    return out


# --------------------------------------------------------------------------------------------- profiling
def profile_rows(core, actor, info: dict) -> str:  # noqa: ANN001
    """Server-side cost of the callbacks' service calls, and the plan of the sorted page query."""
    lines = []
    exp_id = info["experiment_id"]
    for label, sort in (("default", None), ("sort m0", [{"colId": "m:m0:last", "sort": "asc"}])):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            run_table.fetch_rows(core, actor, exp_id, 0, 100, sort, None)
            best = min(best, time.perf_counter() - started)
        lines.append(f"    fetch_rows(0,100) {label:8}: {best * 1000:7.1f} ms")
    started = time.perf_counter()
    run_table.discover_columns(core, actor, exp_id)
    lines.append(f"    discover_columns      : {(time.perf_counter() - started) * 1000:7.1f} ms")
    prof = cProfile.Profile()
    prof.enable()
    run_table.fetch_rows(core, actor, exp_id, 0, 100, [{"colId": "m:m0:last", "sort": "asc"}], None)
    prof.disable()
    stream = io.StringIO()
    pstats.Stats(prof, stream=stream).sort_stats("cumulative").print_stats(12)
    lines.append("    cProfile fetch_rows sort m0 (top cumulative):")
    lines += ["      " + ln for ln in stream.getvalue().splitlines() if ln.strip()][3:22]
    return "\n".join(lines)


def explain(core, info: dict) -> str:  # noqa: ANN001
    """EXPLAIN of the sorted page query (what fetch_rows sends, rebuilt from its _Query)."""
    query = run_table._Query(info["experiment_id"])  # noqa: SLF001
    order = run_table._order(query, [{"colId": "m:m0:last", "sort": "asc"}])  # noqa: SLF001
    stmt = query.stmt.order_by(*order).offset(0).limit(100)
    with core.sessions() as session:
        dialect = session.get_bind().dialect
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN ANALYZE "
        rows = session.execute(text(prefix + sql)).all()
    return "\n".join("      " + " | ".join(str(c) for c in r) for r in rows)


# ------------------------------------------------------------------------------------------------------- main
def fmt(values: list[float]) -> str:
    return " / ".join(f"{v * 1000:.0f}" for v in values) + " ms"


def bench(backend: str, args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory())
        url = stack.enter_context(fresh_pg_database()) if backend == "postgres" else ""
        app = create_app(Settings(data_dir=data_dir, database_url=url, secret_key="bench", log_level="WARNING"))
        core = app.server.extensions[CORE_KEY]
        accounts.create_user(core, None, ADMIN, PASSWORD, is_admin=True)
        actor = accounts.authenticate(core, ADMIN, PASSWORD)
        info = seed(core, actor, args.runs, args.params, args.metrics, args.points)
        print(f"\n== {backend}: {args.runs:,} runs x {args.params} params x {args.metrics} metrics; "
              f"long metric {args.points:,} points", flush=True)
        print(f"  seed: table {info['table_seed_s']:.1f} s, long metric {info['long_seed_s']:.1f} s   "
              f"uptime: {os.getloadavg()}", flush=True)
        with serve(app) as (base, counter):
            res = measure(base, counter, info, args.idle)
        print(f"  (1) first rows visible        : {fmt(res['first_rows'])}   target <= 1500 ms", flush=True)
        print(f"  (1b) first rows, in-app click : {fmt(res['first_rows_in_app'])}   (from the project page)")
        print(f"  (2) sort by m0 (column state) : {fmt(res['sort'])}   target <= 500 ms  "
              f"[server get_rows: {fmt(res.get('sort_server', []))}]")
        print("      callbacks during the last first-rows load (start offset s, output, server ms):")
        for call in res["first_rows_calls"][:14]:
            print(f"        {call}")
        print(f"      sort loaded from URL       : {fmt(res['sort_url'])} (full page load)")
        print(f"  (3) 1M chart drawn cold/warm  : {fmt(res['chart'])}   target <= 1000 ms  "
              f"[server page content with the charts: {fmt(res['chart_server'])}]")
        print("      callbacks during the last (warm) chart load (start offset s, output, server ms):")
        for call in res["chart_calls"][:14]:
            print(f"        {call}")
        print(f"  (4) idle {args.idle:.0f} s, server side   : {res['idle_server']}")
        print(f"      idle, Chrome perf log     : {res['idle_browser']}")
        if res["idle_times"]:
            print(f"      idle callback server time : median {sorted(res['idle_times'])[len(res['idle_times']) // 2] * 1000:.1f} ms")
        print(f"  load after: {os.getloadavg()}")
        print("  server-side profile (in-process):")
        print(profile_rows(core, actor, info))
        print("    EXPLAIN sorted page query:")
        print(explain(core, info), flush=True)
        core.sessions.kw["bind"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--params", type=int, default=20)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--idle", type=float, default=60.0)
    args = parser.parse_args()
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        bench(backend, args)


if __name__ == "__main__":
    main()
