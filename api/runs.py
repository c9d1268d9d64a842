"""/api/v1 runs and metrics: start runs, update them, log metrics singly or in batches, read history."""
from __future__ import annotations

from flask import request
from flask_openapi3 import APIBlueprint, Tag

from api.common import ERRORS, SECURITY, actor, core, page_reply, reply
from api.schemas import (Accepted, ExperimentPath, HistoryQuery, MetricKeyPath, MetricsBody, PageOut, RunCreate,
                         RunPath, RunQuery, RunUpdate)
from services import metrics, runs
from services.errors import Invalid


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_runs", __name__, url_prefix="/api/v1", abp_responses=ERRORS, abp_security=SECURITY)
    run_tag, metric_tag = Tag(name="runs"), Tag(name="metrics")

    @bp.post("/experiments/<experiment_id>/runs", tags=[run_tag], responses={201: None})
    def create_run(path: ExperimentPath, body: RunCreate):  # noqa: ANN202
        """Start a run with parameters and environment; parent_run_id nests it."""
        return reply(runs.create_run(core(), actor(), path.experiment_id, **body.model_dump()), 201)

    @bp.get("/experiments/<experiment_id>/runs", tags=[run_tag], responses={200: PageOut})
    def list_runs(path: ExperimentPath, query: RunQuery):  # noqa: ANN202
        """Runs of an experiment, newest first; paged."""
        return page_reply(runs.list_runs(core(), actor(), path.experiment_id, **query.model_dump()))

    @bp.get("/runs/<run_id>", tags=[run_tag])
    def get_run(path: RunPath):  # noqa: ANN202
        """A run with parameters, tags, metric summaries and child runs."""
        return reply(runs.get_run(core(), actor(), path.run_id))

    @bp.patch("/runs/<run_id>", tags=[run_tag])
    def update_run(path: RunPath, body: RunUpdate):  # noqa: ANN202
        """Set status (and end time), name, notes, tags, new parameters, or lock a finished run."""
        return reply(runs.update_run(core(), actor(), path.run_id, **body.model_dump(exclude_unset=True)))

    @bp.delete("/runs/<run_id>", tags=[run_tag], responses={204: None})
    def delete_run(path: RunPath):  # noqa: ANN202
        """Delete a run (soft: it disappears from lists and reads)."""
        runs.delete_run(core(), actor(), path.run_id)
        return reply({}, 204)

    @bp.post("/runs/<run_id>/metrics", tags=[metric_tag], responses={201: Accepted})
    def log_metrics(path: RunPath, body: MetricsBody):  # noqa: ANN202
        """Log the seed's {metrics, step, timestamp}, or many steps at once in `steps`; all or nothing."""
        if (body.metrics is None) == (body.steps is None):
            raise Invalid("send either metrics (one step) or steps (a batch), not both or neither", "metrics")
        if body.steps is not None:
            points = metrics.points_from_steps([s.model_dump() for s in body.steps])
        else:
            try:
                points = metrics.points_from_steps([body.model_dump()])
            except Invalid as exc:  # the single form has no steps[0]: name the field as the client sent it
                field = (exc.field or "").removeprefix("steps[0].")
                raise Invalid(exc.message.replace("steps[0].", ""), field or None) from None
        return reply(metrics.log_points(core(), actor(), path.run_id, points), 201)

    @bp.get("/runs/<run_id>/metrics", tags=[metric_tag])
    def metric_summaries(path: RunPath):  # noqa: ANN202
        """Per key: last, min, max, count and the steps where they happened."""
        return reply({"run_id": path.run_id, "metrics": metrics.summaries(core(), actor(), path.run_id)})

    @bp.get("/runs/<run_id>/metrics/<path:key>", tags=[metric_tag])
    def metric_history(path: MetricKeyPath, query: HistoryQuery):  # noqa: ANN202
        """Raw history paged by cursor, or ?buckets=N for ≤ N buckets of min/max/last."""
        if query.buckets is not None:
            return reply(metrics.downsampled(core(), actor(), path.run_id, path.key, query.buckets))
        return page_reply(metrics.history(core(), actor(), path.run_id, path.key, query.limit, query.cursor))

    return bp
