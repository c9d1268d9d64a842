"""Browser sessions: flask-login wiring, the login form (CSRF, rate limit) and the guard for pages and Dash."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlsplit

from flask import Flask, current_app, g, redirect, render_template_string, request
from flask.sessions import SecureCookieSessionInterface
from flask.wrappers import Response
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf, validate_csrf
from wtforms import ValidationError

from api.common import CORE_KEY
from api.errors import envelope
from services import accounts
from services.context import Actor

LOGIN_LIMIT = "5 per minute; 30 per hour"
CSRF_COOKIE = "_csrf_token"  # Dash's renderer copies this cookie into an X-CSRFToken header
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon", "/favicon.ico")  # no session needed
PUBLIC_PREFIXES = ("/login", *STATIC_PREFIXES, "/healthz", "/readyz", "/openapi", "/docs")
DASH_PREFIXES = ("/_dash-", "/_reload-hash", "/_alive_")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LIMITER_KEY = "et_login_limiter"
ACTOR_CACHE_SECONDS = 5
csrf = CSRFProtect()


@dataclass
class SessionUser:
    """The flask-login user: a thin wrapper around the service layer's Actor."""

    actor: Actor
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return self.actor.user_id


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Experiment Tracking 2.0</title>
<link rel="stylesheet" href="/assets/00_bootstrap.min.css"><link rel="stylesheet" href="/assets/app.css"></head>
<body class="login-body">
<main class="login-card card shadow-sm">
  <div class="card-body p-4">
    <h1 class="h4 mb-1">Experiment Tracking 2.0</h1>
    <p class="text-secondary mb-4">Sign in to your team's experiments</p>
    {% if message %}<div id="login-error" class="alert alert-{{ level }}" role="alert">{{ message }}</div>{% endif %}
    <form method="post" action="/login" novalidate>
      <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
      <input type="hidden" name="next" value="{{ next_url }}">
      <div class="mb-3"><label class="form-label" for="username">Username</label>
        <input class="form-control" id="username" name="username" value="{{ username }}" autocomplete="username"
               required autofocus></div>
      <div class="mb-3"><label class="form-label" for="password">Password</label>
        <input class="form-control" type="password" id="password" name="password"
               autocomplete="current-password" required></div>
      <div class="form-check mb-3"><input class="form-check-input" type="checkbox" id="remember" name="remember"
               value="1"><label class="form-check-label" for="remember">Remember me on this computer</label></div>
      <button id="login-submit" class="btn btn-primary w-100" type="submit">Sign in</button>
    </form>
  </div>
</main>
<script>/* an MLflow UI link (/#/experiments/...) keeps its fragment through sign-in */
if (location.hash.startsWith("#/experiments/")) { document.querySelector("input[name=next]").value = "/" + location.hash; }
</script></body></html>"""


def safe_next(target: str | None) -> str:
    """Only same-site paths may be a post-login destination (no open redirect)."""
    if not target:
        return "/projects"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/projects"
    return target


def _login_page(message: str = "", status: int = 200, level: str = "danger", username: str = "",
                next_url: str = "") -> Response:
    html = render_template_string(LOGIN_PAGE, message=message, level=level, username=username,
                                  next_url=safe_next(next_url or request.values.get("next")))
    return Response(html, status=status, mimetype="text/html")


def login_view() -> Response:
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(safe_next(request.args.get("next")))
        return _login_page()
    csrf.protect()
    username = (request.form.get("username") or "").strip()
    actor = accounts.authenticate(current_app.extensions[CORE_KEY], username, request.form.get("password") or "")
    if actor is None:
        g.login_failed = True
        return _login_page("Wrong username or password.", username=username)
    login_user(SessionUser(actor), remember=request.form.get("remember") == "1")
    return redirect(safe_next(request.form.get("next")))


def logout_view() -> Response:
    logout_user()
    response = redirect("/login")
    response.delete_cookie(CSRF_COOKIE)
    return response


def _load_user(user_id: str) -> SessionUser | None:
    """Every request re-reads the user (cached a few seconds), so a disabled user or a role change applies."""
    core = current_app.extensions[CORE_KEY]
    actor = core.cache.get(f"session-actor:{user_id}")
    if actor is None:
        actor = accounts.load_actor(core, user_id)
        if actor is not None:
            core.cache.set(f"session-actor:{user_id}", actor, timeout=ACTOR_CACHE_SECONDS)
    return SessionUser(actor) if actor is not None else None


def guard() -> Response | None:
    """Pages → /login redirect, Dash endpoints → 401; sets g.session_actor for a signed-in browser."""
    path = request.path
    if path.startswith(STATIC_PREFIXES):
        return None  # public bundles: not reading the session keeps them cacheable (no Vary: Cookie)
    user = current_user
    if user.is_authenticated:
        g.session_actor = user.actor
        if request.method not in SAFE_METHODS and (path.startswith(DASH_PREFIXES) or _session_api_write()):
            csrf.protect()
        return None
    if path.startswith("/api/") or path.startswith(PUBLIC_PREFIXES):
        return None
    if path.startswith(DASH_PREFIXES):
        return envelope(401, "unauthorized", "sign in at /login")
    target = request.full_path if request.query_string else path
    return redirect(f"/login?next={quote(target, safe='/')}")


def _session_api_write() -> bool:
    return request.path.startswith("/api/") and not request.headers.get("Authorization")


class StaticAwareSessionInterface(SecureCookieSessionInterface):
    """Flask marks every response that looked at the session "Vary: Cookie"; flask-login looks on every request.
    Public bundles do not depend on the session, so they drop it and stay in the browser's cache."""

    def save_session(self, app: Flask, session: object, response: Response) -> None:  # type: ignore[override]
        super().save_session(app, session, response)
        if request.path.startswith(STATIC_PREFIXES):
            response.vary.discard("Cookie")


def _csrf_cookie_valid() -> bool:
    try:
        validate_csrf(request.cookies.get(CSRF_COOKIE))
    except ValidationError:
        return False
    return True


def _set_csrf_cookie(response: Response) -> Response:
    """Pages (HTML) carry the token for Dash's callbacks, set only when the browser lacks a valid one: other
    responses, and a page load with the same cookie, leave the Cookie header stable for the browser's cache."""
    if g.get("session_actor") is not None and response.mimetype == "text/html" \
            and not request.path.startswith("/api/") and not _csrf_cookie_valid():
        response.set_cookie(CSRF_COOKIE, generate_csrf(), samesite="Lax", httponly=False,
                            secure=request.is_secure)
    return response


def _retry_after() -> int | None:
    limiter: Limiter | None = current_app.extensions.get(LIMITER_KEY)
    current = limiter.current_limit if limiter is not None else None
    return max(1, int(current.reset_at - time.time())) if current is not None else None


def _rate_limited(_exc: RateLimitExceeded) -> Response:
    retry = _retry_after()
    if request.path.startswith("/login"):
        wait = f" Try again in {int(retry)} seconds." if retry else " Try again in a minute."
        response = _login_page("Too many failed sign-in attempts." + wait, status=429, level="warning",
                               username=(request.form.get("username") or "").strip())
    elif request.path.startswith("/api/"):
        response = envelope(429, "rate_limited", "too many requests; slow down")
    else:
        response = Response("Too many requests", status=429, mimetype="text/plain")
    if retry:
        response.headers["Retry-After"] = str(int(retry))
    return response


def _csrf_failed(exc: CSRFError) -> Response:
    if request.path.startswith("/login"):
        return _login_page("The sign-in form expired. Please sign in again.", status=400, level="warning")
    if request.path.startswith("/api/"):
        return envelope(400, "csrf_failed", "send the X-CSRFToken header with session-authenticated writes")
    return Response(f"CSRF check failed: {exc.description}", status=400, mimetype="text/plain")


def _limiter(server: Flask) -> Limiter:
    """Shared counts in Redis when REDIS_URL is set (all workers see them), else per process memory."""
    core = server.extensions.get(CORE_KEY)
    redis_url = core.settings.redis_url if core is not None else ""
    # One deployment = one database: its workers share counts, other deployments on the same Redis do not.
    database = core.settings.effective_database_url if core is not None else ""
    prefix = "et-login-" + hashlib.sha256(database.encode()).hexdigest()[:12]
    limiter = Limiter(get_remote_address, app=server, storage_uri=redis_url or "memory://",
                      in_memory_fallback_enabled=True, key_prefix=prefix, strategy="fixed-window")
    server.extensions[LIMITER_KEY] = limiter
    return limiter


def install(server: Flask) -> None:
    """Attach login, logout and the session guard to the server."""
    server.session_interface = StaticAwareSessionInterface()
    server.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # the guard decides what needs the token
    server.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # tied to the session instead of a clock
    server.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    server.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    server.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    server.config.setdefault("REMEMBER_COOKIE_HTTPONLY", True)
    server.config.setdefault("REMEMBER_COOKIE_DURATION", timedelta(days=30))
    csrf.init_app(server)
    manager = LoginManager(server)
    manager.session_protection = "basic"
    manager.user_loader(_load_user)
    limiter = _limiter(server)
    failed = lambda _response: bool(g.get("login_failed"))  # noqa: E731 - count only wrong passwords
    login = limiter.limit(LOGIN_LIMIT, methods=["POST"], deduct_when=failed)(login_view)
    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout_view, methods=["GET", "POST"])
    server.before_request(guard)
    server.after_request(_set_csrf_cookie)
    server.register_error_handler(RateLimitExceeded, _rate_limited)
    server.register_error_handler(CSRFError, _csrf_failed)
