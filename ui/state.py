"""Widget choices that survive leaving a page: Streamlit forgets a widget's state once a run
does not draw it, so remembered keys are written back on every run of every page."""

from __future__ import annotations

from typing import Any

import streamlit as st

REMEMBERED = "_remembered_keys"


def remembered(key: str, default: Any) -> str:
    """A widget key whose value outlives page switches (seeded with `default`)."""
    keys = st.session_state.setdefault(REMEMBERED, set())
    keys.add(key)
    if key not in st.session_state:
        st.session_state[key] = default
    return key


def within(key: str, allowed: list[Any] | tuple[float, float]) -> str:
    """Drop a remembered choice a new build no longer offers (a value gone from a list, a
    range beyond the new bounds), so the widget never fails on it."""
    value = st.session_state.get(key)
    if isinstance(allowed, tuple) and isinstance(value, tuple | list):
        low, high = allowed
        st.session_state[key] = (min(max(value[0], low), high), max(min(value[1], high), low))
    elif isinstance(allowed, list) and isinstance(value, list):
        st.session_state[key] = [item for item in value if item in allowed]
    return key


def keep_remembered() -> None:
    """Write every remembered choice back, so the pages not drawing it keep it (every run)."""
    for key in st.session_state.get(REMEMBERED, set()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
