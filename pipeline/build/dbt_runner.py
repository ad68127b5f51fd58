"""Run dbt in-process with dbtRunner and turn its events into per-node progress records."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dbt.cli.main import dbtRunner

from pipeline.build import faults
from pipeline.settings import Settings

# Only one dbt invocation may run per process (dbt-core does not support concurrent ones).
_IN_PROCESS = threading.Lock()
# Which team owns a failure, by the folder of the failing node.
LAYER_BY_FOLDER = {
    "staging": "source data",
    "intermediate": "transformations",
    "marts": "transformations",
    "ml": "ML",
    "monitoring": "monitoring",
}


@dataclass
class NodeEvent:
    """One node starting or finishing, as pushed by the dbt callback."""

    kind: str  # "start", "finish" or "total"
    unique_id: str = ""
    name: str = ""
    resource_type: str = ""
    status: str = ""
    message: str = ""
    seconds: float = 0.0
    total: int = 0


@dataclass
class NodeResult:
    """The outcome of one dbt node in a build."""

    unique_id: str
    name: str
    resource_type: str
    layer: str
    status: str
    seconds: float
    message: str = ""


@dataclass
class DbtOutcome:
    """What a dbt invocation produced: success, per-node results, or the exception."""

    success: bool
    nodes: list[NodeResult] = field(default_factory=list)
    error: str = ""
    # What `dbt parse` parsed: pass it to the same build's next invocation (run_dbt's
    # `manifest`), which then skips parsing. Never keep it for a later build: files change.
    manifest: Any = None


def layer_of(node: Any) -> str:
    """The layer a node belongs to (source data, transformations, ML, monitoring), by folder."""
    fqn = list(getattr(node, "fqn", []) or [])
    for part in fqn[1:]:
        if part in LAYER_BY_FOLDER:
            return LAYER_BY_FOLDER[part]
    return "transformations"


def short_message(message: str, limit: int = 600) -> str:
    """The first meaningful lines of a dbt/DuckDB error, without candidate-function dumps."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if any(line.startswith("Traceback") for line in lines):
        # A Python model failed: its first line and the exception at the end say what.
        lines = [lines[0], lines[-1]]
    kept: list[str] = []
    for line in lines:
        if line.startswith(("Candidate functions", '"')):
            break
        kept.append(line)
        if len(kept) == 4:
            break
    text = " ".join(kept)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_to_queue(events: queue.Queue[NodeEvent]) -> Callable[[Any], None]:
    """A dbt callback that only translates and enqueues: an exception here could hang dbt."""

    def callback(event: Any) -> None:
        try:
            translate(event)
        except Exception as error:  # never let an exception escape into dbt
            events.put(NodeEvent("callback_error", message=repr(error)))

    def translate(event: Any) -> None:
        name = event.info.name
        if name == "NodeStart":
            info = event.data.node_info
            events.put(NodeEvent("start", info.unique_id, info.node_name, info.resource_type))
            faults.point(f"node:{info.node_name}")  # test-only; a no-op unless asked for
        elif name == "NodeFinished":
            info = event.data.node_info
            result = event.data.run_result
            events.put(
                NodeEvent(
                    "finish",
                    info.unique_id,
                    info.node_name,
                    info.resource_type,
                    status=str(result.status),
                    message=str(result.message or ""),
                    seconds=float(result.execution_time or 0.0),
                )
            )
        elif name == "LogStartLine" and getattr(event.data, "total", 0):
            events.put(NodeEvent("total", total=int(event.data.total)))

    return callback


def dbt_args(
    command: str, settings: Settings, *extra: str, dbt_vars: dict[str, Any] | None = None
) -> list[str]:
    """A fresh argument list with constant flags, so dbt's partial parsing is reused."""
    vars_args = ["--vars", json.dumps(dbt_vars, sort_keys=True)] if dbt_vars else []
    return [
        *command.split(),
        "--project-dir",
        str(settings.project_dir),
        "--profiles-dir",
        str(settings.project_dir),
        "--target-path",
        str(settings.dbt_target_dir),
        "--log-path",
        str(settings.dbt_log_dir),
        "--no-use-colors",
        "--quiet",
        "--log-level",
        "none",
        *vars_args,
        *extra,
    ]


def run_dbt(
    command: str,
    settings: Settings,
    events: queue.Queue[NodeEvent],
    *extra: str,
    dbt_vars: dict[str, Any] | None = None,
    manifest: Any = None,
) -> DbtOutcome:
    """Invoke dbt once (one invocation at a time per process) and collect node results.

    `manifest`: what this build's `dbt parse` returned (DbtOutcome.manifest), parsed with the
    same project and vars, so dbt does not parse again."""
    runner = dbtRunner(manifest=manifest, callbacks=[event_to_queue(events)])
    with _IN_PROCESS:
        result = runner.invoke(dbt_args(command, settings, *extra, dbt_vars=dbt_vars))
    nodes: list[NodeResult] = []
    for run_result in getattr(result.result, "results", None) or []:
        node = run_result.node
        nodes.append(
            NodeResult(
                unique_id=node.unique_id,
                name=node.name,
                resource_type=str(node.resource_type),
                layer=layer_of(node),
                status=str(run_result.status),
                seconds=float(run_result.execution_time or 0.0),
                message=short_message(str(run_result.message or "")),
            )
        )
    error = ""
    if result.exception is not None:
        error = short_message(str(result.exception))
    parsed = result.result if command == "parse" and result.success else None
    return DbtOutcome(success=bool(result.success), nodes=nodes, error=error, manifest=parsed)
