"""Overview: the state of churn risk, the model's track record and the pipeline, at a glance."""

import streamlit as st

from monitoring.words import verdict_name
from pipeline.read import queries
from ui import data
from ui.text import md

CHANGED_COLUMNS = [
    "customer_id",
    "customer_name",
    "customer_value",
    "risk_pct",
    "movement",
    "change",
    "reason_1",
]

st.title("Overview")
pointer = data.require_build()
if pointer is not None:
    build_id, path = pointer["build_id"], pointer["path"]
    summary = data.model_summary(build_id, path)
    terms = data.dataset_words(build_id, path)
    customers = data.work_queue(build_id, path)
    metrics = data.backtest(build_id, path)
    k = min(int(summary["capacity_k"]), len(customers))
    top = customers.head(k)
    st.caption(
        f"Data as of {summary['data_as_of']}: {len(customers):,} active customers scored for "
        f"churn within {summary['horizon_days']} days; your team can contact {k:,}."
    )

    risk, money, accuracy, health = st.columns(4)
    risk.metric(f"Expected churners in the top {k}", f"{top['churn_probability'].sum():.0f}")
    money.metric(f"{terms.loss_label} in the top {k}", terms.money(top["expected_loss"].sum()))
    if metrics.empty:
        accuracy.metric(
            "Last matured month",
            "not yet",
            help="Accuracy appears once the churn horizon has passed for a scored month.",
        )
    else:
        last = metrics["scoring_month"].max()
        month = metrics[metrics["scoring_month"] == last].set_index("method")["precision_at_k"]
        model, baseline = month.get("xgboost", float("nan")), month.get("recency")
        accuracy.metric(
            f"Precision in top {k}, {last:%b %Y}",
            f"{model:.0%}",
            delta=None
            if baseline is None
            else f"{(model - baseline) * 100:+.0f} pts vs no-ML ranking",
            delta_color="normal",
            help=f"Of the {k} customers the model flagged that month, the share who left; "
            "the no-ML ranking calls the customers inactive the longest.",
        )
    runs = data.runs()
    last_run = runs[0] if runs else None
    verdict = data.verdict_now()
    if last_run is not None and last_run.status == "running":
        health.metric("Pipeline health", "Building")
    elif verdict is not None:
        health.metric("Pipeline health", verdict_name(verdict), help=md(verdict["summary"]))
        if verdict["verdict"] != "healthy":
            health.caption(f"The {verdict['owner']} should act; see **Health**.")
    elif last_run is not None and last_run.status != "success":
        health.metric("Pipeline health", "Last build failed")
    else:
        health.metric(
            "Pipeline health", "Not available", help="Rebuild once to get a verdict (Health)."
        )
    if last_run is not None and last_run.status in ("failed", "interrupted"):
        st.warning(
            f"The last build {last_run.status} at "
            f"{md((last_run.failure or {}).get('node') or 'an unknown step')}; these numbers come "
            "from the last good build. See **Pipeline**."
        )

    st.subheader("What changed since the last build")
    counts = top["movement"].value_counts()
    if queries.NO_PREVIOUS in counts:
        st.caption(
            "There is no earlier build of these customers to compare with: changes appear "
            "after the next build."
        )
    else:
        new, rising, falling = (int(counts.get(name, 0)) for name in ("new", "rising", "falling"))
        st.markdown(
            f"In the top {k}: **{new}** new customers, **{rising}** rising and **{falling}** "
            f"falling by {queries.MOVE_POINTS:.0f} points of risk or more."
        )
        changed = top[top["movement"] != "steady"]
        # New customers by risk, then the biggest rises, then the biggest falls.
        changed = changed.assign(
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
        if not changed.empty:
            st.dataframe(
                changed[CHANGED_COLUMNS],
                hide_index=True,
                width="stretch",
                placeholder="",
                column_config={
                    "customer_id": "Customer",
                    "customer_name": "Name",
                    "customer_value": st.column_config.NumberColumn(
                        terms.value_label,
                        format="dollar" if terms.currency == "USD" else f"{terms.symbol}%,.0f",
                    ),
                    "risk_pct": st.column_config.ProgressColumn(
                        "Risk", format="%.0f%%", min_value=0, max_value=100
                    ),
                    "movement": "Since last build",
                    "change": "Risk change",
                    "reason_1": "Top reason",
                },
            )
            st.caption(
                "New: entered the top list or was not scored in the previous build. Open "
                "**At-risk customers** for the full list with every reason and the CSV."
            )
