"""AppTest of a fresh install: no raw data, no build. Every page must explain the next step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import data

OpenPage = Callable[..., AppTest]


@pytest.mark.parametrize(
    "page",
    ["app_pages/overview.py", "app_pages/at_risk.py", "app_pages/accuracy.py", "app_pages/why.py"],
)
def test_result_pages_say_no_results_yet_instead_of_failing_on_an_empty_home(
    open_page: OpenPage, empty_home: Path, page: str
) -> None:
    at = open_page(page)

    assert not at.exception
    assert len(at.info) == 1
    assert at.info[0].value.startswith("No results yet")
    assert "Rebuild" in at.info[0].value
    assert not at.dataframe
    assert not at.get("vega_lite_chart")


def test_sidebar_says_no_published_build_yet_on_an_empty_home(
    open_page: OpenPage, empty_home: Path
) -> None:
    at = open_page()

    assert [c.value for c in at.sidebar.caption] == ["No published build yet.", "No build running."]


def test_pipeline_page_invites_a_first_rebuild_on_an_empty_home(
    open_page: OpenPage, empty_home: Path
) -> None:
    at = open_page("app_pages/pipeline_runs.py")

    assert not at.exception
    assert any("No build has been published yet" in m.value for m in at.markdown)
    assert [i.value for i in at.info] == ["No builds yet."]
    assert "Rebuild" in [b.label for b in at.button]


def test_rebuild_without_raw_data_reports_why_the_build_could_not_start(
    open_page: OpenPage, empty_home: Path
) -> None:
    at = open_page("app_pages/pipeline_runs.py")

    next(b for b in at.button if b.label == "Rebuild").click().run()
    # AppTest does not wait for the build thread; the real rebuild fails at once here.
    data.build_job().wait(timeout=10)
    at.run()

    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert errors[0].startswith("The build could not start: No raw data at")
    assert "python -m pipeline demo" in errors[0]
