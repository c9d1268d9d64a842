"""/api/v1/auth and /api/v1/tokens: exchange a password for a token, list and revoke tokens."""
from __future__ import annotations

from flask_openapi3 import APIBlueprint, Tag

from api.common import ERRORS, SECURITY, actor, core, page_reply, reply
from api.schemas import PageOut, PageQuery, TokenPath, TokenRequest
from services import accounts
from services.errors import Unauthorized


def blueprint() -> APIBlueprint:
    bp = APIBlueprint("v1_auth", __name__, url_prefix="/api/v1", abp_responses=ERRORS)
    tag = Tag(name="auth")

    @bp.post("/auth/token", tags=[tag], responses={201: None})
    def issue_token(body: TokenRequest):  # noqa: ANN202
        """Exchange username and password for a bearer token (shown once)."""
        who = accounts.authenticate(core(), body.username, body.password)
        if who is None:
            raise Unauthorized("wrong username or password")
        return reply(accounts.create_token(core(), who, body.name), 201)

    @bp.get("/tokens", tags=[tag], security=SECURITY, responses={200: PageOut})
    def list_tokens(query: PageQuery):  # noqa: ANN202
        """Your tokens, newest first (never their secret); paged."""
        return page_reply(accounts.token_page(core(), actor(), query.limit, query.cursor))

    @bp.delete("/tokens/<token_id>", tags=[tag], security=SECURITY, responses={204: None})
    def revoke_token(path: TokenPath):  # noqa: ANN202
        """Revoke a token; it stops working at once."""
        accounts.revoke_token(core(), actor(), path.token_id)
        return reply({}, 204)

    @bp.get("/me", tags=[tag], security=SECURITY)
    def me():  # noqa: ANN202
        """Who the token belongs to, with team roles."""
        who = actor()
        return reply({"user_id": who.user_id, "username": who.username, "is_admin": who.is_admin,
                      "teams": accounts.list_teams(core(), who)})

    return bp
