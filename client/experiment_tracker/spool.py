"""Disk spool: writes the server has not acknowledged yet, one JSON file each, under <root>/<server>/<run_id>/.

Files are written atomically (temporary name, then rename; no fsync: they survive the process, not a power
cut) and replayed oldest first. A run directory is
claimed with an advisory lock (flock) by the process that owns the run or replays it, so two processes never
replay the same file; the lock dies with its process, so a crashed run's leftovers are picked up by the next
Tracker that starts against the same server.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; a spool directory should then be used by one process at a time
    fcntl = None  # type: ignore[assignment]

DEFAULT_ROOT = Path.home() / ".experiment_tracker" / "spool"
RECORD_SUFFIX = ".json"


def server_key(url: str) -> str:
    return hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


class Spool:
    """The spool of one server. Thread-safe; `claim` a run before writing or replaying it."""

    def __init__(self, root: Optional[Path], server_url: str) -> None:
        self.dir = Path(root or DEFAULT_ROOT).expanduser() / server_key(server_url)
        self.dir.mkdir(parents=True, exist_ok=True)
        marker = self.dir / "server.json"
        if not marker.exists():
            self._atomic_write(marker, {"url": server_url})
        self._lock = threading.RLock()
        self.session = uuid.uuid4().hex[:12]  # marks the records this Spool object wrote
        self._seq = itertools.count()
        self._claims: Dict[str, Any] = {}  # run_id -> open lock file
        self._pending: Dict[str, int] = {}  # run_id -> number of record files (claimed runs only)

    # ------------------------------------------------------------ claims

    def run_dir(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
            raise ValueError(f"not a run id: {run_id!r}")
        return self.dir / run_id

    def claim(self, run_id: str) -> bool:
        """Take the run's lock (non-blocking); False when another live process holds it."""
        with self._lock:
            if run_id in self._claims:
                return True
            path = self.run_dir(run_id)
            path.mkdir(parents=True, exist_ok=True)
            handle = open(path / ".lock", "a+")
            if fcntl is not None:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    handle.close()
                    return False
            self._claims[run_id] = handle
            self._pending[run_id] = len(self._records(run_id))
            return True

    def release(self, run_id: str) -> None:
        """Drop the lock; the directory goes too when nothing is left in it."""
        with self._lock:
            handle = self._claims.pop(run_id, None)
            self._pending.pop(run_id, None)
            if handle is None:
                return
            path = self.run_dir(run_id)
            if not self._records(run_id) and not (path / "dead").exists():
                shutil.rmtree(path, ignore_errors=True)
            handle.close()

    def claimed(self) -> List[str]:
        with self._lock:
            return list(self._claims)

    def leftovers(self) -> List[str]:
        """Run directories with records that no live process holds: candidates for replay."""
        found = []
        for path in sorted(p for p in self.dir.iterdir() if p.is_dir()):
            if path.name not in self._claims and any(path.glob(f"*{RECORD_SUFFIX}")):
                found.append(path.name)
        return found

    # ------------------------------------------------------------ records

    def _records(self, run_id: str) -> List[Path]:
        return sorted(self.run_dir(run_id).glob(f"*{RECORD_SUFFIX}"))

    def _atomic_write(self, path: Path, record: Dict[str, Any]) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(record, handle, separators=(",", ":"), allow_nan=False)
        os.replace(tmp, path)

    def write(self, run_id: str, kind: str, body: Dict[str, Any], points: int = 0, **extra: Any) -> Path:
        """Append a record (kind: metrics | patch | artifact); names sort in write order."""
        name = f"{time.time_ns():020d}-{os.getpid():07d}-{next(self._seq):09d}{RECORD_SUFFIX}"
        path = self.run_dir(run_id) / name
        record = {"v": 1, "run_id": run_id, "kind": kind, "body": body, "points": points, "session": self.session,
                  **extra}
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._atomic_write(path, record)
            if run_id in self._pending:
                self._pending[run_id] += 1
        return path

    def attachment_path(self, run_id: str, filename: str) -> Path:
        """Where to keep a copy of a file that an artifact record refers to."""
        folder = self.run_dir(run_id) / "files"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{time.time_ns():020d}-{next(self._seq):06d}-{Path(filename).name}"

    def records(self, run_id: str, limit: int = 100) -> List[Path]:
        return self._records(run_id)[:limit]

    def read(self, path: Path) -> Optional[Dict[str, Any]]:
        """A record, or None when it vanished or is unreadable (then it is moved to dead/)."""
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except ValueError:
            self.bury(path, "unreadable spool record")
            return None

    def remove(self, path: Path, record: Optional[Dict[str, Any]] = None) -> None:
        run_id = path.parent.name
        with self._lock:
            try:
                path.unlink()
            except FileNotFoundError:
                return
            if run_id in self._pending:
                self._pending[run_id] = max(0, self._pending[run_id] - 1)
        attachment = (record or {}).get("file")
        if attachment:
            Path(attachment).unlink(missing_ok=True)

    def bury(self, path: Path, reason: str, record: Optional[Dict[str, Any]] = None) -> Path:
        """Move a record the server refuses for good to <run>/dead/, with the reason beside it."""
        dead = path.parent / "dead"
        dead.mkdir(exist_ok=True)
        target = dead / path.name
        if path.exists():
            os.replace(path, target)
            with self._lock:
                if path.parent.name in self._pending:
                    self._pending[path.parent.name] = max(0, self._pending[path.parent.name] - 1)
        elif record is not None:
            self._atomic_write(target, record)
        target.with_suffix(".reason").write_text(reason, encoding="utf-8")
        return target

    def bury_record(self, run_id: str, record: Dict[str, Any], reason: str) -> Path:
        name = f"{time.time_ns():020d}-{os.getpid():07d}-{next(self._seq):09d}{RECORD_SUFFIX}"
        return self.bury(self.run_dir(run_id) / name, reason, record)

    def pending(self, run_id: Optional[str] = None) -> int:
        """Records waiting in claimed runs (all of them, or one run's)."""
        with self._lock:
            if run_id is not None:
                return self._pending.get(run_id, 0)
            return sum(self._pending.values())
