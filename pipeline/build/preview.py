"""`python -m pipeline preview`: build the working tree's project into a scratch warehouse that
is never published, compare it with the serving build (pipeline.read.diff), and judge it by
the team's rules (dbt vars `preview_max_roc_auc_drop`, `preview_max_top_k_change`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline import dataset, warehouse
from pipeline.build.rebuild import BuildSetupError, ProgressCallback, rebuild
from pipeline.read import diff
from pipeline.settings import Settings, project_vars

RULES = ("preview_max_roc_auc_drop", "preview_max_top_k_change")


@dataclass
class Verdict:
    """A preview's report, the rules it broke (empty: it may ship) and its build's outcome."""

    report: dict[str, Any] | None
    broken: list[str] = field(default_factory=list)
    failure: str = ""


def rules(settings: Settings) -> dict[str, float]:
    """The team's rules: the dbt vars' defaults and the dataset's own values."""
    values = {**project_vars(settings.project_dir), **dataset.build_vars(settings)}
    missing = [name for name in RULES if name not in values]
    if missing:
        raise BuildSetupError(
            f"{settings.project_dir / 'dbt_project.yml'} has no var {', '.join(missing)}: "
            "the preview's rules live there (see the Baton project's own dbt_project.yml)."
        )
    return {name: float(values[name]) for name in RULES}


def judge(report: dict[str, Any], limits: dict[str, float]) -> list[str]:
    """The rules a report breaks, each in a sentence."""
    effect = report["effect"]
    if not effect.get("available"):
        return []
    broken = []
    delta = effect.get("roc_auc_delta")
    drop = limits["preview_max_roc_auc_drop"]
    if delta is not None and delta < -drop:
        broken.append(
            f"Backtest ROC AUC falls by {-delta:.4f} on average (the rule allows {drop:.4f}: "
            "dbt var preview_max_roc_auc_drop)."
        )
    share, most = effect.get("top_k_changed_share", 0.0), limits["preview_max_top_k_change"]
    if share > most:
        broken.append(
            f"{share:.0%} of the top {effect['top_k']} customers change (the rule allows "
            f"{most:.0%}: dbt var preview_max_top_k_change)."
        )
    return broken


def preview(settings: Settings, on_progress: ProgressCallback | None = None) -> Verdict:
    """Build without publishing, compare with the serving build, judge by the rules."""
    record = rebuild(settings, trigger="preview", on_progress=on_progress, preview=True)
    if record.status != "success":
        failure = record.failure or {}
        return Verdict(
            None,
            [f"The build failed at {failure.get('node') or 'an unknown step'}."],
            failure.get("message", ""),
        )
    serving = warehouse.current(settings)
    if serving is None:
        raise diff.UnknownBuildError(
            "No published build to compare with: run `python -m pipeline rebuild` first."
        )
    before, after = diff.side(settings, serving["build_id"]), diff.side(settings, record.build_id)
    report = diff.report(settings, before, after)
    return Verdict(report, judge(report, rules(settings)))
