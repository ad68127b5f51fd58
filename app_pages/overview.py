"""Overview: who to call first, what churn could cost, how right the model has been, and
whether the pipeline is healthy, at a glance."""

from datetime import date

import pandas as pd
import streamlit as st

from monitoring.words import verdict_name
from pipeline.read import queries, sentences
from ui import data
from ui.text import md

FIRST_CALLS = 5

st.title("Overview")
pointer = data.require_build()
if pointer is not None:
    summary = data.read(queries.model_summary, pointer)
    terms = data.read(queries.dataset_words, pointer)
    customers = data.work_queue(pointer)
    metrics = data.read(queries.backtest_metrics, pointer)
    k = min(int(summary["capacity_k"]), len(customers))
    top = customers.head(k)
    age, stale = sentences.data_age(summary["newest_data"], date.today(), terms.expected_every_days)
    scored = (
        f"{len(customers):,} customers scored for churn within {summary['horizon_days']} "
        f"days; your team can contact {k:,}."
    )
    if stale:  # the age once, in the warning that says what to do about it
        st.caption(scored)
        st.warning(sentences.stale_warning(age, terms.expected_every_days))
    else:
        st.caption(f"{age}. {scored}")

    risk, money, accuracy, health = st.columns(4)
    risk.metric(
        f"Expected to leave, of the top {k}",
        f"{top['churn_probability'].sum():.0f}",
        help="The sum of their risks: the number of them who will leave if nothing is done.",
    )
    if terms.has_value:
        money.metric(f"{terms.loss_label}, those {k}", terms.money(top["expected_loss"].sum()))
    else:  # data without amounts: nothing to count in money; how many usually leave instead
        measured = metrics[metrics["method"] == sentences.MODEL]
        if measured.empty:
            average = 100 * top["churn_probability"].mean()
            money.metric(f"Average risk, those {k}", f"{average:.0f}%")
        else:
            newest = measured.loc[pd.to_datetime(measured["scoring_month"]).idxmax()]
            money.metric(
                f"Left within {summary['horizon_days']} days, "
                f"{pd.Timestamp(newest['scoring_month']):%b %Y}",
                f"{newest['churn_rate']:.0%}",
                help="Of every customer scored in the newest measured month.",
            )
    headline = sentences.flagged_and_left(metrics, k)
    if headline is None:
        accuracy.metric(
            "Last measured month",
            "not yet",
            help="Accuracy appears once the churn horizon has passed for a scored month.",
        )
    else:
        last = metrics[metrics["scoring_month"] == metrics["scoring_month"].max()]
        by_method = last.set_index("method")["precision_at_k"]
        flagged = int(min(k, last["n_customers"].max()))
        left = round(float(by_method.get("xgboost", 0.0)) * flagged)
        baseline = by_method.get("recency")
        checked = (
            "customers held out"
            if sentences.held_out(metrics)
            else f"{last['scoring_month'].max():%b %Y}"
        )
        accuracy.metric(
            f"Flagged who left, {checked}",
            f"{left} of {flagged}",
            delta=None
            if baseline is None
            else f"{left - round(float(baseline) * flagged):+d} vs no model",
            delta_color="normal",
            help=headline,
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
    if headline is not None:
        st.markdown(headline)

    # The columns both customer tables of this page show, named the dataset's way (no value
    # where the data has no amounts).
    value_column = ["customer_value"] if terms.has_value else []
    customer_columns = {
        "customer_name": "Customer",
        "risk_pct": st.column_config.ProgressColumn(
            "Risk", format="%.0f%%", min_value=0, max_value=100
        ),
        "customer_value": st.column_config.NumberColumn(
            terms.value_label, format=f"{terms.symbol}%,.0f"
        ),
        "reason_1": st.column_config.TextColumn("Top reason", width="large"),
    }
    st.subheader("Who to call first")
    first = top.head(FIRST_CALLS).assign(risk_pct=lambda frame: frame["churn_probability"] * 100)
    st.dataframe(
        first[["customer_name", "risk_pct", *value_column, "reason_1"]],
        hide_index=True,
        width="stretch",
        placeholder="",
        column_config=customer_columns,
    )
    st.page_link(
        "app_pages/at_risk.py",
        label=f"All {k} customers to contact, with every reason and the CSV",
        icon=":material/arrow_forward:",
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
            f"Of the {k} to contact: **{new}** are new to the list, **{rising}** more at risk "
            f"and **{falling}** less, by {queries.MOVE_POINTS:.0f} points of risk or more."
        )
        changed = queries.movers(top)
        if not changed.empty:
            st.dataframe(
                changed[
                    [
                        "customer_name",
                        "risk_pct",
                        "movement",
                        "change",
                        *value_column,
                        "reason_1",
                    ]
                ],
                hide_index=True,
                width="stretch",
                placeholder="",
                column_config={
                    **customer_columns,
                    "movement": "Since last build",
                    "change": "Risk change",
                },
            )
