"""Users, teams, memberships and API tokens: passwords and tokens are stored hashed."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from db.models import ROLES, ApiToken, Membership, Team, User, now_ms
from services import audit, validation
from services.context import Actor, Core
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.paging import Page, check_limit, offset_from, offset_page

TOKEN_PREFIX = "et_"
PASSWORD_METHOD = "scrypt"  # werkzeug's default; the test suite swaps in a cheap one
TOKEN_CACHE_SECONDS = 10
MIN_PASSWORD = 8


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(session: Session, user: User) -> Actor:
    roles = dict(session.execute(select(Membership.team_id, Membership.role)
                                 .where(Membership.user_id == user.id)).all())
    return Actor(user_id=user.id, username=user.username, is_admin=user.is_admin, team_roles=roles)


def load_actor(core: Core, user_id: str) -> Actor | None:
    with core.sessions() as session:
        user = session.get(User, user_id)
        return actor_for(session, user) if user is not None and user.is_active else None


def create_user(core: Core, actor: Actor | None, username: str, password: str, is_admin: bool = False,
                display_name: str = "") -> dict:
    """Create a user; only a site admin may (actor None is the CLI / bootstrap)."""
    if actor is not None and not actor.is_admin:
        raise Forbidden("only an administrator can create users")
    username = validation.name(username, "username", 64)
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(f"password must have at least {MIN_PASSWORD} characters", "password")
    with core.sessions.begin() as session:
        if session.execute(select(User.id).where(User.username == username)).first():
            raise Conflict(f"user {username!r} already exists", "username")
        digest = generate_password_hash(password, method=PASSWORD_METHOD)
        user = User(username=username, password_hash=digest, is_admin=is_admin,
                    display_name=display_name or username)
        session.add(user)
        session.flush()
        audit.record(session, actor, "user.create", "user", user.id, after={"username": username,
                                                                              "is_admin": is_admin})
        return {"id": user.id, "username": username, "is_admin": is_admin}


def bootstrap_admin(core: Core, username: str, password: str) -> bool:
    """On an empty database create the first admin; returns whether one was created."""
    with core.sessions() as session:
        if session.execute(select(func.count(User.id))).scalar_one():
            return False
    create_user(core, None, username, password, is_admin=True)
    return True


def authenticate(core: Core, username: str, password: str) -> Actor | None:
    with core.sessions() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or not user.is_active or not check_password_hash(user.password_hash, password or ""):
            return None
        return actor_for(session, user)


def _user_by_name(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user {username!r} not found", "username")
    return user


def _team_by_name(session: Session, name: str) -> Team:
    team = session.execute(select(Team).where(Team.name == name)).scalar_one_or_none()
    if team is None:
        raise NotFound(f"team {name!r} not found", "team")
    return team


def create_team(core: Core, actor: Actor | None, name: str, description: str = "") -> dict:
    name = validation.name(name, "name", 100)
    with core.sessions.begin() as session:
        if session.execute(select(Team.id).where(Team.name == name)).first():
            raise Conflict(f"team {name!r} already exists", "name")
        team = Team(name=name, description=description)
        session.add(team)
        session.flush()
        if actor is not None:
            session.add(Membership(team_id=team.id, user_id=actor.user_id, role="admin"))
        audit.record(session, actor, "team.create", "team", team.id, after={"name": name})
        return {"id": team.id, "name": name, "description": description}


def set_membership(core: Core, actor: Actor | None, team_name: str, username: str, role: str | None) -> dict:
    """Add, change or (role None) remove a member; team admins and site admins only."""
    if role is not None and role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", "role")
    with core.sessions.begin() as session:
        team, user = _team_by_name(session, team_name), _user_by_name(session, username)
        if actor is not None and not actor.is_admin and actor.team_roles.get(team.id) != "admin":
            raise (Forbidden if team.id in actor.team_roles else NotFound)(
                f"you cannot manage team {team_name!r}" if team.id in actor.team_roles
                else f"team {team_name!r} not found")
        row = session.get(Membership, (team.id, user.id))
        before = {"role": row.role} if row else None
        if role is None:
            if row is not None:
                session.delete(row)
        else:
            row = row or Membership(team_id=team.id, user_id=user.id)
            row.role = role
            session.add(row)
        audit.record(session, actor, "team.member", "team", team.id, before, {"user": username, "role": role})
    core.cache.clear()  # cached token → actor entries carry team roles; a role change must apply at once
    return {"team": team_name, "username": username, "role": role}


def list_teams(core: Core, actor: Actor) -> list[dict]:
    with core.sessions() as session:
        stmt = select(Team).order_by(Team.name)
        if not actor.is_admin:
            stmt = stmt.where(Team.id.in_(actor.team_ids))
        teams = list(session.execute(stmt).scalars())
        members = session.execute(select(Membership.team_id, User.username, Membership.role)
                                  .join(User, User.id == Membership.user_id)
                                  .where(Membership.team_id.in_([t.id for t in teams]))
                                  .order_by(User.username)).all()
    by_team: dict[str, list] = {}
    for team_id, username, role in members:
        by_team.setdefault(team_id, []).append({"username": username, "role": role})
    return [{"id": t.id, "name": t.name, "description": t.description, "members": by_team.get(t.id, [])}
            for t in teams]


def create_token(core: Core, actor: Actor, name: str = "", username: str | None = None) -> dict:
    """A new token for the actor (or, for a site admin, another user); the plaintext is shown only here."""
    with core.sessions.begin() as session:
        user = _user_by_name(session, username) if username else session.get(User, actor.user_id)
        if user.id != actor.user_id and not actor.is_admin:
            raise Forbidden("only an administrator can create tokens for another user")
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(user_id=user.id, name=name[:100], token_hash=token_hash(plaintext), prefix=plaintext[:10])
        session.add(token)
        session.flush()
        audit.record(session, actor, "token.create", "token", token.id, after={"name": token.name,
                                                                                 "user": user.username})
        return {"id": token.id, "name": token.name, "prefix": token.prefix, "token": plaintext,
                "created_at": validation.iso(token.created_at)}


def list_tokens(core: Core, actor: Actor) -> list[dict]:
    with core.sessions() as session:
        rows = session.execute(select(ApiToken).where(ApiToken.user_id == actor.user_id)
                               .order_by(ApiToken.created_at.desc())).scalars()
        return [{"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": validation.iso(t.created_at),
                 "last_used_at": validation.iso(t.last_used_at), "revoked_at": validation.iso(t.revoked_at)}
                for t in rows]


def token_page(core: Core, actor: Actor, limit: int = 100, cursor: str | None = None) -> Page:
    """The actor's tokens, newest first, paged like every other list (never their secret)."""
    limit, offset = check_limit(limit), offset_from(cursor)
    with core.sessions() as session:
        base = select(ApiToken).where(ApiToken.user_id == actor.user_id)
        total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        rows = session.execute(base.order_by(ApiToken.created_at.desc(), ApiToken.id)
                               .offset(offset).limit(limit + 1)).scalars()
        items = [_token_dict(t) for t in rows]
    return offset_page(items, offset, limit, total)


def _token_dict(t: ApiToken) -> dict:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": validation.iso(t.created_at),
            "last_used_at": validation.iso(t.last_used_at), "revoked_at": validation.iso(t.revoked_at)}


def revoke_token(core: Core, actor: Actor, token_id: str) -> None:
    with core.sessions.begin() as session:
        token = session.get(ApiToken, token_id)
        if token is None or (token.user_id != actor.user_id and not actor.is_admin):
            raise NotFound(f"token {token_id} not found", "token_id")
        if token.revoked_at is None:
            token.revoked_at = now_ms()
            audit.record(session, actor, "token.revoke", "token", token.id)
        core.cache.delete(f"token:{token.token_hash}")


def actor_for_token(core: Core, token: str) -> Actor | None:
    """Resolve a bearer token (cached for a few seconds; revocation clears the cache entry)."""
    digest = token_hash(token)
    cached = core.cache.get(f"token:{digest}")
    if cached is not None:
        return cached
    with core.sessions.begin() as session:
        row = session.execute(select(ApiToken).where(ApiToken.token_hash == digest)).scalar_one_or_none()
        if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at < now_ms()):
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.is_active:
            return None
        row.last_used_at = now_ms()
        actor = actor_for(session, user)
    core.cache.set(f"token:{digest}", actor, timeout=TOKEN_CACHE_SECONDS)
    return actor
