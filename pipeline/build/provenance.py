"""Before dbt builds: what this build is made of, and what changed since the build in service.

`prepare` parses the project (dbt's partial parsing makes it about a second), takes the
build's fingerprint (pipeline.build.fingerprint), compares it with the serving build's, and
writes what the monitors need to tell a pipeline change from a world change into the
context database (the `context` source): the changes with their owners, and, when code or
config that feeds the features changed, the serving build's features of its newest snapshot
and its backtest accuracy, so this build can compare the same snapshot computed both ways.
"""

from __future__ import annotations

import queue
from dataclasses import asdict
from typing import Any

import duckdb

from pipeline import history, warehouse
from pipeline.build import fingerprint
from pipeline.build.dbt_runner import NodeEvent, run_dbt
from pipeline.build.fingerprint import Change, Fingerprint
from pipeline.settings import Settings, project_vars

CHANGES_COLUMNS = (
    "kind varchar, name varchar, owner varchar, detail varchar, layer varchar, "
    "feeds_features boolean"
)


class ParseError(RuntimeError):
    """The project does not parse; the message is dbt's."""


def prepare(settings: Settings, dbt_vars: dict[str, Any]) -> tuple[Fingerprint, list[Change], Any]:
    """Parse, fingerprint, compare with the serving build, and fill the context's tables.
    Also returns the parsed manifest, for this build's `dbt build` (run_dbt's `manifest`)."""
    events: queue.Queue[NodeEvent] = queue.Queue()
    outcome = run_dbt("parse", settings, events, dbt_vars=dbt_vars)
    if not outcome.success:
        raise ParseError(outcome.error or "dbt parse failed")
    now = fingerprint.take(
        settings,
        settings.dbt_target_dir / "manifest.json",
        dbt_vars,
        project_vars(settings.project_dir),
    )
    serving = warehouse.current(settings)
    before = serving_fingerprint(settings, serving)
    changes = fingerprint.compare(before, now) if before is not None else []
    write_changes(settings, changes, serving)
    return now, changes, outcome.manifest


def serving_fingerprint(settings: Settings, serving: dict[str, Any] | None) -> Fingerprint | None:
    """The fingerprint the serving build's run record kept (None before fingerprints)."""
    if serving is None:
        return None
    record = history.find(settings, serving["build_id"])
    return Fingerprint.from_dict(record.fingerprint) if record is not None else None


def write_changes(
    settings: Settings, changes: list[Change], serving: dict[str, Any] | None
) -> None:
    """The `changes`, `previous_features` and `previous_metrics` tables of the context."""
    feeds = any(c.kind in ("code", "config") and c.feeds_features for c in changes)
    ml_changed = any(c.kind in ("code", "config", "environment") for c in changes)
    connection = duckdb.connect(str(settings.context_path))
    try:
        connection.execute(f"create or replace table changes ({CHANGES_COLUMNS})")
        if changes:
            connection.executemany(
                "insert into changes values (?, ?, ?, ?, ?, ?)",
                [tuple(asdict(change).values()) for change in changes],
            )
        connection.execute(
            "create or replace table previous_features (customer_id varchar, snapshot_date date)"
        )
        connection.execute(
            "create or replace table previous_metrics "
            "(scoring_month date, method varchar, roc_auc double)"
        )
        if serving is not None and (feeds or ml_changed):
            _copy_serving(connection, serving["path"], features=feeds)
    finally:
        connection.close()


def _copy_serving(connection: duckdb.DuckDBPyConnection, path: str, features: bool) -> None:
    """The serving build's newest snapshot of features (if asked) and its backtest accuracy."""
    connection.execute("attach ? as serving (read_only)", [path])
    try:
        tables = {
            row[0]
            for row in connection.execute(
                "select table_name from duckdb_tables() where database_name = 'serving'"
            ).fetchall()
        } | {
            row[0]
            for row in connection.execute(
                "select view_name from duckdb_views() where database_name = 'serving'"
            ).fetchall()
        }
        # The mart itself, not the ml_features view: a view of an attached file binds its
        # table names in the current database.
        mart = next(
            (t for t in ("customer_snapshots", "flat_customer_snapshots") if t in tables), None
        )
        if features and mart is not None:
            connection.execute(
                f"create or replace table previous_features as select * from serving.{mart} "
                f"where snapshot_date = (select max(snapshot_date) from serving.{mart})"
            )
        if "ml_backtest_metrics" in tables:
            connection.execute(
                "insert into previous_metrics select scoring_month, method, roc_auc "
                "from serving.ml_backtest_metrics"
            )
    finally:
        connection.execute("detach serving")
