"""Sentences owners read on the pages and in the CLI, from plain data: the way an owner
counts, without ROC AUC, SHAP or PSI. Pure functions (no Streamlit), so each is unit-tested."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd

MODEL, NO_MODEL = "xgboost", "recency"
METHOD_NAMES = {
    "xgboost": "Baton model",
    "logistic": "Logistic regression",
    "recency": "Days since last activity",
    "bg_nbd": "Rhythm of past activity (BG/NBD)",
}


def data_age(newest: Any, today: date, expected_every_days: int) -> tuple[str, bool]:
    """("Newest data: 30 Sep 2026, 67 days ago", stale?) against the team's expected cadence."""
    if newest is None or pd.isna(newest):
        return "No data yet.", False
    day = pd.Timestamp(newest).date()
    age = (today - day).days
    when = "today" if age <= 0 else "yesterday" if age == 1 else f"{age:,} days ago"
    if age >= 2 * 365:  # a historical export: years read at a glance, days do not
        when += f" (about {round(age / 365.25)} years)"
    return f"Newest data: {day:%d %b %Y}, {when}", age > expected_every_days


def stale_warning(age_text: str, expected_every_days: int) -> str:
    """What to do when the data is older than the team's cadence."""
    return (
        f"{age_text}: older than the {expected_every_days} days the team expects between loads "
        "(dbt var data_expected_every_days). The risks describe customers as they were then; "
        "load new data and rebuild."
    )


def held_out(metrics: pd.DataFrame) -> bool:
    """Whether the newest measured month was checked on customers held out of training
    (ml_backtest_metrics.held_out: no month to walk forward to yet), not on a later month."""
    if metrics.empty or "held_out" not in metrics:
        return False
    newest = (
        pd.to_datetime(metrics["scoring_month"]) == pd.to_datetime(metrics["scoring_month"]).max()
    )
    return bool(metrics.loc[newest, "held_out"].fillna(False).astype(bool).any())


def flagged_and_left(metrics: pd.DataFrame, k: int) -> str | None:
    """ "In September 2026, 23 of the 100 customers the model flagged left; 16 would have with
    no model": the newest measured month, counted the way an owner counts (for a check on
    held-out customers, says so: they are not a later month)."""
    if metrics.empty:
        return None
    month = pd.Timestamp(metrics["scoring_month"].max())
    rows = metrics[pd.to_datetime(metrics["scoring_month"]) == month].set_index("method")
    if MODEL not in rows.index:
        return None
    model = rows.loc[MODEL].to_dict()
    flagged = min(k, int(model["n_customers"]))
    left = round(float(model["precision_at_k"]) * flagged)
    if held_out(metrics):
        sentence = (
            f"On customers held out of training ({month:%d %b %Y}), {left} of the {flagged} the "
            "model rated riskiest had left"
        )
    else:
        sentence = f"In {month:%B %Y}, {left} of the {flagged} customers the model flagged left"
    if NO_MODEL in rows.index:
        no_model = rows.loc[NO_MODEL].to_dict()
        baseline = round(float(no_model["precision_at_k"]) * flagged)
        sentence += f"; {baseline} would have among the {flagged} quiet the longest (no model)"
    return sentence + "."


def ranking_quality(value: float) -> str:
    """A ROC AUC in words an owner can weigh."""
    if value != value:  # NaN
        return "not measured"
    words = (
        "excellent" if value >= 0.9 else "good" if value >= 0.8 else "fair" if value >= 0.7
        else "weak" if value >= 0.6 else "close to chance"
    )  # fmt: skip
    return f"{value:.2f} ({words}; 0.5 is chance, 1 is perfect)"


def count_of(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 change", "3 changes": a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


# Shared reasons named in full on the Why page; the rest are counted ("and 6 more").
SHARED_REASONS_NAMED = 4


def shared_reasons(common: pd.DataFrame, k: int, escape: Callable[[str], str] = str) -> str:
    """Why the at-risk list leaves some factors out of the rows of the `k` customers the team
    can contact (queries.common_reasons, weightiest first); `escape` makes a label safe for
    the page (ui.text.md)."""
    named = [
        f"{escape(str(row.label))} ({row.share_of_list:.0%} of them)"
        for row in common.head(SHARED_REASONS_NAMED).itertuples()
    ]
    more = len(common) - len(named)
    listed = "; ".join(named) + (f"; and {count_of(more, 'more factor')}" if more > 0 else "")
    return (
        f"Nearly every one of the {k:,} customers your team can contact has these among their "
        f"top reasons, so the list leaves them out of each row: {listed}. "
        "A reason everyone has does not tell one customer from another; each customer's "
        "waterfall on the Why page still shows them."
    )


def tied_risks(tied: int, shown: int, risk: float) -> str:
    """That most of a list shares one risk (work_queue.largest_tie)."""
    return (
        f"{tied:,} of the {shown:,} customers shown have the same risk, {risk:.0f}%: the model "
        "finds them about equally likely to leave."
    )
