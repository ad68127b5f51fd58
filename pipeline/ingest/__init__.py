"""Ingesting your own data: mapping files, safety checks, validation, uploads and the import."""
