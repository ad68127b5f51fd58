"""At-risk customers: who is most likely to churn within the horizon, and why."""

import streamlit as st

from pipeline.read import export, queries, work_queue
from ui import data

VIEW_ORDER = [
    "customer_name",
    "risk_pct",
    "movement",
    "risk_change_pts",
    "reason_1",
    "reason_2",
    "reason_3",
    "mrr_usd",
    "expected_mrr_loss_usd",
    "segment",
    "plan",
    "customer_id",
]

st.title("At-risk customers")
pointer = data.require_build()
if pointer is not None:
    summary = data.model_summary(pointer["build_id"], pointer["path"])
    customers = data.work_queue(pointer["build_id"], pointer["path"])
    st.caption(
        f"Customers active on {summary['snapshot_date']}, ranked by the probability that they "
        f"churn within {summary['horizon_days']} days. Reasons are the three factors that raise "
        "each customer's risk most (SHAP)."
    )
    with st.expander("Filter and sort", expanded=False):
        left, middle, right = st.columns(3)
        segments = left.multiselect("Segment", sorted(customers["segment"].dropna().unique()))
        plans = middle.multiselect("Plan", sorted(customers["plan"].dropna().unique()))
        regions = right.multiselect("Region", sorted(customers["region"].dropna().unique()))
        low, high = float(customers["mrr"].min()), float(customers["mrr"].max())
        mrr_range = left.slider("MRR (USD)", low, max(high, low + 1), (low, max(high, low + 1)))
        order = middle.radio(
            "Order by",
            ["risk", "expected_loss"],
            format_func={"risk": "Risk", "expected_loss": "Expected MRR loss"}.get,
            horizontal=True,
        )
    queue = work_queue.QueueFilter(
        segments=tuple(segments),
        plans=tuple(plans),
        regions=tuple(regions),
        min_mrr=mrr_range[0] if mrr_range[0] > low else None,
        max_mrr=mrr_range[1] if mrr_range[1] < high else None,
        order=order or "risk",
    )
    matching = work_queue.select(customers, queue)
    top = st.number_input(
        "How many customers can your team contact?",
        min_value=1,
        max_value=max(len(customers), 1),
        value=min(int(summary["capacity_k"]), max(len(customers), 1)),
        step=10,
        help="Your outreach capacity k; the list and the CSV show the k riskiest customers.",
    )
    shown = export.export_frame(matching, top=int(top))
    if shown.empty:
        st.info("No customer matches these filters. Widen the MRR range or clear a filter.")
        st.stop()
    left, middle, right = st.columns(3)
    left.metric("Customers shown, of those matching", f"{len(shown):,} of {len(matching):,}")
    middle.metric("MRR at risk (expected)", f"${shown['expected_mrr_loss_usd'].sum():,.0f}")
    right.metric("Average risk shown", f"{shown['risk_pct'].mean():.0f}%")
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        # A customer new to the list has no risk change; fewer than three reasons leave blanks.
        placeholder="",
        # Who, how risky, what changed and why first; the CSV keeps its documented order.
        column_order=VIEW_ORDER,
        column_config={
            "customer_id": st.column_config.TextColumn("Customer", width="small"),
            "customer_name": "Name",
            "segment": st.column_config.TextColumn("Segment", width="small"),
            "plan": st.column_config.TextColumn("Plan", width="small"),
            "mrr_usd": st.column_config.NumberColumn("MRR", format="dollar", width="small"),
            "risk_pct": st.column_config.ProgressColumn(
                "Risk", format="%.0f%%", min_value=0, max_value=100
            ),
            "movement": st.column_config.TextColumn(
                "Since last build",
                help=(
                    f"new: entered the top {int(summary['capacity_k'])} or was not scored in "
                    f"the previous build; rising or falling: risk moved by "
                    f"{queries.MOVE_POINTS:.0f} points or more; steady: less."
                ),
            ),
            "risk_change_pts": st.column_config.NumberColumn(
                "Risk change (points)",
                format="%+.1f",
                help="Risk now minus risk in the previous build, in percentage points.",
            ),
            "expected_mrr_loss_usd": st.column_config.NumberColumn(
                "Expected loss", format="dollar", help="Risk x MRR"
            ),
            "reason_1": st.column_config.TextColumn("Top reason", width="medium"),
            "reason_2": st.column_config.TextColumn("Second reason", width="medium"),
            "reason_3": st.column_config.TextColumn("Third reason", width="medium"),
            "snapshot_date": None,
            "model_version": None,
        },
    )
    st.download_button(
        "Download these customers as CSV",
        data=export.to_csv_bytes(shown),
        file_name=export.file_name(summary["snapshot_date"]),
        mime="text/csv",
        icon=":material/download:",
    )
