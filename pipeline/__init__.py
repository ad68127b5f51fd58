"""Baton's service layer: settings, demo data, dbt builds, publishing, history and reads."""
