"""Overview: the state of churn risk, the model's track record and the pipeline, at a glance."""

import streamlit as st

from pipeline import queries
from ui import data

st.title("Overview")
pointer = data.require_build()
if pointer is not None:
    build_id, path = pointer["build_id"], pointer["path"]
    summary = data.model_summary(build_id, path)
    customers = data.at_risk(build_id, path)
    metrics = data.backtest(build_id, path)
    k = min(int(summary["capacity_k"]), len(customers))
    top = customers.head(k)
    st.caption(
        f"Data as of {summary['data_as_of']}: {len(customers):,} active customers scored for "
        f"churn within {summary['horizon_days']} days; your team can contact {k:,}."
    )

    risk, money, accuracy, health = st.columns(4)
    risk.metric(f"Expected churners in the top {k}", f"{top['churn_probability'].sum():.0f}")
    money.metric("MRR at risk in the top k", f"${top['expected_mrr_loss'].sum():,.0f}")
    if metrics.empty:
        accuracy.metric("Last matured month", "not yet")
    else:
        last = metrics["scoring_month"].max()
        month = metrics[metrics["scoring_month"] == last].set_index("method")
        model, baseline = (month.loc[m, "precision_at_k"] for m in ("xgboost", "recency"))
        accuracy.metric(
            f"Precision in top {k}, {last:%b %Y}",
            f"{model:.0%}",
            delta=f"{model - baseline:+.0%} vs days since last activity",
            delta_color="normal",
        )
    runs = data.runs()
    last_run = runs[0] if runs else None
    if last_run is None or last_run.status == "success":
        health.metric("Pipeline", "Healthy")
    elif last_run.status == "running":
        health.metric("Pipeline", "Building")
    else:
        health.metric("Pipeline", "Last build failed")
        st.warning(
            f"The last build {last_run.status} at "
            f"{(last_run.failure or {}).get('node') or 'an unknown step'}; these numbers come "
            "from the last good build. See **Pipeline**."
        )

    st.subheader("What changed since the last build")
    moved = queries.movement(customers, data.previous_at_risk(build_id), k)
    counts = moved["movement"].value_counts()
    if "first build" in counts:
        st.caption("This is the first published build: changes appear after the next one.")
    else:
        new, rising, falling = (int(counts.get(name, 0)) for name in ("new", "rising", "falling"))
        st.markdown(
            f"In the top {k}: **{new}** new customers, **{rising}** rising and **{falling}** "
            "falling by 5 points of risk or more."
        )
        changed = moved[moved["movement"] != "steady"].sort_values(
            "change_pts", ascending=False, na_position="first"
        )
        st.dataframe(
            changed.head(15),
            hide_index=True,
            width="stretch",
            column_config={
                "customer_id": "Customer",
                "customer_name": "Name",
                "mrr": st.column_config.NumberColumn("MRR", format="dollar"),
                "churn_probability": st.column_config.ProgressColumn(
                    "Risk", format="percent", min_value=0, max_value=1
                ),
                "movement": "Movement",
                "change_pts": st.column_config.NumberColumn("Change (points)", format="%+.0f"),
            },
        )
