"""/api/2.0/mlflow/...: the tracking endpoints the mlflow 3.x client calls (experiments, runs, metrics, search)."""
from __future__ import annotations

import json
from itertools import repeat
from typing import Callable

from flask import Blueprint
from flask.wrappers import Response

from api.common import actor, core
from api.mlflow.wire import (BadRequest, error, fields, key_values, optional_int, reply, run_id, string_list,
                             text)
from services import mlflow_experiments as experiments
from services import mlflow_runs as runs
from services.mlflow_artifacts import list_files
from services.mlflow_metrics import history_json, make_point, make_points
from services.mlflow_search import search_experiments
from services.mlflow_search_json import search_runs_json

Handler = Callable[[dict], dict | Response | None]
ROUTES: dict[tuple[str, str], Handler] = {}


def endpoint(path: str, method: str = "POST") -> Callable[[Handler], Handler]:
    def add(fn: Handler) -> Handler:
        ROUTES[(path, method)] = fn
        return fn
    return add


@endpoint("/experiments/create")
def create_experiment(data: dict) -> dict:
    tags = dict(key_values(data, "tags"))
    return {"experiment_id": experiments.create(core(), actor(), text(data, "name"), tags)}


@endpoint("/experiments/get", "GET")
def get_experiment(data: dict) -> dict:
    return {"experiment": experiments.get(core(), actor(), text(data, "experiment_id"))}


@endpoint("/experiments/get-by-name", "GET")
def get_experiment_by_name(data: dict) -> dict:
    return {"experiment": experiments.get_by_name(core(), actor(), text(data, "experiment_name"))}


@endpoint("/experiments/search")
@endpoint("/experiments/search", "GET")
def search_experiments_view(data: dict) -> dict:
    items, token = search_experiments(core(), actor(), data.get("view_type"), optional_int(data, "max_results"),
                                      text(data, "filter", False), string_list(data, "order_by"),
                                      text(data, "page_token", False))
    return {"experiments": items, **({"next_page_token": token} if token else {})}


@endpoint("/experiments/update")
def update_experiment(data: dict) -> None:
    new_name = text(data, "new_name", False)
    if new_name:
        experiments.rename(core(), actor(), text(data, "experiment_id"), new_name)


@endpoint("/experiments/delete")
def delete_experiment(data: dict) -> None:
    experiments.set_lifecycle(core(), actor(), text(data, "experiment_id"), deleted=True)


@endpoint("/experiments/restore")
def restore_experiment(data: dict) -> None:
    experiments.set_lifecycle(core(), actor(), text(data, "experiment_id"), deleted=False)


@endpoint("/experiments/set-experiment-tag")
def set_experiment_tag(data: dict) -> None:
    experiments.set_tag(core(), actor(), text(data, "experiment_id"), text(data, "key"),
                        text(data, "value", False) or "")


@endpoint("/experiments/delete-experiment-tag")
def delete_experiment_tag(data: dict) -> None:
    experiments.delete_tag(core(), actor(), text(data, "experiment_id"), text(data, "key"))


@endpoint("/runs/create")
def create_run(data: dict) -> dict:
    run = runs.create(core(), actor(), text(data, "experiment_id", False) or "0", optional_int(data, "start_time"),
                      dict(key_values(data, "tags")), text(data, "run_name", False))
    return {"run": run}


@endpoint("/runs/get", "GET")
def get_run(data: dict) -> dict:
    return {"run": runs.get(core(), actor(), run_id(data))}


@endpoint("/runs/update")
def update_run(data: dict) -> dict:
    status = text(data, "status", False)
    if status is not None and status not in ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"):
        raise BadRequest(f"Invalid value {status!r} for parameter 'status' supplied.")
    info = runs.update(core(), actor(), run_id(data), status, optional_int(data, "end_time"),
                       text(data, "run_name", False))
    return {"run_info": info}


@endpoint("/runs/delete")
def delete_run(data: dict) -> None:
    runs.delete(core(), actor(), run_id(data))


@endpoint("/runs/restore")
def restore_run(data: dict) -> None:
    runs.restore(core(), actor(), run_id(data))


@endpoint("/runs/log-metric")
def log_metric(data: dict) -> None:
    point = make_point(text(data, "key"), data.get("value"), data.get("timestamp"), data.get("step"))
    runs.log_batch(core(), actor(), run_id(data), [point], [], [])


@endpoint("/runs/log-parameter")
def log_param(data: dict) -> None:
    params = {text(data, "key"): text(data, "value", False) or ""}
    runs.check_params(params)
    runs.write(core(), actor(), run_id(data), params=params)


@endpoint("/runs/set-tag")
def set_tag(data: dict) -> None:
    tags = {text(data, "key"): text(data, "value", False) or ""}
    runs.check_tags(tags)
    runs.write(core(), actor(), run_id(data), tags=tags)


@endpoint("/runs/delete-tag")
def delete_tag(data: dict) -> None:
    runs.delete_tag(core(), actor(), run_id(data), text(data, "key"))


@endpoint("/runs/log-batch")
def log_batch(data: dict) -> None:
    metrics = data.get("metrics") or []
    if not isinstance(metrics, list) or not all(map(isinstance, metrics, repeat(dict))):
        raise BadRequest("Invalid value for parameter 'metrics' supplied: expected a list of metrics.")
    points = make_points(metrics)
    runs.log_batch(core(), actor(), run_id(data), points, key_values(data, "params"), key_values(data, "tags"))


@endpoint("/runs/log-inputs")
def log_inputs(data: dict) -> None:
    runs.log_inputs(core(), actor(), run_id(data))


@endpoint("/runs/search")
def search_runs_view(data: dict) -> Response:
    """Up to 50,000 runs a page: the runs array comes as JSON text (built by the database on Postgres) and is
    spliced into the body, never parsed and re-encoded here."""
    page, token = search_runs_json(core(), actor(), string_list(data, "experiment_ids"), text(data, "filter", False),
                                   data.get("run_view_type"), optional_int(data, "max_results"),
                                   string_list(data, "order_by"), text(data, "page_token", False))
    tail = f',"next_page_token":{json.dumps(token)}}}' if token else "}"
    return Response('{"runs":' + page + tail, mimetype="application/json")


@endpoint("/metrics/get-history", "GET")
def get_metric_history(data: dict) -> Response:
    """Pages of up to 25,000 points: the body is written by the service, not built as dicts and re-encoded."""
    body = history_json(core(), actor(), run_id(data), text(data, "metric_key"),
                        optional_int(data, "max_results"), text(data, "page_token", False))
    return Response(body, mimetype="application/json")


@endpoint("/artifacts/list", "GET")
def list_artifacts(data: dict) -> dict:
    root, files = list_files(core(), actor(), run_id(data), text(data, "path", False) or "", relative=False)
    return {"root_uri": root, "files": files}


@endpoint("/logged-models/search")
def search_logged_models(data: dict) -> dict:
    return {}


def _view(handler: Handler) -> Callable[[], Response]:
    def view() -> Response:
        result = handler(fields())
        return result if isinstance(result, Response) else reply(result)
    view.__name__ = handler.__name__
    return view


def blueprint() -> Blueprint:
    bp = Blueprint("mlflow_tracking", __name__, url_prefix="/api/2.0/mlflow")
    for (path, method), handler in ROUTES.items():
        bp.add_url_rule(path, f"{handler.__name__}_{method.lower()}", _view(handler), methods=[method])

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def not_found(rest: str) -> Response:
        return error(404, "ENDPOINT_NOT_FOUND", f"this server does not implement /api/2.0/mlflow/{rest}")

    return bp
