"""The sidebar on every page: data as of, model in service, build state with live progress."""

from __future__ import annotations

import streamlit as st

from pipeline.build import progress
from ui import data
from ui.text import md

POLL_SECONDS = 2.0


def render_sidebar() -> None:
    """Facts about what the pages show, and the build state (refreshing while one runs)."""
    with st.sidebar:
        pointer = data.serving()
        if pointer is None:
            st.caption("No published build yet.")
        else:
            summary = data.model_summary(pointer["build_id"], pointer["path"])
            st.markdown(f"**Data as of** {summary.get('data_as_of')}")
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
    state = progress.read(data.settings()) or {}
    st.progress(progress.share_done(state), text=progress.describe(state))
