"""Dependency direction (DESIGN.md): every module's imports, read with ast, stay inside what its layer may use."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# layer -> top-level names it must not import; "flask" also stands for flask_* extensions, "dash" for dash_* ones
FORBIDDEN: dict[str, set[str]] = {
    "components": {"services", "db", "storage", "live", "flask", "api", "auth", "callbacks", "pages"},
    "services": {"flask", "dash", "api", "auth", "callbacks", "pages", "components"},
    "db": {"services", "api", "auth", "callbacks", "pages", "components", "flask", "dash"},
    "storage": {"services", "api", "auth", "callbacks", "pages", "components", "flask", "dash"},
    "live": {"services", "api", "auth", "callbacks", "pages", "components", "flask", "dash"},
    "api": {"callbacks", "pages", "components"},
    # pages may import components, services and callbacks (the experiment and run pages build their first
    # content in the page's own request through callbacks.common.initial_content), nothing lower or server-side
    "pages": {"db", "storage", "live", "api", "auth", "flask"},
}

# Known breaks, each as "path:imported top-level name" with the reason it stays; empty while there are none.
ALLOWED: set[str] = set()


def _family(name: str) -> str:
    """The rule name an imported top-level module counts as (flask_login -> flask, dash_ag_grid -> dash)."""
    for family in ("flask", "dash"):
        if name == family or name.startswith(f"{family}_"):
            return family
    return name


def imports(source: str, package: str) -> list[tuple[int, str]]:
    """(line, top-level module) for every import in the source, also inside functions; relative ones are `package`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, package if node.level else (node.module or "").split(".")[0]))
    return found


def breaks(layer: str, path: str, source: str) -> list[str]:
    """'path:line imports name' for every import the layer forbids."""
    return [f"{path}:{line} imports {name}" for line, name in imports(source, layer)
            if _family(name) in FORBIDDEN[layer] and f"{path}:{name}" not in ALLOWED]


def modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    files = modules(layer)
    assert files, f"no modules found under {layer}/"
    found = [b for f in files for b in breaks(layer, f.relative_to(ROOT).as_posix(), f.read_text(encoding="utf-8"))]
    assert found == [], "imports against the dependency direction in DESIGN.md:\n" + "\n".join(found)


def test_the_scan_sees_imports_anywhere_in_a_module() -> None:
    source = ("from flask import request\nimport dash_bootstrap_components as dbc\n"
              "def f():\n    from services.runs import get_run\n    from . import ids\n")
    assert breaks("components", "components/x.py", source) == [
        "components/x.py:1 imports flask", "components/x.py:4 imports services"]
    assert breaks("services", "services/x.py", source) == [
        "services/x.py:1 imports flask", "services/x.py:2 imports dash_bootstrap_components"]


def test_allowed_breaks_still_exist() -> None:
    """An allow-list entry whose import is gone must be removed, so the list never hides a new break."""
    stale = []
    for entry in ALLOWED:
        path, name = entry.rsplit(":", 1)
        layer = path.split("/")[0]
        if not any(found == name for _line, found in imports((ROOT / path).read_text(encoding="utf-8"), layer)):
            stale.append(entry)
    assert stale == []
