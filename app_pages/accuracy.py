"""Accuracy over time: how well the model ranked churners month by month, vs baselines."""

import streamlit as st

from pipeline import dataset
from ui import charts, data

st.title("Accuracy over time")
pointer = data.require_build()
if pointer is not None:
    metrics = data.backtest(pointer["build_id"], pointer["path"])
    summary = data.model_summary(pointer["build_id"], pointer["path"])
    flat = dataset.kind(data.settings()) == "flat"
    if metrics.empty and flat:
        st.info(
            "Your data is one export of a customer file, so there is no earlier export to test "
            "the model on yet; it was checked on customers held out of training. History "
            "accumulates as new exports arrive: import each new export of the file (dbt "
            "snapshots keep every one), and month-by-month accuracy appears here once there "
            "are two or more."
        )
    elif metrics.empty:
        st.info(
            "No month has matured labels yet: accuracy appears once the churn horizon has "
            "passed for enough snapshots. Add history and rebuild."
        )
    else:
        k = int(metrics["capacity_k"].iloc[0])
        model = metrics[metrics["method"] == "xgboost"]
        recency = metrics[metrics["method"] == "recency"]
        st.caption(
            f"Walk-forward backtest: for each month the model was trained only on what was "
            f"known before it, then scored that month; churn within {summary['horizon_days']} "
            "days is the outcome. Baselines rank the same customers without gradient boosting."
        )
        if flat:
            st.caption(
                "Each month is one export of your customer file: the model trained on the "
                "exports before it predicted that export's churn flags."
            )
        left, middle, right = st.columns(3)
        left.metric("Model ROC AUC (mean)", f"{model['roc_auc'].mean():.2f}")
        middle.metric(
            "vs days since last activity",
            f"{recency['roc_auc'].mean():.2f}",
            delta=f"{model['roc_auc'].mean() - recency['roc_auc'].mean():+.2f} for the model",
            delta_color="off",
        )
        right.metric(f"Precision in the top {k} (mean)", f"{model['precision_at_k'].mean():.0%}")
        st.subheader("Ranking quality (ROC AUC)")
        st.altair_chart(charts.metric_over_time(metrics, "roc_auc"), width="stretch")
        st.caption(
            "0.5 is a coin flip, 1.0 a perfect ranking. The higher line separates leavers "
            "from stayers better."
        )
        st.subheader(f"Precision and recall in the top {k}")
        provisional = data.provisional_accuracy(pointer["build_id"], pointer["path"])
        col_p, col_r = st.columns(2)
        col_p.altair_chart(
            charts.metric_over_time(metrics, "precision_at_k", provisional), width="stretch"
        )
        col_p.caption(
            f"Of the {k} customers flagged each month, the share who really left. Higher is "
            "fewer wasted calls."
        )
        col_r.altair_chart(
            charts.metric_over_time(metrics, "recall_at_k", provisional), width="stretch"
        )
        col_r.caption(
            f"Of all customers who left that month, the share found in the top {k}. Higher "
            "is fewer churners missed."
        )
        if provisional.empty:
            st.caption("Every scored month has matured labels: nothing here is provisional.")
        else:
            track = data.estimate_track_record(pointer["build_id"], pointer["path"])
            gap = (track["expected_precision_at_k"] - track["precision_at_k"]).abs().mean()
            months = ", ".join(f"{month:%b %Y}" for month in provisional["scoring_month"])
            st.markdown(
                f"**Provisional ({months}):** the hollow points on dashed lines are estimates "
                f"for customers whose {summary['horizon_days']}-day outcome is not known yet. "
                "They assume the risk percentages are honest: the expected share of leavers "
                f"in the top {k} is their average risk. In the {len(track)} backtest months "
                f"this estimate was on average {gap * 100:.0f} points from what really happened."
            )

        st.subheader("Are the risk percentages honest?")
        bands = data.reliability(pointer["build_id"], pointer["path"])
        bands = bands[bands["customers"] >= 20]
        if bands.empty:
            st.caption("Not enough backtest customers per risk band yet.")
        for band in bands.itertuples():
            st.markdown(
                f"- Of **{band.customers:,}** customers rated **{band.risk_from_pct}-"
                f"{band.risk_to_pct}%** (about {band.mean_predicted:.0%} on average), "
                f"**{band.share_churned:.0%}** left."
            )
        st.caption(
            "Backtest months only. When the two numbers on a line are close, a risk of 30% "
            "really means about 3 in 10 such customers leave."
        )
