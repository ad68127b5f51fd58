"""Is it the code? Every build knows what produced it, and a change shows its effect, its kind
and its owner: the diff, the preview and the verdict on real builds of the demo."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline import dataset, history, warehouse
from pipeline.history import RunRecord
from pipeline.settings import DBT_PROJECT_DIR, ROOT, Settings
from tests.support import pipeline_cli

pytestmark = pytest.mark.slow


def project_with(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    """A copy of the dbt project with one text replaced in one file."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    path = copy / relative
    text = path.read_text()
    assert old in text, f"{old!r} is not in {relative}"
    path.write_text(text.replace(old, new))
    return copy


def pipeline_json(home: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`python -m pipeline <args> --json` for one home, as a user runs it."""
    done = pipeline_cli(home, *args, "--json", env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def test_every_build_keeps_its_fingerprint(built) -> None:
    record = history.find(built.settings, built.record.build_id)
    assert record is not None and record.fingerprint is not None
    fingerprint = record.fingerprint
    assert fingerprint["nodes"]["model.baton.customer_snapshots"]["checksum"]
    assert "macro.baton.trailing_window_rows" in fingerprint["macros"]
    assert "ml/train.py" in fingerprint["code"] and "monitoring/verdict.py" in fingerprint["code"]
    assert fingerprint["vars"]["horizon_days"] == 30
    assert fingerprint["libraries"]["xgboost"]
    usage = fingerprint["data"]["usage_daily"]
    assert usage["rows"] > 10_000 and usage["newest"] and usage["digest"]
    assert fingerprint["seconds"] < 5  # cheap enough to take on every build


def test_a_comment_in_an_ml_module_is_listed_for_the_ml_engineer_and_changes_no_score(
    copied_home: Settings, tmp_path: Path
) -> None:
    packages = tmp_path / "code"
    shutil.copytree(ROOT / "ml", packages / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    module = packages / "ml" / "explain.py"
    module.write_text(module.read_text() + "\n# A comment changes the file, not what it does.\n")
    # cwd: this copy of ml/ is the one imported, the rest comes from the project
    done = pipeline_cli(
        copied_home.home, "rebuild", cwd=packages, env={"PYTHONPATH": str(ROOT)}, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]

    report = pipeline_json(copied_home.home, "diff")
    code = [c for c in report["changes"] if c["kind"] == "code"]
    assert [(c["name"], c["owner"]) for c in code] == [("ml/explain.py", "ML engineer")]
    effect = report["effect"]
    assert effect["features_moved"] == []
    assert effect["top_k_entered"] == [] and effect["top_k_left"] == []
    assert effect["roc_auc_delta"] == 0
    assert effect["rank_correlation"] == pytest.approx(1.0)


def test_a_staging_change_that_drops_activity_is_a_pipeline_change_named_for_its_owner(
    copied_home: Settings, tmp_path: Path, build: Callable[..., RunRecord]
) -> None:
    project = project_with(
        tmp_path,
        "models/staging/stg_raw__activity.sql",
        "    from source\n",
        "    from source\n    where hash(account_id) % 3 <> 0\n",
    )
    record = build(replace(copied_home, project_dir=project))
    assert record.status == "success", record.failure

    verdict = record.triage or {}
    assert verdict["verdict"] == "pipeline_change", verdict
    assert "stg_raw__activity" in verdict["summary"] and verdict["owner"] == "analytics engineer"
    report = pipeline_json(copied_home.home, "diff")
    assert [(c["kind"], c["name"], c["owner"]) for c in report["changes"]] == [
        ("code", "stg_raw__activity", "analytics engineer")
    ]
    moved = {item["feature"] for item in report["effect"]["features_moved"]}
    assert {"days_since_last_activity", "active_days_30d"} <= moved
    assert "paid_amount_to_date" not in moved  # payments did not change
    assert report["effect"]["upstream_changes"] == ["stg_raw__activity"]
    assert report["effect"]["top_k_entered"], "the list of customers to contact moved"


def test_a_changed_dbt_var_shows_as_configuration(
    copied_home: Settings, build: Callable[..., RunRecord]
) -> None:
    dataset.save(copied_home, "demo", {"horizon_days": 45})
    record = build(copied_home)
    assert record.status == "success", record.failure

    report = pipeline_json(copied_home.home, "diff")
    horizon = [c for c in report["changes"] if c["name"] == "horizon_days"]
    assert horizon == [
        {
            "kind": "config",
            "name": "horizon_days",
            "owner": "analytics engineer",
            "detail": "dbt var 30 -> 45",
            "layer": "",
            "feeds_features": True,
        }
    ]


def test_a_harmful_change_fails_its_preview_with_a_report_and_publishes_nothing(
    copied_home: Settings, tmp_path: Path
) -> None:
    # The team's rule: at most 5% of the customers to contact may change.
    dataset.save(copied_home, "demo", {"preview_max_top_k_change": 0.05})
    serving = warehouse.current(copied_home)
    builds = {record.build_id for record in history.load_all(copied_home)}
    project = project_with(
        tmp_path,
        "models/staging/stg_raw__activity.sql",
        "    from source\n",
        "    from source\n    where hash(account_id) % 3 <> 0\n",
    )
    report_file = tmp_path / "preview.md"
    done = pipeline_cli(
        copied_home.home,
        *("preview", "--out", str(report_file)),
        env={"BATON_PROJECT_DIR": str(project)},
        timeout=600,
    )

    assert done.returncode == 1, done.stderr[-3000:]
    report = report_file.read_text()
    assert "`stg_raw__activity` (analytics engineer)" in report
    assert "BROKEN:" in report and "preview_max_top_k_change" in report
    assert "Traceback" not in done.stderr
    assert warehouse.current(copied_home) == serving  # nothing published
    assert {record.build_id for record in history.load_all(copied_home)} == builds
    previews = list(copied_home.previews_dir.glob("*.duckdb"))
    assert len(previews) == 1 and not (copied_home.warehouses_dir / previews[0].name).exists()
