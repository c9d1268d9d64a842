"""load_settings: every seed variable is read, defaults are embedded, bad values name the variable."""
from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, Settings, load_settings

SEED_ENV = {
    "DEBUG": "false", "HOST": "0.0.0.0", "PORT": "8003", "LOG_LEVEL": "INFO",
    "DATABASE_URL": "postgresql://user:pass@host:5432/db", "DATABASE_POOL_SIZE": "20",
    "REDIS_URL": "redis://localhost:6379", "REDIS_TTL": "3600",
    "MINIO_ENDPOINT": "localhost:9000", "MINIO_ACCESS_KEY": "minioadmin", "MINIO_SECRET_KEY": "minioadmin",
    "STORAGE_BUCKET_EXPERIMENTS": "experiments", "STORAGE_BUCKET_ARTIFACTS": "artifacts",
    "MODEL_REGISTRY_URL": "http://localhost:8000", "PIPELINE_ORCHESTRATOR_URL": "http://localhost:8001",
    "FEATURE_STORE_URL": "http://localhost:8002",
    "ENABLE_REAL_TIME_PLOTS": "true", "PLOT_BACKEND": "plotly", "MAX_CONCURRENT_VISUALIZATIONS": "50",
}


def test_defaults_are_embedded_mode_on_localhost_8003() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.debug, settings.log_level) == ("127.0.0.1", 8003, False, "INFO")
    assert settings.database_url == "" and settings.redis_url == "" and settings.minio_endpoint == ""
    expected_db = (Path("./data") / "tracking.db").resolve()
    assert settings.effective_database_url == f"sqlite:///{expected_db}"
    assert settings.artifacts_dir == Path("./data") / "artifacts"
    assert settings.enable_real_time_plots is True


def test_data_dir_moves_database_and_artifacts(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'tracking.db'}"
    assert settings.artifacts_dir == tmp_path / "artifacts"


def test_the_seed_configuration_block_is_read_as_written() -> None:
    settings = load_settings(SEED_ENV)
    assert settings == Settings(
        debug=False, host="0.0.0.0", port=8003, log_level="INFO",
        database_url="postgresql://user:pass@host:5432/db", database_pool_size=20,
        redis_url="redis://localhost:6379", redis_ttl=3600,
        minio_endpoint="localhost:9000", minio_access_key="minioadmin", minio_secret_key="minioadmin",
        storage_bucket_experiments="experiments", storage_bucket_artifacts="artifacts",
        model_registry_url="http://localhost:8000", pipeline_orchestrator_url="http://localhost:8001",
        feature_store_url="http://localhost:8002",
        enable_real_time_plots=True, plot_backend="plotly", max_concurrent_visualizations=50)
    assert settings.effective_database_url == "postgresql://user:pass@host:5432/db"


def test_every_seed_variable_overrides_its_default() -> None:
    env = {
        "DEBUG": "true", "HOST": "0.0.0.0", "PORT": "9100", "LOG_LEVEL": "debug",
        "DATABASE_URL": "postgres://u:p@db:5433/et", "DATABASE_POOL_SIZE": "7",
        "REDIS_URL": "redis://cache:6380/2", "REDIS_TTL": "60",
        "MINIO_ENDPOINT": "s3.local:9001", "MINIO_ACCESS_KEY": "ak", "MINIO_SECRET_KEY": "sk",
        "STORAGE_BUCKET_EXPERIMENTS": "exp-b", "STORAGE_BUCKET_ARTIFACTS": "art-b",
        "MODEL_REGISTRY_URL": "https://registry:1", "PIPELINE_ORCHESTRATOR_URL": "https://orch:2",
        "FEATURE_STORE_URL": "https://fs:3",
        "ENABLE_REAL_TIME_PLOTS": "false", "PLOT_BACKEND": "Plotly", "MAX_CONCURRENT_VISUALIZATIONS": "3",
    }
    s = load_settings(env)
    assert (s.debug, s.host, s.port, s.log_level) == (True, "0.0.0.0", 9100, "DEBUG")
    assert (s.database_url, s.database_pool_size) == ("postgres://u:p@db:5433/et", 7)
    assert (s.redis_url, s.redis_ttl) == ("redis://cache:6380/2", 60)
    assert (s.minio_endpoint, s.minio_access_key, s.minio_secret_key) == ("s3.local:9001", "ak", "sk")
    assert (s.storage_bucket_experiments, s.storage_bucket_artifacts) == ("exp-b", "art-b")
    assert (s.model_registry_url, s.pipeline_orchestrator_url, s.feature_store_url) == (
        "https://registry:1", "https://orch:2", "https://fs:3")
    assert (s.enable_real_time_plots, s.plot_backend, s.max_concurrent_visualizations) == (False, "plotly", 3)


@pytest.mark.parametrize("raw, expected", [("true", True), ("1", True), ("YES", True), (" on ", True),
                                           ("false", False), ("0", False), ("No", False), ("off", False)])
def test_booleans_accept_the_usual_spellings(raw: str, expected: bool) -> None:
    assert load_settings({"ENABLE_REAL_TIME_PLOTS": raw}).enable_real_time_plots is expected
    assert load_settings({"DEBUG": raw}).debug is expected


def test_empty_variables_keep_the_defaults() -> None:
    settings = load_settings({"PORT": "", "ENABLE_REAL_TIME_PLOTS": " ", "DATABASE_URL": "", "LOG_LEVEL": ""})
    assert (settings.port, settings.enable_real_time_plots, settings.log_level) == (8003, True, "INFO")
    assert settings.effective_database_url.startswith("sqlite:///")


def test_friendly_spellings_are_normalised() -> None:
    assert load_settings({"LOG_LEVEL": "warn"}).log_level == "WARNING"
    secure = load_settings({"MINIO_ENDPOINT": "https://minio.example:9000/"})
    assert (secure.minio_endpoint, secure.minio_secure) == ("minio.example:9000", True)
    plain = load_settings({"MINIO_ENDPOINT": "http://localhost:9000"})
    assert (plain.minio_endpoint, plain.minio_secure) == ("localhost:9000", False)


BAD = [
    ({"PORT": "abc"}, "PORT"),
    ({"PORT": "0"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"DEBUG": "maybe"}, "DEBUG"),
    ({"ENABLE_REAL_TIME_PLOTS": "2"}, "ENABLE_REAL_TIME_PLOTS"),
    ({"DATABASE_URL": "garbage"}, "DATABASE_URL"),
    ({"DATABASE_URL": "mysql://u:secret@h/db"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite://"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:///:memory:"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:relative.db"}, "DATABASE_URL"),
    ({"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE"),
    ({"DATABASE_POOL_SIZE": "lots"}, "DATABASE_POOL_SIZE"),
    ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
    ({"REDIS_TTL": "-5"}, "REDIS_TTL"),
    ({"REDIS_TTL": "1h"}, "REDIS_TTL"),
    ({"MINIO_ENDPOINT": "s3://bucket"}, "MINIO_ENDPOINT"),
    ({"MINIO_ENDPOINT": "minio:ninety"}, "MINIO_ENDPOINT"),
    ({"MODEL_REGISTRY_URL": "registry:8000"}, "MODEL_REGISTRY_URL"),
    ({"PIPELINE_ORCHESTRATOR_URL": "ftp://x"}, "PIPELINE_ORCHESTRATOR_URL"),
    ({"FEATURE_STORE_URL": "fs"}, "FEATURE_STORE_URL"),
    ({"PLOT_BACKEND": "matplotlib"}, "PLOT_BACKEND"),
    ({"MAX_CONCURRENT_VISUALIZATIONS": "0"}, "MAX_CONCURRENT_VISUALIZATIONS"),
    ({"MAX_CONCURRENT_VISUALIZATIONS": "many"}, "MAX_CONCURRENT_VISUALIZATIONS"),
    ({"ADMIN_USERNAME": "root"}, "ADMIN_PASSWORD"),
]


@pytest.mark.parametrize("env, variable", BAD, ids=[f"{v}={list(e.values())[0]}" for e, v in BAD])
def test_bad_values_raise_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert variable in message
    assert "\n" not in message and len(message) < 200


def test_errors_never_echo_database_passwords() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DATABASE_URL": "mysql://admin:hunter2@db/prod"})
    assert "hunter2" not in str(caught.value)
