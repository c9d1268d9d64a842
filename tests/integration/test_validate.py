"""The seed's self-check script: a table of what is fine, non-zero exit on any failure."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "MINIO_ENDPOINT")}
    return subprocess.run([sys.executable, "validate_experiment_tracking.py"], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


def test_all_checks_pass_on_a_started_embedded_install(tmp_path: Path) -> None:
    from app import create_app
    from config import Settings

    create_app(Settings(data_dir=str(tmp_path), secret_key="x"))
    result = _run({"DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 of 5 checks passed" in result.stdout
    assert "FAIL" not in result.stdout


def test_unreachable_services_fail_with_a_row_each(tmp_path: Path) -> None:
    result = _run({"DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
                   "REDIS_URL": "redis://127.0.0.1:1"})
    assert result.returncode == 1
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "FAIL" in rows["database"] and "FAIL" in rows["redis"]
    assert "Traceback" not in result.stdout + result.stderr


def test_bad_configuration_is_one_failing_row(tmp_path: Path) -> None:
    result = _run({"DATA_DIR": str(tmp_path), "PORT": "eighty"})
    assert result.returncode == 1
    assert "PORT='eighty' is not a whole number" in result.stdout
