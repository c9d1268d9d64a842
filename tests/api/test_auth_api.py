"""Tokens over /api/v1: issue, use, list, revoke; 401 for missing, bad or revoked tokens; secrets stored hashed."""
from __future__ import annotations

from sqlalchemy import select

from db.models import ApiToken, AuditEvent, User
from tests.api.test_projects import ok
from tests.conftest import PASSWORD, Api


def test_token_issue_use_and_revoke(make_user, client, core) -> None:
    alice = make_user("alice", team="ml-team", role="editor")
    me = ok(alice.get("/api/v1/me"))
    assert me["username"] == "alice" and me["is_admin"] is False
    assert [(t["name"], [m["role"] for m in t["members"]]) for t in me["teams"]] == [("ml-team", ["editor"])]

    issued = ok(client.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD, "name": "ci"}), 201)
    second = Api(client, issued["token"])
    assert issued["name"] == "ci" and issued["token"].startswith(issued["prefix"])
    assert ok(second.get("/api/v1/me"))["username"] == "alice"
    listed = ok(alice.get("/api/v1/tokens"))
    assert listed["total"] == 2 and {t["name"] for t in listed["items"]} == {"api", "ci"}
    assert all("token" not in t for t in listed["items"])
    assert issued["token"] not in alice.get("/api/v1/tokens").get_data(as_text=True)

    assert second.delete(f"/api/v1/tokens/{issued['id']}").status_code == 204
    for url in ("/api/v1/me", "/api/v1/projects", "/api/v1/tokens"):
        response = second.get(url)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    assert second.post("/api/v1/projects", json={"name": "x", "team": "ml-team"}).status_code == 401
    assert ok(alice.get("/api/v1/me"))["username"] == "alice"  # the other token still works
    revoked = [t for t in ok(alice.get("/api/v1/tokens"))["items"] if t["id"] == issued["id"]]
    assert revoked[0]["revoked_at"] is not None

    with core.sessions() as session:
        actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.entity_id == issued["id"])).scalars())
    assert actions == {"token.create", "token.revoke"}


def test_missing_bad_and_foreign_tokens(make_user, client) -> None:
    alice = make_user("alice", team="ml-team")
    bob = make_user("bob", team="cv-team")
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer nope"},
                    {"Authorization": f"Basic {alice.token}"}, {"Authorization": f"Bearer {alice.token}x"},
                    {"Authorization": "Bearer et_" + "A" * 5000}):
        for method, url in (("get", "/api/v1/projects"), ("post", "/api/v1/projects"), ("get", "/api/v1/me"),
                            ("patch", "/api/v1/runs/x"), ("delete", "/api/v1/runs/x")):
            response = getattr(client, method)(url, headers=headers, json={"name": "p"})
            assert response.status_code == 401, (headers, url)
            assert response.get_json()["error"]["code"] == "unauthorized"
            assert response.mimetype == "application/json"
    bobs = ok(bob.get("/api/v1/tokens"))["items"][0]["id"]
    stolen = alice.delete(f"/api/v1/tokens/{bobs}")
    assert stolen.status_code == 404 and stolen.get_json()["error"]["field"] == "token_id"
    assert ok(bob.get("/api/v1/me"))["username"] == "bob"


def test_login_errors(make_user, client) -> None:
    make_user("alice", team="ml-team")
    wrong = client.post("/api/v1/auth/token", json={"username": "alice", "password": "not-it"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "unauthorized"
    ghost = client.post("/api/v1/auth/token", json={"username": "ghost", "password": PASSWORD})
    assert ghost.status_code == 401 and ghost.get_json()["error"]["message"] == wrong.get_json()["error"]["message"]
    missing = client.post("/api/v1/auth/token", json={"username": "alice"})
    assert missing.status_code == 400 and missing.get_json()["error"]["field"] == "password"
    typed = client.post("/api/v1/auth/token", json={"username": "alice", "password": 12345678})
    assert typed.status_code == 400 and typed.get_json()["error"]["field"] == "password"


def test_passwords_and_tokens_are_stored_hashed(make_user, core) -> None:
    alice = make_user("alice", team="ml-team")
    with core.sessions() as session:
        user = session.execute(select(User).where(User.username == "alice")).scalar_one()
        tokens = list(session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalars())
    assert PASSWORD not in user.password_hash and len(user.password_hash) > 40
    assert len(tokens) == 1
    stored = " ".join(str(getattr(tokens[0], c.key)) for c in ApiToken.__table__.columns)
    assert alice.token not in stored and alice.token[12:] not in stored
