"""Why: which factors drive churn risk overall, and for one customer."""

import streamlit as st

from ui import charts, data

st.title("Why customers are at risk")
pointer = data.require_build()
if pointer is not None:
    importance = data.importance(pointer["build_id"], pointer["path"])
    customers = data.at_risk(pointer["build_id"], pointer["path"])
    st.subheader("What drives risk overall")
    st.altair_chart(charts.importance_bars(importance), width="stretch")
    st.caption(
        "Average size of each factor's effect on customers' risk scores (SHAP values), "
        "over every scored customer. Longer bars matter more, in either direction."
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
        contributions = data.explanation(pointer["build_id"], pointer["path"], chosen)
        st.altair_chart(charts.waterfall(contributions), width="stretch")
        st.caption(
            "Starting from the average customer's score, red bars raise this customer's risk "
            "and green bars lower it. Scores are the model's log-odds before calibration, so "
            "the last bar ranks customers but is not the risk % shown in the list."
        )
