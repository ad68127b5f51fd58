"""Published warehouses: which one serves (current.json), the one before it, read-only connections.

Written only by pipeline.build.publish; read by the pages, the CLI and the next build. Serving
needs read access only. A damaged current.json or a damaged warehouse file does not stop
serving: the newest intact kept build serves instead, and its pointer says so (`fallback`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from pipeline.settings import Settings

# (path, size, mtime_ns) -> whether DuckDB could open the file: published files never change,
# so each one is opened once per process, not on every page run.
_OPENED: dict[tuple[str, int, int], bool] = {}


def manifest_path(settings: Settings, build_id: str) -> Path:
    """The sidecar publish writes next to a warehouse: its build id and size in bytes."""
    return settings.warehouses_dir / f"{build_id}.json"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _expected_bytes(settings: Settings, build_id: str) -> int | None:
    manifest = _read_json(manifest_path(settings, build_id)) or {}
    size = manifest.get("bytes")
    return int(size) if isinstance(size, int) else None


def damage(path: Path, expected_bytes: int | None = None) -> str | None:
    """Why a warehouse file cannot serve (missing, truncated, unreadable), or None if intact."""
    try:
        stat = path.stat()
    except OSError:
        return "its file is missing"
    if expected_bytes is not None and stat.st_size != expected_bytes:
        return f"its file holds {stat.st_size:,} bytes of the {expected_bytes:,} published"
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _OPENED:
        try:
            with connect(path) as connection:
                connection.execute("select count(*) from duckdb_tables()").fetchall()
            _OPENED[key] = True
        except duckdb.Error:
            _OPENED[key] = False
    return None if _OPENED[key] else "its file cannot be read"


def is_published(settings: Settings, build_id: str) -> bool:
    """Whether a warehouse file was published (a manifest, or, for warehouses published before
    manifests existed, a run record that says so or current.json naming it). A file a killed
    publish moved into place without its manifest never counts, as serving or as previous."""
    if manifest_path(settings, build_id).exists():
        return True
    record = _read_json(settings.runs_dir / f"{build_id}.json") or {}
    pointer = _read_json(settings.current_pointer) or {}
    return bool(record.get("published")) or pointer.get("build_id") == build_id


def kept(settings: Settings) -> list[dict[str, Any]]:
    """Every published warehouse still kept, newest first, as pointers {build_id, path, ...}."""
    try:
        files = sorted(settings.warehouses_dir.glob("*.duckdb"), reverse=True)
    except OSError:
        return []
    found = []
    for path in files:
        build_id = path.stem
        if not is_published(settings, build_id):
            continue
        manifest = _read_json(manifest_path(settings, build_id)) or {}
        found.append(
            {
                "build_id": build_id,
                "path": str(path),
                "published_at": manifest.get("published_at", ""),
                "bytes": manifest.get("bytes"),
            }
        )
    return found


def _pointed(settings: Settings) -> tuple[dict[str, Any] | None, str | None]:
    """current.json as written, or None with the reason it cannot serve (None if no file)."""
    if not settings.current_pointer.exists():
        return None, None
    pointer = _read_json(settings.current_pointer)
    if pointer is None or not pointer.get("build_id") or not pointer.get("path"):
        return None, "current.json is damaged"
    expected = pointer.get("bytes")
    if not isinstance(expected, int):
        expected = _expected_bytes(settings, str(pointer["build_id"]))
    why = damage(Path(pointer["path"]), expected)
    if why is not None:
        return None, f"the warehouse of build {pointer['build_id']} is damaged ({why})"
    return pointer, None


def current(settings: Settings) -> dict[str, Any] | None:
    """The pointer to the warehouse in service ({build_id, path, published_at}) or None.

    When current.json or the file it names is damaged, the newest intact kept build serves,
    and the pointer carries a `fallback` sentence saying so (shown on every page and in
    `status`); the next successful build publishes over it.
    """
    pointer, problem = _pointed(settings)
    if pointer is not None:
        return pointer
    if problem is None and not settings.current_pointer.exists():
        # Nothing published yet, or current.json removed by hand: serve a kept build if any.
        problem = "current.json is missing"
    for candidate in kept(settings):
        if damage(Path(candidate["path"]), candidate.get("bytes")) is None:
            return {
                **candidate,
                "fallback": (
                    f"The build in service could not be read: {problem}. Serving the newest "
                    f"intact kept build, {candidate['build_id']}, instead; the next successful "
                    "rebuild replaces it."
                ),
            }
    return None


def previous(settings: Settings) -> Path | None:
    """The published warehouse before the one in service, if it is still kept and intact."""
    pointer = current(settings)
    if pointer is None:
        return None
    for candidate in kept(settings):
        if candidate["build_id"] < pointer["build_id"] and (
            damage(Path(candidate["path"]), candidate.get("bytes")) is None
        ):
            return Path(candidate["path"])
    return None


@contextmanager
def connect(path: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection, so builds and other readers are never blocked."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        yield connection
    finally:
        connection.close()
