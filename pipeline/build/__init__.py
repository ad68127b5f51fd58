"""Building: the lock, dbt in-process, progress, publishing, the model registry, app jobs."""
