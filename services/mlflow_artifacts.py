"""MLflow's artifact proxy on our store: `<experiment>/<run>/artifacts/<path>` keys become artifact rows of the
run (uploaded through services.artifacts, so they show in our API), listed as MLflow's directory tree."""
from __future__ import annotations

import posixpath
from typing import BinaryIO, Iterator

from sqlalchemy import select

from db.models import Artifact
from services import artifacts as artifact_service
from services.access import require_run
from services.context import Actor, Core
from services.errors import Invalid, NotFound
from services.mlflow_store import artifact_root, load_run

_TYPES = {"model": (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".onnx", ".h5", ".keras", ".safetensors", ".ckpt"),
          "image": (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp"),
          "table": (".csv", ".tsv", ".parquet", ".feather"),
          "config": (".json", ".yaml", ".yml", ".toml", ".cfg", ".ini"),
          "log": (".log",), "text": (".txt", ".md", ".html")}
MAX_NAME = 500
_MODEL_FILES = {"MLmodel", "conda.yaml", "python_env.yaml", "requirements.txt"}


def artifact_type(name: str) -> str:
    base = posixpath.basename(name)
    if base in _MODEL_FILES:
        return "model"
    suffix = posixpath.splitext(base)[1].lower()
    return next((kind for kind, suffixes in _TYPES.items() if suffix in suffixes), "other")


def split_proxy_path(path: str) -> tuple[str, str, str]:
    """"<experiment>/<run>/artifacts[/<name>]" → (experiment_id, run_id, name or "")."""
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[2] != "artifacts" or not parts[0] or not parts[1]:
        raise NotFound(f"artifact path {path[:200]!r} is not <experiment_id>/<run_id>/artifacts/<path>", "path")
    name = "/".join(parts[3:])
    if any(part in ("", ".", "..") for part in name.split("/")) and name:
        raise Invalid(f"artifact path {name[:200]!r} has an empty, '.' or '..' segment", "path")
    if len(name) > MAX_NAME:  # artifacts.name is a VARCHAR(500); Postgres would refuse it with a 500
        raise Invalid(f"artifact path is longer than {MAX_NAME} characters", "path")
    return parts[0], parts[1], name


def _check_experiment(run_experiment_id: str, experiment_id: str, run_id: str) -> None:
    if experiment_id != run_experiment_id:
        raise NotFound(f"run {run_id} is not in experiment {experiment_id}", "path")


def upload(core: Core, actor: Actor, path: str, stream: BinaryIO, content_type: str) -> dict:
    experiment_id, run_id, name = split_proxy_path(path)
    if not name:
        raise Invalid("the artifact path names a directory, not a file", "path")
    with core.sessions() as session:
        _check_experiment(require_run(session, actor, run_id, "editor").experiment_id, experiment_id, run_id)
    return artifact_service.upload(core, actor, run_id, name, stream, type=artifact_type(name),
                                   metadata={"source": "mlflow"}, content_type=content_type)


def open_file(core: Core, actor: Actor, path: str) -> tuple[dict, Iterator[bytes]]:
    experiment_id, run_id, name = split_proxy_path(path)
    with core.sessions() as session:
        run = require_run(session, actor, run_id)
        _check_experiment(run.experiment_id, experiment_id, run_id)
        artifact_id = session.execute(select(Artifact.id).where(Artifact.run_pk == run.pk, Artifact.name == name)
                                      ).scalar()
    if artifact_id is None:
        raise NotFound(f"artifact {name!r} not found in run {run_id}", "path")
    return artifact_service.open_artifact(core, actor, run_id, artifact_id)


def list_files(core: Core, actor: Actor, run_id: str, path: str, relative: bool) -> tuple[str, list[dict]]:
    """(root uri, entries directly under path): dirs and files with sizes; a file path lists nothing.
    relative=True names entries relative to path (the proxy's form), else relative to the run's root."""
    path = path.strip("/")
    if path and any(part in ("", ".", "..") for part in path.split("/")):
        raise Invalid(f"artifact path {path[:200]!r} has an empty, '.' or '..' segment", "path")
    prefix = f"{path}/" if path else ""
    with core.sessions() as session:
        run = load_run(session, actor, run_id)
        root = artifact_root(run.experiment_id, run.id)
        stmt = select(Artifact.name, Artifact.size_bytes).where(Artifact.run_pk == run.pk)
        if path:
            stmt = stmt.where((Artifact.name == path) | Artifact.name.startswith(prefix, autoescape=True))
        rows = session.execute(stmt.order_by(Artifact.name)).all()
    entries: dict[str, dict] = {}
    for name, size in rows:
        if name == path:
            return root, []
        head, sep, _rest = name[len(prefix):].partition("/")
        shown = head if relative else prefix + head
        if sep:
            entries.setdefault(shown, {"path": shown, "is_dir": True})
        else:
            entries[shown] = {"path": shown, "is_dir": False, **({"file_size": size} if size is not None else {})}
    return root, list(entries.values())


def list_proxy(core: Core, actor: Actor, path: str) -> list[dict]:
    """The proxy's listing: `path` is "<experiment>/<run>/artifacts[/<dir>]"."""
    if not path.strip("/"):
        return []
    experiment_id, run_id, name = split_proxy_path(path)
    with core.sessions() as session:
        _check_experiment(load_run(session, actor, run_id).experiment_id, experiment_id, run_id)
    return list_files(core, actor, run_id, name, relative=True)[1]
