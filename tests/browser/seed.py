"""Dashboard test data made through the services: two teams, two projects, an experiment with runs."""
from __future__ import annotations

from dataclasses import dataclass

from services import accounts, experiments, metrics, projects, runs
from services.context import Actor, Core
from services.metrics import Point

PASSWORD = "correct-horse-battery"


@dataclass
class Seed:
    core: Core
    alice: Actor
    project_id: str
    other_project_id: str
    experiment_id: str
    empty_experiment_id: str
    run_ids: list[str]


def seed_dashboard(core: Core, run_count: int = 30) -> Seed:
    """alice edits ml-team (two projects, 30 runs); bob is in other-team only."""
    for name in ("alice", "bob"):
        accounts.create_user(core, None, name, PASSWORD)
    for team, user in (("ml-team", "alice"), ("other-team", "bob")):
        accounts.create_team(core, None, team)
        accounts.set_membership(core, None, team, user, "editor")
    alice = accounts.authenticate(core, "alice", PASSWORD)
    project = projects.create_project(core, alice, "healthcare-ai", "Healthcare AI model development", "ml-team",
                                      ["healthcare", "nlp"])
    other = projects.create_project(core, alice, "churn", "Churn prediction", "ml-team", ["tabular"])
    exp = experiments.create_experiment(core, alice, project["id"], "baseline-model-v1", "Initial model",
                                        "TF-IDF + MultinomialNB will achieve >95% accuracy", ["baseline"])
    empty = experiments.create_experiment(core, alice, project["id"], "bert-finetune",
                                          hypothesis="BERT beats the baseline by 3 points")
    run_ids = []
    for i in range(run_count):
        run = runs.create_run(core, alice, exp["id"], f"run-{i:03d}",
                              {"alpha": round(0.1 * (i + 1), 2), "algorithm": "SVM" if i % 2 else "NB"},
                              start_time=1_700_000_000_000 + i * 60_000)
        points = [Point("accuracy", 0.80 + 0.005 * i + 0.001 * s, s, 1_700_000_000_000 + s) for s in range(5)]
        points += [Point("loss", 1.0 / (i + 1) + 0.01 * s, s, 1_700_000_000_000 + s) for s in range(5)]
        metrics.log_points(core, alice, run["id"], points)
        if i % 3 == 0:
            runs.update_run(core, alice, run["id"], status=("FINISHED", "FAILED", "KILLED")[i % 9 // 3])
        run_ids.append(run["id"])
    return Seed(core, alice, project["id"], other["id"], exp["id"], empty["id"], run_ids)
