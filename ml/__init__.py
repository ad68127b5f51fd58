"""Baton's ML core: pure Python, imports neither streamlit nor dbt."""
