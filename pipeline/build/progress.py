"""Per-node build progress, shared with other processes through a JSON file.

The estimate of time left is per node: each node that has not finished yet is expected to
take as long as it did in the last successful build (nodes new since then count as zero),
and the running node is credited with the time it has already spent.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.build.dbt_runner import NodeEvent
from pipeline.files import write_atomic
from pipeline.settings import Settings

BAR_WIDTH = 24


@dataclass
class Progress:
    """How far the running build is: nodes done of total, the current node, an estimate."""

    build_id: str
    trigger: str
    started: float = field(default_factory=time.time)
    total: int = 0
    done: int = 0
    current: str = ""
    failed: list[str] = field(default_factory=list)
    # unique_id -> seconds that node took in the last successful build
    node_seconds: dict[str, float] = field(default_factory=dict)
    current_id: str = ""
    current_started: float = 0.0
    finished_ids: list[str] = field(default_factory=list)
    # starting, dbt, counting rows, publishing: where a stopped build was, besides its node.
    phase: str = "starting"

    @property
    def elapsed(self) -> float:
        """Seconds since the build started."""
        return time.time() - self.started

    @property
    def current_usual_seconds(self) -> float | None:
        """How long the running node took last time, if it ran then."""
        return self.node_seconds.get(self.current_id) if self.current_id else None

    @property
    def remaining_seconds(self) -> float | None:
        """Estimated seconds left, summed per node from the last successful build."""
        if not self.node_seconds:
            return None
        finished = set(self.finished_ids)
        waiting = sum(
            seconds
            for unique_id, seconds in self.node_seconds.items()
            if unique_id not in finished and unique_id != self.current_id
        )
        running = 0.0 if self.current_id in finished else self.current_usual_seconds or 0.0
        if running:
            running = max(running - (time.time() - self.current_started), 0.0)
        return waiting + running

    def apply(self, event: NodeEvent) -> None:
        """Update from one dbt node event."""
        if event.kind == "total":
            self.total = max(self.total, event.total)
        elif event.kind == "start":
            self.current, self.current_id = event.name, event.unique_id
            self.current_started = time.time()
        elif event.kind == "finish":
            self.done += 1
            self.finished_ids.append(event.unique_id)
            if event.status in ("error", "fail"):
                self.failed.append(event.name)

    def line(self) -> str:
        """One line for logs: `[12/40] ml_backtest (usually 9s) (8s elapsed, about 11s left)`."""
        return describe(self.to_dict(), bar=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, with derived fields as of now."""
        state = asdict(self)
        del state["node_seconds"], state["finished_ids"]
        return {
            **state,
            "elapsed": self.elapsed,
            "remaining": self.remaining_seconds,
            "current_usual": self.current_usual_seconds,
            "updated": time.time(),
        }


def share_done(state: dict[str, Any]) -> float:
    """Nodes done as a share of all nodes, 0..1 (0 until dbt reports the total)."""
    total, done = state.get("total") or 0, state.get("done") or 0
    return min(done / total, 1.0) if total else 0.0


def describe(state: dict[str, Any], bar: bool = False) -> str:
    """The progress sentence the CLI, the sidebar and the Pipeline page all show."""
    total, done = state.get("total") or 0, state.get("done") or 0
    since_update = max(time.time() - float(state.get("updated") or time.time()), 0.0)
    elapsed = float(state.get("elapsed") or 0.0) + since_update
    node = state.get("current") or "starting"
    usual = state.get("current_usual")
    if usual:
        node += f" (usually {usual:.0f}s)"
    remaining = state.get("remaining")
    tail = (
        f", about {max(remaining - since_update, 0.0):.0f}s left" if remaining is not None else ""
    )
    prefix = f"[{done}/{total or '?'}]"
    if bar:
        filled = round(BAR_WIDTH * share_done(state))
        prefix = f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done}/{total or '?'}"
    return f"{prefix} {node} ({elapsed:.0f}s elapsed{tail})"


def write(settings: Settings, progress: Progress) -> None:
    """Publish the progress for the app and other processes."""
    write_atomic(settings.home / "progress.json", json.dumps(progress.to_dict()))


def read(settings: Settings) -> dict[str, Any] | None:
    """The last progress written, or None."""
    try:
        return dict(json.loads((settings.home / "progress.json").read_text()))
    except (OSError, ValueError):
        return None
