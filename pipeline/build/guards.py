"""What keeps a build bounded and its record true: checks before it starts (free disk, the
dataset's settings against their ranges and its data), a watchdog while it runs (time limit,
free disk, spill folder), and SIGTERM/SIGINT handled as an interruption with its step.

Every stop ends as a sentence in the run record (`failure`), never as a traceback:
- settings or data out of range, too little disk: the build fails before dbt starts;
- past BATON_BUILD_TIMEOUT, below BATON_MIN_FREE_DISK_GB free, or spilling more than
  BATON_BUILD_MAX_SPILL: the watchdog cancels dbt's queries (and, in a process of its own such
  as the CLI, interrupts it like Ctrl-C) and the build is recorded as failed;
- SIGTERM or SIGINT (Ctrl-C): recorded as interrupted, at the node or step it reached.
Signals wait while a build publishes (a rename and two small files), so a publish is never
left half done by them; SIGKILL cannot be caught, so readers detect a dead build's pid
(pipeline/history.py) and the next build cleans up after it (`clean_leftovers`).
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import duckdb

from pipeline import dataset
from pipeline.build import faults, publish
from pipeline.build.lock import pid_alive
from pipeline.ingest import bounds
from pipeline.settings import (
    Settings,
    build_max_spill,
    build_timeout_seconds,
    min_free_disk_gb,
)

CHECK_SECONDS = 1.0
SIGNALS = (signal.SIGTERM, signal.SIGINT)
GB = 1_000_000_000


class BuildStopped(Exception):
    """A guard refused or stopped the build; `failure` is the run record's failure."""

    def __init__(self, failure: dict[str, str]) -> None:
        self.failure = failure
        super().__init__(failure["message"])


def free_gb(path: Path) -> float:
    """Free disk, in GB, on the file system that holds `path`."""
    return shutil.disk_usage(path).free / GB


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under `folder` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def spill_limit_bytes() -> int:
    """BATON_BUILD_MAX_SPILL in bytes, as DuckDB reads it (0 when it cannot be read)."""
    with duckdb.connect() as connection:
        connection.execute("set max_temp_directory_size = ?", [build_max_spill()])
        row = connection.execute(
            "select value from duckdb_settings() where name = 'max_temp_directory_size'"
        ).fetchone()
    text = str(row[0]) if row else ""
    units = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
    number, _, unit = text.partition(" ")
    try:
        return int(float(number) * units.get(unit, 1))
    except ValueError:
        return 0


def check_disk(settings: Settings) -> None:
    """Refuse a build when the disk of BATON_HOME has less free space than a build keeps."""
    free, floor = free_gb(settings.home), min_free_disk_gb()
    if free < floor:
        raise BuildStopped(
            {
                "node": "",
                "layer": "pipeline",
                "message": (
                    f"Only {free:.2f} GB is free on the disk of {settings.home}; a build keeps "
                    f"at least {floor:.2f} GB free (BATON_MIN_FREE_DISK_GB) and may spill up to "
                    f"{build_max_spill()} (BATON_BUILD_MAX_SPILL). Free some space, then "
                    "rebuild."
                ),
            }
        )


def check_settings(settings: Settings) -> None:
    """The dataset's vars (dataset.json) against their ranges, and against its data."""
    build_vars = dataset.build_vars(settings)
    problems = bounds.vars_problems(build_vars)
    if not problems and settings.raw_path.exists():
        problems = bounds.data_problems(build_vars, _raw_facts(settings, build_vars))
    if problems:
        name, why = problems[0]
        raise BuildStopped(
            {
                "node": "",
                "layer": "settings",
                "message": (
                    f"The build setting {name} in {settings.dataset_path.name} is not allowed: "
                    f"{why} Import the mapping again with a value in range."
                ),
            }
        )


def _raw_facts(settings: Settings, build_vars: dict[str, Any]) -> bounds.DataFacts:
    kind = str(build_vars.get("dataset_kind", "events"))
    try:
        with duckdb.connect(str(settings.raw_path), read_only=True) as connection:
            return bounds.data_facts(connection, kind)
    except duckdb.Error:
        # A raw file without the contract's tables fails at staging, in words of its own.
        return bounds.DataFacts(None, None, 0)


def clean_leftovers(settings: Settings) -> list[str]:
    """What earlier, killed builds and imports left: the scratch folder (with DuckDB's spill
    files), warehouses moved but never published, half-written files, and the scratch files
    of imports whose process is gone. Call under the build lock."""
    publish.reset_build_dir(settings)
    removed = publish.remove_strays(settings)
    for scratch in settings.home.glob(".raw-import-*.duckdb*"):
        pid = scratch.name.removeprefix(".raw-import-").split(".", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            if scratch.is_dir():
                shutil.rmtree(scratch, ignore_errors=True)
            else:
                scratch.unlink(missing_ok=True)
            removed.append(scratch.name)
    return removed


def cancel_dbt() -> None:
    """Interrupt the SQL every open dbt connection of this process is running."""
    try:
        from dbt.adapters.factory import FACTORY
    except ImportError:  # pragma: no cover - dbt is a runtime requirement
        return
    for adapter in list(FACTORY.adapters.values()):
        try:
            adapter.cancel_open_connections()  # type: ignore[attr-defined]
        except Exception:  # a connection closing under us is fine
            continue


class BuildGuard:
    """The watchdog and signal handling of one build (a context manager)."""

    def __init__(self, settings: Settings, step: Any) -> None:
        # `step()` says where the build is, e.g. "while running ml_backtest_predictions".
        self.settings = settings
        self.step = step
        self.timeout = build_timeout_seconds()
        self.min_free = min_free_disk_gb()
        self.max_spill = spill_limit_bytes()
        self.started = time.monotonic()
        self.reason: dict[str, str] | None = None
        # Where the build was when it was told to stop (dbt runs several nodes at once, and
        # what runs changes while it winds down).
        self.where: dict[str, str] | None = None
        self.signal_name: str | None = None
        self._deferred = False
        self._pending: int | None = None
        self._raised = False
        self._done = threading.Event()
        self._main = threading.current_thread() is threading.main_thread()
        self._previous: dict[int, Any] = {}
        self._previous_hook = sys.unraisablehook
        self._watchdog = threading.Thread(target=self._watch, name="build-guard", daemon=True)

    @property
    def stopped(self) -> bool:
        """True once a limit or a signal stopped the build."""
        return self.reason is not None

    def __enter__(self) -> BuildGuard:
        if self._main:
            for number in SIGNALS:
                self._previous[number] = signal.signal(number, self._on_signal)
            self._previous_hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
        self._watchdog.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._watchdog.join(5)
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        if self._main:
            sys.unraisablehook = self._previous_hook

    def _unraisable(self, unraisable: Any) -> None:
        """Say nothing when the guard's own interrupt lands in a finalizer, which cannot raise
        it (Python would print "Exception ignored in ..." and a traceback): the stop is
        recorded already and goes on by cancelling dbt. Anything else: the usual report."""
        if self._raised and isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        self._previous_hook(unraisable)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold signals while publishing, then act on one that came meanwhile."""
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if self.reason is None:
            self.where = self.step()
        faults.release()
        if self.reason is None:
            self.signal_name = name
            self.reason = {
                "node": "",
                "layer": "pipeline",
                "signal": name,
                "message": f"Interrupted by {name}",
            }
        if self._raised:
            # A second signal while the build winds down: the next one acts as it would
            # without Baton (Ctrl-C three times stops even a Python model mid-way).
            signal.signal(number, signal.SIG_DFL)
            return
        if self._deferred:
            return
        self._raised = True
        raise KeyboardInterrupt(name)

    def _stop(self, message: str) -> None:
        """Stop the build for a limit: record why, then interrupt dbt."""
        if self.reason is None:
            self.where = self.step()
        faults.release()
        if self.reason is None:
            self.reason = {"node": "", "layer": "pipeline", "message": message}
        if self._main and not self._raised and not self._deferred:
            # In the main thread, interrupt it as Ctrl-C does: dbt stops scheduling nodes.
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        cancel_dbt()

    def _watch(self) -> None:
        spill = self.settings.build_dir / "tmp"
        while not self._done.wait(CHECK_SECONDS):
            if self.reason is not None:
                cancel_dbt()  # keep new nodes from running until dbt gives up
                continue
            elapsed = time.monotonic() - self.started
            if elapsed > self.timeout:
                self._stop(
                    f"The build ran longer than its limit of {self.timeout:,.0f} seconds "
                    f"(BATON_BUILD_TIMEOUT) and was stopped"
                )
                continue
            try:
                free = free_gb(self.settings.home)
            except OSError:
                free = self.min_free
            if free < self.min_free:
                self._stop(
                    f"The disk of {self.settings.home} fell to {free:.2f} GB free, below the "
                    f"{self.min_free:.2f} GB a build keeps (BATON_MIN_FREE_DISK_GB), and the "
                    "build was stopped"
                )
                continue
            spilled = folder_bytes(spill)
            if self.max_spill and spilled > self.max_spill:
                self._stop(
                    f"The build spilled {spilled / GB:.1f} GB to {spill}, more than "
                    f"{build_max_spill()} (BATON_BUILD_MAX_SPILL), and was stopped: a query "
                    "needs far more memory than the data should"
                )

    def failure(self) -> dict[str, str]:
        """The run record's failure for a stopped build: why, where, and what serves."""
        assert self.reason is not None
        where = self.where or self.step()
        return {
            **self.reason,
            "node": where.get("node", "") or self.reason.get("node", ""),
            "message": (
                f"{self.reason['message']}{where.get('where', '')}. Its scratch and spill "
                "files were removed."
            ),
        }
