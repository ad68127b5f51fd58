"""Which dataset raw.duckdb holds and the dbt vars its builds use (BATON_HOME/dataset.json).

Written by an import (pipeline.ingest) and by `python -m pipeline demo`; read by the build
(its dbt vars) and the app (its kind). Switching datasets keeps each dataset's snapshot
history and retires the previous dataset's model.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

from pipeline.build import registry
from pipeline.files import write_atomic
from pipeline.settings import Settings

DEMO = "demo"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "dataset"


def name(settings: Settings) -> str | None:
    """The name of the dataset in raw.duckdb, or None before any."""
    try:
        return str(json.loads(settings.dataset_path.read_text())["name"])
    except (OSError, ValueError, KeyError):
        return None


def save(settings: Settings, dataset: str, dbt_vars: dict[str, Any]) -> None:
    """Record the dataset in raw.duckdb and its build vars (call under the build lock).

    Switching to another dataset puts its own snapshot history in place (the previous one is
    kept under history/) and takes the previous dataset's model out of service, so the first
    build of the new data serves its own model.
    """
    previous = name(settings)
    if previous is not None and previous != dataset:
        archive = settings.home / "history"
        archive.mkdir(parents=True, exist_ok=True)
        if settings.history_path.exists():
            shutil.move(settings.history_path, archive / f"{_slug(previous)}.duckdb")
        kept = archive / f"{_slug(dataset)}.duckdb"
        if kept.exists():
            shutil.move(kept, settings.history_path)
        registry.retire_service(settings, f"Dataset changed from {previous!r} to {dataset!r}.")
    write_atomic(settings.dataset_path, json.dumps({"name": dataset, "vars": dbt_vars}))


def kind(settings: Settings) -> str:
    """events or flat: what the dataset in raw.duckdb is (events for the demo)."""
    return str(build_vars(settings).get("dataset_kind", "events"))


def build_vars(settings: Settings) -> dict[str, Any]:
    """The dbt vars of the dataset in raw.duckdb (empty for the demo)."""
    try:
        return dict(json.loads(settings.dataset_path.read_text()).get("vars") or {})
    except (OSError, ValueError):
        return {}
