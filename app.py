"""Baton: who is about to churn, why, how accurate that has been, and is the pipeline healthy."""

import streamlit as st

from ui.sidebar import render_sidebar

st.set_page_config(page_title="Baton · churn", page_icon=":material/target:", layout="wide")

# Each url_path differs from its file name: Streamlit would otherwise serve a bookmarked
# URL such as /why from the pages/ folder directly, skipping this entry file.
navigation = st.navigation(
    [
        st.Page(
            "pages/at_risk.py", title="At-risk customers", icon=":material/warning:", default=True
        ),
        st.Page(
            "pages/accuracy.py",
            title="Accuracy over time",
            icon=":material/monitoring:",
            url_path="accuracy-over-time",
        ),
        st.Page("pages/why.py", title="Why", icon=":material/psychology_alt:", url_path="explain"),
        st.Page(
            "pages/pipeline_runs.py",
            title="Pipeline",
            icon=":material/settings:",
            url_path="pipeline",
        ),
    ]
)
render_sidebar()
navigation.run()
