"""The sidebar on every page: how old the data is, the model in service, and the build state
with live progress (it reruns the app once a new build is published)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from pipeline.build import progress
from pipeline.read import queries, sentences
from ui import data, state
from ui.text import md

POLL_SECONDS = 2.0


def render_sidebar() -> None:
    """Facts about what the pages show, and the build state (refreshing while one runs)."""
    state.keep_remembered()
    with st.sidebar:
        pointer = data.serving()
        if pointer is None:
            st.caption("No published build yet.")
        else:
            summary = data.read(queries.model_summary, pointer)
            terms = data.read(queries.dataset_words, pointer)
            age, stale = sentences.data_age(
                summary.get("newest_data"), date.today(), terms.expected_every_days
            )
            (st.warning if stale else st.markdown)(age)
            st.markdown(f"**Model** `{summary.get('model_version')}`")
            st.caption(f"Build {pointer['build_id']}, published {pointer['published_at']}")
            if pointer.get("fallback"):
                st.warning(md(pointer["fallback"]))
        build_status(pointer["build_id"] if pointer else None)


@st.fragment(run_every=POLL_SECONDS)
def build_status(shown_build_id: str | None) -> None:
    """Live build progress; reruns the whole app once a new build is published."""
    job = data.build_job()
    pointer = data.serving()
    if pointer is not None and pointer["build_id"] != shown_build_id:
        st.rerun()
    if not job.running:
        st.caption("No build running.")
        return
    current = progress.of_holder(data.settings(), job.holder())
    st.progress(progress.share_done(current), text=progress.describe(current))
