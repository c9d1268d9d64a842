"""Run comparison benchmark (prints figures; not a test): server time of the /compare page's callbacks.

Seeds, through the services (runs.create_run, metrics.log_points), one experiment with N runs x P params x M
metrics (S steps each, so curves have something to draw) and a second one with --wide runs for parallel
coordinates. Then, as a signed-in admin inside a Flask request context (what Dash does per callback), times:
  load_compare (load_runs + header, controls, parcoords figure), update_tables (plain, brushed, grouped),
  update_curves (20 overlaid runs; group means over up to 100 runs), update_scatter, sync_url,
and the JSON sizes the browser receives (page, parcoords figure). Each figure is the median of --repeat calls.

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
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common  # noqa: E402
import plotly.utils  # noqa: E402
from flask import g  # noqa: E402

from api.common import CORE_KEY  # noqa: E402
from app import create_app  # noqa: E402
from callbacks import compare  # noqa: E402
from components import ids, parcoords  # noqa: E402
from config import Settings  # noqa: E402
from services import accounts, compare_runs, experiments, metrics, projects, runs  # noqa: E402

ADMIN, PASSWORD = "bench-admin", "bench-password-123"
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


def page_parts(page: Any) -> tuple[list[dict], Any]:
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
        dims = parcoords.parcoords_dimensions(data)
        brush = {"0": [[2.0, 6.0]], str(len(dims) - 1): [[0.2, 0.9]]}
        t_tables, _ = timed(lambda: compare.update_tables(data, {}, True, data[0]["id"]), repeat)
        t_brushed, brushed = timed(lambda: compare.update_tables(data, brush, True, data[0]["id"]), repeat)
        t_grouped, _ = timed(lambda: compare.update_tables(data, {}, True, data[0]["id"], "param:algo"), repeat)
        axes = find(page, ids.COMPARE_AXES).data
        t_url, search = timed(lambda: compare.sync_url(data[0]["id"], "m0", True, query, "param:algo", brush, axes),
                              repeat)
        print(f"\n  -- {label}: {len(loaded['runs'])} runs, {len(dims)} parcoords axes", flush=True)
        print(f"    load_runs (SQL)                 : {t_load * 1000:7.0f} ms")
        print(f"    load_compare (page callback)    : {t_page * 1000:7.0f} ms   + JSON encode {t_json * 1000:.0f} ms"
              f"   target <= {TARGET_S * 1000:.0f} ms together")
        print(f"    update_tables plain/brushed/grouped: {t_tables * 1000:.0f} / {t_brushed * 1000:.0f} / "
              f"{t_grouped * 1000:.0f} ms   ({brushed[2].children if brushed[2] else 'no narrowing'})")
        print(f"    sync_url (group + brush)        : {t_url * 1000:7.1f} ms   ({len(search)} chars)")
        print(f"    JSON to the browser: page {len(page_json) / 1024:,.0f} KiB, of it parcoords figure "
              f"{size(figure) / 1024:,.0f} KiB and runs store {size(data) / 1024:,.0f} KiB")
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
    args = parser.parse_args()
    if os.environ.get("TEST_DATABASE_URL"):
        common.PG_ADMIN_URL = os.environ["TEST_DATABASE_URL"]
    for backend in ["sqlite", *(["postgres"] if args.pg or os.environ.get("TEST_DATABASE_URL") else [])]:
        bench(backend, args)


if __name__ == "__main__":
    main()
