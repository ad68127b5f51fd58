"""Streamlit helpers shared by the pages: cached reads, the build job, charts, formatting."""
