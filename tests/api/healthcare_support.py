"""Shared by the healthcare workflow tests: the seed's template and parameters, response checks, and the `lab` fixture
(alice's project with an experiment made from the built-in healthcare template)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from services import accounts, metrics, projects, runs
from tests.conftest import PASSWORD

TS = 1_700_000_000_000
PARAMS = {"algorithm": "MultinomialNB", "training_data": "s3://data/train.csv", "alpha": 0.1}
SEED_EXPERIMENT = {  # the seed's healthcare_experiment, as a template body
    "name": "healthcare-classifier-optimization", "type": "classification", "domain": "healthcare",
    "metrics": ["accuracy", "f1_score", "precision", "recall", "crisis_detection_rate", "response_quality_score"],
    "validation_criteria": {"accuracy": ">= 0.95", "crisis_detection_rate": ">= 0.99"},
    "model_registry_integration": {"auto_register": True, "promotion_criteria": "validation_passed"}}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    return json.loads(response.get_data(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def refused(response: Any, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    error = response.get_json()["error"]
    if field is not None:
        assert error.get("field") == field, error
    return error


def put(api: Any, url: str, body: Any) -> Any:
    """conftest's Api has no put: send it through its Flask client with the same token."""
    return api.client.put(url, json=body, headers=api._headers())


class Lab:
    """alice's project with an experiment made from the built-in healthcare template."""

    def __init__(self, core, api) -> None:  # noqa: ANN001
        self.core, self.api = core, api
        self.actor = accounts.authenticate(core, "alice", PASSWORD)
        self.project_id = projects.create_project(core, self.actor, "health", team="ml-team")["id"]
        self.exp = ok(api.post("/api/v1/experiments/from-template", json={
            "project_id": self.project_id, "template_id": "healthcare-classification", "name": "hc"}), 201)
        self.exp_id = self.exp["id"]

    def run(self, name: str, values: dict[str, float], params: dict | None = None, step: int = 0,
            exp_id: str | None = None) -> str:
        run_id = runs.create_run(self.core, self.actor, exp_id or self.exp_id, name=name,
                                 parameters=PARAMS if params is None else params)["id"]
        if values:
            self.log(run_id, values, step)
        return run_id

    def log(self, run_id: str, values: dict[str, float], step: int) -> None:
        metrics.log_points(self.core, self.actor, run_id,
                           [metrics.Point(k, v, step, TS + step) for k, v in values.items()])


@pytest.fixture
def lab(core, make_user) -> Lab:  # noqa: ANN001
    return Lab(core, make_user("alice", team="ml-team", role="editor"))


def by_metric(items: list[dict]) -> dict[str, dict]:
    return {item["metric"]: item for item in items}
