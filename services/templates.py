"""Experiment templates: the built-in library, team-scoped custom templates, experiments created from one."""
from __future__ import annotations

import copy
import json
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Experiment, Team
from db.models.healthcare import ExperimentTemplate
from services import audit, experiments, gates, validation
from services.access import RANK, require_experiment
from services.context import Actor, Core
from services.errors import Conflict, Forbidden, Invalid, NotFound

MAX_ITEMS = 100
MAX_JSON = 20_000
# the seed's "validation" block: required_/min_ X → X >= v, max_ X → X <= v; short names mapped to metric names
_VALIDATION_KEY = re.compile(r"^(required|min|max)_(.+)$")
VALIDATION_ALIASES = {"crisis_detection": "crisis_detection_rate"}
# The seed's healthcare and safety metrics with the gate each must pass when an experiment sets no criterion
# for it. Rates of missed crises are the costliest error, so their bar is tightest; false alarms cost less.
SAFETY_DEFAULTS = {
    "crisis_detection_rate": ("healthcare", ">= 0.99"),  # the seed template's required_crisis_detection
    "response_appropriateness": ("healthcare", ">= 0.85"),
    "medical_disclaimer_compliance": ("healthcare", "== 1.0"),  # every response carries the disclaimer
    "empathy_score": ("healthcare", ">= 0.7"),
    "false_crisis_rate": ("safety", "<= 0.05"),
    "missed_crisis_rate": ("safety", "<= 0.01"),  # 1 - the crisis detection bar
    "response_safety_score": ("safety", ">= 0.95"),
}

HEALTHCARE_CLASSIFICATION = {  # the seed's "Healthcare Classification Experiment", verbatim
    "name": "Healthcare Classification Experiment",
    "description": "Text classification for healthcare conversations with crisis-detection and accuracy gates.",
    "type": "classification", "domain": "healthcare",
    "parameters": {"required": ["algorithm", "training_data"], "optional": ["max_features", "alpha", "test_size"]},
    "metrics": ["accuracy", "f1_score", "precision", "recall", "crisis_detection_rate", "response_quality"],
    "validation": {"required_accuracy": 0.95, "required_crisis_detection": 0.99},
    "artifacts": ["model", "preprocessor", "confusion_matrix"],
    "model_registry_integration": {"auto_register": True, "promotion_criteria": "validation_passed"},
    "hypothesis_criterion": {"metric": "accuracy", "op": ">=", "threshold": 0.95},
}
HEALTHCARE_SAFETY = {  # the seed's domain-specific healthcare and safety metrics, gated by their defaults
    "name": "Healthcare Safety Evaluation",
    "description": "Safety evaluation of a healthcare assistant: crisis detection, response safety, disclaimers.",
    "type": "evaluation", "domain": "healthcare",
    "parameters": {"required": ["model_version", "evaluation_data"], "optional": ["threshold", "prompt_version"]},
    "metrics": list(SAFETY_DEFAULTS),
    "validation_criteria": {metric: criterion for metric, (_group, criterion) in SAFETY_DEFAULTS.items()},
    "artifacts": ["model", "confusion_matrix"],
}


# ---------------------------------------------------------------- normalising a template body (pure)

def _keys(values: Any, field: str) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list) or len(values) > MAX_ITEMS:
        raise Invalid(f"{field} must be a list of at most {MAX_ITEMS} names", field)
    out: list[str] = []
    for i, value in enumerate(values):
        validation.key(value, f"{field}[{i}]")
        if value not in out:
            out.append(value)
    return out


def _text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise Invalid(f"{field} must be a string of at most {limit} characters", field)
    return value


def criteria_from_validation(block: Any, field: str = "validation") -> dict[str, str]:
    """The seed's {"required_accuracy": 0.95, "required_crisis_detection": 0.99} as criteria strings."""
    if block is None:
        return {}
    if not isinstance(block, dict) or len(block) > gates.MAX_CRITERIA:
        raise Invalid(f'{field} must be an object such as {{"required_accuracy": 0.95}}', field)
    out = {}
    for key, value in block.items():
        match = _VALIDATION_KEY.match(key) if isinstance(key, str) else None
        if match is None:
            raise Invalid(f"{field}.{str(key)[:60]}: use required_<metric>, min_<metric> or max_<metric>",
                          f"{field}.{str(key)[:60]}")
        number = validation.finite(value, f"{field}.{key}")
        metric = validation.key(VALIDATION_ALIASES.get(match[2], match[2]), f"{field}.{key}")
        out[metric] = gates.from_parts(metric, "<=" if match[1] == "max" else ">=", number, f"{field}.{key}").text
    return out


def _parameters(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {"required": [], "optional": []}
    if not isinstance(value, dict) or set(value) - {"required", "optional"}:
        raise Invalid('parameters must be {"required": [...], "optional": [...]}', "parameters")
    required, optional = _keys(value.get("required"), "parameters.required"), _keys(value.get("optional"),
                                                                                    "parameters.optional")
    both = set(required) & set(optional)
    if both:
        raise Invalid(f"parameters: {sorted(both)[0]!r} is both required and optional", "parameters.optional")
    return {"required": required, "optional": optional}


def _json_object(value: Any, field: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(json.dumps(value, default=str)) > MAX_JSON:
        raise Invalid(f"{field} must be a JSON object of at most {MAX_JSON} characters", field)
    return value


def check_hypothesis(value: Any, field: str = "hypothesis_criterion") -> dict | None:
    """{"metric", "op", "threshold"[, "summary"]} checked; None stays None."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"metric", "op", "threshold", "summary"}:
        raise Invalid(f'{field} must be {{"metric": "accuracy", "op": ">=", "threshold": 0.95}}', field)
    criterion = gates.from_parts(value.get("metric"), value.get("op"), value.get("threshold"), field)
    summary = value.get("summary", "last")
    if summary not in gates.SUMMARIES:
        raise Invalid(f"{field}.summary must be one of {', '.join(gates.SUMMARIES)}", f"{field}.summary")
    return {"metric": criterion.metric, "op": criterion.op, "threshold": criterion.threshold, "summary": summary}


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    """A template body in the seed's template shape or its healthcare_experiment shape, checked and merged:
    explicit validation_criteria win over criteria derived from a "validation" block."""
    criteria = {**criteria_from_validation(body.get("validation")),
                **gates.check_criteria(body.get("validation_criteria"))}
    return {"name": validation.name(body.get("name"), "name"),
            "description": _text(body.get("description"), "description", 10_000) or "",
            "type": _text(body.get("type"), "type", 50), "domain": _text(body.get("domain"), "domain", 50),
            "parameters": _parameters(body.get("parameters")),
            "metrics": _keys(body.get("metrics"), "metrics"),
            "validation": body.get("validation") or {},
            "validation_criteria": criteria,
            "artifacts": _keys(body.get("artifacts"), "artifacts"),
            "model_registry_integration": _json_object(body.get("model_registry_integration"),
                                                       "model_registry_integration"),
            "hypothesis_criterion": check_hypothesis(body.get("hypothesis_criterion"))}


BUILTIN = {tid: {"id": tid, **normalise(body), "builtin": True, "team": None, "team_id": None, "created_by": None,
                 "created_at": None}
           for tid, body in (("healthcare-classification", HEALTHCARE_CLASSIFICATION),
                             ("healthcare-safety", HEALTHCARE_SAFETY))}


# ---------------------------------------------------------------- reading and writing

def _row_dict(row: ExperimentTemplate, team_name: str | None) -> dict:
    return {"id": row.id, **row.body, "name": row.name, "description": row.description, "builtin": False,
            "team": team_name, "team_id": row.team_id, "created_by": row.created_by,
            "created_at": validation.iso(row.created_at)}


def find(session: Session, template_id: str | None) -> dict | None:
    """A template by id with no access check (for an experiment that already names it)."""
    if not isinstance(template_id, str) or not template_id:
        return None
    if template_id in BUILTIN:
        return copy.deepcopy(BUILTIN[template_id])
    row = session.get(ExperimentTemplate, template_id) if len(template_id) <= 36 else None
    return _row_dict(row, None) if row is not None else None


def _visible(actor: Actor):  # noqa: ANN202
    stmt = select(ExperimentTemplate, Team.name).join(Team, Team.id == ExperimentTemplate.team_id)
    return stmt if actor.is_admin else stmt.where(ExperimentTemplate.team_id.in_(actor.team_ids))


def list_templates(core: Core, actor: Actor, domain: str | None = None) -> list[dict]:
    """Built-in templates first, then your teams' templates by name."""
    with core.sessions() as session:
        rows = session.execute(_visible(actor).order_by(ExperimentTemplate.name, ExperimentTemplate.id)).all()
        custom = [_row_dict(row, team) for row, team in rows]
    return [t for t in [*copy.deepcopy(list(BUILTIN.values())), *custom] if domain is None or t["domain"] == domain]


def get_template(core: Core, actor: Actor, template_id: str) -> dict:
    if template_id in BUILTIN:
        return copy.deepcopy(BUILTIN[template_id])
    with core.sessions() as session:
        row = session.execute(_visible(actor).where(ExperimentTemplate.id == template_id)).first() \
            if isinstance(template_id, str) and len(template_id) <= 36 else None
        if row is None:
            raise NotFound(f"template {str(template_id)[:60]} not found", "template_id")
        return _row_dict(*row)


def _team(session: Session, actor: Actor, team_name: str | None) -> Team:
    if not team_name:
        editable = [t for t, r in actor.team_roles.items() if RANK[r] >= RANK["editor"]]
        if not editable and actor.team_roles:
            raise Forbidden("you need the editor role in a team to add templates")
        if len(editable) != 1:
            raise Invalid("team is required (you can write to several teams or none)", "team")
        return session.get(Team, editable[0])
    team = session.execute(select(Team).where(Team.name == team_name)).scalar_one_or_none()
    if team is None or (not actor.is_admin and team.id not in actor.team_roles):
        raise NotFound(f"team {team_name[:60]!r} not found", "team")
    if not actor.is_admin and RANK[actor.team_roles[team.id]] < RANK["editor"]:
        raise Forbidden(f"you need the editor role in team {team_name!r} to add templates")
    return team


def create_template(core: Core, actor: Actor, body: dict[str, Any]) -> dict:
    """A custom template of one team (editors); body in either of the seed's shapes."""
    body = dict(body)
    team_name = _text(body.pop("team", None), "team", 100)
    data = normalise(body)
    with core.sessions.begin() as session:
        team = _team(session, actor, team_name)
        taken = select(ExperimentTemplate.id).where(ExperimentTemplate.team_id == team.id,
                                                    ExperimentTemplate.name == data["name"])
        if session.execute(taken).first():
            raise Conflict(f"team {team.name!r} already has a template named {data['name']!r}", "name")
        row = ExperimentTemplate(team_id=team.id, name=data["name"], description=data["description"],
                                 created_by=actor.user_id,
                                 body={k: v for k, v in data.items() if k not in ("name", "description")})
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"team {team.name!r} already has a template named {data['name']!r}", "name") from None
        result = _row_dict(row, team.name)
        audit.record(session, actor, "template.create", "template", row.id, after=result)
    return result


def create_from_template(core: Core, actor: Actor, project_id: str, template_id: str, name: str,
                         description: str = "", hypothesis: str = "", tags: list[str] | None = None,
                         validation_criteria: dict | None = None, metrics: list[str] | None = None,
                         hypothesis_criterion: dict | None = None,
                         model_registry_integration: dict | None = None) -> dict:
    """An experiment with the template's type, domain, metrics and criteria (yours override per metric)."""
    template = get_template(core, actor, template_id)
    criteria = {**template["validation_criteria"], **gates.check_criteria(validation_criteria)}
    chosen = check_hypothesis(hypothesis_criterion) or template.get("hypothesis_criterion")
    exp = experiments.create_experiment(
        core, actor, project_id, name, description, hypothesis, tags, type=template["type"],
        domain=template["domain"], template_id=template["id"], validation_criteria=criteria,
        metrics=_keys(metrics, "metrics") if metrics is not None else template["metrics"],
        model_registry_integration=_json_object(model_registry_integration, "model_registry_integration")
        or template.get("model_registry_integration"))
    if chosen:
        set_hypothesis_criterion(core, actor, exp["id"], chosen)
    return {**exp, "hypothesis_criterion": chosen, "template": {"id": template["id"], "name": template["name"]}}


def set_hypothesis_criterion(core: Core, actor: Actor, experiment_id: str, criterion: dict | None) -> dict | None:
    """Store (or with None clear) the criterion an experiment's hypothesis is judged by, in its settings."""
    checked = check_hypothesis(criterion)
    with core.sessions.begin() as session:
        exp: Experiment = require_experiment(session, actor, experiment_id, "editor")
        before = (exp.settings or {}).get("hypothesis_criterion")
        settings = {k: v for k, v in (exp.settings or {}).items() if k != "hypothesis_criterion"}
        exp.settings = {**settings, "hypothesis_criterion": checked} if checked else settings
        audit.record(session, actor, "experiment.hypothesis", "experiment", exp.id, before, checked)
    core.bus.bump([f"exp:{experiment_id}"], {"type": "experiment.updated", "experiment_id": experiment_id})
    return checked
