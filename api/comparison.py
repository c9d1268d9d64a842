"""/api/v1/experiments/compare and /api/v1/comparisons/{id}: statistical comparison of experiments, stored."""
from __future__ import annotations

from typing import Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, StrictInt

from api.common import ERRORS, SECURITY, actor, core, reply
from api.schemas import Number, Strict
from services import comparison

Mode = Literal["max", "min", "maximize", "minimize"]


class CompareBody(Strict):
    experiment_ids: list[str] = Field(max_length=comparison.MAX_EXPERIMENTS, examples=[["exp-1", "exp-2", "exp-3"]],
                                      description="2 to 20 experiments; each run is one sample")
    metrics: list[str] = Field(max_length=comparison.MAX_METRICS, examples=[["accuracy", "f1_score"]],
                               description="the first metric decides best_experiment")
    visualization: str = Field("parallel_coordinates", description="|".join(comparison.VISUALIZATIONS))
    test: Literal["welch", "mannwhitney"] = Field(
        "welch", description="two experiments: Welch's t or Mann-Whitney U; more: ANOVA or Kruskal-Wallis "
                             "plus Holm-adjusted pairwise tests")
    summary: Literal["last", "min", "max", "best"] = Field(
        "last", description="the per-run value compared: last logged, min, max, or best by the metric's mode")
    mode: dict[str, Mode] | None = Field(None, examples=[{"accuracy": "max"}],
                                         description="which direction is better (default max; min for names "
                                                     "containing loss or error)")
    alpha: Number = Field(0.05, description="significance level, in (0, 0.5]")
    seed: StrictInt = Field(0, description="bootstrap seed (same seed, same intervals)")


class ComparisonPath(BaseModel):
    comparison_id: str


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_comparison", __name__, url_prefix="/api/v1", abp_responses=ERRORS, abp_security=SECURITY)
    tag = Tag(name="comparison")

    @bp.post("/experiments/compare", tags=[tag], responses={201: None})
    def compare(body: CompareBody):  # noqa: ANN202
        """Compare experiments on metrics: best experiment, significance tests, effect sizes, bootstrap CIs."""
        return reply(comparison.compare(core(), actor(), body.experiment_ids, body.metrics, body.visualization,
                                        body.test, body.summary, body.mode, body.alpha, body.seed), 201)

    @bp.get("/comparisons/<comparison_id>", tags=[tag])
    def get_comparison(path: ComparisonPath):  # noqa: ANN202
        """A stored comparison (visible to users who can see all of its experiments)."""
        return reply(comparison.get_comparison(core(), actor(), path.comparison_id))

    return bp
