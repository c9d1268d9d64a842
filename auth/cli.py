"""Flask CLI: `flask --app app users|teams|tokens ...` to manage accounts without the web UI."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from api.common import CORE_KEY
from db.models import User
from services import accounts
from services.context import Actor, Core
from services.errors import ServiceError

users = AppGroup("users", help="Create and list users.")
teams = AppGroup("teams", help="Create teams and manage members.")
tokens = AppGroup("tokens", help="Create, list and revoke API tokens.")


def _core() -> Core:
    from flask import current_app

    return current_app.extensions[CORE_KEY]


def _run(action, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    try:
        return action(*args, **kwargs)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None


def _actor_of(username: str) -> Actor:
    core = _core()
    with core.sessions() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            raise click.ClickException(f"user {username!r} not found")
        return accounts.actor_for(session, user)


@users.command("create")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="site administrator (sees and manages everything)")
def create_user(username: str, password: str, admin: bool) -> None:
    user = _run(accounts.create_user, _core(), None, username, password, is_admin=admin)
    click.echo(f"created user {user['username']} ({'admin' if admin else 'user'}) id={user['id']}")


@users.command("list")
def list_users() -> None:
    with _core().sessions() as session:
        for user in session.execute(select(User).order_by(User.username)).scalars():
            click.echo(f"{user.username}\t{'admin' if user.is_admin else 'user'}\t{user.id}")


@teams.command("create")
@click.argument("name")
@click.option("--description", default="")
def create_team(name: str, description: str) -> None:
    team = _run(accounts.create_team, _core(), None, name, description)
    click.echo(f"created team {team['name']} id={team['id']}")


@teams.command("add-member")
@click.argument("team")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "editor", "admin"]), default="editor", show_default=True)
def add_member(team: str, username: str, role: str) -> None:
    _run(accounts.set_membership, _core(), None, team, username, role)
    click.echo(f"{username} is {role} in {team}")


@teams.command("remove-member")
@click.argument("team")
@click.argument("username")
def remove_member(team: str, username: str) -> None:
    _run(accounts.set_membership, _core(), None, team, username, None)
    click.echo(f"{username} removed from {team}")


@teams.command("list")
def list_teams() -> None:
    admin = Actor(user_id="", username="cli", is_admin=True)
    for team in accounts.list_teams(_core(), admin):
        members = ", ".join(f"{m['username']}({m['role']})" for m in team["members"]) or "-"
        click.echo(f"{team['name']}\t{members}")


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="cli", help="a label to recognise the token by")
def create_token(username: str, name: str) -> None:
    """Print a new token for USERNAME on stdout (alone, for scripts); its id goes to stderr."""
    token = _run(accounts.create_token, _core(), _actor_of(username), name)
    click.echo(token["token"])
    click.echo(f"token id={token['id']} for {username} (revoke: flask --app app tokens revoke {token['id']})",
               err=True)


@tokens.command("list")
@click.argument("username")
def list_tokens(username: str) -> None:
    """USERNAME's tokens: id, name, prefix, created, revoked (never the secret)."""
    for token in accounts.list_tokens(_core(), _actor_of(username)):
        state = f"revoked {token['revoked_at']}" if token["revoked_at"] else "active"
        click.echo(f"{token['id']}\t{token['name']}\t{token['prefix']}...\tcreated {token['created_at']}\t{state}")


@tokens.command("revoke")
@click.argument("token_id")
def revoke_token(token_id: str) -> None:
    admin = Actor(user_id="", username="cli", is_admin=True)
    _run(accounts.revoke_token, _core(), admin, token_id)
    click.echo(f"revoked {token_id}")


def register(server: Flask) -> None:
    for group in (users, teams, tokens):
        server.cli.add_command(group)
