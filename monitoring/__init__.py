"""Is it the data, the world or the model? Data-quality rules, the triage verdict and its words.

Pure Python on pandas frames, called by the dbt monitoring models (and read by the app for
its words); statistics come from ml.drift. Imports neither streamlit, dbt nor pipeline.
"""
