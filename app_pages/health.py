"""Health: is it the data, the world or the model? The verdict first, then the evidence."""

import streamlit as st

from monitoring import words
from pipeline import dataset
from pipeline.read import queries
from ui import charts, data, health
from ui.text import md

st.title("Health")
verdict = data.verdict_now()
pointer = data.serving()

if verdict is None and pointer is None:
    st.info(
        "No verdict yet: the pipeline has not completed a build. Open **Pipeline** and press "
        "**Rebuild**, or run `python -m pipeline rebuild`."
    )
elif verdict is None and dataset.kind(data.settings()) == "flat":
    st.info(
        "No verdict for a customer file: one row per customer has no dated events whose "
        "freshness, volume or drift the monitors could follow. The file itself is checked by "
        "the build's data tests (a build in service passed all of them; **Pipeline** lists "
        "them); event data (`kind: events`) gets the full verdict."
    )
elif verdict is None:
    st.info(
        "Verdict not available for the build in service: it was made before the monitors "
        "existed. Rebuild once: **Pipeline** > **Rebuild**."
    )
else:
    show = {"success": st.success, "error": st.error, "warning": st.warning}
    show[health.VERDICT_TONE.get(verdict["verdict"], "warning")](
        f"**{words.verdict_name(verdict)}.** {md(verdict['summary'])}"
    )
    since = f" · **Since** {verdict['changed_at']}" if verdict.get("changed_at") else ""
    st.markdown(f"**Who acts** {words.owner_name(verdict)}{since}")
    as_of = f", data as of {verdict['data_as_of']}" if verdict.get("data_as_of") else ""
    st.caption(md(f"Verdict of build {verdict['build_id']}{as_of}."))
    if verdict.get("build_failed"):
        st.caption(
            f"Build {verdict['build_id']} failed, so nothing it computed is in service; the "
            f"monitors below describe the build in service"
            f"{' (' + pointer['build_id'] + ')' if pointer else ''}."
        )
    evidence = health.evidence_table(verdict)
    st.subheader("Evidence")
    if evidence.empty:
        st.caption("No monitor fired: every check below is within its learned range.")
    else:
        st.dataframe(evidence, hide_index=True, width="stretch")

if pointer is not None:
    checks = data.read(queries.quality_checks, pointer)
    volume = data.read(queries.source_volume, pointer)
    drift = data.read(queries.feature_drift, pointer)
    distribution = data.read(queries.feature_distribution, pointer)
    performance = data.read(queries.performance, pointer)
    shown = data.read(queries.triage, pointer) or {}
    changed_at = shown.get("changed_at")

    if not checks.empty:
        st.subheader("Data quality")
        fired = int(checks["fired"].sum())
        st.caption(
            f"{len(checks)} checks on the raw sources (freshness, rows per day, nulls, new "
            f"values, hard rules, schema vs the previous build): {fired} fired."
        )
        source = health.first_alarmed_source(checks, volume)
        if source is not None:
            sources = sorted(volume["source_table"].unique())
            chosen = st.selectbox("Rows per day of", sources, index=sources.index(source))
            st.altair_chart(
                charts.volume_band(volume[volume["source_table"] == chosen], changed_at),
                width="stretch",
            )
            st.caption(
                "Grey: the range learned from the same weekday of the previous weeks. Red "
                "dots: days below it; hollow dots: days above it (a growing business has "
                "many; reported, never an alarm). The dashed line marks when things changed."
            )
        st.dataframe(
            checks[["check_name", "source_table", "column_name", "fired", "message"]].assign(
                check_name=checks["check_name"].map(
                    lambda name: words.MONITOR_NAMES.get(name, str(name).replace("_", " "))
                )
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "check_name": "Check",
                "source_table": "Source",
                "column_name": "Column",
                "fired": "Fired",
                "message": "Finding",
            },
        )

    if not drift.empty:
        st.subheader("Have customers changed?")
        moved = drift[drift["drifted"].astype(bool)]
        counting = int(health.counted(moved).sum())
        of_them = f" ({counting} counting toward the verdict)" if counting < len(moved) else ""
        st.caption(
            f"The newest month vs the reference months, for every input of the model and the "
            f"risks: {len(moved)} moved more than usual{of_them}; what is usual is learned "
            "from how much the reference months differ from one another."
        )
        skipped = health.not_counted_sentence(drift)
        if skipped:
            st.caption(md(skipped))
        feature = health.first_drifted(drift)
        labels = dict(zip(drift["feature"], drift["label"], strict=True))
        features = drift["feature"].tolist()
        chosen = st.selectbox(
            "Distribution of",
            features,
            index=features.index(feature) if feature in features else 0,
            format_func=lambda name: labels.get(name, name),
        )
        st.altair_chart(
            charts.distribution_compare(distribution[distribution["feature"] == chosen]),
            width="stretch",
        )
        with st.expander("Every input, with its drift scores (for analysts)"):
            st.dataframe(
                drift[["label", "psi", "psi_limit", "js_distance", "js_limit", "drifted"]].assign(
                    counted=health.counted(drift)
                ),
                hide_index=True,
                width="stretch",
                column_config={
                    "label": "Input",
                    "psi": st.column_config.NumberColumn("PSI", format="%.3f"),
                    "psi_limit": st.column_config.NumberColumn("PSI limit", format="%.3f"),
                    "js_distance": st.column_config.NumberColumn("Jensen-Shannon", format="%.3f"),
                    "js_limit": st.column_config.NumberColumn("JS limit", format="%.3f"),
                    "drifted": "Moved more than usual",
                    "counted": "Counts toward verdict",
                },
            )

    if not performance.empty:
        st.subheader("Churn and accuracy over time")
        st.caption(
            "Measured once a month's outcomes are known; the newest month is an estimate from "
            "the risks, its bar the estimate's own error in past months. Grey: the reference "
            "months' average; red dashes: the limit the recent months (and the whole bar of "
            "the estimate) are judged against."
        )
        churn, auc = st.columns(2)
        churn.altair_chart(
            charts.monitored_over_time(
                performance, "churn_rate", "churn_rate_high", "Churn rate", changed_at
            ),
            width="stretch",
        )
        auc.altair_chart(
            charts.monitored_over_time(
                performance,
                "roc_auc",
                "roc_auc_low",
                "Ranking quality (0.5 = chance)",
                changed_at,
                "roc_auc_band",
            ),
            width="stretch",
        )
