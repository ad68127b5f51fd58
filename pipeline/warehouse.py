"""The published warehouse: atomic publish of a finished build, read-only connections."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from pipeline.history import write_atomic
from pipeline.settings import Settings

KEEP_WAREHOUSES = 3


def current(settings: Settings) -> dict[str, Any] | None:
    """The pointer to the warehouse in service ({build_id, path, published_at}) or None."""
    try:
        pointer = json.loads(settings.current_pointer.read_text())
    except (OSError, ValueError):
        return None
    return pointer if Path(pointer.get("path", "")).exists() else None


def previous(settings: Settings) -> Path | None:
    """The published warehouse before the one in service, if it is still kept."""
    pointer = current(settings)
    if pointer is None:
        return None
    older = [
        path
        for path in sorted(settings.warehouses_dir.glob("*.duckdb"), reverse=True)
        if path.stem < pointer["build_id"]
    ]
    return older[0] if older else None


@contextmanager
def connect(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection, so builds and other readers are never blocked."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        yield connection
    finally:
        connection.close()


def publish(settings: Settings, build_id: str) -> Path:
    """Move the finished build file into place and switch the pointer to it atomically."""
    target = settings.warehouses_dir / f"{build_id}.duckdb"
    settings.warehouses_dir.mkdir(parents=True, exist_ok=True)
    os.replace(settings.build_warehouse_path, target)
    pointer = {
        "build_id": build_id,
        "path": str(target),
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_atomic(settings.current_pointer, json.dumps(pointer))
    prune(settings, keep=build_id)
    return target


def prune(settings: Settings, keep: str) -> None:
    """Delete old published warehouses, always keeping the one in service and the newest few."""
    files = sorted(settings.warehouses_dir.glob("*.duckdb"), reverse=True)
    for path in files[KEEP_WAREHOUSES:]:
        if path.stem != keep:
            path.unlink(missing_ok=True)


def reset_build_dir(settings: Settings) -> None:
    """Remove whatever an earlier (possibly killed) build left in the scratch folder."""
    shutil.rmtree(settings.build_dir, ignore_errors=True)
    settings.build_dir.mkdir(parents=True, exist_ok=True)
