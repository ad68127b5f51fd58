"""dbt docs of the build in service: the lineage from raw data to predictions, with every
model's columns (the catalog is read from a copy of the serving warehouse, not an empty file)."""

from __future__ import annotations

import queue
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pipeline import warehouse
from pipeline.build import context, publish
from pipeline.build.dbt_runner import NodeEvent, run_dbt
from pipeline.build.lock import build_lock
from pipeline.settings import Settings

DOCS_FILES = ("index.html", "catalog.json", "manifest.json")


class NoBuildError(RuntimeError):
    """Raised when there is no published build to document."""


def generate(settings: Settings) -> Path:
    """Write the dbt docs site of the serving build into BATON_HOME/dbt_docs; return it."""
    serving = warehouse.current(settings)
    if serving is None:
        raise NoBuildError("No published build yet: run `python -m pipeline rebuild` first.")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with build_lock(settings.lock_path, {"trigger": "docs", "started_at": started}):
        publish.reset_build_dir(settings)
        try:
            shutil.copyfile(serving["path"], settings.build_warehouse_path)
            context.write_context(settings, f"docs-{serving['build_id']}")
            events: queue.Queue[NodeEvent] = queue.Queue()
            outcome = run_dbt(
                "docs generate", settings, events, dbt_vars=context.dbt_vars(settings)
            )
            if not outcome.success:
                raise RuntimeError(f"dbt docs generate failed: {outcome.error}")
            target = settings.home / "dbt_docs"
            target.mkdir(parents=True, exist_ok=True)
            for name in DOCS_FILES:
                shutil.copyfile(settings.dbt_target_dir / name, target / name)
        finally:
            publish.reset_build_dir(settings)
    return target
