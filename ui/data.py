"""Cached reads of the published warehouse, keyed by build id so a new build refreshes them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from ml import waterfall as risk_points
from pipeline import history, warehouse
from pipeline.build.jobs import BuildJob
from pipeline.read import queries
from pipeline.read.words import DatasetWords
from pipeline.settings import Settings, get_settings


@st.cache_resource
def settings() -> Settings:
    """Settings of this app process (serving needs read access to BATON_HOME only)."""
    return get_settings().ensure_if_writable()


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
def dataset_words(build_id: str, path: str) -> DatasetWords:
    """The dataset's words (value at risk, currency, attribute names) of a build."""
    return queries.dataset_words(path)


@st.cache_data(max_entries=4, show_spinner=False)
def common_reasons(build_id: str, path: str) -> pd.DataFrame:
    """Factors nearly every contactable customer shares among their top reasons."""
    return queries.common_reasons(path)


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


@st.cache_data(max_entries=64, show_spinner=False)
def waterfall(build_id: str, path: str, customer_id: str, risk: float) -> tuple[pd.DataFrame, bool]:
    """One customer's waterfall steps, and whether they are in points of risk (approximate)."""
    return risk_points.customer_waterfall(
        explanation(build_id, path, customer_id), queries.calibrator(path), risk
    )


@st.cache_data(max_entries=4, show_spinner=False)
def top_reason_counts(build_id: str, path: str, k: int) -> pd.DataFrame:
    """How many of the k riskiest customers have each feature as a top-3 reason."""
    return queries.top_reason_counts(path, k)


@st.cache_data(max_entries=4, show_spinner=False)
def provisional_accuracy(build_id: str, path: str) -> pd.DataFrame:
    """Expected precision and recall at k for months whose labels have not matured."""
    return queries.provisional_accuracy(path)


@st.cache_data(max_entries=4, show_spinner=False)
def estimate_track_record(build_id: str, path: str) -> pd.DataFrame:
    """Expected vs realized precision at k per backtest month."""
    return queries.estimate_track_record(path)


@st.cache_data(max_entries=4, show_spinner=False)
def model_summary(build_id: str, path: str) -> dict[str, Any]:
    """Model version, training and as-of facts of a build."""
    return queries.model_summary(path)


@st.cache_data(max_entries=4, show_spinner=False)
def work_queue(build_id: str, path: str) -> pd.DataFrame:
    """At-risk customers of a build with their movement since the build published before it
    (the same function the CLI export uses, so the download and the CLI agree)."""
    return queries.at_risk_with_movement(path, warehouse.previous(settings()))


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


# --- Health: the triage verdict and the monitors behind it ------------------------------


@st.cache_data(max_entries=4, show_spinner=False)
def triage(build_id: str, path: str) -> dict[str, Any] | None:
    """The verdict of a build (None for a warehouse built before the monitors)."""
    return queries.triage(path)


def verdict_now() -> dict[str, Any] | None:
    """The verdict to show: a failed last build's own (its source data broke), else the
    serving build's; None when there is none yet."""
    runs_ = runs()
    last = runs_[0] if runs_ else None
    if last is not None and last.status == "failed" and last.triage:
        return queries.build_triage(last, None)
    pointer = serving()
    if pointer is None:
        return None
    found = triage(pointer["build_id"], pointer["path"])
    return {**found, "build_id": pointer["build_id"], "build_failed": False} if found else None


@st.cache_data(max_entries=4, show_spinner=False)
def quality_checks(build_id: str, path: str) -> pd.DataFrame:
    """Every data-quality check of a build."""
    return queries.quality_checks(path)


@st.cache_data(max_entries=4, show_spinner=False)
def feature_drift(build_id: str, path: str) -> pd.DataFrame:
    """Drift per feature and of the scores."""
    return queries.feature_drift(path)


@st.cache_data(max_entries=4, show_spinner=False)
def feature_distribution(build_id: str, path: str) -> pd.DataFrame:
    """Reference vs current shares per bin of every feature."""
    return queries.feature_distribution(path)


@st.cache_data(max_entries=4, show_spinner=False)
def source_volume(build_id: str, path: str) -> pd.DataFrame:
    """Rows per day of each source against its learned range."""
    return queries.source_volume(path)


@st.cache_data(max_entries=4, show_spinner=False)
def performance(build_id: str, path: str) -> pd.DataFrame:
    """Churn rate and accuracy per month, realized or estimated."""
    return queries.performance(path)
