"""At-risk customers: who is most likely to churn within the horizon, and why."""

import streamlit as st

from pipeline.read import export, queries, sentences, words, work_queue
from ui import data, state
from ui.text import md

st.title("At-risk customers")
pointer = data.require_build()
if pointer is not None:
    summary = data.read(queries.model_summary, pointer)
    terms = data.read(queries.dataset_words, pointer)
    customers = data.work_queue(pointer)
    attributes = words.present_attributes(customers)
    named = words.present_names(customers)
    k = int(summary["capacity_k"])
    common = data.read(queries.common_reasons, pointer)
    cost = ", what that could cost" if terms.has_value else ""
    shared = ", but for those nearly all of them share" if not common.empty else ""
    st.caption(
        f"Customers active on {summary['snapshot_date']}, riskiest first: the chance each "
        f"leaves within {summary['horizon_days']} days{cost}, and the three "
        f"facts that raise their risk most (the largest bars on the Why page{shared})."
    )
    low = float(customers["customer_value"].fillna(0).min())
    high = max(float(customers["customer_value"].fillna(0).max()), low + 1)
    value_range, order = (low, high), "risk"
    chosen: dict[str, list[str]] = {}
    # Nothing to filter or order by without attributes and amounts: no empty expander then.
    if attributes or terms.has_value:
        with st.expander("Filter and sort" if terms.has_value else "Filter", expanded=False):
            columns = st.columns(3)
            for i, name in enumerate(attributes):
                options = sorted(customers[name].dropna().unique())
                key = state.within(state.remembered(f"at_risk_{name}", []), options)
                chosen[name] = columns[i].multiselect(md(terms.label(name)), options, key=key)
            if terms.has_value:  # data without amounts has no value to filter or order by
                value_range = columns[0].slider(
                    f"{terms.value_label} ({terms.currency})",
                    low,
                    high,
                    key=state.within(state.remembered("at_risk_value", (low, high)), (low, high)),
                    format=f"{terms.symbol}%.0f",
                )
                order = columns[1].radio(
                    "Order by",
                    ["risk", "expected_loss"],
                    format_func={"risk": "Risk", "expected_loss": terms.loss_label}.get,
                    horizontal=True,
                    key=state.remembered("at_risk_order", "risk"),
                )
    queue = work_queue.QueueFilter(
        segments=tuple(chosen.get("segment", ())),
        plans=tuple(chosen.get("plan", ())),
        regions=tuple(chosen.get("region", ())),
        min_value=value_range[0] if value_range[0] > low else None,
        max_value=value_range[1] if value_range[1] < high else None,
        order=order or "risk",
    )
    matching = work_queue.select(customers, queue)
    top = st.number_input(
        "How many customers can your team contact?",
        min_value=1,
        max_value=max(len(customers), 1),
        value=min(k, max(len(customers), 1)),
        step=10,
        help="Your outreach capacity k; the list and the CSV show the k riskiest customers.",
    )
    shown = export.export_frame(matching, terms, attributes, top=int(top), named=named)
    if shown.empty:
        widen = "Clear"
        if terms.has_value:
            widen = f"Widen the {terms.value_label.lower()} range or clear"
        st.info(f"No customer matches these filters. {widen} a filter.")
        st.stop()
    tie = work_queue.largest_tie(shown["risk_pct"])
    if order == "risk" and tie is not None:
        tell_apart = (
            f"Order by {terms.loss_label.lower()} (Filter and sort) to contact those worth "
            "most first."
            if terms.has_value
            else "Their reasons and the Why page tell them apart."
        )
        st.info(f"{sentences.tied_risks(tie[0], len(shown), tie[1])} {tell_apart}")
    left, middle, right = st.columns(3)
    left.metric("Customers shown, of those matching", f"{len(shown):,} of {len(matching):,}")
    if terms.has_value:
        middle.metric(terms.loss_label, terms.money(shown[terms.loss_column].sum()))
    else:
        middle.metric(
            "Expected to leave, of those shown",
            f"{shown['risk_pct'].sum() / 100:.0f}",
            help="The sum of their risks: how many of them will leave if nothing is done.",
        )
    right.metric("Average risk shown", f"{shown['risk_pct'].mean():.0f}%")
    if not common.empty:
        st.caption(sentences.shared_reasons(common, k, escape=md))
    money = f"{terms.symbol}%,.0f"
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        # A customer new to the list has no risk change; fewer than three reasons leave blanks.
        placeholder="",
        # Who, how risky, what it could cost and why first; the CSV keeps its documented order.
        column_order=[
            "customer_name" if named else "customer_id",
            "risk_pct",
            *([terms.value_column, terms.loss_column] if terms.has_value else []),
            "reason_1",
            "reason_2",
            "reason_3",
            "movement",
            "risk_change_pts",
            *(terms.attribute_column(name) for name in attributes),
            *(["customer_id"] if named else []),
        ],
        column_config={
            "customer_id": st.column_config.TextColumn("Customer ID", width="small"),
            "customer_name": st.column_config.TextColumn("Customer", width="medium"),
            **{
                terms.attribute_column(name): st.column_config.TextColumn(
                    terms.label(name), width="small"
                )
                for name in attributes
            },
            terms.value_column: st.column_config.NumberColumn(
                terms.value_label, format=money, width="small"
            ),
            "risk_pct": st.column_config.ProgressColumn(
                "Risk", format="%.0f%%", min_value=0, max_value=100, width="small"
            ),
            "movement": st.column_config.TextColumn(
                "Since last build",
                help=(
                    f"new: entered the top {k} or was not scored in the previous build; "
                    f"rising or falling: risk moved by {queries.MOVE_POINTS:.0f} points or "
                    "more; steady: less."
                ),
            ),
            "risk_change_pts": st.column_config.NumberColumn(
                "Risk change (points)",
                format="%+.1f",
                help="Risk now minus risk in the previous build, in percentage points.",
            ),
            terms.loss_column: st.column_config.NumberColumn(
                terms.loss_label,
                format=money,
                help=f"Risk x {terms.value_label.lower()}",
                width="small",
            ),
            "reason_1": st.column_config.TextColumn("Top reason", width="large"),
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
        help="Opens in Excel with names as they are spelled (UTF-8 with a byte-order mark).",
    )
