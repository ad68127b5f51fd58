"""Cached reads of the published warehouse, keyed by build id so a new build refreshes them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from pipeline import history, queries, warehouse
from pipeline.jobs import BuildJob
from pipeline.settings import Settings, get_settings


@st.cache_resource
def settings() -> Settings:
    """Settings of this app process."""
    return get_settings().ensure()


@st.cache_resource
def build_job() -> BuildJob:
    """The one background build job of this app process, shared by all sessions."""
    return BuildJob(settings())


def serving() -> dict[str, Any] | None:
    """The warehouse in service ({build_id, path, published_at}) or None before the first."""
    return warehouse.current(settings())


@st.cache_data(max_entries=4, show_spinner=False)
def at_risk(build_id: str, path: str) -> pd.DataFrame:
    """At-risk customers of a build."""
    return queries.at_risk(path)


@st.cache_data(max_entries=4, show_spinner=False)
def backtest(build_id: str, path: str) -> pd.DataFrame:
    """Backtest metrics of a build."""
    return queries.backtest_metrics(path)


@st.cache_data(max_entries=4, show_spinner=False)
def reliability(build_id: str, path: str) -> pd.DataFrame:
    """Backtest calibration bands of a build."""
    return queries.reliability(path)


@st.cache_data(max_entries=4, show_spinner=False)
def importance(build_id: str, path: str) -> pd.DataFrame:
    """Global feature importance of a build."""
    return queries.feature_importance(path)


@st.cache_data(max_entries=64, show_spinner=False)
def explanation(build_id: str, path: str, customer_id: str) -> pd.DataFrame:
    """One customer's contributions in a build."""
    return queries.customer_explanation(path, customer_id)


@st.cache_data(max_entries=4, show_spinner=False)
def model_summary(build_id: str, path: str) -> dict[str, Any]:
    """Model version, training and as-of facts of a build."""
    return queries.model_summary(path)


@st.cache_data(max_entries=4, show_spinner=False)
def previous_at_risk(build_id: str) -> pd.DataFrame | None:
    """At-risk customers of the build published before `build_id`, if it is still kept."""
    path = warehouse.previous(settings())
    return queries.at_risk(path) if path is not None else None


def runs() -> list[history.RunRecord]:
    """Run history, newest first (small JSON files: not cached, always current)."""
    return history.load_all(settings())


def require_build() -> dict[str, Any] | None:
    """The serving build, or a clear message with the next step when there is none."""
    pointer = serving()
    if pointer is None:
        st.info(
            "No results yet: the pipeline has not completed a build. "
            "Open **Pipeline** and press **Rebuild**, or run `python -m pipeline rebuild`. "
            "No data yet? Run `python -m pipeline demo` first."
        )
    return pointer
