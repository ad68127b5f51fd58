"""Why: which factors drive churn risk overall, across the at-risk list, and for one customer."""

import streamlit as st

from pipeline.read import queries, sentences
from ui import charts, data
from ui.text import md

st.title("Why customers are at risk")
pointer = data.require_build()
if pointer is not None:
    importance = data.read(queries.feature_importance, pointer)
    customers = data.read(queries.at_risk, pointer)
    summary = data.read(queries.model_summary, pointer)
    k = min(int(summary["capacity_k"]), len(customers))

    st.subheader("What drives risk overall")
    st.altair_chart(charts.importance_bars(importance), width="stretch")
    st.caption(
        "How many points of risk each factor adds to or takes from a customer's risk, on "
        "average over every scored customer (a random sample of them on a large book). Longer "
        "bars matter more, in either direction."
    )

    st.subheader(f"Top reasons across the {k} customers your team can contact")
    common = data.read(queries.common_reasons, pointer)
    if not common.empty:
        st.info(sentences.shared_reasons(common, k, escape=md), icon=":material/groups:")
    counts = data.read(queries.top_reason_counts, pointer, k)
    if counts.empty:
        st.caption("No reasons are stored for the at-risk customers of this build.")
    else:
        st.altair_chart(charts.reason_counts(counts), width="stretch")
        st.caption(
            f"For each factor, how many of the {k} riskiest customers have it among their "
            "three reasons on the At-risk list. A factor that dominates calls for one "
            "playbook (for example, a payment reminder) rather than one call per customer."
        )

    st.subheader("One customer")
    labels = {
        row.customer_id: f"#{row.risk_rank} · {row.customer_name} ({row.churn_probability:.0%})"
        for row in customers.head(500).itertuples()
    }
    chosen = st.selectbox(
        f"Customer (the {len(labels)} riskiest)", options=list(labels), format_func=labels.get
    )
    if chosen is not None:
        risk = float(customers.loc[customers["customer_id"] == chosen, "churn_probability"].iloc[0])
        steps, in_points = data.read(queries.customer_waterfall, pointer, chosen, risk)
        if steps.empty:
            st.info(
                "No explanation is stored for this customer in this build. Pick a customer "
                "higher on the list, or rebuild."
            )
        else:
            st.altair_chart(charts.waterfall(steps, in_points=in_points), width="stretch")
            if in_points:
                st.caption(
                    f"Starting from a typical customer's risk, red bars raise this customer's "
                    f"risk and green bars lower it, ending at the {risk:.0%} shown on the "
                    "At-risk list; the largest red bars are the list's reasons (but for any "
                    "the list's customers nearly all share, named above). Points are "
                    "approximate: taken in another order, a factor would count for a little "
                    "more or less."
                )
            else:
                st.caption(
                    "Starting from a typical customer's score, red bars raise this customer's "
                    "risk and green bars lower it. The bars show the order and direction of "
                    "each effect only: for this build they could not be turned into points "
                    f"that add up to the {risk:.0%} on the At-risk list."
                )
