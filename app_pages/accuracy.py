"""Accuracy over time: how well the model ranked churners month by month, vs baselines."""

import streamlit as st

from ui import charts, data

st.title("Accuracy over time")
pointer = data.require_build()
if pointer is not None:
    metrics = data.backtest(pointer["build_id"], pointer["path"])
    summary = data.model_summary(pointer["build_id"], pointer["path"])
    if metrics.empty:
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
        col_p, col_r = st.columns(2)
        col_p.altair_chart(charts.metric_over_time(metrics, "precision_at_k"), width="stretch")
        col_p.caption(f"Of the {k} customers flagged each month, the share who really left.")
        col_r.altair_chart(charts.metric_over_time(metrics, "recall_at_k"), width="stretch")
        col_r.caption(f"Of all customers who left that month, the share found in the top {k}.")

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
