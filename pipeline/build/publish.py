"""Publishing a finished build: move its warehouse into place, switch the pointer atomically."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pipeline.files import write_atomic
from pipeline.settings import Settings

# Published warehouses kept besides the one in service (rollback, the previous build's list).
KEEP_WAREHOUSES = 3


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
    files = sorted(settings.warehouses_dir.glob("*.duckdb"), reverse=True)
    for path in files[KEEP_WAREHOUSES:]:
        if path.stem != keep:
            path.unlink(missing_ok=True)


def reset_build_dir(settings: Settings) -> None:
    """Remove whatever an earlier (possibly killed) build left in the scratch folder."""
    shutil.rmtree(settings.build_dir, ignore_errors=True)
    settings.build_dir.mkdir(parents=True, exist_ok=True)
