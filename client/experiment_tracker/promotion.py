"""Model-promotion hooks: ask the server which hooks a finished run meets, register it at each registry once."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping
from urllib.parse import urlsplit

import requests

from experiment_tracker.transport import Transport, dumps

log = logging.getLogger("experiment_tracker")
REGISTRY_PATH = "/api/v1/models"
REGISTRY_TIMEOUT = 15.0


def registry_endpoint(registry_url: str) -> str:
    """A bare registry address ("http://model-registry:8000") gets /api/v1/models; a URL with a path is used as is."""
    if urlsplit(registry_url).path in ("", "/"):
        return registry_url.rstrip("/") + REGISTRY_PATH
    return registry_url


def fire_hooks(transport: Transport, run_id: str, headers: Mapping[str, str]) -> List[Dict[str, Any]]:
    """POST the run to every registry whose hook it meets and that has not registered it yet; tag the outcome
    as promotion/<hook id> = registered | failed: …  Returns one entry per hook."""
    check = transport.call("GET", f"/api/v1/runs/{run_id}/promotion-check")
    outcomes: List[Dict[str, Any]] = []
    tags: Dict[str, str] = {}
    for hook in check.get("hooks", []):
        entry = {"hook_id": hook["id"], "met": hook["met"], "results": hook["results"], "state": hook.get("state")}
        if hook["met"] and hook.get("state") != "registered":
            entry["state"] = _register(hook, check, headers)
            tags[f"promotion/{hook['id']}"] = entry["state"]
        outcomes.append(entry)
    if tags:
        transport.call("PATCH", f"/api/v1/runs/{run_id}", {"tags": tags})
    return outcomes


def _register(hook: Dict[str, Any], check: Dict[str, Any], headers: Mapping[str, str]) -> str:
    payload = {**check["payload"], "name": hook.get("name") or f"experiment-{check['experiment_id']}",
               "hook_id": hook["id"], "criteria": hook["criteria"], "results": hook["results"]}
    url = registry_endpoint(hook["registry_url"])
    try:
        response = requests.post(url, data=dumps(payload), timeout=REGISTRY_TIMEOUT,
                                 headers={"Content-Type": "application/json", **headers})
    except (requests.ConnectionError, requests.Timeout) as exc:
        log.warning("experiment_tracker: model registry %s unreachable: %s", url, exc)
        return f"failed: {type(exc).__name__}"
    if response.status_code >= 300:
        log.warning("experiment_tracker: model registry %s answered %s: %s", url, response.status_code,
                    response.text[:300])
        return f"failed: HTTP {response.status_code}"
    log.info("experiment_tracker: run %s registered at %s", check["run_id"], url)
    return "registered"
