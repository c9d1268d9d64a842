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


@dataclass
class Gated:
    experiment_id: str
    failing_run_id: str  # accuracy 0.90 < 0.95, crisis_detection_rate 0.80: fails; confusion matrix cells logged
    passing_run_id: str  # meets both criteria
    incomplete_run_id: str  # accuracy only


def seed_gated(core: Core, actor: Actor, project_id: str) -> Gated:
    """An experiment with two validation criteria and one failing, one passing and one incomplete run."""
    exp = experiments.create_experiment(core, actor, project_id, "crisis-gate", "Safety gated",
                                        "The classifier will achieve >= 95% accuracy", ["healthcare"],
                                        validation_criteria={"accuracy": ">= 0.95",
                                                             "crisis_detection_rate": ">= 0.99"})
    logged = {"gate-fail": {"accuracy": 0.90, "crisis_detection_rate": 0.80, "false_crisis_rate": 0.04,
                            "confusion_matrix/tp": 40, "confusion_matrix/fp": 6, "confusion_matrix/fn": 10,
                            "confusion_matrix/tn": 144},
              "gate-pass": {"accuracy": 0.97, "crisis_detection_rate": 0.995, "false_crisis_rate": 0.01},
              "gate-partial": {"accuracy": 0.96}}
    ids = []
    for i, (name, values) in enumerate(logged.items()):
        run = runs.create_run(core, actor, exp["id"], name, {"algorithm": "NB"},
                              start_time=1_700_100_000_000 + i * 60_000)
        metrics.log_points(core, actor, run["id"],
                           [Point(k, float(v), 0, 1_700_100_000_000) for k, v in values.items()])
        ids.append(run["id"])
    return Gated(exp["id"], *ids)
