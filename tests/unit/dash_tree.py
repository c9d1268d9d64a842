"""Helpers for callback unit tests: run a callback as a signed-in user; read a component tree as text."""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator

from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.development.base_component import Component
from flask import g

from services.context import Actor


@contextmanager
def signed_in(app: Any, actor: Actor, path: str = "/") -> Iterator[None]:
    """A request context with the actor the session guard would have set (what every callback reads)."""
    with app.server.test_request_context(path, base_url="http://tracker.example:8003"):
        g.session_actor = actor
        yield


@contextmanager
def triggered(component: str | dict, prop: str, value: Any) -> Iterator[None]:
    """What Dash puts in callback_context when `component.prop` changed to `value`."""
    name = component if isinstance(component, str) else json.dumps(component, sort_keys=True, separators=(",", ":"))
    token = context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{name}.{prop}", "value": value}]))
    try:
        yield
    finally:
        context_value.reset(token)


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, Component):
        for name in node._prop_names:
            value = getattr(node, name, None)
            if name in ("children", "label") or isinstance(value, Component):
                yield from walk(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from walk(item)


def text(node: Any) -> str:
    """Every string in the tree (children and labels), space separated."""
    return " ".join(part for part in walk(node) if isinstance(part, str))


def find(node: Any, component_id: str) -> Component | None:
    return next((n for n in walk(node) if isinstance(n, Component) and getattr(n, "id", None) == component_id),
                None)
