"""/api/v1 best run of an experiment, model-promotion hooks, and feature usage of a run."""
from __future__ import annotations

from typing import Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from api.common import ERRORS, SECURITY, actor, core, page_reply, reply
from api.schemas import ExperimentPath, Number, PageOut, PageQuery, RunPath, RunStatus, Strict
from services import best_run, feature_usage
from services.paging import check_limit, offset_from, offset_page


class BestRunQuery(BaseModel):
    metric: str = Field(max_length=250, description="metric key, e.g. accuracy")
    mode: Literal["max", "min", "maximize", "minimize"] = "max"
    summary: Literal["last", "min", "max"] = Field("last", description="which per-run summary of the metric to rank")
    status: RunStatus | None = Field(None, description="only runs with this status, e.g. FINISHED")


class HookCreate(Strict):
    criteria: dict[str, str] = Field(examples=[{"accuracy": ">= 0.95", "crisis_detection_rate": ">= 0.99"}])
    registry_url: str = Field(max_length=2000, examples=["http://model-registry:8000"])
    name: str | None = Field(None, max_length=200)


class HookPath(BaseModel):
    experiment_id: str
    hook_id: str


class FeatureUsageBody(Strict):
    feature_sets: list[str] = Field(default_factory=list, max_length=1000,
                                    examples=[["user_features", "context_features"]])
    feature_importance: dict[str, Number] = Field(default_factory=dict, examples=[{"age": 0.31, "tenure": 0.12}])


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_best_run", __name__, url_prefix="/api/v1", abp_responses=ERRORS, abp_security=SECURITY)
    best_tag, hook_tag, feature_tag = Tag(name="best run"), Tag(name="promotion hooks"), Tag(name="feature usage")

    @bp.get("/experiments/<experiment_id>/best-run", tags=[best_tag])
    def get_best_run(path: ExperimentPath, query: BestRunQuery):  # noqa: ANN202
        """The run with the best summary of a metric (404 when no run has it); includes its artifacts."""
        return reply(best_run.best_run(core(), actor(), path.experiment_id, query.metric, query.mode,
                                       query.summary, query.status))

    @bp.post("/experiments/<experiment_id>/promotion-hooks", tags=[hook_tag], responses={201: None})
    def add_hook(path: ExperimentPath, body: HookCreate):  # noqa: ANN202
        """Register a model-promotion hook: criteria such as {"accuracy": ">= 0.95"} and a registry URL."""
        return reply(best_run.add_promotion_hook(core(), actor(), path.experiment_id, body.criteria,
                                                 body.registry_url, body.name), 201)

    @bp.get("/experiments/<experiment_id>/promotion-hooks", tags=[hook_tag], responses={200: PageOut})
    def list_hooks(path: ExperimentPath, query: PageQuery):  # noqa: ANN202
        """The experiment's promotion hooks; paged like every list (a few per experiment, kept in its settings)."""
        limit, offset = check_limit(query.limit), offset_from(query.cursor)
        hooks = best_run.list_promotion_hooks(core(), actor(), path.experiment_id)
        return page_reply(offset_page(hooks[offset:offset + limit + 1], offset, limit, len(hooks)))

    @bp.delete("/experiments/<experiment_id>/promotion-hooks/<hook_id>", tags=[hook_tag], responses={204: None})
    def delete_hook(path: HookPath):  # noqa: ANN202
        """Remove a promotion hook (editors)."""
        best_run.delete_promotion_hook(core(), actor(), path.experiment_id, path.hook_id)
        return reply({}, 204)

    @bp.get("/runs/<run_id>/promotion-check", tags=[hook_tag])
    def promotion_check(path: RunPath):  # noqa: ANN202
        """Whether this run meets each promotion hook of its experiment, with the registration payload."""
        return reply(best_run.promotion_check(core(), actor(), path.run_id))

    @bp.post("/runs/<run_id>/feature-usage", tags=[feature_tag], responses={201: None})
    def log_feature_usage(path: RunPath, body: FeatureUsageBody):  # noqa: ANN202
        """Record the feature sets a run used and their importance (merged with earlier calls)."""
        return reply(feature_usage.log_feature_usage(core(), actor(), path.run_id, body.feature_sets,
                                                body.feature_importance), 201)

    @bp.get("/runs/<run_id>/feature-usage", tags=[feature_tag])
    def get_feature_usage(path: RunPath):  # noqa: ANN202
        """Feature sets and importance per feature logged for a run; empty when none were."""
        return reply(feature_usage.feature_usage(core(), actor(), path.run_id))

    return bp
