"""Client throughput against a real `python app.py` (SQLite) on this machine; prints figures, asserts nothing.

    python client/bench_throughput.py [points]

1. log rate: how fast log_metrics returns (the training loop's cost), 10 metrics per call.
2. delivered: points/s from the first call until flush() returns (bounded by the server's ingest).
3. offline: the server is killed; points/s the client accepts while spooling to disk.
4. replay: the server is back; points/s until the spool is drained.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "client")]

from experiment_tracker import Tracker  # noqa: E402
from tests.client.server import ServerProcess  # noqa: E402

KEYS = [f"metric_{i}" for i in range(10)]


def log(run, steps: range) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for step in steps:
        run.log_metrics({key: step * 0.001 + i for i, key in enumerate(KEYS)}, step=step)
    return time.perf_counter() - started


def main(points: int = 100_000) -> None:
    steps = points // len(KEYS)
    work = Path(tempfile.mkdtemp(prefix="et-bench-"))
    server = ServerProcess(work / "server")
    (work / "server").mkdir()
    server.start()
    try:
        tracker = Tracker(server.url, server.token(), spool_dir=work / "spool", capture_environment=False,
                          max_backoff=0.5)
        project = tracker.create_project("bench", team="bench")
        run = tracker.start_run(tracker.create_experiment(project["id"], "client")["id"])

        started = time.perf_counter()
        logging_s = log(run, range(steps))
        assert tracker.flush(timeout=600)
        total_s = time.perf_counter() - started
        print(f"log_metrics: {points / logging_s:,.0f} points/s ({steps / logging_s:,.0f} calls/s of "
              f"{len(KEYS)} metrics)")
        print(f"delivered:   {points / total_s:,.0f} points/s end to end ({points:,} points, "
              f"{tracker.stats.requests} requests)")

        server.kill()
        offline_s = log(run, range(steps, 2 * steps))
        assert tracker.flush(timeout=2) is False
        wait = time.perf_counter()
        while not tracker.queue.idle():
            time.sleep(0.01)
        spooled_s = offline_s + time.perf_counter() - wait
        print(f"offline:     {points / offline_s:,.0f} points/s accepted, {points / spooled_s:,.0f} points/s "
              f"on disk ({tracker.stats.spooled:,} spooled)")

        server.start()
        replay_started = time.perf_counter()
        assert tracker.flush(timeout=600)
        print(f"replay:      {points / (time.perf_counter() - replay_started):,.0f} points/s after the restart")
        run.finish()
        tracker.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
