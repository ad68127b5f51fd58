"""Is it the pipeline? Features and accuracy that moved between two builds of the same
snapshot, set against the code and config changes between them (pipeline.build.fingerprint).

A code change upstream of the feature mart (an analytics engineer's SQL, a macro, a var) that
moves a feature on the very same snapshot, or an ML change that moves the backtest's
accuracy, is the pipeline's doing, not the world's: the verdict `pipeline_change` names it and
its owner. A change that moves nothing is reported as harmless.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ml.drift import feature_profiles, psi
from monitoring.drift import DRIFT_BINS, VALUE_BIN_LIMIT

# A feature of the same snapshot "moved" between builds at this PSI (the drift monitor's
# floor: "moderate" by the usual convention); the same inputs computed the same way give 0.
MOVED_PSI = 0.1
# The backtest's mean ROC AUC "moved" between builds by this much (its month-to-month spread
# on the demo is about 0.03; a change in ml/ that leaves it within 0.01 is harmless).
MOVED_ROC_AUC = 0.01
CHANGE_COLUMNS = ["kind", "name", "owner", "detail", "layer", "feeds_features"]
MOVED_COLUMNS = ["feature", "psi", "moved"]
# The two builds as the periods ml.drift.feature_profiles compares (any two dates will do).
BEFORE, AFTER = pd.Timestamp("2000-01-01"), pd.Timestamp("2000-01-02")


def moved_features(
    before: pd.DataFrame, after: pd.DataFrame, kinds: Mapping[str, str]
) -> pd.DataFrame:
    """PSI of every feature of one snapshot as computed by the previous build (`before`) and by
    this one (`after`), on bins fitted to `before`; `moved` at MOVED_PSI or more. `kinds`: each
    feature's kind (`numeric` or `categorical`, as feature_dictionary says)."""
    shared = [name for name in kinds if name in before and name in after]
    numeric = [name for name in shared if kinds[name] == "numeric"]
    categorical = [name for name in shared if kinds[name] == "categorical"]
    if before.empty or after.empty or not (numeric or categorical):
        return pd.DataFrame(columns=MOVED_COLUMNS)
    both = pd.concat([before.assign(_build=BEFORE), after.assign(_build=AFTER)], ignore_index=True)
    profiles = feature_profiles(
        both,
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        period="_build",
        reference_periods=[BEFORE],
        current_period=AFTER,
        bins=DRIFT_BINS,
        value_limit=VALUE_BIN_LIMIT,
    )
    rows = []
    for feature, profile in profiles.groupby("feature", sort=False):
        counts = profile.pivot_table(
            index="bin_order", columns="time_window", values="rows", aggfunc="sum", fill_value=0
        )
        reference = counts.get("reference", pd.Series(0, index=counts.index)).to_numpy(float)
        current = counts.get("current", pd.Series(0, index=counts.index)).to_numpy(float)
        value = float(psi(reference, current))
        rows.append({"feature": feature, "psi": value, "moved": value >= MOVED_PSI})
    return pd.DataFrame(rows, columns=MOVED_COLUMNS)


def accuracy_moved(before: pd.DataFrame, after: pd.DataFrame) -> float | None:
    """Change in the model's mean backtest ROC AUC over the months both builds scored (None
    without common months)."""
    if before.empty or after.empty:
        return None
    model = "xgboost"
    old = before[before["method"] == model].set_index("scoring_month")["roc_auc"]
    new = after[after["method"] == model].set_index("scoring_month")["roc_auc"]
    common = old.index.intersection(new.index)
    if not len(common):
        return None
    return float(new.loc[common].mean() - old.loc[common].mean())


def pipeline_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """The code and config changes among `changes` (data and library changes excluded)."""
    if changes.empty:
        return changes
    return changes[changes["kind"].isin(["code", "config"])]


def judge(
    changes: pd.DataFrame,
    shifts: pd.DataFrame,
    accuracy_delta: float | None,
    labels: dict[str, str],
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """(the code and config changes that moved features or accuracy, evidence lines).

    A change feeding the feature mart is blamed when a feature of the same snapshot moved; an
    ML change (owner ML engineer) when the backtest accuracy moved by MOVED_ROC_AUC. Changes
    that moved nothing are reported as harmless.
    """
    made = pipeline_changes(changes)
    if made.empty:
        return made, []
    moved = shifts[shifts["moved"].astype(bool)] if not shifts.empty else shifts
    feeds = made[made["feeds_features"].astype(bool)]
    by_ml = made[made["owner"] == "ML engineer"]
    accuracy = accuracy_delta is not None and abs(accuracy_delta) >= MOVED_ROC_AUC
    culprits = pd.concat(
        [feeds if len(moved) else feeds.iloc[0:0], by_ml if accuracy else by_ml.iloc[0:0]]
    ).drop_duplicates(subset=["kind", "name"])
    evidence: list[dict[str, object]] = []
    for row in moved.sort_values("psi", ascending=False).itertuples():
        name = labels.get(str(row.feature), str(row.feature))
        evidence.append(
            {
                "monitor": "pipeline_shift",
                "subject": row.feature,
                "value": row.psi,
                "limit": MOVED_PSI,
                "message": f"{name} moved on the same snapshot between the builds (PSI "
                f"{row.psi:.2f}, limit {MOVED_PSI:.2f})",
            }
        )
    if accuracy:
        evidence.append(
            {
                "monitor": "pipeline_accuracy",
                "subject": "backtest",
                "value": accuracy_delta,
                "limit": MOVED_ROC_AUC,
                "message": f"backtest ROC AUC moved by {accuracy_delta:+.3f} on the same months",
            }
        )
    for row in made.itertuples():
        blamed = not culprits.empty and row.name in set(culprits["name"])
        evidence.append(
            {
                "monitor": "pipeline_change",
                "subject": row.name,
                "value": 1.0 if blamed else 0.0,
                "limit": 0.0,
                "message": f"{row.kind} change {row.name} ({row.owner}): {row.detail}"
                + ("" if blamed else "; it moved no feature and no accuracy (harmless)"),
            }
        )
    return culprits, evidence
