"""History benchmark: one metric with N points; times ?buckets=1000 downsampling and raw paging, on both backends."""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import fresh_pg_database  # noqa: E402

from app import create_app  # noqa: E402
from api.common import CORE_KEY  # noqa: E402
from config import Settings  # noqa: E402
from services import accounts, experiments, metrics, projects, runs  # noqa: E402


def _seed(core, actor, points: int) -> str:  # noqa: ANN001
    project = projects.create_project(core, actor, "bench", team="bench")
    exp = experiments.create_experiment(core, actor, project["id"], "history")
    run = runs.create_run(core, actor, exp["id"], "long")
    chunk = 50_000
    for start in range(0, points, chunk):
        batch = [metrics.Point("loss", 1.0 / (1 + s) + (5.0 if s == points // 3 else 0.0), s, s)
                 for s in range(start, min(points, start + chunk))]
        metrics.log_points(core, actor, run["id"], batch)
    return run["id"]


def _timed(fn, repeat: int = 5) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def bench(backend: str, points: int) -> None:
    with contextlib.ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory())
        url = stack.enter_context(fresh_pg_database()) if backend == "postgres" else ""
        app = create_app(Settings(data_dir=data_dir, database_url=url, secret_key="b", log_level="WARNING"))
        core = app.server.extensions[CORE_KEY]
        accounts.create_user(core, None, "b", "bench-password", is_admin=True)
        actor = accounts.authenticate(core, "b", "bench-password")
        started = time.perf_counter()
        run_id = _seed(core, actor, points)
        seed_s = time.perf_counter() - started
        started = time.perf_counter()
        result = metrics.downsampled(core, actor, run_id, "loss", 1000)
        cold = time.perf_counter() - started
        assert len(result["buckets"]) <= 1000 and max(b["max"] for b in result["buckets"]) > 5.0
        down = _timed(lambda: metrics.downsampled(core, actor, run_id, "loss", 1000))
        page = _timed(lambda: metrics.history(core, actor, run_id, "loss", 1000,
                                              metrics.history(core, actor, run_id, "loss", 1000).next_cursor))
        print(f"{backend:9} {points:>9,} points  seed {points / seed_s:>9,.0f} pts/s  "
              f"buckets=1000 first {cold * 1000:7.1f} ms, then {down * 1000:6.1f} ms  page of 1000 {page * 1000:6.1f} ms",
              flush=True)
        core.sessions.kw["bind"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        for n in args.points:
            bench(backend, n)


if __name__ == "__main__":
    main()
