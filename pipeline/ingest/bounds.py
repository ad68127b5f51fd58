"""The range every build setting may take, and why: checked when a mapping is read (its
`vars`), when an import has computed its tables (settings that depend on the data: `as_of`,
the snapshot grid), and again when a build starts, since dataset.json can be edited by hand.

Each check returns a sentence that names the allowed range and the reason, or None. Nothing
here opens files; the data facts come from the caller's DuckDB connection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb


@dataclass(frozen=True)
class Bound:
    """An allowed numeric range; `why` finishes the sentence "... because ..."."""

    low: float
    high: float
    why: str
    whole: bool = True

    def problem(self, value: Any) -> str | None:
        """A sentence when `value` is not a number in range (None when it is)."""
        kind = "a whole number" if self.whole else "a number"
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (self.whole and not float(value).is_integer()):
            return f"{kind.capitalize()} from {self.low:,g} to {self.high:,g} ({self.why})."
        if not self.low <= value <= self.high:
            return (
                f"{value:,g} is outside the allowed range, {self.low:,g} to {self.high:,g}: "
                f"{self.why}."
            )
        return None


# dbt vars a mapping (or dataset.json) may set, by name.
VAR_BOUNDS: dict[str, Bound] = {
    "horizon_days": Bound(
        1, 730, "labels look this many days ahead, and a snapshot counts only once they passed"
    ),
    "inactivity_days": Bound(1, 1095, "the look-back that makes a customer count as active"),
    "capacity_k": Bound(1, 1_000_000, "the customers your team can contact per cycle"),
    "backtest_months": Bound(1, 36, "every backtest month trains and scores its own models"),
    "min_train_months": Bound(1, 120, "the fewest matured months a training set needs"),
    "monitor_recent_months": Bound(1, 24, "the recent window the monitors compare"),
    "monitor_reference_months": Bound(1, 36, "the reference window the monitors learn from"),
    "volume_history_weeks": Bound(1, 104, "the weeks a day's row count is compared with"),
    "freshness_tolerance_days": Bound(0, 365, "how late a source may be"),
    "common_reason_min_customers": Bound(1, 1_000_000, "customers sharing a common reason"),
    "promotion_tolerance": Bound(0, 1, "a difference in ROC AUC", whole=False),
    "common_reason_share": Bound(0, 1, "a share of the contactable customers", whole=False),
}
# `xgboost_params` keys (XGBoost's own, plus the training options of ml/train.py) and their
# ranges. A fit's time grows with rounds x leaves and TreeSHAP with depth squared (docs/speed.md).
XGBOOST_BOUNDS: dict[str, Bound] = {
    "n_estimators": Bound(1, 5_000, "every round adds a tree to each of the build's fits"),
    "early_stopping_rounds": Bound(1, 500, "rounds without improvement before stopping"),
    "learning_rate": Bound(0.001, 1, "the step size of each round", whole=False),
    "eta": Bound(0.001, 1, "the step size of each round", whole=False),
    "max_depth": Bound(1, 12, "explanation cost grows with the square of the depth"),
    "max_leaves": Bound(0, 4_096, "fit and explanation cost grow with the leaves"),
    "max_bin": Bound(2, 1_024, "histogram bins per feature"),
    "min_child_weight": Bound(0, 100_000, "a regularization weight", whole=False),
    "subsample": Bound(0.05, 1, "a share of the rows", whole=False),
    "colsample_bytree": Bound(0.05, 1, "a share of the features", whole=False),
    "colsample_bylevel": Bound(0.05, 1, "a share of the features", whole=False),
    "colsample_bynode": Bound(0.05, 1, "a share of the features", whole=False),
    "reg_lambda": Bound(0, 100_000, "a regularization weight", whole=False),
    "reg_alpha": Bound(0, 100_000, "a regularization weight", whole=False),
    "gamma": Bound(0, 100_000, "a regularization weight", whole=False),
    "max_delta_step": Bound(0, 100, "a cap on each leaf's step", whole=False),
    "scale_pos_weight": Bound(0.001, 1_000, "a weight on churners", whole=False),
    "negatives_per_positive": Bound(0.1, 1_000, "non-churners sampled per churner", whole=False),
    "min_negatives": Bound(0, 100_000_000, "the fewest non-churners kept"),
    "max_training_rows": Bound(1_000, 100_000_000, "the most rows a fit samples"),
}
XGBOOST_FLAGS = ("refit_on_all_months",)
XGBOOST_CHOICES = {"grow_policy": ("depthwise", "lossguide")}
MAX_FEATURE_LIST = 500
# `as_of` may lie this far after the data's newest date (a stale load, a holiday), no more:
# beyond it every customer looks inactive and the snapshot grid grows without data.
AS_OF_MARGIN_DAYS = 92
# One feature row per customer and snapshot month: 1M customers x 24 months (24M rows) build
# in about 13 minutes and 10 GiB on 2 cores (docs/speed.md).
DEFAULT_MAX_SNAPSHOT_ROWS = 50_000_000


def max_snapshot_rows() -> int:
    """BATON_MAX_SNAPSHOT_ROWS, else the default."""
    try:
        value = int(os.environ.get("BATON_MAX_SNAPSHOT_ROWS", DEFAULT_MAX_SNAPSHOT_ROWS))
    except ValueError:
        return DEFAULT_MAX_SNAPSHOT_ROWS
    return value if value > 0 else DEFAULT_MAX_SNAPSHOT_ROWS


def xgboost_problem(params: Any) -> str | None:
    """A sentence naming what is wrong with `xgboost_params`, or None."""
    if not isinstance(params, dict):
        return "xgboost_params is a mapping of parameter: value."
    allowed = sorted([*XGBOOST_BOUNDS, *XGBOOST_FLAGS, *XGBOOST_CHOICES])
    for key, value in params.items():
        if key in XGBOOST_BOUNDS:
            sentence = XGBOOST_BOUNDS[key].problem(value)
            if sentence:
                return f"{key}: {sentence}"
        elif key in XGBOOST_FLAGS:
            if not isinstance(value, bool):
                return f"{key}: true or false."
        elif key in XGBOOST_CHOICES:
            if value not in XGBOOST_CHOICES[key]:
                return f"{key}: one of {', '.join(XGBOOST_CHOICES[key])}."
        else:
            return f"{key!r} is not a setting a mapping may change; allowed: {', '.join(allowed)}."
    return None


def var_problem(name: str, value: Any) -> str | None:
    """A sentence when a dbt var's value is out of its range (None when fine or unbounded)."""
    if name in VAR_BOUNDS:
        return VAR_BOUNDS[name].problem(value)
    if name == "xgboost_params":
        return xgboost_problem(value)
    if name in ("include_features", "exclude_features") and (
        not isinstance(value, list) or len(value) > MAX_FEATURE_LIST
    ):
        return f"A list of at most {MAX_FEATURE_LIST} feature names."
    if name == "as_of" and value:
        try:
            date.fromisoformat(str(value))
        except ValueError:
            return "A real date as YYYY-MM-DD."
    return None


def vars_problems(dbt_vars: dict[str, Any]) -> list[tuple[str, str]]:
    """(var, sentence) for every var out of its range."""
    problems = []
    for name, value in dbt_vars.items():
        sentence = var_problem(str(name), value)
        if sentence:
            problems.append((str(name), sentence))
    return problems


@dataclass(frozen=True)
class DataFacts:
    """What the range checks need to know about the data: its dates and customers."""

    first: date | None
    newest: date | None
    customers: int


EVENT_DATES = (
    ("usage_daily", "usage_date"),
    ("payments", "attempted_at"),
    ("tickets", "created_at"),
    ("subscriptions", "started_at"),
)


def data_facts(
    connection: duckdb.DuckDBPyConnection, kind: str = "events", schema: str = ""
) -> DataFacts:
    """First and newest dates and the customer count of contract tables on `connection`
    (`schema` prefixes the table names, e.g. "raw."), by the rules of int_data_as_of."""
    prefix = f"{schema}." if schema else ""

    def one(sql: str) -> Any:
        row = connection.execute(sql).fetchone()
        return row[0] if row else None

    if kind == "flat":
        table = f"{prefix}customer_exports"
        first = one(f"select min(cast(exported_on as date)) from {table}")
        newest = one(f"select max(cast(exported_on as date)) from {table}")
        customers = one(f"select count(distinct account_id) from {table}")
        return DataFacts(first, newest, int(customers or 0))
    first = one(f"select min(cast(usage_date as date)) from {prefix}usage_daily")
    newest = one(
        "select greatest("
        + ", ".join(
            f"(select max(cast({column} as date)) from {prefix}{table})"
            for table, column in EVENT_DATES
        )
        + ")"
    )
    customers = one(f"select count(*) from {prefix}accounts")
    return DataFacts(first, newest, int(customers or 0))


def _months(first: date, last: date) -> int:
    """Snapshot months from the month after `first` to the month of `last` (int_snapshot_dates)."""
    return max((last.year - first.year) * 12 + last.month - first.month, 0)


def data_problems(dbt_vars: dict[str, Any], facts: DataFacts) -> list[tuple[str, str]]:
    """(var, sentence) for settings the data rules out: `as_of` outside the data's dates, a
    snapshot grid (months x customers) too large to build."""
    if facts.first is None or facts.newest is None:
        return []
    problems = []
    as_of = facts.newest + timedelta(days=1)
    text = str(dbt_vars.get("as_of") or "")
    if text:
        try:
            chosen = date.fromisoformat(text)
        except ValueError:
            return [("as_of", "A real date as YYYY-MM-DD.")]
        latest = facts.newest + timedelta(days=AS_OF_MARGIN_DAYS)
        if not facts.first < chosen <= latest:
            problems.append(
                (
                    "as_of",
                    f"{chosen} is outside the data: as_of must be after its first date "
                    f"({facts.first}) and at most {AS_OF_MARGIN_DAYS} days after its newest "
                    f"({facts.newest}), so by {latest}. Later, every customer would look "
                    "inactive and the snapshot grid would grow without data; leave it empty "
                    "for the day after the newest event.",
                )
            )
            return problems
        as_of = chosen
    months = max(_months(facts.first, as_of), 1) if dbt_vars.get("dataset_kind") != "flat" else 1
    rows = months * facts.customers
    limit = max_snapshot_rows()
    if rows > limit:
        problems.append(
            (
                "as_of" if text else "data",
                f"The snapshot grid would hold {rows:,} feature rows ({months:,} months x "
                f"{facts.customers:,} customers); a build allows at most {limit:,} "
                "(BATON_MAX_SNAPSHOT_ROWS), because each row is computed, trained on and "
                "explained on one machine: 1M customers x 24 months (24M rows) take about "
                "13 minutes and 10 GiB. Import fewer months or customers, or raise the limit "
                "on a larger machine.",
            )
        )
    return problems
