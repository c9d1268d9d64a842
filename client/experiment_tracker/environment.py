"""What a run records about where it ran: Python, platform, installed packages, git commit and dirty diff."""
from __future__ import annotations

import os
import platform
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

try:
    from importlib import metadata
except ImportError:  # pragma: no cover - Python < 3.8
    metadata = None  # type: ignore[assignment]

MAX_DIFF_BYTES = 200_000
# The seed's environment shape names a few libraries as "<name>_version"; these are the ones we know.
VERSION_KEYS = {"scikit-learn": "sklearn_version", "torch": "torch_version", "tensorflow": "tensorflow_version",
                "numpy": "numpy_version", "pandas": "pandas_version", "xgboost": "xgboost_version",
                "lightgbm": "lightgbm_version", "transformers": "transformers_version", "jax": "jax_version"}
_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def packages() -> Dict[str, str]:
    """Installed distributions, name → version (importlib.metadata)."""
    if metadata is None:
        return {}
    found: Dict[str, str] = {}
    for dist in metadata.distributions():
        name = (dist.metadata.get("Name") or "").strip()
        if name and name not in found:
            found[name] = dist.version or ""
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


def _git(cwd: Path, *args: str, limit: int = 0) -> Optional[str]:
    try:
        done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    out = done.stdout
    if limit and len(out) > limit:
        out = out[:limit] + f"\n... diff truncated at {limit} bytes\n".encode()
    return out.decode("utf-8", errors="replace")


def git_info(cwd: Optional[Path] = None, include_diff: bool = True) -> Dict[str, Any]:
    """Commit, branch, remote (without credentials), dirty flag and `git diff HEAD` of the repository holding
    the running script (else the working directory); {} outside a repository."""
    for where in [Path(cwd)] if cwd else [_script_dir(), Path(os.getcwd())]:
        commit = _git(where, "rev-parse", "HEAD")
        if commit:
            break
    else:
        return {}
    status = _git(where, "status", "--porcelain") or ""
    info: Dict[str, Any] = {"commit": commit.strip(), "branch": (_git(where, "rev-parse", "--abbrev-ref", "HEAD")
                                                                 or "").strip() or None,
                            "dirty": bool(status.strip()), "root": (_git(where, "rev-parse", "--show-toplevel")
                                                                      or "").strip() or None}
    remote = (_git(where, "config", "--get", "remote.origin.url") or "").strip()
    if remote:
        info["remote"] = _CREDENTIALS.sub("", remote)
    if info["dirty"]:
        info["status"] = status[:20_000]
        if include_diff:
            info["diff"] = _git(where, "diff", "HEAD", limit=MAX_DIFF_BYTES) or ""
    return info


def _script_dir() -> Path:
    """The running script's folder; the working directory when there is none or it is part of the Python
    installation (`python -m pytest`, a console script), whose repository says nothing about the experiment."""
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    if script:
        folder = Path(script).resolve().parent
        installs = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
        if not any(folder == p or p in folder.parents for p in installs):
            return folder
    return Path(os.getcwd())


def capture(include_packages: bool = True, include_git_diff: bool = True,
            cwd: Optional[Path] = None) -> Tuple[Dict[str, Any], Optional[str]]:
    """(environment, git commit) for a new run."""
    env: Dict[str, Any] = {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "system": platform.system(),
        "machine": platform.machine(),
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "argv": [str(a)[:500] for a in sys.argv[:50]],
    }
    if include_packages:
        installed = packages()
        env["packages"] = installed
        lowered = {name.lower(): version for name, version in installed.items()}
        for dist, key in VERSION_KEYS.items():
            if dist in lowered:
                env[key] = lowered[dist]
    git = git_info(cwd, include_git_diff)
    if git:
        env["git"] = git
    return env, git.get("commit") if git else None
