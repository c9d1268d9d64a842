"""Settings read from the environment (the seed's variable names), with embedded defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Mapping

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
LOG_LEVELS = {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}
LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}
DATABASE_SCHEMES = ("sqlite:", "postgresql:", "postgresql+psycopg2:", "postgres:")


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
    """Build Settings from environment variables named after the fields in upper case.

    An unset or empty variable keeps the embedded default. Raises ConfigError naming the variable.
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(f.name.upper())
        if raw is None or not raw.strip():
            continue
        if f.type == "bool":
            values[f.name] = _parse_bool(f.name.upper(), raw)
        elif f.type == "int":
            values[f.name] = _parse_int(f.name.upper(), raw, *_INT_RANGES[f.name])
        else:
            values[f.name] = raw.strip()
    _normalise(values)
    settings = Settings(**values)  # type: ignore[arg-type]
    validate(settings)
    return settings


def _normalise(values: dict[str, object]) -> None:
    """Spellings users copy from elsewhere: lower-case levels, WARN, an http(s):// MinIO endpoint."""
    if "log_level" in values:
        level = str(values["log_level"]).upper()
        values["log_level"] = LEVEL_ALIASES.get(level, level)
    if "plot_backend" in values:
        values["plot_backend"] = str(values["plot_backend"]).lower()
    endpoint = str(values.get("minio_endpoint", ""))
    scheme, sep, rest = endpoint.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        values["minio_endpoint"] = rest.rstrip("/")
        values.setdefault("minio_secure", scheme.lower() == "https")


def validate(settings: Settings) -> None:
    """Reject values that would only fail later, with a one-line reason naming the variable."""
    if settings.log_level.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL={settings.log_level!r} is not one of {', '.join(sorted(LOG_LEVELS))}")
    _validate_database_url(settings.database_url)
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix:// "
                          f"(got {_scheme(settings.redis_url)})")
    endpoint = settings.minio_endpoint
    if endpoint and ("://" in endpoint or "/" in endpoint or not endpoint.strip(":")):
        raise ConfigError(f"MINIO_ENDPOINT={endpoint!r} is not host:port (set MINIO_SECURE=true for https)")
    if endpoint and ":" in endpoint and not endpoint.rsplit(":", 1)[1].isdigit():
        raise ConfigError(f"MINIO_ENDPOINT={endpoint!r} has a port that is not a number")
    for name in ("model_registry_url", "pipeline_orchestrator_url", "feature_store_url"):
        value = getattr(settings, name)
        if value and not value.startswith(("http://", "https://")):
            raise ConfigError(f"{name.upper()}={value!r} must start with http:// or https://")
    if settings.plot_backend != "plotly":
        raise ConfigError(f"PLOT_BACKEND={settings.plot_backend!r} is not supported (only plotly)")
    if bool(settings.admin_username) != bool(settings.admin_password):
        raise ConfigError("ADMIN_USERNAME and ADMIN_PASSWORD must be set together (or neither)")


def _scheme(url: str) -> str:
    """The part before '://' (never the rest, which may hold a password)."""
    return url.split("://", 1)[0] + "://..." if "://" in url else "no scheme"


def _validate_database_url(url: str) -> None:
    if not url:
        return
    if not url.startswith(DATABASE_SCHEMES):
        raise ConfigError(f"DATABASE_URL must start with postgresql:// or sqlite:/// (got {_scheme(url)})")
    if url.startswith("sqlite:"):
        path = url.split("?", 1)[0][len("sqlite:"):]
        if path in ("", "//", "///", "///:memory:") or ":memory:" in path or "mode=memory" in url:
            raise ConfigError("DATABASE_URL is an in-memory SQLite database: use a file, sqlite:////abs/path.db")
        if not path.startswith("///"):
            raise ConfigError("DATABASE_URL for SQLite needs three slashes and a file: sqlite:////abs/path.db")
