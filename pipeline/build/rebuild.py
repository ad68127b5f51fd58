"""One rebuild, from the button or the CLI: lock, dbt build into scratch, publish, record."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import duckdb

from monitoring import verdict as triage
from pipeline import dataset, history, warehouse
from pipeline.build import context, progress, publish, registry, spark
from pipeline.build.dbt_runner import DbtOutcome, NodeEvent, NodeResult, run_dbt
from pipeline.build.lock import build_lock, is_locked
from pipeline.history import RunRecord
from pipeline.read import queries
from pipeline.settings import (
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    ENGINES,
    Settings,
    duckdb_memory_limit,
)

ProgressCallback = Callable[[progress.Progress], None]
FAILED_STATUSES = ("error", "fail", "runtime error")
# What a failed build's triage reads from its warehouse (_failed_triage).
TRIAGE_TABLES = ("monitor_schema_changes",)


class BuildSetupError(Exception):
    """The build cannot start until something in the setup is fixed; the message says what."""


class MissingRawDataError(BuildSetupError, FileNotFoundError):
    """Raised when there is no raw data to build from."""


def check_memory_limit() -> None:
    """Refuse a BATON_DUCKDB_MEMORY_LIMIT that DuckDB cannot read, before dbt fails on it."""
    limit = duckdb_memory_limit()
    try:
        duckdb.connect(config={"memory_limit": limit}).close()
    except duckdb.Error as error:
        raise BuildSetupError(
            f"BATON_DUCKDB_MEMORY_LIMIT={limit!r} is not a memory size DuckDB understands "
            f"({error}). Use a number with a unit, such as 4GiB or 800MB, or unset it for "
            f"the default ({DEFAULT_DUCKDB_MEMORY_LIMIT})."
        ) from None


def check_engine(settings: Settings) -> None:
    """Refuse an engine this machine or this dataset cannot build on, before the lock."""
    if settings.engine not in ENGINES:
        raise BuildSetupError(
            f"BATON_ENGINE={settings.engine!r} is not an engine Baton builds on: use "
            f"{' or '.join(ENGINES)} (unset means duckdb)."
        )
    if settings.engine != "spark":
        return
    reason = spark.unavailable_reason()
    if reason is not None:
        raise BuildSetupError(f"BATON_ENGINE=spark, but {reason} Or unset BATON_ENGINE.")
    if dataset.kind(settings) == "flat":
        raise BuildSetupError(
            "Flat customer files build on DuckDB only: their history is a dbt snapshot, which "
            "dbt-spark keeps only in Delta Lake. Unset BATON_ENGINE to build this dataset."
        )


def new_build_id() -> str:
    """Sortable, unique build id: UTC time plus a short random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def recover_interrupted(settings: Settings) -> list[str]:
    """Mark builds left 'running' by a killed process as interrupted; return their ids."""
    if is_locked(settings.lock_path):
        return []
    interrupted = _mark_interrupted(settings)
    if interrupted:
        publish.reset_build_dir(settings)
    return interrupted


def _mark_interrupted(settings: Settings) -> list[str]:
    """Only call while no build runs: every 'running' record is then from a dead build."""
    interrupted = []
    for record in history.load_all(settings):
        if record.status == "running":
            record.status = "interrupted"
            record.finished_at = record.finished_at or _now()
            record.failure = {
                "node": "",
                "layer": "pipeline",
                "message": "The build process stopped before finishing (killed or crashed).",
            }
            history.save(settings, record)
            interrupted.append(record.build_id)
    return interrupted


def _node_seconds(settings: Settings) -> dict[str, float]:
    """Seconds per node in the last successful build: the basis of the time-left estimate."""
    for record in history.load_all(settings):
        if record.status == "success" and record.nodes:
            return {node["unique_id"]: float(node["seconds"]) for node in record.nodes}
    return {}


def _first_failure(outcome: DbtOutcome) -> dict[str, str] | None:
    for node in outcome.nodes:
        if node.status in FAILED_STATUSES:
            return {"node": node.name, "layer": node.layer, "message": node.message}
    if not outcome.success:
        return {"node": "", "layer": "transformations", "message": outcome.error or "dbt failed"}
    return None


def _test_summary(nodes: list[NodeResult]) -> dict[str, int]:
    tests = [node for node in nodes if node.resource_type in ("test", "unit_test")]
    return {
        "passed": sum(node.status == "pass" for node in tests),
        "failed": sum(node.status in ("fail", "error") for node in tests),
        "warned": sum(node.status == "warn" for node in tests),
    }


def _inspect_build(
    settings: Settings,
    nodes: list[NodeResult],
    record: RunRecord,
    counted: dict[str, int] | None = None,
) -> None:
    """Rows per built model (dbt-duckdb does not report them) and the model decision.

    `counted`: rows of models the engine counted itself and left out of the DuckDB file (a
    Spark build's staging views)."""
    models = [n.name for n in nodes if n.resource_type == "model" and n.status == "success"]
    rows: dict[str, int] = dict(counted or {})
    models = [name for name in models if name not in rows]
    connection = duckdb.connect(str(settings.build_warehouse_path))
    try:
        # Staging views read the raw file; attach it so they can be counted too.
        connection.execute("attach ? as raw (read_only)", [str(settings.raw_path)])
        for name in models:
            result = connection.execute(f'select count(*) from "{name}"').fetchone()
            rows[name] = int(result[0]) if result else 0
        if "ml_model_in_service" in models:
            found = connection.execute(
                "select model_version, candidate_version, promoted, decision_reason "
                "from ml_model_in_service"
            ).fetchone()
            if found:
                record.model_version, record.candidate_version = str(found[0]), str(found[1])
                record.promoted, record.model_decision = bool(found[2]), str(found[3])
        if "triage_verdict" in models:
            record.triage = queries.triage_from(connection)
        connection.execute("detach raw")
        connection.execute("checkpoint")
    finally:
        connection.close()
    record.rows = rows


def _failed_triage(settings: Settings, failure: dict[str, str]) -> dict[str, Any] | None:
    """A data_quality verdict when the source data broke the build, with any schema changes."""
    verdict = triage.failed_build(failure)
    if verdict is None:
        return None
    try:  # the schema monitor reads no staging model, so it ran even if staging failed
        with warehouse.connect(settings.build_warehouse_path) as connection:
            changes = connection.execute("select * from monitor_schema_changes").df()
        verdict.evidence += triage.schema_evidence(changes)
    except duckdb.Error:
        pass
    return verdict.as_dict()


def rebuild(
    settings: Settings, trigger: str = "cli", on_progress: ProgressCallback | None = None
) -> RunRecord:
    """Build everything; publish only on success. Raises BuildRefusedError if one is running."""
    settings.ensure()
    check_memory_limit()
    check_engine(settings)
    if not settings.raw_path.exists():
        raise MissingRawDataError(
            f"No raw data at {settings.raw_path}. Create demo data with "
            "`python -m pipeline demo` or import your own."
        )
    build_id = new_build_id()
    started = _now()
    with build_lock(
        settings.lock_path, {"trigger": trigger, "started_at": started, "build_id": build_id}
    ):
        _mark_interrupted(settings)
        record = RunRecord(
            build_id=build_id, trigger=trigger, started_at=started, engine=settings.engine
        )
        history.save(settings, record)
        publish.reset_build_dir(settings)
        registry.ensure(settings)
        state = progress.Progress(build_id, trigger, node_seconds=_node_seconds(settings))
        try:
            context.write_context(settings, build_id)
            on_spark = settings.engine == "spark"
            if on_spark:
                spark.prepare(settings)
            outcome = _run_with_progress(settings, build_id, state, on_progress)
            record.nodes = [asdict(node) for node in outcome.nodes]
            record.tests = _test_summary(outcome.nodes)
            record.failure = _first_failure(outcome)
            if record.failure is not None:
                if on_spark:  # what the failed build's triage reads, if it was built
                    spark.publish_tables(settings, outcome.nodes, only=TRIAGE_TABLES)
                record.triage = _failed_triage(settings, record.failure)
            else:
                counted = spark.publish_tables(settings, outcome.nodes) if on_spark else {}
                _inspect_build(settings, outcome.nodes, record, counted)
                published = publish.publish(settings, build_id)
                record.published = True
                registry.record_build(settings, published, build_id)
        except Exception as error:  # disk full, permissions, a bug: record it, keep serving
            record.failure = {"node": "", "layer": "pipeline", "message": repr(error)}
        record.status = "success" if record.published else "failed"
        if not record.published:
            publish.reset_build_dir(settings)
        record.finished_at = _now()
        record.seconds = round(time.time() - state.started, 2)
        history.save(settings, record)
        return record


def _run_with_progress(
    settings: Settings,
    build_id: str,
    state: progress.Progress,
    on_progress: ProgressCallback | None,
) -> DbtOutcome:
    """Run `dbt build` while a drain thread turns queued events into progress updates."""
    events: queue.Queue[NodeEvent] = queue.Queue()
    finished = threading.Event()

    def drain() -> None:
        while not (finished.is_set() and events.empty()):
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                continue
            state.apply(event)
            progress.write(settings, state)
            if on_progress is not None:
                on_progress(state)

    progress.write(settings, state)
    drainer = threading.Thread(target=drain, name=f"progress-{build_id}", daemon=True)
    drainer.start()
    try:
        # dbt unit tests pin the SQL logic in development and CI (tests/dbt), not every build.
        outcome = run_dbt(
            "build",
            settings,
            events,
            "--exclude-resource-type",
            "unit_test",
            dbt_vars=context.dbt_vars(settings),
        )
    finally:
        finished.set()
        drainer.join()
    return outcome
