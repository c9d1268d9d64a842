"""The Python client against the real server: runs, params, tags, metrics, artifacts, context manager,
decorator, environment capture, system metrics, and the metric queue's edge cases."""
from __future__ import annotations

import hashlib
import logging
import math
import subprocess
from pathlib import Path

import pytest

from experiment_tracker import Tracker, TrackerError, active_run
from tests.client.server import wait_for


def counts(http, run_id: str) -> dict[str, int]:  # noqa: ANN001
    response = http("GET", f"/api/v1/runs/{run_id}/metrics")
    assert response.status_code == 200, response.text
    return {m["key"]: m["count"] for m in response.json()["metrics"]}


def test_a_run_logs_params_tags_metrics_and_artifacts(tracker: Tracker, experiment: dict, http, tmp_path: Path
                                                      ) -> None:
    model = tmp_path / "model.pkl"
    model.write_bytes(b"\x00weights" * 1000)
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "loss.png").write_bytes(b"png-bytes")
    (folder / "sub" / "cm.txt").write_text("confusion")

    with tracker.start_run(experiment["id"], name="run-001", parameters={"algorithm": "MultinomialNB"}) as run:
        assert active_run() is run
        run.log_params({"alpha": 0.1, "max_features": 10000})
        run.set_tags({"stage": "baseline"})
        for _ in range(3):
            run.log_metrics({"accuracy": 0.9, "training_loss": 0.3})  # steps 0, 1, 2
        run.log_metric("accuracy", 0.952, step=100)
        uploaded = run.log_artifact(model, type="model", metadata={"framework": "sklearn"})
        assert uploaded[0]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
        assert sorted(a["name"] for a in run.log_artifact(folder)) == ["plots/loss.png", "plots/sub/cm.txt"]
        run.register_artifact("data.csv", "s3://experiments/run-001/data.csv", type="data", size_bytes=10)
    assert active_run() is None

    info = tracker.get_run(run.id)
    assert info.status == "FINISHED" and info.end_time is not None
    assert info.parameters == {"algorithm": "MultinomialNB", "alpha": "0.1", "max_features": "10000"}
    assert info.tags == {"stage": "baseline"}
    assert info.metrics == {"accuracy": 0.952, "training_loss": 0.3}
    assert info.metric_summaries["accuracy"]["count"] == 4 and info.metric_summaries["accuracy"]["last_step"] == 100
    assert [p["step"] for p in tracker.metric_history(run.id, "training_loss")] == [0, 1, 2]
    stored = {a["name"]: a for a in info.artifacts}
    assert set(stored) == {"model.pkl", "plots/loss.png", "plots/sub/cm.txt", "data.csv"}
    assert stored["data.csv"]["path"] == "s3://experiments/run-001/data.csv" and not stored["data.csv"]["stored"]
    assert stored["model.pkl"]["type"] == "model" and stored["model.pkl"]["metadata"] == {"framework": "sklearn"}
    body = http("GET", stored["model.pkl"]["download_url"]).content
    assert body == model.read_bytes()


def test_params_are_write_once(tracker: Tracker, experiment: dict) -> None:
    with tracker.start_run(experiment["id"], parameters={"alpha": 0.1}) as run:
        run.log_params({"alpha": 0.1})  # the same value again is fine
        with pytest.raises(TrackerError) as caught:
            run.log_params({"alpha": 0.2})
    assert caught.value.status == 409 and caught.value.field == "parameters.alpha"


def test_an_exception_marks_the_run_failed_and_is_not_swallowed(tracker: Tracker, experiment: dict) -> None:
    with pytest.raises(ZeroDivisionError):
        with tracker.start_run(experiment["id"], name="doomed") as run:
            run.log_metrics({"loss": 1.0}, step=0)
            1 / 0  # noqa: B018
    info = tracker.get_run(run.id)
    assert info.status == "FAILED"
    assert info.tags["error"].startswith("ZeroDivisionError")
    assert info.metric_summaries["loss"]["count"] == 1  # what was logged before the failure is kept


def test_the_decorator_makes_each_call_a_run(tracker: Tracker, experiment: dict) -> None:
    @tracker.track(experiment_id=experiment["id"])
    def train(alpha: float, epochs: int = 3, run=None):  # noqa: ANN001, ANN202
        for epoch in range(epochs):
            run.log_metrics({"loss": alpha / (epoch + 1)}, step=epoch)
        if alpha < 0:
            raise ValueError("negative alpha")
        return run.id

    run_id = train(0.5)
    info = tracker.get_run(run_id)
    assert info.name == "train" and info.status == "FINISHED"
    assert info.parameters == {"alpha": "0.5", "epochs": "3"}
    assert info.metric_summaries["loss"]["count"] == 3
    with pytest.raises(ValueError):
        train(-1.0, epochs=1)
    failed = [r for r in tracker.list_runs(experiment["id"]) if r["status"] == "FAILED"]
    assert len(failed) == 1 and failed[0]["name"] == "train"


def test_the_environment_and_git_state_are_captured(tracker: Tracker, experiment: dict, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "train.py").write_text("alpha = 0.1\n")
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    (repo / "train.py").write_text("alpha = 0.2  # uncommitted\n")
    monkeypatch.chdir(repo)

    run = tracker.start_run(experiment["id"], capture_environment=True, environment={"cluster": "gpu-a"})
    run.finish()
    info = tracker.get_run(run.id)
    env = info.environment
    assert info.git_commit == commit
    assert env["git"]["commit"] == commit and env["git"]["dirty"] is True
    assert "+alpha = 0.2  # uncommitted" in env["git"]["diff"]
    assert env["cluster"] == "gpu-a"
    assert env["python_version"].count(".") == 2 and env["platform"]
    assert env["packages"]["requests"]  # importlib.metadata sees the installed distributions


def test_system_metrics_are_sampled_while_the_run_lives(tracker: Tracker, experiment: dict, http) -> None:
    pytest.importorskip("psutil")
    run = tracker.start_run(experiment["id"], system_metrics=0.1)
    wait_for(lambda: run._monitor.samples >= 3, 30, "three system-metric samples")
    run.finish()
    seen = counts(http, run.id)
    assert seen["system/cpu_percent"] >= 3 and seen["system/memory_percent"] == seen["system/cpu_percent"]
    run_data = http("GET", f"/api/v1/runs/{run.id}").json()
    assert 0 <= run_data["metrics"]["system/memory_percent"]["last"] <= 100


def test_bad_keys_raise_at_once_and_nonfinite_values_are_skipped_loudly(tracker: Tracker, experiment: dict, http,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    with tracker.start_run(experiment["id"]) as run:
        with pytest.raises(ValueError):
            run.log_metrics({"bad key!": 1.0})
        with caplog.at_level(logging.WARNING, logger="experiment_tracker"):
            run.log_metrics({"loss": math.nan, "accuracy": 0.5}, step=0)
            run.log_metrics({"loss": math.inf}, step=1)
    assert tracker.stats.skipped_nonfinite == 2
    assert sum("'loss' is nan" in r.getMessage() for r in caplog.records) == 1  # one warning per key
    assert counts(http, run.id) == {"accuracy": 1}


def test_many_log_calls_coalesce_into_few_batches(server, token: str, experiment: dict, http,
                                                  tmp_path: Path) -> None:
    default = Tracker(server.url, token, spool_dir=tmp_path / "spool", capture_environment=False)  # linger 0.5 s
    try:
        with default.start_run(experiment["id"]) as run:
            requests_before = default.stats.requests
            for step in range(5000):
                run.log_metrics({"a": step * 0.1, "b": 1.0}, step=step)
            assert run.flush(timeout=120)
            used = default.stats.requests - requests_before
    finally:
        default.close()
    assert counts(http, run.id) == {"a": 5000, "b": 5000}
    assert 10 <= used <= 25  # ≤ 1000 points per request, and not one request per call


def test_a_full_queue_spills_to_disk_instead_of_dropping(server, token: str, experiment: dict, http,
                                                         tmp_path: Path) -> None:
    small = Tracker(server.url, token, spool_dir=tmp_path / "small", queue_capacity=200, block_timeout=0.0,
                    linger=0.05, capture_environment=False)
    try:
        run = small.start_run(experiment["id"])
        for step in range(6000):
            run.log_metrics({"x": float(step)}, step=step)
        assert small.stats.logged == 6000 and small.stats.spilled > 0
        assert run.flush(timeout=120)
        run.finish()
    finally:
        small.close()
    assert counts(http, run.id) == {"x": 6000}
    assert small.stats.delivered + small.stats.replayed >= 6000


def test_a_repeated_point_is_isolated_and_the_rest_of_its_batch_stored(tracker: Tracker, experiment: dict,
                                                                       http) -> None:
    with tracker.start_run(experiment["id"]) as run:
        run.log_metrics({"loss": 0.5}, step=7, timestamp=1_700_000_000_000)
        assert run.flush(timeout=60)
        run.log_metrics({"loss": 0.5}, step=7, timestamp=1_700_000_000_000)  # the same key, step and time
        for step in range(8, 40):
            run.log_metrics({"loss": 0.1, "acc": 0.9}, step=step)
        assert run.flush(timeout=60)
    assert counts(http, run.id) == {"loss": 33, "acc": 32}
    assert tracker.stats.duplicates == 1


def test_a_value_the_server_refuses_is_kept_aside_and_the_rest_stored(tracker: Tracker, experiment: dict, http,
                                                                      spool_dir: Path) -> None:
    with tracker.start_run(experiment["id"]) as run:
        for step in range(50):
            run.log_metrics({"loss": 0.1}, step=step)
        run.log_metrics({"loss": 0.1}, step=2**60)  # beyond the API's step range
        assert run.flush(timeout=60)
    assert counts(http, run.id) == {"loss": 50}
    assert tracker.stats.rejected == 1
    dead = list(spool_dir.glob(f"*/{run.id}/dead/*.json"))
    assert len(dead) == 1 and str(2**60) in dead[0].read_text()
