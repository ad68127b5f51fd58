"""Build progress in plain stages, shared with other processes through a JSON file.

Every dbt node belongs to a stage an owner recognises (checking the data, building
features, backtesting, training, scoring, checking health). dbt runs several nodes at once
(BATON_BUILD_THREADS); the one shown is the longest running, whose stage is what the build
is waiting for. The estimate of time left is per node: each node that has not finished yet
is expected to take as long as it did in the last successful build (nodes new since then
count as zero), each running node is credited with the time it has already spent, and the
sum is scaled by this build's pace so far (actual over usual time of the nodes finished, so
a slower or faster build corrects it) and by its overlap so far (wall time over node time,
as nodes run side by side).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pipeline.build.dbt_runner import NodeEvent
from pipeline.files import write_atomic
from pipeline.settings import Settings

BAR_WIDTH = 24
# Stages in build order, and the dbt node names (prefixes or exact) that belong to each; a
# data test belongs to the stage of the model its name contains.
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Checking the data", ("stg_", "monitor_raw_schema", "monitor_schema_changes")),
    ("Building features", ("int_", "customer_snapshots", "flat_customer_snapshots",
                           "feature_dictionary", "data_as_of", "dataset_profile", "ml_features",
                           "ml_config", "customer_exports_history")),
    ("Backtesting", ("ml_backtest_", "ml_reliability")),
    ("Training", ("ml_model_candidate", "ml_model_in_service")),
    ("Scoring and explaining", ("ml_predictions", "ml_explanations", "customer_explanations",
                                "common_reasons", "at_risk_customers", "feature_importance")),
    ("Checking health", ("monitor_", "triage_verdict")),
)  # fmt: skip
STARTING = "Starting"
# The pace and overlap corrections wait for this many seconds of work (noise before that).
PACE_AFTER_SECONDS = 3.0


def stage_of(name: str) -> str:
    """The stage a dbt node (model, test or snapshot) belongs to."""
    for stage, names in STAGES:
        if any(name.startswith(prefix) for prefix in names):
            return stage
    for stage, names in STAGES:  # a test: the stage of the model its name mentions
        if any(prefix in name for prefix in names):
            return stage
    return "Building features"


@dataclass
class Progress:
    """How far the running build is: nodes done of total, the running nodes, an estimate."""

    build_id: str
    trigger: str
    started: float = field(default_factory=time.time)
    total: int = 0
    done: int = 0
    # The longest-running node (after the last one ends: the last to have run).
    current: str = ""
    failed: list[str] = field(default_factory=list)
    # unique_id -> seconds that node took in the last successful build
    node_seconds: dict[str, float] = field(default_factory=dict)
    # unique_id -> [name, start time] of every node running now.
    running: dict[str, list[Any]] = field(default_factory=dict)
    finished_ids: list[str] = field(default_factory=list)
    # starting, dbt, counting rows, publishing: where a stopped build was, besides its node.
    phase: str = "starting"
    # Seconds the finished nodes took, and took in the last successful build (the pace).
    actual_done: float = 0.0
    usual_done: float = 0.0
    # When the first node started (the overlap's wall time counts from there).
    first_started: float = 0.0

    @property
    def stage(self) -> str:
        """The stage of the longest-running node, in words."""
        return stage_of(self.current) if self.current else STARTING

    @property
    def pace(self) -> float:
        """How much slower (>1) or faster (<1) this build runs than the last one so far."""
        if self.actual_done < PACE_AFTER_SECONDS or self.usual_done <= 0:
            return 1.0
        return min(max(self.actual_done / self.usual_done, 0.25), 4.0)

    @property
    def overlap(self) -> float:
        """Wall time over node time so far (1: one node at a time; 0.5: two side by side)."""
        now = time.time()
        busy = self.actual_done + sum(now - started for _, started in self.running.values())
        if busy < PACE_AFTER_SECONDS or not self.first_started:
            return 1.0
        return min(max((now - self.first_started) / busy, 0.25), 1.0)

    @property
    def elapsed(self) -> float:
        """Seconds since the build started."""
        return time.time() - self.started

    @property
    def remaining_seconds(self) -> float | None:
        """Estimated seconds left, summed per node from the last successful build."""
        if not self.node_seconds:
            return None
        finished = set(self.finished_ids)
        waiting = sum(
            seconds
            for unique_id, seconds in self.node_seconds.items()
            if unique_id not in finished and unique_id not in self.running
        )
        now = time.time()
        running = sum(
            max(self.node_seconds.get(unique_id, 0.0) * self.pace - (now - started), 0.0)
            for unique_id, (_, started) in self.running.items()
        )
        return (waiting * self.pace + running) * self.overlap

    def apply(self, event: NodeEvent) -> None:
        """Update from one dbt node event."""
        if event.kind == "total":
            self.total = max(self.total, event.total)
        elif event.kind == "start":
            now = time.time()
            self.first_started = self.first_started or now
            self.running[event.unique_id] = [event.name, now]
            self._show_longest_running()
        elif event.kind == "finish":
            self.done += 1
            self.finished_ids.append(event.unique_id)
            self.running.pop(event.unique_id, None)
            self._show_longest_running()
            if event.unique_id in self.node_seconds and event.seconds > 0:
                self.actual_done += event.seconds
                self.usual_done += self.node_seconds[event.unique_id]
            if event.status in ("error", "fail"):
                self.failed.append(event.name)

    def _show_longest_running(self) -> None:
        if not self.running:
            return
        self.current = min(self.running.values(), key=lambda item: item[1])[0]

    def line(self) -> str:
        """One line for logs: `[12/40] Backtesting (8s elapsed, about 11s left)`."""
        return describe(self.to_dict(), bar=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, with derived fields as of now."""
        state = asdict(self)
        del state["node_seconds"], state["finished_ids"]
        return {
            **state,
            "elapsed": self.elapsed,
            "remaining": self.remaining_seconds,
            "stage": self.stage,
            "updated": time.time(),
        }


def share_done(state: dict[str, Any]) -> float:
    """Nodes done as a share of all nodes, 0..1 (0 until dbt reports the total)."""
    total, done = state.get("total") or 0, state.get("done") or 0
    return min(done / total, 1.0) if total else 0.0


def describe(state: dict[str, Any], bar: bool = False, width: int | None = None) -> str:
    """The progress sentence the CLI, the sidebar and the Pipeline page all show; with `bar`,
    a bar that fits a terminal of `width` columns (the sentence is cut to fit, never wraps)."""
    total, done = state.get("total") or 0, state.get("done") or 0
    since_update = max(time.time() - float(state.get("updated") or time.time()), 0.0)
    elapsed = float(state.get("elapsed") or 0.0) + since_update
    stage = state.get("stage") or (stage_of(state["current"]) if state.get("current") else STARTING)
    remaining = state.get("remaining")
    tail = (
        f", about {max(remaining - since_update, 0.0):.0f}s left" if remaining is not None else ""
    )
    prefix = f"[{done}/{total or '?'}]"
    text = f"{stage} ({elapsed:.0f}s elapsed{tail})"
    if not bar:
        return f"{prefix} {text}"
    columns = width or BAR_WIDTH + 60
    bar_width = max(min(BAR_WIDTH, columns - len(text) - 12), 4)
    filled = round(bar_width * share_done(state))
    line = f"[{'#' * filled}{'-' * (bar_width - filled)}] {done}/{total or '?'} {text}"
    return line if len(line) < columns else line[: max(columns - 2, 1)] + "…"


def write(settings: Settings, progress: Progress) -> None:
    """Publish the progress for the app and other processes."""
    write_atomic(settings.home / "progress.json", json.dumps(progress.to_dict()))


def read(settings: Settings) -> dict[str, Any] | None:
    """The last progress written, or None."""
    try:
        return dict(json.loads((settings.home / "progress.json").read_text()))
    except (OSError, ValueError):
        return None


def of_build_since(state: Mapping[str, Any] | None, since: float) -> dict[str, Any]:
    """The progress of a build launched at `since` (epoch seconds): the shared file's once
    that build has written it, else {} (it is starting; the file is still an earlier build's,
    which would read as done, with the wrong time elapsed)."""
    if not state or float(state.get("started") or 0.0) < since - 1.0:
        return {}
    return dict(state)


def of_holder(settings: Settings, holder: dict[str, Any]) -> dict[str, Any]:
    """The progress of the build a lock holder (or the app's own job) describes: its
    `started_at`; while that build has not written its own progress yet, a start with the
    time elapsed since the holder took the lock (so "Starting (7s elapsed)" counts)."""
    started_at = holder.get("started_at")
    if not started_at:
        return read(settings) or {}
    try:
        since = datetime.fromisoformat(str(started_at)).timestamp()
    except ValueError:
        return read(settings) or {}
    return of_build_since(read(settings), since) or {"elapsed": 0.0, "updated": since}
