"""Ingest benchmark: 8 concurrent clients post 1000-point batches to /api/v1/runs/{id}/metrics; prints points/s."""
from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from common import RssSampler, percentile, server, token

METRICS_PER_STEP = 10


def _setup(base: str, headers: dict, clients: int) -> list[str]:
    project = requests.post(base + "/api/v1/projects", json={"name": f"bench-{time.time_ns()}", "team": "bench"},
                            headers=headers).json()
    exp = requests.post(base + "/api/v1/experiments", json={"project_id": project["id"], "name": "ingest"},
                        headers=headers).json()
    return [requests.post(f"{base}/api/v1/experiments/{exp['id']}/runs", json={"name": f"client-{i}"},
                          headers=headers).json()["id"] for i in range(clients)]


def _payload(request_index: int, points: int) -> bytes:
    steps_per_request = points // METRICS_PER_STEP
    first = request_index * steps_per_request
    steps = [{"step": first + s, "metrics": {f"m{k}": (first + s) * 0.001 + k for k in range(METRICS_PER_STEP)}}
             for s in range(steps_per_request)]
    return json.dumps({"steps": steps}).encode()


def _client(base: str, headers: dict, run_id: str, bodies: list[bytes], points: int) -> list[float]:
    session = requests.Session()
    latencies = []
    for body in bodies:
        started = time.perf_counter()
        response = session.post(f"{base}/api/v1/runs/{run_id}/metrics", data=body, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 201 or response.json()["accepted"] != points:
            raise RuntimeError(f"ingest failed: {response.status_code} {response.text[:200]}")
    return latencies


def run(backend: str, clients: int, requests_per_client: int, points: int, workers: int) -> dict:
    with server(backend, workers=workers) as (base, proc):
        headers = {"Authorization": f"Bearer {token(base)}", "Content-Type": "application/json"}
        run_ids = _setup(base, headers, clients)
        _client(base, headers, run_ids[0], [_payload(0, points)], points)  # warm-up (not counted)
        # encoded before the clock starts: the clients share the 2 cores with the server
        bodies = [_payload(i, points) for i in range(requests_per_client)]  # the same steps for every run
        sampler = RssSampler(proc)
        sampler.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            futures = [pool.submit(_client, base, headers, rid, bodies, points) for rid in run_ids]
            latencies = [lat for f in futures for lat in f.result()]
        elapsed = time.perf_counter() - started
        peak = sampler.stop()
        check = requests.get(f"{base}/api/v1/runs/{run_ids[1]}/metrics", headers=headers).json()["metrics"]
        stored = sum(m["count"] for m in check)
        assert stored == requests_per_client * points, f"stored {stored} points, expected more"
    total = clients * requests_per_client * points
    return {"backend": backend, "points": total, "seconds": elapsed, "points_per_s": total / elapsed,
            "p50_ms": percentile(latencies, 0.5) * 1000, "p95_ms": percentile(latencies, 0.95) * 1000,
            "peak_rss_mb": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=25, help="requests per client")
    parser.add_argument("--points", type=int, default=1000, help="points per request")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (postgres mode)")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(f"{'backend':9} {'points':>8} {'seconds':>8} {'points/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'peak RSS MB':>12}")
    for backend in backends:
        r = run(backend, args.clients, args.requests, args.points, args.workers)
        print(f"{r['backend']:9} {r['points']:8d} {r['seconds']:8.2f} {r['points_per_s']:10.0f} {r['p50_ms']:8.1f} "
              f"{r['p95_ms']:8.1f} {r['peak_rss_mb']:12.0f}", flush=True)


if __name__ == "__main__":
    main()
