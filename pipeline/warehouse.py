"""Published warehouses: which one serves (current.json), the one before it, read-only connections.

Written only by pipeline.build.publish; read by the pages, the CLI and the next build.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from pipeline.settings import Settings


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
