"""Memory at scale: demo usage streams month by month; DuckDB runs under a checked limit."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import duckdb
import pytest

import demo
from pipeline import settings
from pipeline.build import context, rebuild
from tests.support import pipeline_cli

PROFILES = settings.DBT_PROJECT_DIR / "profiles.yml"


def _peak_python_bytes(path: Path, months: int) -> int:
    """Peak memory traced by Python (numpy arrays included) while generating `months`."""
    tracemalloc.start()
    try:
        demo.generate(path, customers=3000, months=months, seed=3)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_python_memory_peak_does_not_grow_with_the_number_of_months(tmp_path: Path) -> None:
    # Holding every month of usage at once (as before streaming) made 24 months peak 1.7x
    # higher than 6; streamed, the peak is the same give or take a few percent.
    six = _peak_python_bytes(tmp_path / "six.duckdb", 6)
    twenty_four = _peak_python_bytes(tmp_path / "twenty_four.duckdb", 24)
    assert twenty_four < 1.25 * six


def test_generation_uses_the_duckdb_memory_limit_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_DUCKDB_MEMORY_LIMIT", "plenty")
    with pytest.raises(duckdb.Error, match="Memory must have a number"):
        demo.generate(tmp_path / "raw.duckdb", customers=20, months=2, seed=1)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("BATON_DUCKDB_MEMORY_LIMIT", "300MiB")
    demo.generate(tmp_path / "raw.duckdb", customers=20, months=2, seed=1)
    assert [p.name for p in tmp_path.iterdir()] == ["raw.duckdb"]


def test_dbt_profile_uses_the_same_default_limit_and_spills_into_the_build_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = PROFILES.read_text()
    assert "memory_limit: \"{{ var('baton')['memory_limit'] }}\"" in profile
    assert "temp_directory: \"{{ var('baton')['temp_directory'] }}\"" in profile
    monkeypatch.delenv("BATON_DUCKDB_MEMORY_LIMIT", raising=False)
    paths = context.paths(settings.Settings(home=tmp_path))
    assert paths["memory_limit"] == settings.DEFAULT_DUCKDB_MEMORY_LIMIT
    assert paths["temp_directory"] == str(tmp_path / "build" / "tmp")


def test_a_build_with_an_unreadable_memory_limit_is_refused_with_what_to_fix(
    tmp_path: Path,
) -> None:
    result = pipeline_cli(
        tmp_path, "rebuild", env={"BATON_DUCKDB_MEMORY_LIMIT": "plenty"}, timeout=120
    )
    assert result.returncode == 2
    assert "Build not started: BATON_DUCKDB_MEMORY_LIMIT='plenty'" in result.stderr
    assert "such as 4GiB or 800MB" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any((tmp_path / "runs").glob("*")), "a refused build leaves no run record"


@pytest.mark.slow
def test_a_build_over_its_memory_limit_fails_saying_which_setting_to_raise(tmp_path: Path) -> None:
    demo.generate(tmp_path / "raw.duckdb", customers=300, months=12, seed=5)
    result = pipeline_cli(
        tmp_path, "rebuild", env={"BATON_DUCKDB_MEMORY_LIMIT": "8MB"}, timeout=600
    )
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "BATON_DUCKDB_MEMORY_LIMIT (8MB): raise it" in said
    assert "lower BATON_BUILD_THREADS" in said
    assert "SET threads" not in said and "Traceback" not in said


@pytest.mark.parametrize(
    "said",
    [
        "Out of Memory Error: failed to allocate data of size 2.0 MiB (6.4 MiB/7.6 MiB used).",
        "TransactionContext Error: Failed to commit: could not allocate block of size 256.0 KiB "
        "(7.5 MiB/7.6 MiB used) Possible solutions: * Reducing the number of threads",
    ],
)
def test_every_way_duckdb_says_it_ran_out_of_memory_gets_the_advice(said: str) -> None:
    advised = rebuild.with_advice(f"Runtime Error in model m (models/m.sql) {said}")
    assert "BATON_DUCKDB_MEMORY_LIMIT" in advised and "SET threads" not in advised
    assert rebuild.with_advice("Binder Error: column x not found") == (
        "Binder Error: column x not found"
    )
