"""Altair charts with one colour per method and plain labels, shared by the pages."""

from __future__ import annotations

import altair as alt
import pandas as pd

METHOD_NAMES = {
    "xgboost": "Baton model",
    "logistic": "Logistic regression",
    "recency": "Days since last activity",
}
METHOD_COLORS = alt.Scale(
    domain=list(METHOD_NAMES.values()), range=["#2563eb", "#9ca3af", "#f59e0b"]
)
METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "precision_at_k": "Precision at k",
    "recall_at_k": "Recall at k",
}


def metric_over_time(metrics: pd.DataFrame, metric: str) -> alt.Chart:
    """One line per method of a metric by scoring month."""
    frame = metrics.assign(Method=metrics["method"].map(METHOD_NAMES))
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("yearmonth(scoring_month):T", title="Scoring month"),
            y=alt.Y(f"{metric}:Q", title=METRIC_NAMES[metric], scale=alt.Scale(zero=False)),
            color=alt.Color("Method:N", scale=METHOD_COLORS),
            tooltip=[
                alt.Tooltip("yearmonth(scoring_month):T", title="Month"),
                "Method:N",
                alt.Tooltip(f"{metric}:Q", title=METRIC_NAMES[metric], format=".2f"),
            ],
        )
        .properties(height=260)
    )


def importance_bars(importance: pd.DataFrame, top: int = 15) -> alt.Chart:
    """Horizontal bars of mean |SHAP| by plain feature name."""
    return (
        alt.Chart(importance.head(top))
        .mark_bar(color="#2563eb")
        .encode(
            x=alt.X("mean_abs_shap:Q", title="Average impact on risk (mean |SHAP|, log-odds)"),
            y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
            tooltip=[
                alt.Tooltip("label:N", title="Feature"),
                alt.Tooltip("mean_abs_shap:Q", title="Mean |SHAP|", format=".3f"),
            ],
        )
        .properties(height=alt.Step(22))
    )


def waterfall(contributions: pd.DataFrame, top: int = 10) -> alt.Chart:
    """Waterfall from the average customer's score to this customer's, largest effects first."""
    shown = contributions.head(top)
    rest = contributions.iloc[top:]["contribution"].sum()
    steps = [("Average customer", float(contributions["base_value"].iloc[0]), "base")]
    steps += [
        (f"{row.label} = {row.display_value}", float(row.contribution), "step")
        for row in shown.itertuples()
    ]
    if len(contributions) > top:
        steps.append((f"{len(contributions) - top} other features", float(rest), "step"))
    rows, running = [], 0.0
    for order, (name, value, kind) in enumerate(steps):
        start = 0.0 if kind == "base" else running
        running = value if kind == "base" else running + value
        rows.append(
            {
                "order": order,
                "step": name,
                "start": start,
                "end": running,
                "value": value,
                "effect": "Average"
                if kind == "base"
                else ("Raises risk" if value > 0 else "Lowers risk"),
            }
        )
    rows.append(
        {
            "order": len(rows),
            "step": "This customer",
            "start": 0.0,
            "end": running,
            "value": running,
            "effect": "Average",
        }
    )
    frame = pd.DataFrame(rows)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(
                "step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelLimit=360)
            ),
            x=alt.X("start:Q", title="Risk score (log-odds)"),
            x2="end:Q",
            color=alt.Color(
                "effect:N",
                scale=alt.Scale(
                    domain=["Raises risk", "Lowers risk", "Average"],
                    range=["#dc2626", "#16a34a", "#9ca3af"],
                ),
                title=None,
            ),
            tooltip=["step:N", alt.Tooltip("value:Q", format="+.3f", title="Contribution")],
        )
        .properties(height=alt.Step(24))
    )


def build_durations(runs: pd.DataFrame) -> alt.Chart:
    """Seconds per build over time, coloured by outcome."""
    return (
        alt.Chart(runs)
        .mark_circle(size=70)
        .encode(
            x=alt.X("Started:T", title="Build started (UTC)"),
            y=alt.Y("Seconds:Q", title="Duration (s)"),
            color=alt.Color(
                "Status:N",
                scale=alt.Scale(
                    domain=["success", "failed", "interrupted", "running"],
                    range=["#16a34a", "#dc2626", "#f59e0b", "#9ca3af"],
                ),
            ),
            tooltip=["Build:N", "Trigger:N", "Status:N", alt.Tooltip("Seconds:Q", format=".1f")],
        )
        .properties(height=200)
    )
