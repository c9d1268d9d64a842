"""HTTP transport: base URL, bearer token (or username/password exchanged for one), JSON, retries with backoff."""
from __future__ import annotations

import json
import random
import threading
import time
from typing import Any, Dict, Optional

import requests

from experiment_tracker.errors import ServerUnreachable, TrackerError

RETRY_STATUSES = frozenset({429, 502, 503, 504})
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout)


def dumps(body: Any) -> bytes:
    """Compact JSON; NaN/infinity are refused here (the API rejects them) rather than sent."""
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: uniform in [base/2, min(cap, base * 2**attempt)]."""
    top = min(cap, base * (2 ** attempt))
    return random.uniform(min(base / 2, top), top)


class Transport:
    """One per Tracker; each thread gets its own requests.Session (a Session is not thread-safe)."""

    def __init__(self, url: str, token: Optional[str] = None, username: Optional[str] = None,
                 password: Optional[str] = None, timeout: float = 30.0, retries: int = 4, backoff: float = 0.25,
                 max_backoff: float = 5.0, verify: Any = True, user_agent: str = "experiment-tracker-client") -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, not {url!r}")
        if token is None and not (username and password):
            raise ValueError("give a token, or username and password")
        self.base = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.verify = verify
        self.user_agent = user_agent
        self._token = token
        self._credentials = (username, password) if username and password else None
        self._token_lock = threading.Lock()
        self._local = threading.local()

    # ------------------------------------------------------------ plumbing

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = self.user_agent
            session.verify = self.verify
            self._local.session = session
        return session

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base}{path}"

    def token(self) -> str:
        with self._token_lock:
            if self._token is None:
                self._token = self._login()
            return self._token

    def _login(self) -> str:
        username, password = self._credentials  # type: ignore[misc]
        try:
            response = self._session().post(self.url("/api/v1/auth/token"), timeout=self.timeout,
                                            data=dumps({"username": username, "password": password,
                                                        "name": "experiment-tracker-client"}),
                                            headers={"Content-Type": "application/json"})
        except NETWORK_ERRORS as exc:
            raise ServerUnreachable(f"cannot reach {self.base} to sign in: {exc}") from None
        if response.status_code != 201:
            raise TrackerError.from_response(response)
        return response.json()["token"]

    def _refresh_token(self, stale: str) -> bool:
        """After a 401: sign in again (only possible with username/password); False when we cannot."""
        if self._credentials is None:
            return False
        with self._token_lock:
            if self._token == stale:
                self._token = None
        self.token()
        return True

    # ------------------------------------------------------------ requests

    def send(self, method: str, path: str, body: Any = None, *, params: Optional[Dict[str, Any]] = None,
             files: Any = None, data: Any = None, timeout: Optional[float] = None,
             stream: bool = False) -> requests.Response:
        """One attempt (after at most one re-sign-in on 401). Network errors propagate to the caller."""
        for attempt in range(2):
            token = self.token()
            headers = {"Authorization": f"Bearer {token}"}
            payload = data
            if body is not None:
                payload = dumps(body)
                headers["Content-Type"] = "application/json"
            response = self._session().request(method, self.url(path), params=params, data=payload, files=files,
                                               headers=headers, timeout=timeout or self.timeout, stream=stream)
            if response.status_code == 401 and attempt == 0 and self._refresh_token(token):
                continue
            return response
        return response

    def request(self, method: str, path: str, body: Any = None, *, retry: bool = True, **kw: Any) -> requests.Response:
        """send() with retries and exponential backoff on network errors and 429/502/503/504.

        Raises ServerUnreachable when every attempt failed; other statuses are returned to the caller.
        """
        attempts = self.retries + 1 if retry else 1
        last: Optional[str] = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, self.backoff, self.max_backoff))
            rewind = kw.get("files")
            if rewind:
                for item in rewind.values():
                    handle = item[1] if isinstance(item, tuple) else item
                    if hasattr(handle, "seek"):
                        handle.seek(0)
            try:
                response = self.send(method, path, body, **kw)
            except NETWORK_ERRORS as exc:
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                last = f"HTTP {response.status_code}"
                continue
            return response
        raise ServerUnreachable(f"{method} {self.url(path)} failed after {attempts} attempt(s): {last}")

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        """request() and decode: the JSON answer, or TrackerError built from the error envelope."""
        response = self.request(method, path, body, **kw)
        if response.status_code >= 400:
            raise TrackerError.from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise TrackerError(f"{method} {path}: the answer is not JSON", response.status_code) from None

    def pages(self, path: str, params: Optional[Dict[str, Any]] = None, limit: int = 1000) -> Any:
        """Iterate the items of a paged list endpoint."""
        query = dict(params or {}, limit=limit)
        while True:
            page = self.call("GET", path, params={k: v for k, v in query.items() if v is not None})
            yield from page.get("items", [])
            if not page.get("next_cursor"):
                return
            query["cursor"] = page["next_cursor"]


def _error(response: Any) -> Dict[str, Any]:
    try:
        return response.json().get("error") or {}
    except (ValueError, AttributeError):
        return {}


def error_code(response: Any) -> str:
    return str(_error(response).get("code") or "")


def error_message(response: Any) -> str:
    return str(_error(response).get("message") or f"HTTP {response.status_code}")
