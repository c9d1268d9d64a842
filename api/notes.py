"""/api/v1/runs/{run_id}/notes: markdown notes and chart annotations on a run."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field, StrictInt

from api.common import ERRORS, SECURITY, actor, core, page_reply, reply
from api.schemas import PageOut, PageQuery, RunPath, Strict
from services import notes


class NoteCreate(Strict):
    body: str = Field(max_length=20_000, examples=["Loss spikes here after the LR warm-up ends."])
    metric_key: str | None = Field(None, max_length=250, examples=["training_loss"])
    step: StrictInt | None = None


class NotePath(BaseModel):
    run_id: str
    note_id: str


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_notes", __name__, url_prefix="/api/v1", abp_responses=ERRORS, abp_security=SECURITY)
    tag = Tag(name="notes")

    @bp.post("/runs/<run_id>/notes", tags=[tag], responses={201: None})
    def add_note(path: RunPath, body: NoteCreate):  # noqa: ANN202
        """Add a markdown note; with metric_key and step it is an annotation shown on that chart."""
        return reply(notes.add_note(core(), actor(), path.run_id, body.body, body.metric_key, body.step), 201)

    @bp.get("/runs/<run_id>/notes", tags=[tag], responses={200: PageOut})
    def list_notes(path: RunPath, query: PageQuery):  # noqa: ANN202
        """Notes of a run, oldest first, with their authors; paged."""
        return page_reply(notes.note_page(core(), actor(), path.run_id, query.limit, query.cursor))

    @bp.delete("/runs/<run_id>/notes/<note_id>", tags=[tag], responses={204: None})
    def delete_note(path: NotePath):  # noqa: ANN202
        """Delete your note (project admins: any note)."""
        notes.delete_note(core(), actor(), path.run_id, path.note_id)
        return reply({}, 204)

    return bp
