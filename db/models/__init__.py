"""All ORM models; importing this package registers every table on Base.metadata."""
from db.models.auth import ROLES, ApiToken, AuditEvent, Membership, ProjectShare, Team, User
from db.models.base import Base, new_id, now_ms
from db.models.comparison import Comparison  # noqa: F401  (registers the comparisons table)
from db.models.healthcare import ExperimentTemplate  # noqa: F401  (registers the experiment_templates table)
from db.models.resources import RunResources, TeamRates  # noqa: F401  (registers run_resources, team_rates)
from db.models.metrics import MetricPoint, MetricRollup, MetricSeries
from db.models.tracking import (RUN_STATUSES, TERMINAL_STATUSES, Artifact, Experiment, ExperimentTag, Note,
                                Param, Project, ProjectTag, Run, RunTag)

__all__ = ["ROLES", "RUN_STATUSES", "TERMINAL_STATUSES", "ApiToken", "Artifact", "AuditEvent", "Base",
           "Experiment", "ExperimentTag", "Membership", "MetricPoint", "MetricRollup", "MetricSeries", "Note", "Param",
           "Project", "ProjectShare", "ProjectTag", "Run", "RunTag", "Team", "User", "new_id", "now_ms"]
