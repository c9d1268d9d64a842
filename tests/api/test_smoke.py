"""The seed's own example bodies drive the API end to end, on both backends."""
from __future__ import annotations


def test_seed_flow(admin) -> None:
    project = admin.post("/api/v1/projects", json={"name": "healthcare-ai-experiments",
                                                   "description": "Healthcare AI model development",
                                                   "team": "ml-team", "tags": ["healthcare", "classification"]})
    assert project.status_code == 201, project.get_json()
    pid = project.get_json()["id"]
    listed = admin.get("/api/v1/projects?team=ml-team&tag=healthcare").get_json()
    assert [p["id"] for p in listed["items"]] == [pid] and listed["total"] == 1
    exp = admin.post("/api/v1/experiments", json={"project_id": pid, "name": "baseline-model-v1",
                                                  "description": "Initial healthcare classification model",
                                                  "hypothesis": "TF-IDF + MultinomialNB will achieve >95% accuracy",
                                                  "tags": ["baseline", "sklearn"]})
    assert exp.status_code == 201, exp.get_json()
    eid = exp.get_json()["id"]
    run = admin.post(f"/api/v1/experiments/{eid}/runs", json={
        "name": "run-001", "parameters": {"algorithm": "MultinomialNB", "alpha": 0.1, "max_features": 10000},
        "environment": {"python_version": "3.9.6", "sklearn_version": "1.3.0"}})
    assert run.status_code == 201, run.get_json()
    rid = run.get_json()["id"]
    logged = admin.post(f"/api/v1/runs/{rid}/metrics", json={
        "metrics": {"accuracy": 0.952, "f1_score": 0.934, "precision": 0.945, "recall": 0.924,
                    "training_loss": 0.234}, "step": 100, "timestamp": "2024-01-15T10:30:00Z"})
    assert logged.status_code == 201, logged.get_json()
    summary = admin.get(f"/api/v1/runs/{rid}/metrics").get_json()["metrics"]
    assert {m["key"]: m["last"] for m in summary}["accuracy"] == 0.952
    art = admin.post(f"/api/v1/runs/{rid}/artifacts", json={
        "name": "model.pkl", "path": "s3://experiments/run-001/model.pkl", "type": "model",
        "size_bytes": 1024000, "metadata": {"framework": "sklearn", "model_type": "MultinomialNB"}})
    assert art.status_code == 201, art.get_json()
    got = admin.get(f"/api/v1/runs/{rid}").get_json()
    assert got["parameters"]["alpha"] == "0.1" and got["status"] == "RUNNING"
