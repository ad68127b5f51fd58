"""What changed between two builds, and what it did: `python -m pipeline diff` and `preview`.

The changes come from the builds' fingerprints (pipeline.build.fingerprint): code, config,
data and libraries, each with its owner. The effect is read from the two warehouses: the
features whose values moved on the newest snapshot both builds scored (with the changes that
feed the feature mart), the backtest's ROC AUC month by month, and the at-risk list (who
entered and left the top k, and how alike the two rankings are).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pandas as pd
from scipy.stats import spearmanr

from monitoring.changes import moved_features
from pipeline import history, warehouse
from pipeline.build.fingerprint import Fingerprint, compare
from pipeline.history import RunRecord
from pipeline.read import queries
from pipeline.settings import Settings

SNAPSHOT = "snapshot_date"


class UnknownBuildError(ValueError):
    """A build id the run history does not know, or no build to compare with."""


@dataclass
class Side:
    """One build of a comparison: its id, run record and warehouse (None once pruned)."""

    build_id: str
    record: RunRecord | None
    path: str | None


def side(settings: Settings, build_id: str) -> Side:
    """The build `build_id`, from the run history or the previews."""
    record = history.find(settings, build_id)
    if record is None:
        preview = settings.previews_dir / f"{build_id}.json"
        if preview.exists():
            import json

            record = RunRecord(**json.loads(preview.read_text()))
    if record is None:
        raise UnknownBuildError(
            f"No build {build_id!r} in the run history; `python -m pipeline status` shows the "
            "latest, the Pipeline page lists them all."
        )
    # This home's copy of its warehouse (published, or a preview's), while it is kept.
    kept = [
        settings.warehouses_dir / f"{build_id}.duckdb",
        settings.previews_dir / f"{build_id}.duckdb",
    ]
    path = next((str(candidate) for candidate in kept if candidate.exists()), None)
    return Side(build_id, record, path)


def default_pair(settings: Settings, after: str | None, before: str | None) -> tuple[Side, Side]:
    """(before, after): by default the serving build and the published build before it."""
    serving = warehouse.current(settings)
    after_id = after or (serving["build_id"] if serving else None)
    if after_id is None:
        raise UnknownBuildError("No published build yet: run `python -m pipeline rebuild` first.")
    if before is None:
        older = [
            record.build_id
            for record in history.load_all(settings)
            if record.published and record.build_id < after_id
        ]
        if not older:
            raise UnknownBuildError(
                f"Build {after_id} has no published build before it to compare with."
            )
        before = older[0]
    return side(settings, before), side(settings, after_id)


def _frame(path: str, sql: str) -> pd.DataFrame:
    with duckdb.connect(path, read_only=True) as connection:
        return connection.execute(sql).df()


def feature_moves(before: str, after: str) -> pd.DataFrame:
    """PSI per feature of the newest snapshot both builds scored (bins of the earlier one)."""
    newest = _frame(before, f"select max({SNAPSHOT}) as day from ml_features")["day"].iloc[0]
    query = f"select * from ml_features where {SNAPSHOT} = DATE '{pd.Timestamp(newest):%Y-%m-%d}'"
    old, new = _frame(before, query), _frame(after, query)
    dictionary = _frame(after, "select feature, kind from feature_dictionary")
    kinds = dict(zip(dictionary["feature"], dictionary["kind"], strict=True))
    moved = moved_features(old, new, kinds)
    return moved.assign(snapshot_date=pd.Timestamp(newest).date())


def accuracy_by_month(before: str, after: str) -> pd.DataFrame:
    """The model's backtest ROC AUC per month in both builds, and the difference."""
    sql = "select scoring_month, roc_auc from ml_backtest_metrics where method = 'xgboost'"
    old = _frame(before, sql).rename(columns={"roc_auc": "before"})
    new = _frame(after, sql).rename(columns={"roc_auc": "after"})
    both = old.merge(new, on="scoring_month", how="outer").sort_values("scoring_month")
    return both.assign(delta=both["after"] - both["before"])


def list_movement(before: str, after: str, k: int) -> dict[str, Any]:
    """Who entered and left the top k, and the rank correlation over customers in both lists."""
    old, new = queries.at_risk(before), queries.at_risk(after)
    top_old = set(old.head(k)["customer_id"])
    top_new = set(new.head(k)["customer_id"])
    both = old[["customer_id", "churn_probability"]].merge(
        new[["customer_id", "churn_probability"]], on="customer_id", suffixes=("_before", "_after")
    )
    correlation = (
        float(spearmanr(both["churn_probability_before"], both["churn_probability_after"])[0])
        if len(both) > 2
        else float("nan")
    )
    return {
        "top_k": k,
        "top_k_entered": sorted(top_new - top_old),
        "top_k_left": sorted(top_old - top_new),
        "top_k_changed_share": len(top_new - top_old) / max(k, 1),
        "rank_correlation": correlation,
    }


def changes_between(before: Side, after: Side) -> list[dict[str, Any]]:
    """The fingerprint changes from `before` to `after` (the after build's own record of its
    changes when the before build has no fingerprint)."""
    old = Fingerprint.from_dict(before.record.fingerprint if before.record else None)
    new = Fingerprint.from_dict(after.record.fingerprint if after.record else None)
    if old is not None and new is not None:
        return [asdict(change) for change in compare(old, new)]
    return list(after.record.changes) if after.record else []


def report(settings: Settings, before: Side, after: Side) -> dict[str, Any]:
    """The changes between two builds and their effect, as plain data (the --json output)."""
    changes = changes_between(before, after)
    effect: dict[str, Any] = {"available": bool(before.path and after.path)}
    if before.path and after.path:
        moves = feature_moves(before.path, after.path)
        accuracy = accuracy_by_month(before.path, after.path)
        k = queries.capacity_k(after.path)
        effect |= {
            "snapshot_date": str(moves["snapshot_date"].iloc[0]) if len(moves) else None,
            "features_moved": [
                {"feature": str(feature), "psi": _number(psi)}
                for feature, psi in moves[moves["moved"]]
                .sort_values("psi", ascending=False)[["feature", "psi"]]
                .itertuples(index=False)
            ],
            "upstream_changes": [c["name"] for c in changes if c.get("feeds_features")],
            "roc_auc_by_month": [
                {
                    "scoring_month": str(row.scoring_month)[:10],
                    "before": _number(row.before),
                    "after": _number(row.after),
                    "delta": _number(row.delta),
                }
                for row in accuracy.itertuples()
            ],
            "roc_auc_delta": _number(accuracy["delta"].mean()),
            **list_movement(before.path, after.path, k),
        }
    else:
        effect["why"] = "a warehouse of one of the builds is no longer kept"
    return {
        "before": before.build_id,
        "after": after.build_id,
        "changes": changes,
        "effect": effect,
    }


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 4)


def markdown(data: dict[str, Any], title: str = "What changed") -> str:
    """The report as Markdown: what an analytics engineer attaches to a pull request."""
    lines = [f"## {title}: build {data['after']} against {data['before']}", ""]
    code = [c for c in data["changes"] if c["kind"] in ("code", "config")]
    other = [c for c in data["changes"] if c["kind"] not in ("code", "config")]
    lines.append("### Changes")
    if not data["changes"]:
        lines.append("Nothing changed in code, config, data or libraries.")
    for change in code + other:
        lines.append(
            f"- **{change['kind']}** `{change['name']}` ({change['owner']}): {change['detail']}"
        )
    effect = data["effect"]
    lines += ["", "### Effect"]
    if not effect.get("available"):
        lines.append(f"Not measured: {effect.get('why')}.")
        return "\n".join(lines) + "\n"
    moved = effect["features_moved"]
    lines.append(
        f"- Features moved on the snapshot of {effect['snapshot_date']}: "
        + (", ".join(f"`{m['feature']}` (PSI {m['psi']:.2f})" for m in moved[:10]) or "none")
        + (f", and {len(moved) - 10} more" if len(moved) > 10 else "")
    )
    if moved and effect["upstream_changes"]:
        lines.append(f"  - upstream of the feature mart: {', '.join(effect['upstream_changes'])}")
    delta = effect["roc_auc_delta"]
    lines.append(
        "- Backtest ROC AUC: "
        + ("no common month" if delta is None else f"{delta:+.4f} on average over the months")
    )
    for month in effect["roc_auc_by_month"]:
        if month["delta"] is not None:
            lines.append(
                f"  - {month['scoring_month']}: {month['before']:.4f} -> {month['after']:.4f} "
                f"({month['delta']:+.4f})"
            )
    lines.append(
        f"- At-risk list: {len(effect['top_k_entered'])} of the top {effect['top_k']} are new, "
        f"{len(effect['top_k_left'])} left it; rank correlation {effect['rank_correlation']:.3f}"
    )
    return "\n".join(lines) + "\n"
