"""/api/v1 resource usage and cost: log a run's figures, read cost per run, experiment, project and team, and
each team's rates. How figures are derived and priced: services.resources."""
from __future__ import annotations

from typing import Annotated

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from api.common import ERRORS, SECURITY, actor, core, reply
from api.schemas import ExperimentPath, ProjectPath, RunPath, Strict
from services import resources

Figure = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=resources.MAX_FIGURE)]
Rate = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=resources.MAX_RATE)]


class ResourcesBody(Strict):
    """Any of the figures; null clears a logged figure (it is derived again from system metrics or the
    environment's cpu_count / gpu_count / memory_gb)."""

    cpu_hours: Figure | None = Field(None, examples=[16.0])
    gpu_hours: Figure | None = Field(None, examples=[2.0])
    peak_memory_gb: Figure | None = Field(None, examples=[12.5])


class RatesBody(Strict):
    """Any of the rates in USD; the others keep their current values (defaults 0.05, 2.50, 0.005)."""

    cpu_per_hour: Rate | None = Field(None, examples=[0.05])
    gpu_per_hour: Rate | None = Field(None, examples=[2.5])
    memory_per_gb_hour: Rate | None = Field(None, examples=[0.005])


class TeamPath(BaseModel):
    team: str = Field(max_length=100)


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_resources", __name__, url_prefix="/api/v1", abp_responses=ERRORS, abp_security=SECURITY)
    tag = Tag(name="resources", description=resources.__doc__)

    @bp.post("/runs/<run_id>/resources", tags=[tag])
    def log_resources(path: RunPath, body: ResourcesBody):  # noqa: ANN202
        """Log cpu_hours, gpu_hours and/or peak_memory_gb of a run (only the fields sent change; editors)."""
        return reply(resources.log_resources(core(), actor(), path.run_id, body.model_dump(exclude_unset=True)))

    @bp.get("/runs/<run_id>/resources", tags=[tag])
    def get_resources(path: RunPath):  # noqa: ANN202
        """A run's figures and the source of each: logged, system_metrics, declared, or null."""
        return reply(resources.run_resources(core(), actor(), path.run_id))

    @bp.get("/runs/<run_id>/cost", tags=[tag])
    def run_cost(path: RunPath):  # noqa: ANN202
        """A run's figures, the rates of its team and its cost."""
        return reply(resources.run_cost(core(), actor(), path.run_id))

    @bp.get("/experiments/<experiment_id>/cost", tags=[tag])
    def experiment_cost(path: ExperimentPath):  # noqa: ANN202
        """Total resources and cost of an experiment's runs."""
        return reply(resources.experiment_cost(core(), actor(), path.experiment_id))

    @bp.get("/projects/<project_id>/cost", tags=[tag])
    def project_cost(path: ProjectPath):  # noqa: ANN202
        """Total resources and cost of a project's runs, and per experiment."""
        return reply(resources.project_cost(core(), actor(), path.project_id))

    @bp.get("/teams/<team>/cost", tags=[tag])
    def team_cost(path: TeamPath):  # noqa: ANN202
        """Total resources and cost of the runs in a team's projects, and per project (members and site admins)."""
        return reply(resources.team_cost(core(), actor(), path.team))

    @bp.get("/teams/<team>/rates", tags=[tag])
    def get_rates(path: TeamPath):  # noqa: ANN202
        """The team's rates (USD per CPU hour, GPU hour, GB-hour of memory); members and site admins."""
        return reply(resources.get_rates(core(), actor(), path.team))

    @bp.put("/teams/<team>/rates", tags=[tag])
    def set_rates(path: TeamPath, body: RatesBody):  # noqa: ANN202
        """Set any of the team's rates (team admins and site admins); the others keep their values."""
        return reply(resources.set_rates(core(), actor(), path.team, body.model_dump(exclude_unset=True)))

    return bp
