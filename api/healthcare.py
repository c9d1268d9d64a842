"""/api/v1 healthcare workflow: experiment templates, safety gates, safety panels, hypothesis verdicts, dashboard."""
from __future__ import annotations

from typing import Any, Literal

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from api.common import ERRORS, SECURITY, actor, core, page_reply, reply
from api.schemas import ExperimentPath, Number, PageOut, PageQuery, RunPath, Strict
from services import run_gates, safety, templates
from services.paging import check_limit, offset_from, offset_page

Summary = Literal["last", "min", "max", "best"]
CRITERIA_EXAMPLE = {"accuracy": ">= 0.95", "crisis_detection_rate": ">= 0.99"}


class HypothesisCriterion(Strict):
    metric: str = Field(max_length=250, examples=["accuracy"])
    op: Literal[">=", "<=", ">", "<", "=="] = Field(examples=[">="])
    threshold: Number = Field(examples=[0.95])
    summary: Summary = Field("last", description="the per-run value judged: last logged, min, max, or best")


class TemplateCreate(Strict):
    """The seed's template shape (parameters, metrics, validation, artifacts) or its healthcare_experiment shape
    (type, domain, metrics, validation_criteria, model_registry_integration); both may be mixed."""

    name: str = Field(max_length=200, examples=["Healthcare Classification Experiment"])
    team: str | None = Field(None, max_length=100, description="owning team (default: your only editable team)")
    description: str = Field("", max_length=10_000)
    type: str | None = Field(None, max_length=50, examples=["classification"])
    domain: str | None = Field(None, max_length=50, examples=["healthcare"])
    parameters: dict[str, Any] | None = Field(None, examples=[{"required": ["algorithm", "training_data"],
                                                               "optional": ["max_features", "alpha"]}])
    metrics: list[str] | None = Field(None, max_length=100, examples=[["accuracy", "crisis_detection_rate"]])
    validation: dict[str, Number] | None = Field(None, examples=[{"required_accuracy": 0.95,
                                                                  "required_crisis_detection": 0.99}])
    validation_criteria: dict[str, str] | None = Field(None, examples=[CRITERIA_EXAMPLE])
    artifacts: list[str] | None = Field(None, max_length=100, examples=[["model", "preprocessor"]])
    model_registry_integration: dict[str, Any] | None = None
    hypothesis_criterion: HypothesisCriterion | None = None


class FromTemplate(Strict):
    project_id: str
    template_id: str = Field(max_length=100, examples=["healthcare-classification"])
    name: str = Field(max_length=200, examples=["healthcare-classifier-optimization"])
    description: str = Field("", max_length=10_000)
    hypothesis: str = Field("", max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=50)
    validation_criteria: dict[str, str] | None = Field(None, description="override or add criteria per metric")
    metrics: list[str] | None = Field(None, max_length=100, description="replace the template's metric list")
    hypothesis_criterion: HypothesisCriterion | None = None
    model_registry_integration: dict[str, Any] | None = None


class TemplatePath(BaseModel):
    template_id: str


class TemplateQuery(PageQuery):
    domain: str | None = Field(None, max_length=50)


class GateQuery(BaseModel):
    summary: Summary = Field("last", description="judge each metric's last value (default), min, max or best")


def _dump(model: BaseModel | None) -> dict | None:
    return model.model_dump() if model is not None else None


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_healthcare", __name__, url_prefix="/api/v1", abp_responses=ERRORS, abp_security=SECURITY)
    template_tag, gate_tag, safety_tag = Tag(name="templates"), Tag(name="safety gates"), Tag(name="safety")

    @bp.get("/templates", tags=[template_tag], responses={200: PageOut})
    def list_templates(query: TemplateQuery):  # noqa: ANN202
        """Built-in templates (the seed's Healthcare Classification Experiment …), then your teams'; paged."""
        limit, offset = check_limit(query.limit), offset_from(query.cursor)
        items = templates.list_templates(core(), actor(), query.domain)
        return page_reply(offset_page(items[offset:offset + limit + 1], offset, limit, len(items)))

    @bp.get("/templates/<template_id>", tags=[template_tag])
    def get_template(path: TemplatePath):  # noqa: ANN202
        """One template: required and optional parameters, metrics, validation criteria, artifacts."""
        return reply(templates.get_template(core(), actor(), path.template_id))

    @bp.post("/templates", tags=[template_tag], responses={201: None})
    def create_template(body: TemplateCreate):  # noqa: ANN202
        """Add a custom template to a team (editors); visible to that team's members."""
        data = body.model_dump(exclude_unset=True)
        data["hypothesis_criterion"] = _dump(body.hypothesis_criterion)
        return reply(templates.create_template(core(), actor(), data), 201)

    @bp.post("/experiments/from-template", tags=[template_tag], responses={201: None})
    def from_template(body: FromTemplate):  # noqa: ANN202
        """Create an experiment with a template's type, domain, metrics, criteria and hypothesis criterion."""
        data = body.model_dump()
        data["hypothesis_criterion"] = _dump(body.hypothesis_criterion)
        return reply(templates.create_from_template(core(), actor(), **data), 201)

    @bp.get("/experiments/<experiment_id>/gates", tags=[gate_tag])
    def experiment_gates(path: ExperimentPath, query: GateQuery):  # noqa: ANN202
        """Every run's pass/fail per criterion and verdict (passed, failed, incomplete), with counts."""
        return reply(run_gates.experiment_gates(core(), actor(), path.experiment_id, query.summary))

    @bp.get("/runs/<run_id>/gates", tags=[gate_tag])
    def run_gates_view(path: RunPath, query: GateQuery):  # noqa: ANN202
        """One run's gates: pass/fail per criterion, verdict, missing template parameters and metrics."""
        return reply(run_gates.run_gates(core(), actor(), path.run_id, query.summary))

    @bp.get("/runs/<run_id>/safety", tags=[safety_tag])
    def run_safety(path: RunPath):  # noqa: ANN202
        """Healthcare and safety metrics with thresholds and traffic lights, the confusion matrix, and the
        experiment's distribution of each metric."""
        return reply(safety.run_safety(core(), actor(), path.run_id))

    @bp.get("/experiments/<experiment_id>/safety", tags=[safety_tag])
    def experiment_safety(path: ExperimentPath):  # noqa: ANN202
        """Per safety metric min / median / max across runs, and every run's traffic lights."""
        return reply(safety.experiment_safety(core(), actor(), path.experiment_id))

    @bp.get("/experiments/<experiment_id>/hypothesis", tags=[safety_tag])
    def get_hypothesis(path: ExperimentPath):  # noqa: ANN202
        """supported / not_supported / inconclusive, from the best run and the runs' 95% CI of the mean."""
        return reply(safety.hypothesis(core(), actor(), path.experiment_id))

    @bp.put("/experiments/<experiment_id>/hypothesis", tags=[safety_tag])
    def set_hypothesis(path: ExperimentPath, body: HypothesisCriterion):  # noqa: ANN202
        """Tie the hypothesis to a criterion (editors), e.g. accuracy >= 0.95; answers the new verdict."""
        templates.set_hypothesis_criterion(core(), actor(), path.experiment_id, body.model_dump())
        return reply(safety.hypothesis(core(), actor(), path.experiment_id))

    @bp.delete("/experiments/<experiment_id>/hypothesis", tags=[safety_tag], responses={204: None})
    def clear_hypothesis(path: ExperimentPath):  # noqa: ANN202
        """Remove the hypothesis criterion (editors)."""
        templates.set_hypothesis_criterion(core(), actor(), path.experiment_id, None)
        return reply({}, 204)

    @bp.get("/experiments/<experiment_id>/dashboard", tags=[safety_tag])
    def dashboard(path: ExperimentPath):  # noqa: ANN202
        """The live dashboard's data: runs by status, best run per criterion, latest values, gate counts."""
        return reply(safety.dashboard(core(), actor(), path.experiment_id))

    return bp
