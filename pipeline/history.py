"""Run history: one JSON record per build under BATON_HOME/runs, written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.files import write_atomic
from pipeline.settings import Settings


@dataclass
class RunRecord:
    """Everything the Pipeline page and `status --json` say about one build."""

    build_id: str
    trigger: str
    started_at: str
    status: str = "running"  # running, success, failed, interrupted
    finished_at: str | None = None
    seconds: float | None = None
    nodes: list[dict[str, Any]] = field(default_factory=list)
    tests: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    model_version: str | None = None  # the model in service after this build
    candidate_version: str | None = None  # the model this build trained
    promoted: bool | None = None  # whether the candidate went into service
    model_decision: str | None = None  # why, in one sentence
    published: bool = False
    failure: dict[str, str] | None = None
    pid: int = field(default_factory=os.getpid)
    # Is it the data, the world or the model? {verdict, owner, summary, evidence, changed_at}
    # from the build's triage_verdict model, or from its failure when the source data broke.
    triage: dict[str, Any] | None = None
    # What dbt built on (BATON_ENGINE): duckdb or spark; records from before it are duckdb.
    engine: str = "duckdb"


def save(settings: Settings, record: RunRecord) -> None:
    """Persist a run record."""
    settings.runs_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(settings.runs_dir / f"{record.build_id}.json", json.dumps(asdict(record)))


def load_all(settings: Settings) -> list[RunRecord]:
    """All run records, newest first."""
    if not settings.runs_dir.exists():
        return []
    records = []
    for path in settings.runs_dir.glob("*.json"):
        try:
            records.append(RunRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(records, key=lambda r: r.started_at, reverse=True)


def latest(settings: Settings) -> RunRecord | None:
    """The newest run record, if any."""
    records = load_all(settings)
    return records[0] if records else None
