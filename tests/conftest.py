"""Shared fixtures: homes with demo raw data, and ONE real build reused by read-only tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import demo
from pipeline.build.progress import Progress
from pipeline.build.rebuild import rebuild
from pipeline.history import RunRecord
from pipeline.settings import Settings
from tests.support import copy_home

# The smallest demo on which the ML still trains and the backtest has several months:
# 12 months give 11 matured snapshots, enough for min_train_months=4 and 6 backtest months.
BUILD_CUSTOMERS = 300
BUILD_MONTHS = 12
DEMO_SEED = 42
# Tiny data for builds meant to fail: before the ML layer, or in it for lack of history.
TINY_CUSTOMERS = 40
TINY_MONTHS = 3


# The files whose tests carry these marks go first, in this order: under `make test` each
# file runs whole in one of the pytest-xdist processes, and a long file (a Spark build takes
# minutes) started last would leave one process working alone at the end.
LONG_FIRST = ("spark", "e2e", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order files by LONG_FIRST (the tests inside a file keep their order)."""
    rank: dict[Path, int] = {}
    for item in items:
        marks = {mark.name for mark in item.iter_markers()}
        mine = min(
            (i for i, name in enumerate(LONG_FIRST) if name in marks), default=len(LONG_FIRST)
        )
        rank[item.path] = min(rank.get(item.path, mine), mine)
    items.sort(key=lambda item: rank[item.path])


@dataclass
class BuiltHome:
    """A BATON_HOME after one real rebuild: its settings, run record and progress updates."""

    settings: Settings
    record: RunRecord
    progress: list[dict[str, object]] = field(default_factory=list)


def home_with_raw(home: Path, raw: Path) -> Settings:
    """A fresh BATON_HOME whose raw.duckdb is a copy of `raw` (never the shared original)."""
    settings = Settings(home=home).ensure()
    shutil.copyfile(raw, settings.raw_path)
    return settings


def run_rebuild(
    settings: Settings, trigger: str = "test", on_progress: Callable[[Progress], None] | None = None
) -> RunRecord:
    """A real rebuild of `settings.home` (the build passes everything to dbt explicitly)."""
    return rebuild(settings, trigger=trigger, on_progress=on_progress)


@pytest.fixture(scope="session")
def make_home() -> Callable[[Path, Path], Settings]:
    """`make_home(folder, raw)`: a fresh home holding a copy of `raw` (see `home_with_raw`)."""
    return home_with_raw


@pytest.fixture(scope="session")
def build() -> Callable[..., RunRecord]:
    """`build(settings, trigger, on_progress)`: a real rebuild with BATON_HOME set for it."""
    return run_rebuild


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw demo data of the session build (300 customers x 12 months); copy before mutating."""
    path = tmp_path_factory.mktemp("raw-demo") / "raw.duckdb"
    demo.generate(path, customers=BUILD_CUSTOMERS, months=BUILD_MONTHS, seed=DEMO_SEED)
    return path


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw demo data too short to train on (40 customers x 3 months); copy before mutating."""
    path = tmp_path_factory.mktemp("raw-tiny") / "raw.duckdb"
    demo.generate(path, customers=TINY_CUSTOMERS, months=TINY_MONTHS, seed=DEMO_SEED)
    return path


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, demo_raw: Path) -> BuiltHome:
    """One real `dbt build` of the demo data, published; only read it, never mutate it."""
    settings = home_with_raw(tmp_path_factory.mktemp("baton-built"), demo_raw)
    updates: list[dict[str, object]] = []

    def on_progress(state: Progress) -> None:
        updates.append({"done": state.done, "total": state.total, "current": state.current})

    record = run_rebuild(settings, trigger="test-session", on_progress=on_progress)
    return BuiltHome(settings=settings, record=record, progress=updates)


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Factory of a new BATON_HOME with freshly generated demo data; BATON_HOME points at it."""
    count = 0

    def make(
        customers: int = TINY_CUSTOMERS, months: int = TINY_MONTHS, seed: int = DEMO_SEED
    ) -> Settings:
        nonlocal count
        count += 1
        settings = Settings(home=tmp_path / f"home-{count}").ensure()
        demo.generate(settings.raw_path, customers=customers, months=months, seed=seed)
        monkeypatch.setenv("BATON_HOME", str(settings.home))
        return settings

    return make


@pytest.fixture
def copied_home(built: BuiltHome, tmp_path: Path) -> Settings:
    """A copy of the session's built home (registry, warehouses, history) to mutate."""
    return copy_home(built.settings, tmp_path / "home")
