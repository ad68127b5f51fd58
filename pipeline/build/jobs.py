"""Background builds for the app: one at a time, state readable from any rerun.

A thread waits on the build, which runs in a child process (pipeline.build.worker), so the
Streamlit server and the build do not share an interpreter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from pipeline.access import Actor, require_operator
from pipeline.build.lock import BuildRefusedError, is_locked, read_holder
from pipeline.build.worker import build_in_child
from pipeline.history import RunRecord
from pipeline.settings import Settings

Runner = Callable[..., RunRecord]


class BuildJob:
    """Starts rebuilds in the background and remembers how the last one ended."""

    def __init__(self, settings: Settings, runner: Runner = build_in_child) -> None:
        self.settings = settings
        self._runner = runner
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last: RunRecord | None = None
        self.error: str | None = None
        self._started: dict[str, str] = {}

    @property
    def running(self) -> bool:
        """True while a build started here or in another process is running."""
        mine = self._thread is not None and self._thread.is_alive()
        return mine or is_locked(self.settings.lock_path)

    def holder(self) -> dict[str, str]:
        """Who runs the current build ({} when none): this app's own, else the lock's holder."""
        if self._thread is not None and self._thread.is_alive():
            return dict(self._started)
        return read_holder(self.settings.lock_path) if is_locked(self.settings.lock_path) else {}

    def start(self, trigger: str = "app", *, by: Actor) -> str | None:
        """Start a build for `by`; return a polite refusal message if one is already running.

        Raises AccessDeniedError for a viewer: only an operator may rebuild.
        """
        require_operator(by, "rebuilding")
        with self._guard:
            if self._thread is not None and self._thread.is_alive():
                return str(BuildRefusedError(self._started))
            if is_locked(self.settings.lock_path):
                return str(BuildRefusedError(read_holder(self.settings.lock_path)))
            self.error = None
            self._started = {
                "trigger": trigger,
                "by": by.name,
                "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self._thread = threading.Thread(
                target=self._run, args=(trigger, by), name="baton-build", daemon=True
            )
            self._thread.start()
            return None

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current build thread ends (for tests and scripts)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, trigger: str, by: Actor) -> None:
        try:
            self.last = self._runner(self.settings, trigger=trigger, by=by)
        except Exception as error:  # shown on the Pipeline page, never raised into Streamlit
            self.error = str(error)
