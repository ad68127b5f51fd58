"""Pipeline: rebuild, live progress, recent builds with per-node status, tests and timing."""

import pandas as pd
import streamlit as st

from pipeline.access import AccessDeniedError
from pipeline.build import progress, registry
from pipeline.build.lock import BuildRefusedError
from pipeline.read import queries
from ui import auth, charts, data
from ui.text import md

st.title("Pipeline")
job = data.build_job()
pointer = data.serving()
actor = auth.acting_user()


@st.fragment(run_every=1.0)
def rebuild_controls() -> None:
    """The Rebuild button (disabled while any build runs, here or in another process), that
    build's progress by stage, and how the last build started here ended."""
    running = job.running
    if st.button(
        "Rebuild",
        type="primary",
        icon=":material/refresh:",
        help="Run dbt build: data to predictions",
        disabled=running or not actor.can_change,
    ):
        try:
            refusal = job.start(trigger="app", by=actor)
        except AccessDeniedError as error:
            refusal = str(error)
        if refusal:
            st.warning(md(refusal))
        else:
            st.toast("Build started. The pages keep showing the last good build until it finishes.")
            running = True
    if running:
        st.info(md(str(BuildRefusedError(job.holder()))))
        state = progress.of_holder(data.settings(), job.holder())
        st.progress(progress.share_done(state), text=progress.describe(state))
    elif job.error:
        st.error(f"The build could not start: {md(job.error)}")


rebuild_controls()
auth.operators_only(actor, "Rebuilding and choosing the model in service")
if pointer is not None:
    summary = data.read(queries.model_summary, pointer)
    st.markdown(
        f"Serving build **{md(pointer['build_id'])}** (published {md(pointer['published_at'])}), "
        f"model **{md(summary.get('model_version'))}**, trained on {summary.get('n_train'):,} "
        f"rows.  \n{md(summary.get('decision_reason'))}"
    )
    if pointer.get("fallback"):
        st.warning(md(pointer["fallback"]))
else:
    st.markdown("No build has been published yet. Press **Rebuild**.")

runs = data.runs()
if not runs:
    st.info("No builds yet.")
else:
    latest = runs[0]
    if latest.status in ("failed", "interrupted") and latest.failure:
        failure = latest.failure
        st.error(
            f"The last build **{latest.status}** at "
            f"**{md(failure.get('node') or 'an unknown step')}** "
            f"({md(failure.get('layer'))} layer): {md(failure.get('message'))}  \n"
            "The dashboard keeps serving the last good build."
        )
    st.subheader("Recent builds")
    table = pd.DataFrame(
        [
            {
                "Build": run.build_id,
                "Trigger": run.trigger,
                "By": run.triggered_by,
                "Started": run.started_at,
                "Status": run.status,
                "Seconds": run.seconds,
                "Tests passed": run.tests.get("passed"),
                "Tests failed": run.tests.get("failed"),
                "Model": run.model_version,
                "Published": run.published,
            }
            for run in runs
        ]
    )
    st.dataframe(table.head(20), hide_index=True, width="stretch")
    timed = table.dropna(subset=["Seconds"]).assign(Started=lambda t: pd.to_datetime(t["Started"]))
    if len(timed) > 1:
        st.altair_chart(charts.build_durations(timed), width="stretch")
    st.subheader("Nodes of a build")
    chosen = st.selectbox("Build", [run.build_id for run in runs[:20]])
    run = next(r for r in runs if r.build_id == chosen)
    nodes = pd.DataFrame(run.nodes)
    if nodes.empty:
        st.caption("This build recorded no nodes.")
    else:
        nodes["rows"] = nodes["name"].map(run.rows)
        st.dataframe(
            nodes[["name", "resource_type", "layer", "status", "seconds", "rows", "message"]],
            hide_index=True,
            width="stretch",
            column_config={
                "name": "Node",
                "resource_type": "Kind",
                "layer": "Layer",
                "status": "Status",
                "seconds": st.column_config.NumberColumn("Seconds", format="%.2f"),
                "rows": st.column_config.NumberColumn("Rows", help="Models only"),
                "message": "Message",
            },
        )

st.subheader("Model versions")
versions = registry.versions(data.settings())
if versions.empty:
    st.caption("No model registered yet.")
else:
    st.dataframe(
        versions,
        hide_index=True,
        width="stretch",
        column_config={
            "model_version": "Version",
            "trained_at": st.column_config.DatetimeColumn("Trained", format="YYYY-MM-DD HH:mm"),
            "build_id": "Build",
            "n_train": st.column_config.NumberColumn("Training rows"),
            "backtest_roc_auc": st.column_config.NumberColumn("Backtest ROC AUC", format="%.3f"),
            "in_service": "In service",
            "pinned": "Pinned",
        },
    )
    choice, action = st.columns([3, 1])
    version = choice.selectbox(
        "Put a version in service (the next build scores with it until you choose automatic)",
        ["automatic (promotion rule)", *versions["model_version"]],
    )
    if action.button("Use and rebuild", icon=":material/history:", disabled=not actor.can_change):
        try:
            registry.use_version(
                data.settings(), None if version.startswith("automatic") else version, by=actor
            )
        except (registry.UnknownModelVersionError, BuildRefusedError, AccessDeniedError) as error:
            st.warning(md(error))
        else:
            refusal = job.start(trigger="app: model use", by=actor)
            if refusal:
                st.warning(md(refusal))
            else:
                st.toast(f"Rebuilding with {md(version)}.")
