"""`flask --app app users|teams|tokens ...`: accounts managed from a shell, effective in the API at once."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask.testing import FlaskClient

from services.context import Core
from tests.integration.test_startup import ROOT, START_TIMEOUT, clean_env

PASSWORD = "long-enough-pass"


@pytest.fixture
def cli(backend: Any, core: Core):  # noqa: ANN201
    """Run a CLI command on the `backend` app (wiped first by `core`); returns click's Result."""
    runner = backend.server.test_cli_runner()

    def run(*args: str) -> Result:
        return runner.invoke(args=list(args))

    return run


def ok(result: Result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def failed(result: Result) -> str:
    """A refusal with a message, not a crash (a traceback would surface as another exception)."""
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    return result.output


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_users_create_and_list(cli) -> None:  # noqa: ANN001
    assert "created user alice (user)" in ok(cli("users", "create", "alice", "--password", PASSWORD))
    assert "created user root (admin)" in ok(cli("users", "create", "root", "--password", PASSWORD, "--admin"))
    rows = [line.split("\t")[:2] for line in ok(cli("users", "list")).splitlines()]
    assert rows == [["alice", "user"], ["root", "admin"]]
    assert "already exists" in failed(cli("users", "create", "alice", "--password", PASSWORD))
    assert "at least" in failed(cli("users", "create", "bob", "--password", "short"))
    assert "bob" not in ok(cli("users", "list"))


def test_team_membership_from_the_cli_decides_what_the_api_allows(cli, client: FlaskClient) -> None:  # noqa: ANN001
    ok(cli("users", "create", "alice", "--password", PASSWORD))
    assert "created team ml-team" in ok(cli("teams", "create", "ml-team", "--description", "ML"))
    assert "already exists" in failed(cli("teams", "create", "ml-team"))
    assert ok(cli("teams", "list")).strip() == "ml-team\t-"

    ok(cli("teams", "add-member", "ml-team", "alice", "--role", "viewer"))
    viewer = ok(cli("tokens", "create", "alice")).strip()
    denied = client.post("/api/v1/projects", json={"name": "p1", "team": "ml-team"}, headers=bearer(viewer))
    assert denied.status_code == 403, denied.get_json()

    assert "alice is editor in ml-team" in ok(cli("teams", "add-member", "ml-team", "alice", "--role", "editor"))
    assert ok(cli("teams", "list")).strip() == "ml-team\talice(editor)"
    editor = ok(cli("tokens", "create", "alice")).strip()
    created = client.post("/api/v1/projects", json={"name": "p1", "team": "ml-team"}, headers=bearer(editor))
    assert created.status_code == 201, created.get_json()

    assert "removed" in ok(cli("teams", "remove-member", "ml-team", "alice"))
    assert ok(cli("teams", "list")).strip() == "ml-team\t-"
    outsider = ok(cli("tokens", "create", "alice")).strip()
    assert client.get(f"/api/v1/projects/{created.get_json()['id']}", headers=bearer(outsider)).status_code == 404

    assert "not found" in failed(cli("teams", "add-member", "ml-team", "nobody"))
    assert "not found" in failed(cli("teams", "add-member", "no-team", "alice"))
    assert "Invalid value" in failed(cli("teams", "add-member", "ml-team", "alice", "--role", "owner"))


def test_tokens_create_list_revoke(cli, client: FlaskClient) -> None:  # noqa: ANN001
    ok(cli("users", "create", "alice", "--password", PASSWORD))
    created = cli("tokens", "create", "alice", "--name", "laptop")
    token = ok(created).strip()
    assert "\n" not in token and len(token) > 20  # stdout is the token alone: TOKEN=$(flask ... tokens create)
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.get_json()["username"] == "alice"

    [row] = ok(cli("tokens", "list", "alice")).splitlines()
    token_id, name, prefix = row.split("\t")[:3]
    assert name == "laptop" and token.startswith(prefix.rstrip(".")) and row.endswith("active")
    assert f"id={token_id}" in created.stderr

    assert f"revoked {token_id}" in ok(cli("tokens", "revoke", token_id))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert "\trevoked " in ok(cli("tokens", "list", "alice"))
    assert "not found" in failed(cli("tokens", "revoke", "00000000-0000-0000-0000-000000000000"))
    assert "not found" in failed(cli("tokens", "create", "nobody"))


def test_flask_command_in_a_shell(tmp_path: Path) -> None:
    """The real `flask --app app` entry point: lists the bootstrap admin; a bad setting is one line."""
    def flask(data_dir: Path, **env: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "users", "list"], cwd=ROOT,
                                text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=clean_env(DATA_DIR=str(data_dir), LOG_LEVEL="WARNING", **env))

    good = flask(tmp_path / "good", ADMIN_USERNAME="boss", ADMIN_PASSWORD=PASSWORD)
    bad = flask(tmp_path / "bad", PORT="abc")
    out, err = good.communicate(timeout=START_TIMEOUT)
    assert good.returncode == 0, err
    assert out.splitlines()[0].split("\t")[:2] == ["boss", "admin"]
    out, err = bad.communicate(timeout=START_TIMEOUT)
    lines = [line for line in err.splitlines() if line.strip()]
    assert bad.returncode != 0 and len(lines) == 1 and "PORT" in lines[0], err
