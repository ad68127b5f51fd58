"""Incremental builds: keep the snapshot months the build in service computed.

Before dbt runs, `prepare` decides between a full refresh and an incremental build. An
incremental build copies the per-snapshot tables of the build in service into the new build
file (so dbt's `is_incremental()` holds for them) and tells dbt, through the context's
`incremental` table, the earliest month whose event data changed; `int_recompute_from` takes
the look-back from there and the per-snapshot models recompute only the months from it on
(macros/incremental_snapshots.sql). Everything else is decided by what could change old
months, compared with the build in service's record (docs/speed.md): any difference in the
feature key (the dbt code feeding the mart, the macros, the project's YAML, every var, the
`ml/` code, the libraries, the engine, the dataset, the raw schema, and the rows of every raw
table that is not an event table) is a full refresh; so are a first build, a flat file, a
request (`rebuild --full-refresh`), and anything the plan cannot read. On Spark the kept
months become Spark tables partitioned by month (pipeline.build.spark.keep_tables).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pipeline import dataset, history, warehouse
from pipeline.build import spark
from pipeline.build.fingerprint import Fingerprint, raw_schema
from pipeline.history import RunRecord
from pipeline.settings import Settings

# Raw tables of dated events and the day each row is placed by. A row reaches the features of
# the snapshots after it and the labels of the snapshots up to horizon_days before it, so a
# change recomputes from its month less the look-back (int_recompute_from). Any other raw
# table (accounts, subscriptions: a customer's whole history) forces a full refresh.
EVENT_TABLES = {
    "usage_daily": "usage_date",
    "tickets": "created_at",
    "invoices": "invoice_date",
    "payments": "attempted_at",
}
# The models keyed by snapshot month, incremental (dbt_project.yml): copied from the build in
# service into the new build file (on Spark, into its Spark tables). The feature mart joins
# them, whole, on every build (a table: inserting the recomputed months held them all in
# memory).
PER_SNAPSHOT_MODELS = (
    "int_customer_snapshots",
    "int_last_activity",
    "int_activity_windows",
    "int_payment_windows",
    "int_ticket_windows",
    "int_payment_history",
    "int_purchase_histories",
    "int_btyd_scores",
)
FEATURE_MART = "model.baton.customer_snapshots"
NO_MONTH = "none"


@dataclass
class Plan:
    """How this build computes its snapshot months, and what the next build compares with."""

    full: bool
    reason: str
    # Per feature-key part, a hash; per event table, per month, "rows:digest".
    key: dict[str, str] = field(default_factory=dict)
    months: dict[str, dict[str, str]] = field(default_factory=dict)
    changed_from: str | None = None  # month of the earliest changed event row (None: none)
    previous_as_of: str | None = None
    # Filled after dbt: the first snapshot recomputed, months recomputed and kept.
    recompute_from: str | None = None
    months_recomputed: int | None = None
    months_kept: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the run record."""
        return asdict(self)


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _upstream(nodes: dict[str, dict[str, Any]], unique_id: str) -> list[str]:
    """`unique_id` and every node it is built from."""
    seen: set[str] = set()
    todo = [unique_id]
    while todo:
        current = todo.pop()
        if current not in seen and current in nodes:
            seen.add(current)
            todo.extend(nodes[current].get("parents", []))
    return sorted(seen)


def raw_tables(raw_path: Path) -> dict[str, list[tuple[str, str]]]:
    """Per raw table, its columns and types in order (fingerprint.raw_schema)."""
    with duckdb.connect(str(raw_path), read_only=True) as connection:
        return raw_schema(connection)


def event_tables(tables: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """The event tables present with their day column (else they count as other tables)."""
    return {
        table: column
        for table, column in EVENT_TABLES.items()
        if column in {name for name, _ in tables.get(table, [])}
    }


def month_digests(raw_path: Path, events: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per event table, per month of its day column: rows and an order-independent digest
    (rows whose day is missing or not a date count under NO_MONTH: dbt reports bad data)."""
    found: dict[str, dict[str, str]] = {}
    with duckdb.connect(str(raw_path), read_only=True) as connection:
        for table, column in events.items():
            rows = connection.execute(
                f"select coalesce(strftime(date_trunc('month', try_cast(\"{column}\" as date)), "
                f"'%Y-%m-%d'), '{NO_MONTH}'), count(*), bit_xor(hash(t)) "
                f'from "{table}" as t group by 1'
            ).fetchall()
            found[table] = {str(month): f"{count}:{digest}" for month, count, digest in rows}
    return found


def project_settings(project_dir: Path) -> str:
    """A hash of the project's YAML (configs, sources, contracts): a source pointing at another
    table changes no model's checksum."""
    files = [project_dir / "dbt_project.yml", *sorted((project_dir / "models").rglob("*.yml"))]
    return _sha(
        {
            str(path.relative_to(project_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files
            if path.is_file()
        }
    )


def feature_key(
    settings: Settings, now: Fingerprint, tables: dict[str, list[tuple[str, str]]]
) -> dict[str, str]:
    """A hash per thing that could change old snapshot months other than event rows."""
    events = event_tables(tables)
    return {
        "dbt models feeding the features": _sha(
            {uid: now.nodes[uid]["checksum"] for uid in _upstream(now.nodes, FEATURE_MART)}
        ),
        "dbt macros": _sha(now.macros),
        "dbt project YAML": project_settings(settings.project_dir),
        "dbt vars": _sha(now.vars),
        "ml code": _sha({k: v for k, v in now.code.items() if k.startswith("ml/")}),
        "libraries": _sha(now.libraries),
        "engine": settings.engine,
        "dataset": _sha(dataset.name(settings)),
        "raw schema": _sha(tables),
        "raw tables other than events": _sha(
            {t: d.get("digest") for t, d in now.data.items() if t not in events}
        ),
    }


def earliest_change(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> str:
    """The earliest month whose event rows differ ("" when none does; NO_MONTH for undated)."""
    changed = [
        month
        for table in set(before) | set(after)
        for month in set(before.get(table, {})) | set(after.get(table, {}))
        if before.get(table, {}).get(month) != after.get(table, {}).get(month)
    ]
    if NO_MONTH in changed:
        return NO_MONTH
    return min(changed, default="")


def decide(
    plan: Plan, previous: dict[str, Any] | None, full_refresh: bool, settings: Settings
) -> Plan:
    """Full refresh or incremental, with the reason, from this build's key and months and the
    state the build in service recorded (`previous`, None when it has none)."""
    if full_refresh:
        return _full(plan, "a full refresh was asked for")
    if dataset.kind(settings) == "flat":
        return _full(plan, "flat customer files have no per-snapshot models")
    if not previous or not previous.get("key"):
        return _full(plan, "the build in service recorded no incremental state")
    if not plan.key:
        return _full(plan, "the project did not parse, so nothing can be compared")
    parts = sorted(set(plan.key) | set(previous["key"]))
    changed = [part for part in parts if plan.key.get(part) != previous["key"].get(part)]
    if changed:
        return _full(plan, f"changed since the build in service: {', '.join(changed)}")
    earliest = earliest_change(previous.get("months") or {}, plan.months)
    if earliest == NO_MONTH:
        return _full(plan, "event rows without a date changed")
    plan.full, plan.changed_from = False, earliest or None
    plan.reason = (
        f"event data changed from {earliest}" if earliest else "no event data changed"
    ) + "; earlier snapshot months are kept from the build in service"
    return plan


def _full(plan: Plan, reason: str) -> Plan:
    plan.full, plan.reason, plan.changed_from = True, reason, None
    return plan


def previous_as_of(path: str) -> str | None:
    """The serving build's as-of date, when it has every per-snapshot table (else None)."""
    with contextlib.suppress(duckdb.Error), warehouse.connect(path) as connection:
        names = {
            str(row[0])
            for row in connection.execute(
                "select table_name from duckdb_tables() where schema_name = 'main'"
            ).fetchall()
        }
        if not set(PER_SNAPSHOT_MODELS) <= names or "int_data_as_of" not in names:
            return None
        found = connection.execute("select max(as_of_date) from int_data_as_of").fetchall()
        return found[0][0].isoformat() if isinstance(found[0][0], date) else None
    return None


def seed(settings: Settings, serving_path: str) -> None:
    """Copy the per-snapshot tables of the build in service into the new build file, or on
    Spark write them for the build's Spark session."""
    if settings.engine == "spark":
        spark.keep_tables(settings, serving_path, PER_SNAPSHOT_MODELS)
        return
    connection = duckdb.connect(str(settings.build_warehouse_path))
    try:
        connection.execute("attach ? as serving (read_only)", [serving_path])
        for name in PER_SNAPSHOT_MODELS:
            connection.execute(f'create table main."{name}" as select * from serving.main."{name}"')
        connection.execute("detach serving")
        connection.execute("checkpoint")
    finally:
        connection.close()


def write_plan(settings: Settings, plan: Plan) -> None:
    """The context's `incremental` table: one row for an incremental build, else empty."""
    with duckdb.connect(str(settings.context_path)) as connection:
        connection.execute("delete from incremental")
        if not plan.full:
            connection.execute(
                "insert into incremental values (?, ?)", [plan.changed_from, plan.previous_as_of]
            )


def prepare(settings: Settings, now: Fingerprint | None, full_refresh: bool = False) -> Plan:
    """Decide, copy the kept months into the build file when incremental, tell dbt."""
    tables = raw_tables(settings.raw_path)
    plan = Plan(full=True, reason="")
    if now is not None:
        plan.key = feature_key(settings, now, tables)
    try:
        plan.months = month_digests(settings.raw_path, event_tables(tables))
    except duckdb.Error as error:  # the build goes on, and dbt names what is wrong
        plan = _full(plan, f"the event tables could not be read by month ({error})")
        write_plan(settings, plan)
        return plan
    serving = warehouse.current(settings)
    record = history.find(settings, serving["build_id"]) if serving else None
    previous = record.incremental if record is not None else None
    plan = decide(plan, previous, full_refresh, settings)
    if not plan.full and serving is not None:
        plan.previous_as_of = previous_as_of(serving["path"])
        if plan.previous_as_of is None:
            plan = _full(plan, "the build in service has no per-snapshot tables to keep")
        else:
            try:
                seed(settings, serving["path"])
            except duckdb.Error as error:
                settings.build_warehouse_path.unlink(missing_ok=True)
                spark.forget_kept(settings)
                plan = _full(plan, f"the kept months could not be copied ({error})")
    write_plan(settings, plan)
    return plan


def record_outcome(settings: Settings, record: RunRecord, plan: Plan) -> None:
    """After dbt: the first snapshot it recomputed and how many months it recomputed and kept."""
    with (
        contextlib.suppress(duckdb.Error),
        warehouse.connect(settings.build_warehouse_path) as connection,
    ):
        start = connection.execute("select recompute_from from int_recompute_from").fetchall()
        months = connection.execute(
            "select count(distinct snapshot_date) filter (where snapshot_date >= $start), "
            "count(distinct snapshot_date) filter (where snapshot_date < $start) "
            "from customer_snapshots",
            {"start": start[0][0]},
        ).fetchall()[0]
        plan.recompute_from = start[0][0].isoformat()
        plan.months_recomputed, plan.months_kept = int(months[0]), int(months[1])
    record.incremental = plan.as_dict()
