"""Accuracy over time: of the customers the model flagged each month, how many really left,
against ranking them with no model. Before there is a month to walk forward to, the check on
customers held out of training (ml/backtest.py held_out_scores)."""

from typing import Any

import pandas as pd
import streamlit as st

from pipeline import dataset
from pipeline.read import queries, sentences
from ui import charts, data


def headline_metrics(metrics: pd.DataFrame, k: int, per_month: bool) -> None:
    """Precision and recall at k and ROC AUC of the model, against no model when there is one."""
    model = metrics[metrics["method"] == sentences.MODEL]
    recency = metrics[metrics["method"] == sentences.NO_MODEL]
    left, middle, right = st.columns(3)
    lift = model["precision_at_k"].mean() - recency["precision_at_k"].mean()
    left.metric(
        f"Of the {k} flagged, left{' (average month)' if per_month else ''}",
        f"{model['precision_at_k'].mean():.0%}",
        delta=None if recency.empty else f"{lift:+.0%} vs no model",
    )
    middle.metric(f"Of all leavers, found in the top {k}", f"{model['recall_at_k'].mean():.0%}")
    right.metric("Ranking quality (model)", f"{model['roc_auc'].mean():.2f}")
    right.caption(sentences.ranking_quality(float(model["roc_auc"].mean())))


def held_out_check(metrics: pd.DataFrame, k: int, horizon: int, flat: bool) -> None:
    """No later month or export to test on yet: the check on customers held out of training."""
    model = metrics[metrics["method"] == sentences.MODEL]
    later = (
        "Month-by-month accuracy replaces this check from the second export of the file on."
        if flat
        else "Month-by-month accuracy replaces this check once a month can be scored by a "
        f"model trained on months whose {horizon} days had passed."
    )
    st.caption(
        f"There is no later {'export' if flat else 'month'} to test the model on yet, so it was "
        f"checked on customers it never saw: the {int(model['n_customers'].max()):,} customers "
        f"of {model['scoring_month'].max():%d %b %Y} in five groups, each ranked by a model "
        f"trained without that group; of the {k} rated riskiest, we counted who had left "
        f"within {horizon} days. {later}"
    )
    headline_metrics(metrics, k, per_month=False)
    ranked = metrics.sort_values("roc_auc", ascending=False)
    table = pd.DataFrame(
        {
            "Method": ranked["method"].map(sentences.METHOD_NAMES),
            f"Of the {k} flagged, left": ranked["precision_at_k"].map("{:.0%}".format),
            f"Of all leavers, found in the top {k}": ranked["recall_at_k"].map("{:.0%}".format),
            "Ranking quality": ranked["roc_auc"].map("{:.2f}".format),
        }
    )
    st.dataframe(table, hide_index=True)
    st.caption(
        "The same held-out customers ranked by each method: the logistic regression learns "
        "from the same features as the model."
    )


def walk_forward(pointer: Any, metrics: pd.DataFrame, k: int, horizon: int, flat: bool) -> None:
    """Month by month: each month scored by a model trained only on what was known before."""
    st.caption(
        f"Each month the model was trained only on what was known before it, then flagged the "
        f"{k} customers most likely to leave within {horizon} days; we then counted who really "
        "left. The other lines rank the same customers without the model."
    )
    if flat:
        st.caption(
            "Each month is one export of your customer file: the model trained on the exports "
            "before it predicted that export's churn flags."
        )
    headline_metrics(metrics, k, per_month=True)
    provisional = data.read(queries.provisional_accuracy, pointer)
    st.subheader(f"Of the {k} flagged each month, the share who left")
    st.altair_chart(
        charts.metric_over_time(metrics, "precision_at_k", provisional), width="stretch"
    )
    st.caption("Higher is fewer wasted calls.")
    st.subheader(f"Of everyone who left, the share the top {k} found")
    st.altair_chart(charts.metric_over_time(metrics, "recall_at_k", provisional), width="stretch")
    st.caption("Higher is fewer leavers missed.")
    if not provisional.empty:
        track = data.read(queries.estimate_track_record, pointer)
        gap = (track["expected_precision_at_k"] - track["precision_at_k"]).abs().mean()
        months = ", ".join(f"{month:%b %Y}" for month in provisional["scoring_month"])
        st.markdown(
            f"**Not known yet ({months}):** the hollow points on dashed lines are estimates for "
            f"customers whose {horizon}-day outcome is still open: the expected share of leavers "
            f"in the top {k} is their average risk. In the {len(track)} months we could check, "
            f"this estimate was on average {gap * 100:.0f} points from what really happened."
        )
    with st.expander("Ranking quality over time (for analysts)"):
        st.altair_chart(charts.metric_over_time(metrics, "roc_auc"), width="stretch")
        st.caption(
            "The chance that a customer who left was rated riskier than one who stayed "
            "(ROC AUC): 0.5 is a coin flip, 1.0 a perfect ranking."
        )


def calibration(pointer: Any, held_out: bool) -> None:
    """Of the customers rated about x%, the share who left, band by band."""
    st.subheader("Are the risk percentages honest?")
    bands = data.read(queries.reliability, pointer)
    bands = bands[bands["customers"] >= 20]
    if bands.empty:
        st.caption("Not enough past customers per risk band yet.")
    for band in bands.itertuples():
        st.markdown(
            f"- Of **{band.customers:,}** customers rated **{band.risk_from_pct}-"
            f"{band.risk_to_pct}%** (about {band.mean_predicted:.0%} on average), "
            f"**{band.share_churned:.0%}** left."
        )
    st.caption(
        f"{'Held-out customers' if held_out else 'Past months'} only. When the two numbers on "
        "a line are close, a risk of 30% really means about 3 in 10 such customers leave."
    )


st.title("Accuracy over time")
pointer = data.require_build()
if pointer is not None:
    metrics = data.read(queries.backtest_metrics, pointer)
    summary = data.read(queries.model_summary, pointer)
    flat = dataset.kind(data.settings()) == "flat"
    if metrics.empty and flat:
        st.info(
            "Your data is one export of a customer file, and its customers could not be split "
            "into held-out groups that each have leavers and stayers, so there is no accuracy "
            "to show yet. History accumulates as new exports arrive: import each new export of "
            "the file (dbt snapshots keep every one), and month-by-month accuracy appears here "
            "once there are two or more."
        )
    elif metrics.empty:
        st.info(
            "No month has known outcomes yet: accuracy appears once the churn horizon has "
            "passed for enough months. Add history and rebuild."
        )
    else:
        k, horizon = int(metrics["capacity_k"].iloc[0]), int(summary["horizon_days"])
        headline = sentences.flagged_and_left(metrics, k)
        if headline:
            st.markdown(f"#### {headline}")
        held_out = sentences.held_out(metrics)
        if held_out:
            held_out_check(metrics, k, horizon, flat)
        else:
            walk_forward(pointer, metrics, k, horizon, flat)
        calibration(pointer, held_out)
