"""Fixtures for AppTest: a real small warehouse built once, an empty home, a fresh app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from pipeline.settings import Settings
from tests.support import copy_home, run_pipeline

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
CUSTOMERS, MONTHS = 300, 12
DEFAULT_PAGE = "app_pages/overview.py"  # what app.py opens first
AT_RISK_PAGE = "app_pages/at_risk.py"


def clear_streamlit_caches() -> None:
    """ui.data caches settings() and the build job per process: drop them between homes."""
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BATON_HOME with demo data and one successful build (a real dbt build, ~20-60 s)."""
    home = tmp_path_factory.mktemp("baton_app_home")
    run_pipeline(home, "demo", "--customers", str(CUSTOMERS), "--months", str(MONTHS))
    run_pipeline(home, "rebuild")
    return home


@pytest.fixture
def use_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], Path]]:
    """Point this process (where AppTest runs the app) at a BATON_HOME, with fresh caches."""

    def point(home: Path) -> Path:
        monkeypatch.setenv("BATON_HOME", str(home))
        clear_streamlit_caches()
        return home

    yield point
    clear_streamlit_caches()


@pytest.fixture
def serving_home(built_home: Path, use_home: Callable[[Path], Path]) -> Path:
    """The built warehouse's home, active for this test."""
    return use_home(built_home)


@pytest.fixture
def home_copy(built_home: Path, tmp_path: Path) -> Path:
    """A copy of the built home for a test that changes it (the shared one never changes),
    not yet active: pass it to use_home."""
    return copy_home(Settings(home=built_home), tmp_path / "home").home


@pytest.fixture
def empty_home(tmp_path: Path, use_home: Callable[[Path], Path]) -> Path:
    """A BATON_HOME where nothing was ever generated or built, active for this test."""
    return use_home(tmp_path / "empty_home")


@pytest.fixture
def pipeline_cli() -> Callable[..., str]:
    """`python -m pipeline ...` for a home, as a user or scheduler would run it."""
    return run_pipeline


@pytest.fixture
def app() -> AppTest:
    """The Baton app, not yet run (real builds take longer than AppTest's 3 s default)."""
    return AppTest.from_file(str(APP), default_timeout=30)


@pytest.fixture
def open_page(app: AppTest) -> Callable[[str], AppTest]:
    """Run app.py, then switch to a page, as a browser does (app.py registers the pages)."""

    def open_(page: str = AT_RISK_PAGE) -> AppTest:
        app.run()
        if page != DEFAULT_PAGE:
            app.switch_page(page).run()
        return app

    return open_


@pytest.fixture
def media_files(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], bytes]:
    """Bytes behind a media URL (download buttons) from AppTest's in-memory file storage.

    AppTest creates a fresh MemoryMediaFileStorage per run and drops it afterwards; this
    records each one so a test can read what the download button would serve.
    """
    storages: list[MemoryMediaFileStorage] = []

    class RecordingStorage(MemoryMediaFileStorage):
        def __init__(self, media_endpoint: str) -> None:
            super().__init__(media_endpoint)
            storages.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", RecordingStorage)

    def read(url: str) -> bytes:
        assert storages, "no AppTest run happened since the fixture was set up"
        return bytes(storages[-1].get_file(url.rsplit("/", 1)[-1]).content)

    return read
