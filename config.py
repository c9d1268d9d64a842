"""Settings read from the environment (the seed's variable names), with embedded defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Mapping

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
LOG_LEVELS = {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message is one line for the operator."""


@dataclass(frozen=True)
class Settings:
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8003
    log_level: str = "INFO"
    data_dir: str = "./data"
    database_url: str = ""  # empty: SQLite file under data_dir
    database_pool_size: int = 20
    redis_url: str = ""  # empty: in-process cache and live bus
    redis_ttl: int = 3600
    minio_endpoint: str = ""  # empty: artifacts on local disk under data_dir
    minio_access_key: str = "minioadmin"
    minio_secret_key: str = "minioadmin"
    minio_secure: bool = False
    minio_region: str = "us-east-1"
    storage_bucket_experiments: str = "experiments"
    storage_bucket_artifacts: str = "artifacts"
    model_registry_url: str = "http://localhost:8000"
    pipeline_orchestrator_url: str = "http://localhost:8001"
    feature_store_url: str = "http://localhost:8002"
    enable_real_time_plots: bool = True
    plot_backend: str = "plotly"
    max_concurrent_visualizations: int = 50
    secret_key: str = ""  # empty: generated once and kept in data_dir
    admin_username: str = ""
    admin_password: str = ""
    max_request_bytes: int = 32 * 1024 * 1024

    @property
    def effective_database_url(self) -> str:
        """DATABASE_URL, or the embedded SQLite file under DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'tracking.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return Path(self.data_dir) / "artifacts"

    def with_overrides(self, **changes: object) -> "Settings":
        return replace(self, **changes)


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def _parse_int(name: str, raw: str, minimum: int, maximum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name}={value} is out of range ({minimum}..{maximum})")
    return value


_INT_RANGES = {
    "port": (1, 65535),
    "database_pool_size": (1, 1000),
    "redis_ttl": (1, 30 * 24 * 3600),
    "max_concurrent_visualizations": (1, 10000),
    "max_request_bytes": (1024, 2**34),
}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from environment variables named after the fields in upper case."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(f.name.upper())
        if raw is None:
            continue
        if f.type == "bool":
            values[f.name] = _parse_bool(f.name.upper(), raw)
        elif f.type == "int":
            values[f.name] = _parse_int(f.name.upper(), raw, *_INT_RANGES[f.name])
        else:
            values[f.name] = raw.strip()
    settings = Settings(**values)  # type: ignore[arg-type]
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    """Reject values that would only fail later, with a one-line reason."""
    if settings.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL={settings.log_level!r} is not one of {', '.join(sorted(LOG_LEVELS))}")
    url = settings.database_url
    if url and not url.startswith(("sqlite:", "postgresql:", "postgresql+psycopg2:", "postgres:")):
        raise ConfigError(f"DATABASE_URL must start with postgresql:// or sqlite:/// (got {url.split(':')[0]}:...)")
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://")
    if settings.minio_endpoint and "://" in settings.minio_endpoint:
        raise ConfigError("MINIO_ENDPOINT is host:port without a scheme (set MINIO_SECURE=true for https)")
    if settings.plot_backend != "plotly":
        raise ConfigError(f"PLOT_BACKEND={settings.plot_backend!r} is not supported (only plotly)")
