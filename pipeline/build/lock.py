"""One build at a time across threads and processes: an flock on a file in BATON_HOME."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class BuildRefusedError(RuntimeError):
    """Raised when a build is requested while another one holds the lock."""

    def __init__(self, holder: dict[str, Any]) -> None:
        self.holder = holder
        who = holder.get("trigger", "")
        if who and holder.get("by"):
            who = f"{who} ({holder['by']})"
        said = " ".join(
            part
            for part in (
                f"started by {who}" if who else "",
                f"at {holder['started_at']}" if holder.get("started_at") else "",
            )
            if part
        )
        if holder.get("build_id"):
            said = f"{said}, build {holder['build_id']}" if said else f"build {holder['build_id']}"
        super().__init__(
            f"A build is already running{f' ({said})' if said else ''}. "
            "Wait for it to finish, then try again."
        )


def read_holder(path: Path) -> dict[str, Any]:
    """Who holds (or last held) the lock, as written by the holder."""
    try:
        return dict(json.loads(path.read_text() or "{}"))
    except (OSError, ValueError):
        return {}


def is_locked(path: Path) -> bool:
    """True while some thread or process holds the build lock.

    A probe needs read access only (a shared lock on a read-only handle), so pages serve from
    a read-only BATON_HOME; probes never block one another.
    """
    try:
        handle = open(path)  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return False
    except OSError:
        # Not even readable by this user: fall back to the holder's pid, if it can be read.
        return pid_alive(read_holder(path).get("pid"))
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def pid_alive(pid: Any) -> bool:
    """Whether a process with this id runs on this machine (False for no id)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def _acquire(handle: Any, patience: float) -> bool:
    """Try the lock for `patience` seconds: is_locked() probes hold it for an instant."""
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


@contextmanager
def build_lock(path: Path, holder: dict[str, Any], patience: float = 0.5) -> Iterator[None]:
    """Hold the build lock or raise BuildRefusedError; the kernel frees it on crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held open for the lifetime of the lock
    try:
        if not _acquire(handle, patience):
            raise BuildRefusedError(read_holder(path))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({**holder, "pid": os.getpid()}))
        handle.flush()
        yield
    finally:
        handle.close()
