"""Baton: who is about to churn, why, how accurate that has been, and is the pipeline healthy."""

from pathlib import Path

import streamlit as st

from ui.auth import gate
from ui.sidebar import render_sidebar

# A local icon: a :material/...: page icon makes the browser fetch it from a font host.
st.set_page_config(
    page_title="Baton · churn",
    page_icon=str(Path(__file__).parent / "ui" / "icon.svg"),
    layout="wide",
)
# With sign-in configured, nobody sees a page, the sidebar or any data before signing in.
gate()

# Page files live in app_pages/, not pages/: Streamlit treats a folder named pages/ as
# automatic pages and would serve a bookmarked URL from it without running this file.
navigation = st.navigation(
    [
        st.Page(
            "app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True
        ),
        st.Page(
            "app_pages/at_risk.py",
            title="At-risk customers",
            icon=":material/warning:",
            url_path="at-risk",
        ),
        st.Page(
            "app_pages/accuracy.py",
            title="Accuracy over time",
            icon=":material/monitoring:",
            url_path="accuracy",
        ),
        st.Page("app_pages/why.py", title="Why", icon=":material/psychology_alt:", url_path="why"),
        st.Page(
            "app_pages/health.py",
            title="Health",
            icon=":material/health_metrics:",
            url_path="health",
        ),
        st.Page(
            "app_pages/changes.py",
            title="What changed",
            icon=":material/difference:",
            url_path="changes",
        ),
        st.Page(
            "app_pages/data.py", title="Your data", icon=":material/upload_file:", url_path="data"
        ),
        st.Page(
            "app_pages/pipeline_runs.py",
            title="Pipeline",
            icon=":material/settings:",
            url_path="pipeline",
        ),
    ]
)
render_sidebar()
navigation.run()
