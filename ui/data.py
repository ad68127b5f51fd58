"""Reads of the published warehouse for the pages: one cached reader keyed by build id, so a
new build refreshes every page, and the app's own resources (settings, the build job)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import streamlit as st

from pipeline import history, warehouse
from pipeline.build.jobs import BuildJob
from pipeline.read import diff, queries
from pipeline.settings import Settings, get_settings

T = TypeVar("T")
Pointer = dict[str, Any]


@st.cache_resource
def settings() -> Settings:
    """Settings of this app process (serving needs read access to BATON_HOME only)."""
    return get_settings().ensure_if_writable()


@st.cache_resource
def build_job() -> BuildJob:
    """The one background build job of this app process, shared by all sessions."""
    return BuildJob(settings())


def serving() -> Pointer | None:
    """The warehouse in service ({build_id, path, published_at}) or None before the first."""
    return warehouse.current(settings())


@st.cache_data(max_entries=128, show_spinner=False)
def _read(query: str, build_id: str, path: str, args: tuple[Any, ...]) -> Any:
    """One query of pipeline.read.queries on one build (a build never changes once made)."""
    return getattr(queries, query)(path, *args)


def read(query: Callable[..., T], pointer: Pointer, *args: Any) -> T:
    """`query(path, *args)` on the serving build, cached until another build is published."""
    return cast(T, _read(query.__name__, pointer["build_id"], pointer["path"], args))


def work_queue(pointer: Pointer) -> Any:
    """The at-risk list with each customer's movement since the build published before it
    (the same function the CLI export uses, so the download and the CLI agree)."""
    previous = warehouse.previous(settings())
    return read(queries.at_risk_with_movement, pointer, str(previous) if previous else None)


@st.cache_data(max_entries=8, show_spinner=False)
def diff_report(before: str, after: str) -> dict[str, Any]:
    """What changed between two builds and what it did (builds never change once made)."""
    return diff.report(settings(), diff.side(settings(), before), diff.side(settings(), after))


@st.cache_data(max_entries=4, show_spinner=False)
def feature_labels(build_id: str) -> dict[str, str]:
    """Plain names of the features of a build."""
    found = diff.side(settings(), build_id)
    if found.path is None:
        return {}
    dictionary = queries.feature_dictionary(found.path)
    return dict(zip(dictionary["feature"], dictionary["label"], strict=True))


def runs() -> list[history.RunRecord]:
    """Run history, newest first (small JSON files: not cached, always current)."""
    return history.load_all(settings())


def verdict_now() -> dict[str, Any] | None:
    """The verdict to show: a failed last build's own (its source data broke), else the
    serving build's; None when there is none yet."""
    records = runs()
    return queries.build_triage(records[0] if records else None, serving())


def require_build() -> Pointer | None:
    """The serving build, or a clear message with the next step when there is none."""
    pointer = serving()
    if pointer is None:
        st.info(
            "No results yet: the pipeline has not completed a build. "
            "Open **Pipeline** and press **Rebuild**, or run `python -m pipeline rebuild`. "
            "No data yet? Run `python -m pipeline demo` first."
        )
    return pointer
