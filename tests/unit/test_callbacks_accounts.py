"""API tokens and teams pages: callbacks as plain functions, on SQLite and Postgres."""
from __future__ import annotations

from typing import Any

import pytest

from callbacks import teams, tokens
from services import accounts
from tests.browser.seed import PASSWORD, Seed, seed_dashboard
from tests.unit.dash_tree import signed_in, text


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=1)


def test_create_list_and_revoke_a_token(backend: Any, core: Any, seed: Seed) -> None:
    with signed_in(backend, seed.alice):
        assert "No tokens yet" in text(tokens.list_tokens(0))
        shown, cleared, refresh = tokens.create_token(1, "cluster", 0)
        plaintext = text(shown).split()[-1]
        assert plaintext.startswith("et_") and cleared == "" and refresh == 1
        assert accounts.actor_for_token(core, plaintext).username == "alice"
        listing = text(tokens.list_tokens(refresh))
        assert "cluster" in listing and "active" in listing and plaintext not in listing
        token_id = accounts.list_tokens(core, seed.alice)[0]["id"]
        _, refresh = tokens.revoke_token(token_id, refresh)
        assert "revoked" in text(tokens.list_tokens(refresh))
    assert accounts.actor_for_token(core, plaintext) is None


def test_nobody_revokes_another_users_token(backend: Any, core: Any, seed: Seed) -> None:
    token = accounts.create_token(core, seed.alice, "mine")
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob):
        error, refresh = tokens.revoke_token(token["id"], 0)
    assert "not found" in text(error) and refresh is tokens.no_update
    assert accounts.actor_for_token(core, token["token"]) is not None


def test_team_admin_manages_members_and_editor_cannot(backend: Any, core: Any, seed: Seed) -> None:
    accounts.set_membership(core, None, "ml-team", "alice", "admin")
    alice = accounts.authenticate(core, "alice", PASSWORD)
    with signed_in(backend, alice):
        cards, create_style = teams.list_teams(0)
        assert "ml-team" in text(cards) and "other-team" not in text(cards) and create_style == {"display": "none"}
        message, refresh = teams.change_member("ml-team", "bob", "viewer", 0)
        assert "bob is now viewer in ml-team" in text(message) and refresh == 1
        assert "bob" in text(teams.list_teams(refresh)[0])
        error, _ = teams.change_member("ml-team", "nobody", "editor", 1)
        assert "not found" in text(error)
        error, _ = teams.change_member("ml-team", "", "editor", 1)
        assert "username" in text(error)
    bob = accounts.authenticate(core, "bob", PASSWORD)
    with signed_in(backend, bob):
        error, _ = teams.change_member("ml-team", "alice", None, 1)
        assert "cannot manage" in text(error)
        error, _ = teams.create_team(1, "rogue", 0)
        assert "administrator" in text(error)
    with signed_in(backend, alice):
        message, _ = teams.change_member("ml-team", "bob", None, 1)
        assert "removed" in text(message)


def test_site_admin_creates_teams(backend: Any, core: Any, seed: Seed) -> None:
    accounts.create_user(core, None, "root", PASSWORD, is_admin=True)
    root = accounts.authenticate(core, "root", PASSWORD)
    with signed_in(backend, root):
        _, style = teams.list_teams(0)
        _, refresh = teams.create_team(1, "vision", 0)
        cards, _ = teams.list_teams(refresh)
    assert style != {"display": "none"} and "vision" in text(cards) and "other-team" in text(cards)
