"""MLflow UI links on the dashboard: /experiments/0 (the mlflow client's default experiment) opens the signed-in
user's "Default" experiment; assets/mlflow_links.js maps the client's /#/experiments/... links to our pages."""
from __future__ import annotations

from flask import Response, g, redirect, request

from api.common import core
from services import mlflow_store

DEFAULT_PAGE = f"/experiments/{mlflow_store.DEFAULT_ID}"


def default_experiment_page() -> Response | None:
    """Redirect to the user's "Default" experiment; without one the page answers its usual "not found"."""
    if request.path != DEFAULT_PAGE or g.get("session_actor") is None:
        return None
    resolved = mlflow_store.default_experiment_id(core(), g.session_actor, create=False)
    return redirect(f"/experiments/{resolved}") if resolved else None


def register(server: object) -> None:
    """After the auth guard, which puts the signed-in user on the request."""
    server.before_request(default_experiment_page)  # type: ignore[attr-defined]
