"""Publishing a finished build: move its warehouse into place, switch the pointer atomically."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pipeline import warehouse
from pipeline.build import faults
from pipeline.build.lock import pid_alive
from pipeline.files import write_atomic
from pipeline.settings import Settings

# Published warehouses kept besides the one in service (rollback, the previous build's list).
KEEP_WAREHOUSES = 3


def publish(settings: Settings, build_id: str) -> Path:
    """Move the finished build file into place and switch the pointer to it atomically.

    The manifest (build id and size) is written after the move and before the pointer: a
    file without one was never published (a killed publish), and a file whose size no longer
    matches it is damaged; readers then serve the newest intact kept build.
    """
    target = settings.warehouses_dir / f"{build_id}.duckdb"
    settings.warehouses_dir.mkdir(parents=True, exist_ok=True)
    os.replace(settings.build_warehouse_path, target)
    faults.point("publish:moved")
    published_at = datetime.now(UTC).isoformat(timespec="seconds")
    size = target.stat().st_size
    manifest = {"build_id": build_id, "bytes": size, "published_at": published_at}
    write_atomic(warehouse.manifest_path(settings, build_id), json.dumps(manifest))
    faults.point("publish:manifest")
    pointer = {"build_id": build_id, "path": str(target), "published_at": published_at}
    write_atomic(settings.current_pointer, json.dumps({**pointer, "bytes": size}))
    faults.point("publish:pointer")
    prune(settings, keep=build_id)
    return target


def keep_preview(settings: Settings, build_id: str) -> Path:
    """Move a finished preview build aside (never into service); keep the newest few."""
    settings.previews_dir.mkdir(parents=True, exist_ok=True)
    target = settings.previews_dir / f"{build_id}.duckdb"
    os.replace(settings.build_warehouse_path, target)
    for old in sorted(settings.previews_dir.glob("*.duckdb"), reverse=True)[KEEP_WAREHOUSES:]:
        old.unlink(missing_ok=True)
    return target


def prune(settings: Settings, keep: str) -> None:
    """Delete old published warehouses, always keeping the one in service and the newest few."""
    files = [Path(found["path"]) for found in warehouse.kept(settings)]
    for path in files[KEEP_WAREHOUSES:]:
        if path.stem != keep:
            path.unlink(missing_ok=True)
            warehouse.manifest_path(settings, path.stem).unlink(missing_ok=True)


def remove_strays(settings: Settings) -> list[str]:
    """Delete warehouse files a killed publish moved into place but never published, and
    leftovers of interrupted atomic writes (call under the build lock); their names."""
    removed = []
    for path in sorted(settings.warehouses_dir.glob("*.duckdb")):
        if not warehouse.is_published(settings, path.stem):
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".wal").unlink(missing_ok=True)
            removed.append(path.name)
    for folder in (settings.home, settings.warehouses_dir, settings.runs_dir):
        for leftover in folder.glob(".*.*.tmp"):  # write_atomic's `.<name>.<pid>.tmp`
            pid = leftover.name.rsplit(".", 2)[-2]
            if leftover.is_file() and pid.isdigit() and not pid_alive(int(pid)):
                leftover.unlink(missing_ok=True)
                removed.append(leftover.name)
    return removed


def reset_build_dir(settings: Settings) -> None:
    """Remove whatever an earlier (possibly killed) build left in the scratch folder."""
    shutil.rmtree(settings.build_dir, ignore_errors=True)
    settings.build_dir.mkdir(parents=True, exist_ok=True)
