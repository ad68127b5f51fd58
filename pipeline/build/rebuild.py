"""One rebuild, from the button or the CLI: lock, dbt build into scratch, publish, record."""

from __future__ import annotations

import contextlib
import errno
import queue
import re
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
from pipeline.access import Actor, require_operator
from pipeline.build import (
    context,
    faults,
    guards,
    incremental,
    progress,
    provenance,
    publish,
    registry,
    spark,
)
from pipeline.build.dbt_runner import DbtOutcome, NodeEvent, NodeResult, run_dbt
from pipeline.build.fingerprint import Fingerprint
from pipeline.build.lock import BuildRefusedError, build_lock
from pipeline.history import RunRecord
from pipeline.read import queries
from pipeline.settings import (
    DEFAULT_BUILD_MAX_SPILL,
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    ENGINES,
    Settings,
    build_max_spill,
    duckdb_memory_limit,
)

ProgressCallback = Callable[[progress.Progress], None]
FAILED_STATUSES = ("error", "fail", "runtime error")
# DuckDB's words for a query over its memory limit (dbt passes them on), whichever error
# class carries them (an out-of-memory error, a commit that could not pin or allocate a
# block): the buffer pool's use against the limit, "(7.5 MiB/7.6 MiB used)".
OUT_OF_MEMORY = re.compile(r"Out of Memory Error|\([\d.]+ \w+/[\d.]+ \w+ used\)")
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


def check_spill_limit() -> None:
    """Refuse a BATON_BUILD_MAX_SPILL that DuckDB cannot read, before dbt fails on it."""
    try:
        guards.spill_limit_bytes()
    except duckdb.Error as error:
        raise BuildSetupError(
            f"BATON_BUILD_MAX_SPILL={build_max_spill()!r} is not a size DuckDB understands "
            f"({error}). Use a number with a unit, such as 20GiB, or unset it for the default "
            f"({DEFAULT_BUILD_MAX_SPILL})."
        ) from None


def recover_interrupted(settings: Settings) -> list[str]:
    """Mark builds left 'running' by a killed process as interrupted and remove what they
    left (scratch and spill files, unpublished warehouses); return their ids."""
    try:
        with build_lock(settings.lock_path, {"trigger": "recovery", "started_at": _now()}):
            interrupted = _mark_interrupted(settings)
            guards.clean_leftovers(settings)
    except BuildRefusedError:
        return []
    return interrupted


def _mark_interrupted(settings: Settings) -> list[str]:
    """Only call under the build lock: every 'running' record is then from a dead build.

    A dead build killed inside publish either switched the pointer (its warehouse serves:
    the registry records it now, as the build would have) or did not (its warehouse was never
    published and is removed, so it never counts as the previous build).
    """
    interrupted = []
    for record in history.load_all(settings, stored=True):
        if record.status == "running":
            record.status = "interrupted"
            record.finished_at = record.finished_at or _now()
            record.failure = history.dead_build_failure(settings, record)
            _settle_publish(settings, record)
            history.save(settings, record)
            interrupted.append(record.build_id)
    return interrupted


def _settle_publish(settings: Settings, record: RunRecord) -> None:
    path = settings.warehouses_dir / f"{record.build_id}.duckdb"
    serving = warehouse.current(settings)
    if serving is not None and serving["build_id"] == record.build_id:
        record.published = True
        with contextlib.suppress(duckdb.Error):
            registry.record_build(settings, path, record.build_id)
    elif path.exists():
        path.unlink()
        warehouse.manifest_path(settings, record.build_id).unlink(missing_ok=True)


# Layers upstream first (pipeline.build.dbt_runner.layer_of).
PIPELINE_ORDER = ("source data", "transformations", "ML", "monitoring")


def _node_seconds(settings: Settings) -> dict[str, float]:
    """Seconds per node in the last successful build: the basis of the time-left estimate."""
    for record in history.load_all(settings):
        if record.status == "success" and record.nodes:
            return {node["unique_id"]: float(node["seconds"]) for node in record.nodes}
    return {}


def _first_failure(outcome: DbtOutcome) -> dict[str, str] | None:
    """The failure a record names: the most upstream failed node (by layer, then name), so
    the same failure names the same node whatever order dbt's threads finished in."""
    failed = [node for node in outcome.nodes if node.status in FAILED_STATUSES]
    if failed:
        node = min(failed, key=lambda node: (PIPELINE_ORDER.index(node.layer), node.name))
        return {"node": node.name, "layer": node.layer, "message": with_advice(node.message)}
    if not outcome.success:
        return {"node": "", "layer": "transformations", "message": outcome.error or "dbt failed"}
    return None


def with_advice(message: str) -> str:
    """A failed node's message, with what to do when DuckDB ran out of its memory limit."""
    if not OUT_OF_MEMORY.search(message):
        return message
    # DuckDB's own advice ("SET threads=X") is for its SQL prompt, not for a build.
    message = message.split(" Possible solutions:")[0].rstrip(". ")
    return (
        f"{message}. DuckDB needed more memory than its limit, BATON_DUCKDB_MEMORY_LIMIT "
        f"({duckdb_memory_limit()}): raise it (e.g. 6GiB, within the machine's memory) or "
        "lower BATON_BUILD_THREADS so fewer models run at once."
    )


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
    settings: Settings,
    trigger: str = "cli",
    on_progress: ProgressCallback | None = None,
    preview: bool = False,
    by: Actor | None = None,
    full_refresh: bool = False,
) -> RunRecord:
    """Build everything; publish only on success. Raises BuildRefusedError if one is running.

    A `preview` builds the same way but is never published: its warehouse is kept under
    BATON_HOME/previews for comparing with the serving build (pipeline.read.diff).
    `by` is who asked (None: this process's OS user); a viewer gets AccessDeniedError.
    `full_refresh` computes every snapshot month even when the build could keep the serving
    build's (pipeline/build/incremental.py decides, and refreshes fully on its own whenever
    code, vars or non-event data that could change old months changed).

    Guarded (pipeline/build/guards.py): settings, data and free disk are checked first, a
    watchdog enforces the time, disk and spill limits, and SIGTERM/SIGINT end the build as
    interrupted; every outcome is a run record with a sentence, and what the build left is
    removed (the next start also removes what a killed build left).
    """
    actor = require_operator(by, "rebuilding")
    settings.ensure()
    check_memory_limit()
    check_spill_limit()
    check_engine(settings)
    if not settings.raw_path.exists():
        raise MissingRawDataError(
            f"No raw data at {settings.raw_path}. Create demo data with "
            "`python -m pipeline demo` or import your own."
        )
    build_id = new_build_id()
    started = _now()
    holder = {"trigger": trigger, "by": actor.name, "started_at": started, "build_id": build_id}
    with build_lock(settings.lock_path, holder):
        _mark_interrupted(settings)
        guards.clean_leftovers(settings)
        record = RunRecord(
            build_id=build_id,
            trigger=trigger,
            started_at=started,
            preview=preview,
            triggered_by=actor.name,
            engine=settings.engine,
        )
        state = progress.Progress(build_id, trigger, node_seconds=_node_seconds(settings))
        _set_phase(settings, state, "starting")
        with guards.BuildGuard(settings, lambda: _step(state)) as guard:
            try:
                _save(settings, record)
                faults.point("started")
                guards.check_disk(settings)
                guards.check_settings(settings)
                registry.ensure(settings)
                context.write_context(settings, build_id)
                plan, manifest = _plan_months(settings, record, full_refresh)
                faults.point("context")
                on_spark = settings.engine == "spark"
                if on_spark:
                    spark.prepare(settings)
                outcome = _run_with_progress(settings, build_id, state, on_progress, manifest)
                record.nodes = [asdict(node) for node in outcome.nodes]
                record.tests = _test_summary(outcome.nodes)
                if guard.stopped:
                    raise KeyboardInterrupt(record.build_id)
                record.failure = _first_failure(outcome)
                if record.failure is not None:
                    if on_spark:  # what the failed build's triage reads, if it was built
                        spark.publish_tables(settings, outcome.nodes, only=TRIAGE_TABLES)
                    record.triage = _failed_triage(settings, record.failure)
                else:
                    _set_phase(settings, state, "counting rows")
                    counted = spark.publish_tables(settings, outcome.nodes) if on_spark else {}
                    _inspect_build(settings, outcome.nodes, record, counted)
                    incremental.record_outcome(settings, record, plan)
                    _set_phase(settings, state, "publishing")
                    with guard.deferred():
                        if preview:
                            record.warehouse = str(publish.keep_preview(settings, build_id))
                        else:
                            published = publish.publish(settings, build_id)
                            record.published, record.warehouse = True, str(published)
                            _save(settings, record)
                            registry.record_build(settings, published, build_id)
                            faults.point("recorded")
            except guards.BuildStopped as stopped:
                record.failure = stopped.failure
            except KeyboardInterrupt:  # a signal, or the watchdog stopping the build
                if guard.reason is None:
                    guard.reason = {"node": "", "layer": "pipeline", "message": "Interrupted"}
                if not record.published:
                    record.failure = guard.failure()
            except Exception as error:  # disk full, permissions, a bug: record it, keep serving
                if guard.stopped:  # a query the watchdog cancelled: its stop is the cause
                    record.failure = guard.failure()
                else:
                    record.failure = {"node": "", "layer": "pipeline", "message": _sentence(error)}
            with guard.deferred():
                record.status = _status(record, guard)
                publish.reset_build_dir(settings)  # context and DuckDB spill files too
                record.finished_at = _now()
                record.seconds = round(time.time() - state.started, 2)
                _save(settings, record)
        return record


def _status(record: RunRecord, guard: guards.BuildGuard) -> str:
    if record.published or (record.preview and record.warehouse):
        return "success"
    return "interrupted" if guard.signal_name else "failed"


def _step(state: progress.Progress) -> dict[str, str]:
    """Where a build is, for the sentence of a stop: the running node or the phase."""
    return history.step(state.to_dict())


def _set_phase(settings: Settings, state: progress.Progress, phase: str) -> None:
    """Record the build's phase where readers (and a dead build's record) can see it."""
    state.phase = phase
    with contextlib.suppress(OSError):
        progress.write(settings, state)


def _save(settings: Settings, record: RunRecord) -> None:
    """Save the run record; a full disk must not turn a recorded failure into a traceback."""
    try:
        history.save(settings, record)
    except OSError:
        publish.reset_build_dir(settings)  # frees the scratch folder, then one more try
        with contextlib.suppress(OSError):
            history.save(settings, record)


def _sentence(error: Exception) -> str:
    """An unexpected error as one line: a full disk in words, anything else by its type."""
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return (
            f"The disk is full ({error.strerror}: {error.filename or 'a build file'}). Free "
            "some space, then rebuild."
        )
    text = " ".join(str(error).split())[:400] or type(error).__name__
    return f"{type(error).__name__}: {text}"


def _take_provenance(settings: Settings, record: RunRecord) -> Any:
    """Fingerprint the build and note what changed since the serving build (for the monitors
    and the run record); return the parsed manifest. A project that does not parse is left
    to dbt build to report (None)."""
    try:
        taken, changes, manifest = provenance.prepare(settings, context.dbt_vars(settings))
    except provenance.ParseError:
        provenance.write_changes(settings, [], None)
        return None
    record.fingerprint = taken.as_dict()
    record.changes = [asdict(change) for change in changes]
    return manifest


def _plan_months(
    settings: Settings, record: RunRecord, full_refresh: bool
) -> tuple[incremental.Plan, Any]:
    """Fingerprint the build, then plan which snapshot months it computes (kept in the
    record, also for a build that fails). Also returns the parsed manifest (or None)."""
    manifest = _take_provenance(settings, record)
    taken = Fingerprint.from_dict(record.fingerprint)
    plan = incremental.prepare(settings, taken, full_refresh)
    record.incremental = plan.as_dict()
    return plan, manifest


def _run_with_progress(
    settings: Settings,
    build_id: str,
    state: progress.Progress,
    on_progress: ProgressCallback | None,
    manifest: Any = None,
) -> DbtOutcome:
    """Run `dbt build` while a drain thread turns queued events into progress updates
    (`manifest`: this build's parse, so dbt does not parse again)."""
    events: queue.Queue[NodeEvent] = queue.Queue()
    finished = threading.Event()

    def drain() -> None:
        while not (finished.is_set() and events.empty()):
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                continue
            state.apply(event)
            # A full disk must not end the drain: the build's own record says what happened.
            with contextlib.suppress(OSError):
                progress.write(settings, state)
            if on_progress is not None:
                on_progress(state)

    state.phase = "dbt"
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
            manifest=manifest,
        )
    finally:
        finished.set()
        drainer.join()
    return outcome
