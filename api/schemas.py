"""Pydantic request and response models of the v1 REST API; the OpenAPI document is generated from them."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Timestamp = str | int | float | None  # ISO 8601 or epoch milliseconds
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class Strict(BaseModel):
    """Request bodies: unknown fields and wrong JSON types ("10" for a number, 1 for a string) are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorBody(BaseModel):
    code: str = Field(examples=["validation_error"])
    message: str
    field: str | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class PageQuery(BaseModel):
    limit: int = Field(100, ge=1, le=1000)
    cursor: str | None = None


class ProjectCreate(Strict):
    name: str = Field(max_length=200, examples=["healthcare-ai-experiments"])
    description: str = Field("", max_length=10_000)
    team: str | None = Field(None, max_length=100, examples=["ml-team"])
    tags: list[str] = Field(default_factory=list, max_length=50)


class ProjectUpdate(Strict):
    description: str | None = Field(None, max_length=10_000)
    tags: list[str] | None = Field(None, max_length=50)


class ProjectShareBody(Strict):
    team: str = Field(max_length=100)
    role: Literal["viewer", "editor"] | None = None


class ProjectQuery(PageQuery):
    team: str | None = None
    tag: str | None = None


class ProjectPath(BaseModel):
    project_id: str


class ExperimentCreate(Strict):
    project_id: str
    name: str = Field(max_length=200, examples=["baseline-model-v1"])
    description: str = Field("", max_length=10_000)
    hypothesis: str = Field("", max_length=10_000)
    tags: list[str] = Field(default_factory=list, max_length=50)
    type: str | None = Field(None, max_length=50)
    domain: str | None = Field(None, max_length=50)
    template_id: str | None = Field(None, max_length=100)
    metrics: list[str] | None = None
    validation_criteria: dict[str, str] | None = None
    model_registry_integration: dict[str, Any] | None = None


class ExperimentUpdate(Strict):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    hypothesis: str | None = Field(None, max_length=10_000)
    status: Literal["active", "archived"] | None = None
    tags: list[str] | None = None
    validation_criteria: dict[str, str] | None = None


class ExperimentQuery(PageQuery):
    project_id: str | None = None
    tag: str | None = None
    status: str | None = None


class ExperimentPath(BaseModel):
    experiment_id: str


RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]


class RunCreate(Strict):
    name: str | None = Field(None, max_length=250, examples=["run-001"])
    parameters: dict[str, Any] = Field(default_factory=dict, examples=[{"algorithm": "MultinomialNB",
                                                                       "alpha": 0.1}])
    environment: dict[str, Any] = Field(default_factory=dict)
    parent_run_id: str | None = None
    tags: dict[str, str] | list[str] = Field(default_factory=dict)
    git_commit: str | None = Field(None, max_length=64)
    start_time: Timestamp = None
    status: RunStatus = "RUNNING"


class RunUpdate(Strict):
    status: RunStatus | None = None
    end_time: Timestamp = None
    name: str | None = Field(None, max_length=250)
    notes: str | None = Field(None, max_length=100_000)
    tags: dict[str, str | None] | list[str] | None = None
    parameters: dict[str, Any] | None = None
    locked: bool | None = None


class RunQuery(PageQuery):
    status: RunStatus | None = None
    parent_run_id: str | None = None


class RunPath(BaseModel):
    run_id: str


class MetricsStep(Strict):
    metrics: dict[str, Number] = Field(examples=[{"accuracy": 0.952, "training_loss": 0.234}])
    step: StrictInt = 0
    timestamp: Timestamp = None


class MetricsBody(Strict):
    """Either the seed's single step (metrics, step, timestamp) or many steps at once in `steps`."""

    metrics: dict[str, Number] | None = None
    step: StrictInt = 0
    timestamp: Timestamp = None
    steps: list[MetricsStep] | None = Field(None, max_length=100_000)


class MetricKeyPath(BaseModel):
    run_id: str
    key: str


class HistoryQuery(BaseModel):
    limit: int = Field(1000, ge=1, le=25_000)
    cursor: str | None = None
    buckets: int | None = Field(None, ge=1, le=10_000)


class ArtifactRegister(Strict):
    name: str = Field(max_length=500, examples=["model.pkl"])
    path: str = Field(max_length=2000, examples=["s3://experiments/run-001/model.pkl"])
    type: str | None = Field("other", max_length=50)
    size_bytes: int | None = Field(None, ge=0, le=2**63 - 1)
    metadata: dict[str, Any] = Field(default_factory=dict)


class ArtifactPath(BaseModel):
    run_id: str
    artifact_id: str


class TokenRequest(Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    name: str = Field("api", max_length=100)


class TokenPath(BaseModel):
    token_id: str


class Accepted(BaseModel):
    run_id: str
    accepted: int


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None
    total: int | None = None
