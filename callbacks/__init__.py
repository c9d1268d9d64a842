"""Dash callbacks, attached to an app by register_all(app) (never module-level @callback)."""
from __future__ import annotations

import dash


def register_all(app: dash.Dash) -> None:
    """Attach every page's callbacks to this app."""
