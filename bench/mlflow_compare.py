"""Side by side with MLflow: the same MLflow REST workloads (same JSON bodies, plain HTTP) against our server
(gunicorn, Bearer token) and against a real `mlflow server` (its own venv, no auth), both on a fresh Postgres
database (or both on SQLite with --backend sqlite), with the same number of worker processes.

Workloads, each response checked, stored points counted at the end:
  ingest    8 threads, each its own run, POST runs/log-batch with 1000 metrics per request  → points/s, p50/p95
  log-metric sequential POST runs/log-metric                                                 → p50/p95
  search    runs/search over --runs runs: filter + order_by metric, max_results=1000         → first page
  paging    runs/search through all --runs runs with page_token (max_results=1000)           → total
  history   metrics/get-history of one metric with --history-points points (25000 + page_token) → total

    python bench/mlflow_compare.py                 # full size (about 15-25 minutes on 2 cores, mostly MLflow)
    python bench/mlflow_compare.py --small         # reduced sizes
    python bench/mlflow_compare.py --only ours     # one side only (e.g. to profile ours)

MLFLOW_SERVER_OPTS adds options to `mlflow server` (default: its own uvicorn workers), e.g. MLflow on gunicorn
with a socket per worker: MLFLOW_SERVER_OPTS='--gunicorn-opts "--reuse-port --threads 8"'.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RssSampler, fresh_pg_database, percentile, server, token, wait_settled  # noqa: E402
from mlflow_server import mlflow_server, mlflow_version  # noqa: E402
from mlflow_table import table  # noqa: E402

API = "/api/2.0/mlflow"
FILTER = "metrics.accuracy > 0.5 and params.lr = '0.01'"
ORDER_BY = ["metrics.accuracy DESC"]
LRS = ["0.1", "0.01", "0.001", "0.0001"]
INGEST_KEYS = 10  # 1000 metrics per request = 10 keys x 100 steps


class Target:
    """One server speaking the MLflow REST API; every call checks the status code."""

    def __init__(self, name: str, base: str, headers: dict, proc: psutil.Process, db_url: str = "") -> None:
        self.name, self.base, self.proc, self.db_url = name, base, proc, db_url
        self.headers = {"Content-Type": "application/json", **headers}
        self._local = __import__("threading").local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.headers.update(self.headers)
        return self._local.session

    def post(self, path: str, body: dict | bytes) -> dict:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = self.session.post(self.base + API + path, data=data, timeout=300)
        return self._check(path, response)

    def get(self, path: str, params: dict) -> dict:
        return self._check(path, self.session.get(self.base + API + path, params=params, timeout=300))

    @staticmethod
    def _check(path: str, response: requests.Response) -> dict:
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def experiment(self, name: str) -> str:
        return self.post("/experiments/create", {"name": name})["experiment_id"]

    def run(self, experiment_id: str, name: str) -> str:
        run = self.post("/runs/create", {"experiment_id": experiment_id, "run_name": name,
                                         "start_time": int(time.time() * 1000)})["run"]
        return run["info"]["run_id"]

    def history(self, run_id: str, key: str) -> list[dict]:
        points, page_token = [], None
        while True:
            params = {"run_id": run_id, "metric_key": key, "max_results": 25000}
            if page_token:
                params["page_token"] = page_token
            reply = self.get("/metrics/get-history", params)
            points.extend(reply.get("metrics", []))
            page_token = reply.get("next_page_token")
            if not page_token:
                return points


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# ---------------------------------------------------------------- workload 1: log-batch ingest, 8 threads
def _ingest_body(run_id: str, request_index: int, ts: int) -> bytes:
    steps = 1000 // INGEST_KEYS
    first = request_index * steps
    metrics = [{"key": f"m{k}", "value": (first + s) * 0.001 + k, "timestamp": ts + first + s, "step": first + s}
               for s in range(steps) for k in range(INGEST_KEYS)]
    return json.dumps({"run_id": run_id, "metrics": metrics}).encode()


def ingest(t: Target, threads: int, per_thread: int) -> dict:
    exp = t.experiment(f"ingest-{time.time_ns()}")
    run_ids = [t.run(exp, f"client-{i}") for i in range(threads)]
    warm = t.run(exp, "warm-up")
    ts = int(time.time() * 1000)
    t.post("/runs/log-batch", _ingest_body(warm, 0, ts))  # not counted

    # every body is encoded before the clock starts: the load generator shares the cores with the server, and
    # JSON-encoding 1000 metrics costs the client ≈ 7 ms a request that would otherwise be charged to the server
    bodies = {run_id: [_ingest_body(run_id, i, ts) for i in range(per_thread)] for run_id in run_ids}

    def client(run_id: str) -> list[float]:
        latencies = []
        for body in bodies[run_id]:
            started = time.perf_counter()
            reply = t.post("/runs/log-batch", body)
            latencies.append(time.perf_counter() - started)
            assert reply == {}, reply
        return latencies

    sampler = RssSampler(t.proc)
    sampler.start()
    before = _cpu_by_process(t.proc)
    with ThreadPoolExecutor(threads) as pool:
        elapsed, latencies = _timed(lambda: [x for lats in pool.map(client, run_ids) for x in lats])
    after = _cpu_by_process(t.proc)
    peak = sampler.stop()
    stored = sum(len(t.history(r, f"m{k}")) for r in run_ids for k in range(INGEST_KEYS))
    total = threads * per_thread * 1000
    assert stored == total, f"{t.name}: stored {stored} of {total} points"
    return {"points": total, "seconds": elapsed, "points_per_s": total / elapsed, "stored": stored,
            "p50_ms": percentile(latencies, 0.5) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000,
            "peak_rss_mb": peak / 2**20,  # how the work fell on the server's processes (a lopsided split = one busy)
            "server_cpu_s": sorted((round(after[pid] - before.get(pid, 0.0), 2) for pid in after), reverse=True)}


def _cpu_by_process(proc: psutil.Process) -> dict[int, float]:
    return {p.pid: sum(p.cpu_times()[:2]) for p in [proc, *proc.children(recursive=True)]}


# ---------------------------------------------------------------- workload 2: single log-metric latency
def log_metric(t: Target, count: int) -> dict:
    run_id = t.run(t.experiment(f"log-metric-{time.time_ns()}"), "sequential")
    ts = int(time.time() * 1000)
    for i in range(10):  # warm-up, not counted
        t.post("/runs/log-metric", {"run_id": run_id, "key": "warm", "value": i, "timestamp": ts, "step": i})
    latencies = []
    for i in range(count):
        body = json.dumps({"run_id": run_id, "key": "loss", "value": 1.0 / (i + 1), "timestamp": ts + i,
                           "step": i}).encode()
        seconds, reply = _timed(lambda: t.post("/runs/log-metric", body))
        assert reply == {}, reply
        latencies.append(seconds)
    stored = len(t.history(run_id, "loss"))
    assert stored == count, f"{t.name}: stored {stored} of {count} log-metric points"
    return {"requests": count, "stored": stored, "p50_ms": percentile(latencies, 0.5) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000, "seconds": sum(latencies)}


# ---------------------------------------------------------------- workloads 3 + 4: search and paging
def run_data(count: int) -> list[dict]:
    """The same deterministic params/metrics for every target."""
    rng = random.Random(42)
    return [{"name": f"run-{i:05d}", "lr": LRS[i % len(LRS)], "batch": str(2 ** (4 + i % 5)),
             "accuracy": round(rng.random(), 6), "loss": round(rng.random() * 3, 6)} for i in range(count)]


def seed_runs(t: Target, data: list[dict], threads: int = 8) -> tuple[str, float]:
    exp = t.experiment(f"search-{time.time_ns()}")
    ts = int(time.time() * 1000)

    def one(row: dict) -> None:
        run_id = t.run(exp, row["name"])
        t.post("/runs/log-batch", {"run_id": run_id,
                                   "params": [{"key": "lr", "value": row["lr"]},
                                              {"key": "batch_size", "value": row["batch"]}],
                                   "metrics": [{"key": "accuracy", "value": row["accuracy"], "timestamp": ts,
                                                "step": 0},
                                               {"key": "loss", "value": row["loss"], "timestamp": ts, "step": 0}],
                                   "tags": [{"key": "seed", "value": "bench"}]})

    with ThreadPoolExecutor(threads) as pool:
        seconds, _ = _timed(lambda: list(pool.map(one, data)))
    return exp, seconds


def _metric(run: dict, key: str) -> float:
    return next(m["value"] for m in run["data"].get("metrics", []) if m["key"] == key)


def search(t: Target, exp: str, data: list[dict], repeats: int) -> dict:
    expected = sorted((r for r in data if r["accuracy"] > 0.5 and r["lr"] == "0.01"), key=lambda r: -r["accuracy"])
    body = {"experiment_ids": [exp], "filter": FILTER, "order_by": ORDER_BY, "max_results": 1000,
            "run_view_type": "ACTIVE_ONLY"}
    times = []
    for _ in range(repeats):
        seconds, reply = _timed(lambda: t.post("/runs/search", body))
        times.append(seconds)
        runs = reply.get("runs", [])
        assert len(runs) == min(1000, len(expected)), f"{t.name}: {len(runs)} runs, expected {len(expected)}"
        got = [_metric(r, "accuracy") for r in runs]
        assert got == [r["accuracy"] for r in expected[:1000]], f"{t.name}: wrong order or rows"
        assert all(p["value"] == "0.01" for r in runs for p in r["data"]["params"] if p["key"] == "lr")
    return {"matches": len(expected), "first_s": times[0], "seconds": statistics.median(times),
            "page_runs": min(1000, len(expected))}


def paging(t: Target, exp: str, count: int, repeats: int) -> dict:
    times, pages = [], 0
    for _ in range(repeats):
        def walk() -> list[str]:
            nonlocal pages
            ids, page_token, pages = [], None, 0
            while True:
                body = {"experiment_ids": [exp], "max_results": 1000, "run_view_type": "ACTIVE_ONLY"}
                if page_token:
                    body["page_token"] = page_token
                reply = t.post("/runs/search", body)
                pages += 1
                ids.extend(r["info"]["run_id"] for r in reply.get("runs", []))
                page_token = reply.get("next_page_token")
                if not page_token:
                    return ids
        seconds, ids = _timed(walk)
        assert len(ids) == count and len(set(ids)) == count, f"{t.name}: paged {len(ids)}/{len(set(ids))} of {count}"
        times.append(seconds)
    return {"runs": count, "pages": pages, "first_s": times[0], "seconds": statistics.median(times)}


# ---------------------------------------------------------------- workload 5: get-history of 200k points
def seed_history(t: Target, points: int, threads: int = 8) -> tuple[str, float]:
    run_id = t.run(t.experiment(f"history-{time.time_ns()}"), "long")
    ts = int(time.time() * 1000)
    t.post("/runs/log-metric", {"run_id": run_id, "key": "loss", "value": 0.0, "timestamp": ts, "step": 0})

    def chunk(first: int) -> None:
        metrics = [{"key": "loss", "value": 1.0 / (s + 1), "timestamp": ts + s, "step": s}
                   for s in range(max(first, 1), min(first + 1000, points))]
        if metrics:
            t.post("/runs/log-batch", json.dumps({"run_id": run_id, "metrics": metrics}).encode())

    with ThreadPoolExecutor(threads) as pool:
        seconds, _ = _timed(lambda: list(pool.map(chunk, range(0, points, 1000))))
    return run_id, seconds


def history(t: Target, run_id: str, points: int, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        seconds, got = _timed(lambda: t.history(run_id, "loss"))
        assert len(got) == points, f"{t.name}: history has {len(got)} of {points} points"
        assert len({p["step"] for p in got}) == points, f"{t.name}: duplicate steps in history"
        times.append(seconds)
    return {"points": points, "first_s": times[0], "seconds": statistics.median(times)}


# ---------------------------------------------------------------- targets
@contextmanager
def ours(backend: str, workers: int) -> Iterator[Target]:
    with server(backend, workers=workers) as (base, proc):
        db_url = proc.environ().get("DATABASE_URL", "")
        yield Target("ours", base, {"Authorization": f"Bearer {token(base)}"}, proc, db_url)


def analyze(t: Target) -> None:
    """VACUUM and ANALYZE the target's Postgres database after seeding, as autovacuum would on a production server
    (this machine's Postgres runs with autovacuum=off, so without it the planner sees never-analyzed tables)."""
    if not t.db_url:
        return
    from sqlalchemy import create_engine, text

    engine = create_engine("postgresql+psycopg2://" + t.db_url.split("://", 1)[1], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE)"))  # as autovacuum does after this many inserts (visibility map, hints)
        conn.execute(text("CHECKPOINT"))  # the seeding's dirty pages are written now, not during the timed reads
    engine.dispose()
    wait_settled(t.proc)


def _psycopg2_url(url: str) -> str:
    """SQLAlchemy 2.1 (in MLflow's venv) maps postgresql:// to psycopg 3; the venv has psycopg2."""
    return "postgresql+psycopg2://" + url.split("://", 1)[1]


@contextmanager
def theirs(backend: str, workers: int) -> Iterator[Target]:
    if backend == "postgres":
        with fresh_pg_database() as url, mlflow_server(_psycopg2_url(url), workers) as (base, proc):
            yield Target("mlflow", base, {}, proc, url)
    else:
        with tempfile.TemporaryDirectory(prefix="et-bench-mlflow-db-") as tmp, \
                mlflow_server(f"sqlite:///{tmp}/mlflow.db", workers) as (base, proc):
            yield Target("mlflow", base, {}, proc)


def measure(t: Target, args: argparse.Namespace, log: Callable[[str], None]) -> dict:
    out: dict = {}
    if "ingest" in args.workloads:
        out["ingest"] = ingest(t, args.threads, args.requests)
        log(f"{t.name} ingest: {out['ingest']}")
    if "log-metric" in args.workloads:
        out["log-metric"] = log_metric(t, args.log_metric)
        log(f"{t.name} log-metric: {out['log-metric']}")
    if "search" in args.workloads or "paging" in args.workloads:
        data = run_data(args.runs)
        exp, seeded = seed_runs(t, data)
        log(f"{t.name}: seeded {args.runs} runs in {seeded:.1f} s")
        out["seed_runs_s"] = seeded
        if args.analyze:
            analyze(t)
        if "search" in args.workloads:
            out["search"] = search(t, exp, data, args.repeats)
            log(f"{t.name} search: {out['search']}")
        if "paging" in args.workloads:
            out["paging"] = paging(t, exp, args.runs, args.repeats)
            log(f"{t.name} paging: {out['paging']}")
    if "history" in args.workloads:
        run_id, seeded = seed_history(t, args.history_points)
        out["seed_history_s"] = seeded
        if args.analyze:
            analyze(t)
        log(f"{t.name}: seeded {args.history_points} points in {seeded:.1f} s")
        out["history"] = history(t, run_id, args.history_points, args.repeats)
        log(f"{t.name} history: {out['history']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, the same for both servers")
    parser.add_argument("--threads", type=int, default=8, help="ingest client threads")
    parser.add_argument("--requests", type=int, default=25, help="log-batch requests per ingest thread")
    parser.add_argument("--log-metric", type=int, default=500, help="sequential log-metric requests")
    parser.add_argument("--runs", type=int, default=10_000, help="runs seeded for search and paging")
    parser.add_argument("--history-points", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the read workloads (median reported)")
    parser.add_argument("--small", action="store_true",
                        help="reduced sizes: 5 requests/thread, 200 log-metric, 2000 runs, 50000 history points")
    parser.add_argument("--only", choices=["ours", "mlflow"], help="measure one server only")
    parser.add_argument("--workloads", default="ingest,log-metric,search,paging,history")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--no-analyze", dest="analyze", action="store_false",
                        help="skip ANALYZE of both Postgres databases after seeding")
    args = parser.parse_args()
    args.workloads = set(args.workloads.split(","))
    if args.small:
        args.requests, args.log_metric, args.runs, args.history_points = 5, 200, 2000, 50_000

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {msg}", file=sys.stderr, flush=True)

    loads = [os.getloadavg()]
    results: dict = {}
    sides = [("ours", ours), ("mlflow", theirs)]
    for name, start in sides:
        if args.only and args.only != name:
            continue
        with start(args.backend, args.workers) as target:
            log(f"{name} up at {target.base}")
            started = time.perf_counter()
            results[name] = measure(target, args, log)
            results[name]["wall_s"] = time.perf_counter() - started
        loads.append(os.getloadavg())
    header = {
        "machine": f"{platform.node()} {platform.machine()}, {psutil.cpu_count()} cores, "
                   f"{psutil.virtual_memory().total / 2**30:.1f} GiB, Python {platform.python_version()}",
        "mlflow": mlflow_version() if "mlflow" in results else "-",
        "backend": args.backend, "workers": args.workers,
        "sizes": f"ingest {args.threads}x{args.requests}x1000 points, log-metric {args.log_metric}, "
                 f"runs {args.runs}, history {args.history_points} points, repeats {args.repeats} (median)",
        "load (1/5/15 min) at start and after each server": [tuple(round(x, 2) for x in l) for l in loads],
    }
    print("\n".join(f"{k}: {v}" for k, v in header.items()))
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"header": header, "results": results}, indent=2))


if __name__ == "__main__":
    main()
