"""The model registry that outlives builds: every version trained, and which one serves.

Lives in BATON_HOME/registry.duckdb. dbt attaches it read-only (source `registry`), so the
`ml_model_in_service` model can keep or roll back to an earlier model; only this module
writes it, under the build lock, after a build is published.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipeline import history
from pipeline.access import Actor, require_operator
from pipeline.build.lock import build_lock
from pipeline.settings import Settings

VERSION_COLUMNS = """
    model_version varchar primary key,
    trained_at timestamptz,
    build_id varchar,
    data_fingerprint varchar,
    n_train bigint,
    n_trees bigint,
    config varchar,
    categories varchar,
    calibrator varchar,
    booster_json varchar,
    backtest_roc_auc double,
    registered_at timestamptz
"""
STATE_COLUMNS = """
    model_version varchar,
    pinned boolean,
    reason varchar,
    updated_at timestamptz
"""


VERSION_LIST_COLUMNS = [
    "model_version",
    "trained_at",
    "build_id",
    "n_train",
    "backtest_roc_auc",
    "in_service",
    "pinned",
]


class UnknownModelVersionError(ValueError):
    """Raised when asked to use a version the registry does not hold."""


def ensure(settings: Settings) -> Path:
    """Create the registry file with its tables if it does not exist yet."""
    path = settings.registry_path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(str(path))
        try:
            connection.execute(f"create table model_versions ({VERSION_COLUMNS})")
            connection.execute(f"create table service_state ({STATE_COLUMNS})")
        finally:
            connection.close()
    return path


def record_build(settings: Settings, warehouse: Path, build_id: str) -> None:
    """Register the build's candidate and store which model now serves (call under the lock)."""
    connection = duckdb.connect(str(ensure(settings)))
    try:
        connection.execute("attach ? as build (read_only)", [str(warehouse)])
        connection.execute(
            """
            insert or ignore into model_versions
            select
                candidate.model_version, candidate.trained_at, ?, candidate.data_fingerprint,
                candidate.n_train, candidate.n_trees, candidate.config, candidate.categories,
                candidate.calibrator, candidate.booster_json,
                (select avg(roc_auc) from build.ml_backtest_metrics where method = 'xgboost'),
                now()
            from build.ml_model_candidate as candidate
            """,
            [build_id],
        )
        pinned = _pinned(connection)
        connection.execute("delete from service_state")
        connection.execute(
            """
            insert into service_state
            select model_version, ?, decision_reason, now() from build.ml_model_in_service
            """,
            [pinned],
        )
        connection.execute("detach build")
    finally:
        connection.close()


def _pinned(connection: duckdb.DuckDBPyConnection) -> bool:
    row = connection.execute("select pinned from service_state").fetchone()
    return bool(row[0]) if row else False


def use_version(settings: Settings, version: str | None, by: Actor | None = None) -> None:
    """Pin a version for the next builds, or unpin (None) to let the promotion rule decide.

    `by` is who asks (None: this process's OS user); a viewer gets AccessDeniedError.
    """
    actor = require_operator(by, "choosing the model in service")
    holder = {"trigger": "model use", "by": actor.name, "started_at": _now()}
    with build_lock(settings.lock_path, holder):
        connection = duckdb.connect(str(ensure(settings)))
        try:
            if version is not None:
                found = connection.execute(
                    "select count(*) from model_versions where model_version = ?", [version]
                ).fetchone()
                if not found or not found[0]:
                    raise UnknownModelVersionError(
                        f"No model version {version!r} in the registry; "
                        "`python -m pipeline model list` shows them."
                    )
            current = connection.execute("select model_version from service_state").fetchone()
            chosen = version or (current[0] if current else None)
            reason = (
                f"Pinned by {actor.name} at {_now()}." if version else f"Unpinned by {actor.name}."
            )
            connection.execute("delete from service_state")
            connection.execute(
                "insert into service_state values (?, ?, ?, now())",
                [chosen, version is not None, reason],
            )
        finally:
            connection.close()
        history.record_action(
            settings, actor.name, "model pin" if version else "model unpin", reason
        )


def retire_service(settings: Settings, reason: str) -> None:
    """Take every model out of service (e.g. new data with other features); call under the
    build lock. The next build's candidate then goes into service as the first model."""
    if not settings.registry_path.exists():
        return
    connection = duckdb.connect(str(settings.registry_path))
    try:
        connection.execute("delete from service_state")
        connection.execute("insert into service_state values (null, false, ?, now())", [reason])
    finally:
        connection.close()


def versions(settings: Settings) -> pd.DataFrame:
    """Every registered version, newest first, with whether it is the one in service."""
    if not settings.registry_path.exists():  # read-only: serving never creates files
        return pd.DataFrame(columns=VERSION_LIST_COLUMNS)
    connection = duckdb.connect(str(settings.registry_path), read_only=True)
    try:
        return connection.execute(
            """
            select
                versions.model_version,
                versions.trained_at,
                versions.build_id,
                versions.n_train,
                versions.backtest_roc_auc,
                coalesce(versions.model_version = state.model_version, false) as in_service,
                coalesce(state.pinned and versions.model_version = state.model_version, false)
                    as pinned
            from model_versions as versions
            left join service_state as state on true
            order by versions.trained_at desc
            """
        ).df()
    finally:
        connection.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
