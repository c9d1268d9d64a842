"""/api/v1/projects and /api/v1/experiments: the seed's project and experiment endpoints."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from api.common import ERRORS, SECURITY, actor, core, page_reply, reply
from api.schemas import (ExperimentCreate, ExperimentPath, ExperimentQuery, ExperimentUpdate, PageOut,
                         ProjectCreate, ProjectPath, ProjectQuery, ProjectShareBody, ProjectUpdate)
from services import experiments, projects


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_projects", __name__, url_prefix="/api/v1", abp_responses=ERRORS, abp_security=SECURITY)
    project_tag, experiment_tag = Tag(name="projects"), Tag(name="experiments")

    @bp.post("/projects", tags=[project_tag], responses={201: None})
    def create_project(body: ProjectCreate):  # noqa: ANN202
        """Create a project owned by a team."""
        return reply(projects.create_project(core(), actor(), **body.model_dump()), 201)

    @bp.get("/projects", tags=[project_tag], responses={200: PageOut})
    def list_projects(query: ProjectQuery):  # noqa: ANN202
        """Projects you can see, filtered by team name and tag; paged."""
        return page_reply(projects.list_projects(core(), actor(), **query.model_dump()))

    @bp.get("/projects/<project_id>", tags=[project_tag])
    def get_project(path: ProjectPath):  # noqa: ANN202
        """One project with experiment and run counts."""
        return reply(projects.get_project(core(), actor(), path.project_id))

    @bp.patch("/projects/<project_id>", tags=[project_tag])
    def update_project(path: ProjectPath, body: ProjectUpdate):  # noqa: ANN202
        """Change description or tags (editors)."""
        return reply(projects.update_project(core(), actor(), path.project_id, **body.model_dump()))

    @bp.post("/projects/<project_id>/shares", tags=[project_tag])
    def share_project(path: ProjectPath, body: ProjectShareBody):  # noqa: ANN202
        """Share with another team as viewer or editor; role null removes the share (project admins)."""
        return reply(projects.share_project(core(), actor(), path.project_id, body.team, body.role))

    @bp.post("/experiments", tags=[experiment_tag], responses={201: None})
    def create_experiment(body: ExperimentCreate):  # noqa: ANN202
        """Create an experiment in a project."""
        return reply(experiments.create_experiment(core(), actor(), **body.model_dump()), 201)

    @bp.get("/experiments", tags=[experiment_tag], responses={200: PageOut})
    def list_experiments(query: ExperimentQuery):  # noqa: ANN202
        """Experiments you can see, optionally of one project; paged."""
        return page_reply(experiments.list_experiments(core(), actor(), **query.model_dump()))

    @bp.get("/experiments/<experiment_id>", tags=[experiment_tag])
    def get_experiment(path: ExperimentPath):  # noqa: ANN202
        """One experiment with its run count."""
        return reply(experiments.get_experiment(core(), actor(), path.experiment_id))

    @bp.patch("/experiments/<experiment_id>", tags=[experiment_tag])
    def update_experiment(path: ExperimentPath, body: ExperimentUpdate):  # noqa: ANN202
        """Rename, describe, archive or change criteria (editors)."""
        return reply(experiments.update_experiment(core(), actor(), path.experiment_id,
                                                   **body.model_dump(exclude_unset=True)))

    return bp
