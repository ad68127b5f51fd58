"""Baton's service layer: settings, demo data, dbt builds, publishing, history and reads."""

import os

# OpenMP threads that spin while waiting (the default) steal the second core from DuckDB and
# Streamlit; on this 2-core class of machine that made XGBoost 10-20x slower under load
# (bench/README.md). Must be set before xgboost loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
