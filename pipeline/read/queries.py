"""Read queries the pages and the CLI use, against one published warehouse file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ml import waterfall
from pipeline.history import RunRecord
from pipeline.read import export, words
from pipeline.read.plain_text import without_controls
from pipeline.read.words import DatasetWords
from pipeline.warehouse import connect

# Points of risk a customer must move between builds to count as rising or falling.
MOVE_POINTS = 5.0
# Movement of every customer when no earlier build of the same customers exists.
NO_PREVIOUS = "first build"


def _frame(path: str | Path, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    with connect(path) as connection:
        return connection.execute(sql, params or []).df()


def at_risk(path: str | Path) -> pd.DataFrame:
    """Every scored customer, highest risk first, with value, expected loss and top reasons."""
    return without_controls(_frame(path, "select * from at_risk_customers order by risk_rank"))


def customer_waterfall(
    path: str | Path, customer_id: str, risk: float
) -> tuple[pd.DataFrame, bool]:
    """One customer's walk from a typical customer's risk to theirs, in points of risk (and
    whether the points end at `risk`, the list's figure; else the bars are log-odds)."""
    return waterfall.customer_waterfall(
        customer_explanation(path, customer_id), calibrator(path), risk
    )


def dataset_words(path: str | Path) -> DatasetWords:
    """The dataset's words (value at risk, currency, attribute names) of a build."""
    try:
        rows = _frame(path, "select * from dataset_profile").to_dict("records")
    except duckdb.CatalogException:  # a warehouse built before the profile existed
        rows = []
    valued = _frame(path, "select count(*) as n from at_risk_customers where customer_value > 0")
    return words.from_profile(
        {str(key): value for key, value in rows[0].items()} if rows else None,
        has_value=bool(valued["n"].iloc[0]),
    )


def export_list(path: str | Path, rows: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """`rows` of a build's at-risk list as the CSV has them, in the dataset's words; the
    attributes the whole list has (so a filter never changes the header)."""
    everyone = at_risk(path)
    attributes = words.present_attributes(everyone)
    named = words.present_names(everyone)
    return export.export_frame(rows, dataset_words(path), attributes, top=top, named=named)


def common_reasons(path: str | Path) -> pd.DataFrame:
    """Families of factors among the top reasons of nearly every customer the team can
    contact, the weightiest first (by share in builds from before their points were kept)."""
    try:
        shared = _frame(path, "select * from common_reasons")
    except duckdb.CatalogException:
        return pd.DataFrame(columns=["feature", "label", "customers", "share_of_list"])
    order = ["points", "share_of_list"] if "points" in shared else ["share_of_list"]
    return shared.sort_values(order, ascending=False, kind="stable").reset_index(drop=True)


def feature_dictionary(path: str | Path) -> pd.DataFrame:
    """The features of a build with their plain names, kinds and units."""
    return _frame(path, "select * from feature_dictionary order by position")


def backtest_metrics(path: str | Path) -> pd.DataFrame:
    """Walk-forward accuracy per scoring month and method."""
    return _frame(path, "select * from ml_backtest_metrics order by scoring_month, method")


def reliability(path: str | Path) -> pd.DataFrame:
    """Backtest calibration by 10-point risk band."""
    return _frame(path, "select * from ml_reliability order by risk_from_pct")


def feature_importance(path: str | Path) -> pd.DataFrame:
    """Mean |SHAP| and mean |points of risk| per feature, with plain names, largest first;
    only features that move some customer's score (one the trees never split on, such as a
    count from a table the data lacks, is zero for everyone and says nothing)."""
    return _frame(
        path,
        "select * from feature_importance where mean_abs_shap > 1e-9 order by mean_abs_points desc",
    )


def customer_explanation(path: str | Path, customer_id: str) -> pd.DataFrame:
    """One customer's SHAP contributions with plain names and values, largest effect first."""
    return _frame(
        path,
        """
        select feature, label, display_value, reason, contribution, base_value
        from customer_explanations
        where customer_id = ?
        order by abs(contribution) desc
        """,
        [customer_id],
    )


def top_reason_counts(path: str | Path, k: int) -> pd.DataFrame:
    """How many of the k riskiest customers have each feature as their 1st, 2nd or 3rd reason."""
    return _frame(
        path,
        """
        with

        reasons as (
            select
                unnest([1, 2, 3]) as reason_rank,
                unnest([reason_1_feature, reason_2_feature, reason_3_feature]) as feature
            from at_risk_customers
            where risk_rank <= ?
        )

        select
            reasons.feature,
            coalesce(features.label, reasons.feature) as label,
            cast(reasons.reason_rank as integer) as reason_rank,
            count(*) as customers
        from reasons
        left join feature_dictionary as features on reasons.feature = features.feature
        where reasons.feature is not null
        group by all
        order by reasons.feature, reason_rank
        """,
        [k],
    )


def provisional_accuracy(path: str | Path) -> pd.DataFrame:
    """Expected precision and recall at k for the scored month while its labels have not
    matured: the calibrated probabilities stand in for the outcomes (provisional)."""
    return _frame(
        path,
        """
        with

        config as (select capacity_k from ml_config),

        scored as (
            select predictions.*
            from ml_predictions as predictions
            where predictions.snapshot_date not in (select scoring_month from ml_backtest_metrics)
                and exists (
                    select 1
                    from ml_features as snapshots
                    where snapshots.snapshot_date = predictions.snapshot_date
                        and not snapshots.is_matured
                )
        )

        select
            scored.snapshot_date as scoring_month,
            config.capacity_k,
            count(*) as n_customers,
            sum(scored.churn_probability) as expected_churned,
            avg(scored.churn_probability) filter (where scored.risk_rank <= config.capacity_k)
                as precision_at_k,
            sum(scored.churn_probability) filter (where scored.risk_rank <= config.capacity_k)
                / nullif(sum(scored.churn_probability), 0) as recall_at_k
        from scored, config
        group by all
        """,
    )


def estimate_track_record(path: str | Path) -> pd.DataFrame:
    """Per backtest month, the precision at k expected from the calibrated probabilities
    beside the precision realized: how far a provisional estimate can be trusted."""
    return _frame(
        path,
        """
        with

        ranked as (
            select
                predictions.scoring_month,
                predictions.probability,
                cast(predictions.churned as integer) as churned,
                row_number() over (
                    partition by predictions.scoring_month
                    order by predictions.score desc, predictions.customer_id
                ) as position
            from ml_backtest_predictions as predictions
            where predictions.method = 'xgboost'
        )

        select
            ranked.scoring_month,
            avg(ranked.probability) as expected_precision_at_k,
            avg(ranked.churned) as precision_at_k
        from ranked, ml_config as config
        where ranked.position <= config.capacity_k
        group by ranked.scoring_month
        order by ranked.scoring_month
        """,
    )


def calibrator(path: str | Path) -> dict[str, Any]:
    """The calibration of the model in service (method and parameters), as stored."""
    with connect(path) as connection:
        rows = connection.execute("select calibrator from ml_model_in_service").fetchall()
    return dict(json.loads(rows[0][0])) if rows and rows[0][0] else {}


def model_summary(path: str | Path) -> dict[str, Any]:
    """The model in service and the data it describes: version, training, as-of date."""
    with connect(path) as connection:
        row = connection.execute(
            """
            select
                registry.model_version,
                registry.trained_at,
                registry.n_train,
                registry.n_trees,
                json_extract_string(registry.calibrator, '$.method') as calibration,
                registry.candidate_version,
                registry.promoted,
                registry.decision_reason,
                (select as_of_date from data_as_of) as data_as_of,
                (select as_of_date - 1 from data_as_of) as newest_data,
                (select max(snapshot_date) from ml_predictions) as snapshot_date,
                (select capacity_k from ml_config) as capacity_k,
                (select horizon_days from ml_config) as horizon_days
            from ml_model_in_service as registry
            """
        ).fetchone()
        columns = [c[0] for c in connection.description or []]
    return dict(zip(columns, row, strict=True)) if row else {}


def movement(current: pd.DataFrame, previous: pd.DataFrame | None, k: int) -> pd.DataFrame:
    """Every customer of `current` (same rows, same order) with its move since `previous`.

    `change_pts` is the change in risk, in percentage points rounded to 0.1. `movement` is
    "new" for a customer who was not scored before or has just entered the top k, "rising"
    or "falling" for a change of at least MOVE_POINTS, "steady" otherwise, and NO_PREVIOUS
    for every customer when there is no earlier build of the same customers to compare with.
    """
    moved = current.copy()
    if previous is None or not moved["customer_id"].isin(previous["customer_id"]).any():
        moved["movement"] = NO_PREVIOUS
        moved["change_pts"] = float("nan")
        return moved
    was = moved["customer_id"].map(previous.set_index("customer_id")["churn_probability"])
    moved["change_pts"] = ((moved["churn_probability"] - was) * 100).round(1) + 0.0  # no -0.0
    earlier_top = previous.loc[previous["risk_rank"] <= k, "customer_id"]
    entered_top = (moved["risk_rank"] <= k) & ~moved["customer_id"].isin(earlier_top)
    moved["movement"] = "steady"
    moved.loc[moved["change_pts"] >= MOVE_POINTS, "movement"] = "rising"
    moved.loc[moved["change_pts"] <= -MOVE_POINTS, "movement"] = "falling"
    moved.loc[was.isna() | entered_top, "movement"] = "new"
    return moved


def movers(top: pd.DataFrame) -> pd.DataFrame:
    """The customers of `top` (a list with movement) that moved: new ones by risk, then the
    biggest rises, then the biggest falls, with their risk in % and the change in words."""
    changed = top[~top["movement"].isin(["steady", NO_PREVIOUS])]
    ordered = changed.assign(
        risk_pct=changed["churn_probability"] * 100,
        change=[
            "not scored before" if change != change else f"{change:+.1f} points"
            for change in changed["change_pts"]
        ],
        group=changed["movement"].map({"new": 0, "rising": 1, "falling": 2}),
        key=changed["change_pts"].where(
            changed["movement"] == "falling", -changed["churn_probability"]
        ),
    ).sort_values(["group", "key"], kind="stable")
    return ordered.drop(columns=["group", "key"]).reset_index(drop=True)


def at_risk_with_movement(path: str | Path, previous_path: str | Path | None) -> pd.DataFrame:
    """The at-risk list with each customer's movement since the previous build (top k by
    the configured capacity): what the work queue, the Overview, the CSV and the CLI show."""
    current = at_risk(path)
    previous = None
    if previous_path is not None:
        try:
            previous = at_risk(previous_path)
        except (duckdb.Error, OSError):  # an older build that cannot be read: no comparison
            previous = None
    return movement(current, previous, capacity_k(path))


def capacity_k(path: str | Path) -> int:
    """Customers the team can contact per cycle, as configured for the build (dbt var)."""
    with connect(path) as connection:
        return int(connection.execute("select capacity_k from ml_config").fetchall()[0][0])


def triage_from(connection: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The verdict row of a build (verdict, owner, summary, evidence...) on an open connection."""
    try:
        found = connection.execute(
            "select verdict, owner, summary, evidence, changed_at, data_as_of, model_decision "
            "from triage_verdict"
        ).fetchall()
    except duckdb.CatalogException:  # a warehouse built before the monitors existed
        return None
    if not found:
        return None
    verdict, owner, summary, evidence, changed_at, as_of, decision = found[0]
    return {
        "verdict": verdict,
        "owner": owner,
        "summary": summary,
        "evidence": json.loads(evidence or "[]"),
        "changed_at": changed_at.isoformat() if changed_at else None,
        "data_as_of": as_of.isoformat() if as_of else None,
        "model_decision": decision,
    }


def triage(path: str | Path) -> dict[str, Any] | None:
    """Is it the data, the world or the model: the verdict of a published build, or None."""
    with connect(path) as connection:
        return triage_from(connection)


def _monitor(path: str | Path, sql: str) -> pd.DataFrame:
    """A monitoring table, or an empty frame for a warehouse built before the monitors."""
    try:
        return _frame(path, sql)
    except duckdb.CatalogException:
        return pd.DataFrame()


def quality_checks(path: str | Path) -> pd.DataFrame:
    """Every data-quality check of a build, fired ones first."""
    return _monitor(
        path, "select * from monitor_data_quality order by fired desc, check_name, source_table"
    )


def feature_drift(path: str | Path) -> pd.DataFrame:
    """Drift per feature and of the scores, with plain labels, most severe first."""
    return _monitor(
        path,
        """
        select
            drift.*,
            coalesce(
                dictionary.label,
                case when drift.kind = 'prediction' then 'Predicted churn probability' end,
                drift.feature
            ) as label
        from monitor_feature_drift as drift
        left join feature_dictionary as dictionary on drift.feature = dictionary.feature
        order by drift.severity desc
        """,
    )


def feature_distribution(path: str | Path) -> pd.DataFrame:
    """Share of customers per bin, pooled reference vs newest snapshot, for every feature."""
    return _monitor(
        path,
        """
        select
            feature,
            bin_order,
            bin_label,
            time_window,
            sum(rows) as customers,
            sum(rows) / sum(sum(rows)) over (partition by feature, time_window) as share
        from monitor_feature_profiles
        group by feature, bin_order, bin_label, time_window
        order by feature, bin_order, time_window
        """,
    )


def source_volume(path: str | Path) -> pd.DataFrame:
    """Rows per day of each source against its learned range."""
    return _monitor(path, "select * from monitor_source_volume order by source_table, day")


def performance(path: str | Path) -> pd.DataFrame:
    """Churn rate and accuracy per snapshot month, realized or estimated, with bands."""
    return _monitor(path, "select * from monitor_performance order by snapshot_date")


def build_triage(last: RunRecord | None, pointer: dict[str, Any] | None) -> dict[str, Any] | None:
    """The verdict to show now: the last build's own when its source data broke it (the
    serving build is then older), else the serving build's; None before any verdict."""
    if last is not None and last.status == "failed" and last.triage:
        return {**last.triage, "build_id": last.build_id, "build_failed": True}
    if pointer is None:
        return None
    found = triage(pointer["path"])
    return {**found, "build_id": pointer["build_id"], "build_failed": False} if found else None
