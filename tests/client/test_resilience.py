"""Zero points lost: the server is killed and restarted under a logging run; a client process that dies with
undelivered data leaves a spool the next Tracker replays; runs resume."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from experiment_tracker import Tracker
from experiment_tracker.spool import Spool
from tests.client.server import ROOT, ServerProcess, wait_for

KEYS = ("loss", "accuracy", "learning_rate", "grad_norm")


def counts(http, run_id: str) -> dict[str, int]:  # noqa: ANN001
    response = http("GET", f"/api/v1/runs/{run_id}/metrics")
    assert response.status_code == 200, response.text
    return {m["key"]: m["count"] for m in response.json()["metrics"]}


def steps_of(http, run_id: str, key: str) -> list[int]:  # noqa: ANN001
    response = http("GET", f"/api/v1/runs/{run_id}/metrics/{key}", params={"limit": 25_000})
    assert response.status_code == 200, response.text
    return [p["step"] for p in response.json()["items"]]


@pytest.fixture
def resilient(server: ServerProcess, token: str, tmp_path: Path):  # noqa: ANN201
    t = Tracker(server.url, token, spool_dir=tmp_path / "spool", linger=0.05, retries=1, max_backoff=0.5,
                request_timeout=10, capture_environment=False)
    yield t
    t.close(timeout=30)


def test_no_point_is_lost_when_the_server_is_killed_and_restarted_mid_run(server: ServerProcess, resilient: Tracker,
                                                                          experiment: dict, http) -> None:
    run = resilient.start_run(experiment["id"], name="through-a-restart")

    def log(steps: range) -> None:
        for step in steps:
            run.log_metrics({key: step / (i + 1) for i, key in enumerate(KEYS)}, step=step)

    log(range(0, 2000))
    wait_for(lambda: resilient.stats.delivered >= 2000, 60, "the first batches to be delivered")
    server.kill()  # SIGKILL while batches are in flight
    log(range(2000, 3500))
    wait_for(lambda: not resilient.online and resilient.stats.spooled > 0, 60, "the client to spool")
    restart = threading.Thread(target=server.start)
    restart.start()
    log(range(3500, 5000))  # while the server is starting up again
    restart.join()

    assert resilient.flush(timeout=180), resilient.stats
    assert counts(http, run.id) == {key: 5000 for key in KEYS}  # 20,000 points, each exactly once
    assert steps_of(http, run.id, "grad_norm") == list(range(5000))
    assert resilient.stats.replayed > 0 and resilient.stats.spooled == 0
    assert resilient.stats.rejected == 0 and resilient.stats.duplicates == 0
    run.finish()
    assert http("GET", f"/api/v1/runs/{run.id}").json()["status"] == "FINISHED"


CLIENT_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys, time
    from experiment_tracker import Tracker

    url, token, spool, run_id, mode = sys.argv[1:6]
    tracker = Tracker(url, token, spool_dir=spool, retries=0, finish_timeout=1, linger=0.05,
                      capture_environment=False)
    run = tracker.resume_run(run_id)              # the server is down: resumed offline
    for step in range(3000):
        run.log_metrics({"x": float(step), "y": 2.0 * step}, step=step)
    run.log_params({"late_param": 7})             # spooled as a PATCH
    run.finish()                                  # cannot reach the server: the status is spooled too
    print(json.dumps(tracker.stats.as_dict()), flush=True)
    if mode == "sigkill":                         # die without any clean-up: only the disk remains
        deadline = time.monotonic() + 30
        while tracker.queue.idle() is False and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGKILL)
""")


@pytest.mark.parametrize("mode", ["exit", "sigkill"])
def test_a_client_that_ends_while_the_server_is_down_is_replayed_by_the_next_tracker(
        mode: str, server: ServerProcess, token: str, experiment: dict, http, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    first = Tracker(server.url, token, spool_dir=spool, capture_environment=False)
    run_id = first.start_run(experiment["id"], name=f"left-behind-{mode}").id
    first.close()
    server.kill()
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "client"), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, server.url, token, str(spool), run_id, mode],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == (-9 if mode == "sigkill" else 0), done.stderr[-3000:]
        stats = json.loads(done.stdout.strip().splitlines()[0])
        assert stats["logged"] == 6000 and stats["delivered"] == 0
        left = list(spool.glob(f"*/{run_id}/*.json"))
        assert left, "the dead client left nothing in the spool"
    finally:
        server.start()

    second = Tracker(server.url, token, spool_dir=spool, capture_environment=False, linger=0.05)
    try:
        assert second.flush(timeout=120), second.stats
        assert second.stats.replayed == 6000 and second.stats.spooled == 0
    finally:
        second.close()
    assert counts(http, run_id) == {"x": 3000, "y": 3000}
    run = http("GET", f"/api/v1/runs/{run_id}").json()
    assert run["parameters"]["late_param"] == "7"
    assert run["status"] == "FINISHED"
    assert not list(spool.glob(f"*/{run_id}")), "the replayed run's spool directory should be gone"


def test_resume_run_reopens_a_run_and_continues_its_steps(resilient: Tracker, experiment: dict, http) -> None:
    with resilient.start_run(experiment["id"]) as run:
        for _ in range(10):
            run.log_metrics({"loss": 0.5})  # steps 0..9
    resumed = resilient.resume_run(run.id)
    assert http("GET", f"/api/v1/runs/{run.id}").json()["status"] == "RUNNING"
    resumed.log_metrics({"loss": 0.25})
    resumed.finish()
    assert steps_of(http, run.id, "loss") == list(range(11))
    assert http("GET", f"/api/v1/runs/{run.id}").json()["status"] == "FINISHED"


def test_a_run_spool_is_replayed_by_one_process_only(server: ServerProcess, token: str, tmp_path: Path) -> None:
    holder = Spool(tmp_path / "spool", server.url)  # another process's live run, in effect
    assert holder.claim("gone-run")
    record = holder.write("gone-run", "patch", {"tags": {"a": "b"}})
    other = Tracker(server.url, token, spool_dir=tmp_path / "spool", capture_environment=False)
    try:
        assert "gone-run" not in other.spool.claimed() and record.exists()  # the holder's lock keeps it out
        holder.release("gone-run")
        other.close()
        other = Tracker(server.url, token, spool_dir=tmp_path / "spool", capture_environment=False)
        # now it is a leftover: replayed; the server answers 404 for this run, so the record is set aside
        wait_for(lambda: (record.parent / "dead" / record.name).exists(), 30, "the refused record in dead/")
        assert not record.exists()
    finally:
        other.close()


EXIT_SCRIPT = textwrap.dedent("""
    import sys
    from experiment_tracker import Tracker

    url, token, spool, experiment_id, ending = sys.argv[1:6]
    run = Tracker(url, token, spool_dir=spool, capture_environment=False).start_run(experiment_id)
    for step in range(500):
        run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
    print(run.id, flush=True)
    if ending == "crash":
        raise SystemError("training blew up")   # uncaught; the script never calls finish()
""")


@pytest.mark.parametrize(("ending", "status"), [("return", "FINISHED"), ("crash", "FAILED")])
def test_runs_left_open_are_ended_and_flushed_at_interpreter_exit(ending: str, status: str, server: ServerProcess,
                                                                  token: str, experiment: dict, http,
                                                                  tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "client"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, server.url, token, str(tmp_path / "spool"),
                           experiment["id"], ending], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == (0 if ending == "return" else 1), done.stderr[-3000:]
    run_id = done.stdout.split()[0]
    assert http("GET", f"/api/v1/runs/{run_id}").json()["status"] == status
    assert counts(http, run_id) == {"loss": 500}
