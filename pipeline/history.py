"""Run history: one JSON record per build under BATON_HOME/runs, written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.build.lock import is_locked, pid_alive
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
    # What produced the build (pipeline.build.fingerprint), and what changed since the build
    # in service when it started: [{kind, name, owner, detail, layer, feeds_features}].
    fingerprint: dict[str, Any] | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    # A preview (`python -m pipeline preview`): built, compared, never published. Its record
    # and warehouse live under BATON_HOME/previews, apart from the builds.
    preview: bool = False
    warehouse: str | None = None
    # Who asked for the build: a signed-in user's email, or the OS user of a shell or of an app
    # without sign-in (pipeline.access). None in records written before it was kept.
    triggered_by: str | None = None
    # What dbt built on (BATON_ENGINE): duckdb or spark; records from before it are duckdb.
    engine: str = "duckdb"
    # Full refresh or incremental, why, and what the next build compares with
    # (pipeline.build.incremental.Plan); None in records written before incremental builds.
    incremental: dict[str, Any] | None = None


def save(settings: Settings, record: RunRecord) -> None:
    """Persist a run record (a preview's apart from the builds)."""
    folder = settings.previews_dir if record.preview else settings.runs_dir
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{record.build_id}.json", json.dumps(asdict(record)))


def record_action(settings: Settings, by: str, action: str, detail: str = "") -> None:
    """Append who changed what besides a build (an import, a model pin) to actions.jsonl."""
    line = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "by": by, "action": action}
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.actions_path, "a", encoding="utf-8") as log:
        log.write(json.dumps({**line, "detail": detail}) + "\n")


def actions(settings: Settings, last: int = 50) -> list[dict[str, str]]:
    """The newest recorded actions, newest first (lines that do not parse are skipped)."""
    try:
        lines = settings.actions_path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in reversed(lines):
        try:
            found.append(dict(json.loads(line)))
        except ValueError:
            continue
        if len(found) == last:
            break
    return found


def _load(settings: Settings, build_id: str) -> RunRecord | None:
    try:
        return RunRecord(**json.loads((settings.runs_dir / f"{build_id}.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def load_all(settings: Settings, stored: bool = False) -> list[RunRecord]:
    """All run records, newest first. A record left 'running' by a build process that is
    gone (killed, crashed) reads as interrupted, with the step it stopped at, although the
    file still says running until the next build starts (`stored=True` reads the files as
    they are, for that next build)."""
    if not settings.runs_dir.exists():
        return []
    records = []
    for path in settings.runs_dir.glob("*.json"):
        try:
            records.append(RunRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    records.sort(key=lambda r: r.started_at, reverse=True)
    if stored or not any(record.status == "running" for record in records):
        return records
    building = is_locked(settings.lock_path)
    return [
        _as_observed(settings, record, building) if record.status == "running" else record
        for record in records
    ]


def _as_observed(settings: Settings, record: RunRecord, building: bool) -> RunRecord:
    """A 'running' record as it really is: running while its build holds the lock and its
    process lives, else interrupted (re-read first: it may have just finished)."""
    if building and pid_alive(record.pid):
        return record
    fresh = _load(settings, record.build_id) or record
    if fresh.status != "running":
        return fresh
    fresh.status = "interrupted"
    fresh.failure = dead_build_failure(settings, fresh)
    return fresh


def dead_build_failure(settings: Settings, record: RunRecord) -> dict[str, str]:
    """The failure of a build whose process stopped without recording it: the step it was at
    (from BATON_HOME/progress.json) and what happens next."""
    step = last_step(settings, record.build_id)
    pointer = _read_pointer(settings)
    served = (
        " Its build was already published and serves."
        if pointer.get("build_id") == record.build_id
        else ""
    )
    return {
        "node": step.get("node", ""),
        "layer": "pipeline",
        "message": (
            f"The build process (pid {record.pid}) stopped before finishing (killed or "
            f"crashed){step.get('where', '')}.{served} The next build cleans up what it left."
        ),
    }


def _read_pointer(settings: Settings) -> dict[str, Any]:
    try:
        found = json.loads(settings.current_pointer.read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def last_step(settings: Settings, build_id: str) -> dict[str, str]:
    """Where a build was, from the progress file it shares: {node, where} (empty if unknown)."""
    try:
        state = json.loads((settings.home / "progress.json").read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict) or state.get("build_id") != build_id:
        return {}
    return step(state)


def step(state: dict[str, Any]) -> dict[str, str]:
    """Where a build is, from its progress (pipeline.build.progress), for the sentence of a
    stop: {node, where}. dbt runs several nodes at once: `node` is the longest running, and
    `where` names every node running (longest first)."""
    if state.get("phase") and state.get("phase") != "dbt":
        return {"node": "", "where": f" while {state['phase']}"}
    node = str(state.get("current") or "")
    if not node:
        return {"node": "", "where": " while starting dbt"}
    running = sorted((state.get("running") or {}).values(), key=lambda item: item[1])
    names = [str(name) for name, _ in running] or [node]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    done, total = state.get("done") or 0, state.get("total") or 0
    return {"node": node, "where": f" while running {listed} ({done} of {total or '?'} nodes done)"}


def find(settings: Settings, build_id: str) -> RunRecord | None:
    """The run record of one build, or None."""
    try:
        return RunRecord(**json.loads((settings.runs_dir / f"{build_id}.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def latest(settings: Settings) -> RunRecord | None:
    """The newest run record, if any."""
    records = load_all(settings)
    return records[0] if records else None
