"""Per-node build progress, shared with other processes through a JSON file."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.dbt_runner import NodeEvent
from pipeline.history import write_atomic
from pipeline.settings import Settings


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
    expected_seconds: float | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the build started."""
        return time.time() - self.started

    @property
    def remaining_seconds(self) -> float | None:
        """Estimated seconds left, from the previous successful build's duration."""
        if self.expected_seconds is None:
            return None
        return max(self.expected_seconds - self.elapsed, 0.0)

    def apply(self, event: NodeEvent) -> None:
        """Update from one dbt node event."""
        if event.kind == "total":
            self.total = max(self.total, event.total)
        elif event.kind == "start":
            self.current = event.name
        elif event.kind == "finish":
            self.done += 1
            if event.status in ("error", "fail"):
                self.failed.append(event.name)

    def line(self) -> str:
        """One line for logs and terminals: `[12/40] running ml_backtest ... 8s elapsed`."""
        total = self.total or "?"
        eta = self.remaining_seconds
        tail = f", about {eta:.0f}s left" if eta is not None else ""
        node = self.current or "starting"
        return f"[{self.done}/{total}] {node} ({self.elapsed:.0f}s elapsed{tail})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, with derived fields."""
        return {**asdict(self), "elapsed": self.elapsed, "remaining": self.remaining_seconds}


def write(settings: Settings, progress: Progress) -> None:
    """Publish the progress for the app and other processes."""
    write_atomic(settings.home / "progress.json", json.dumps(progress.to_dict()))


def read(settings: Settings) -> dict[str, Any] | None:
    """The last progress written, or None."""
    try:
        return dict(json.loads((settings.home / "progress.json").read_text()))
    except (OSError, ValueError):
        return None
