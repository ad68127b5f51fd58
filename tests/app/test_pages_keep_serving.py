"""Every page keeps serving what it can: from a read-only home, past a damaged build file,
with data that holds markdown, and without showing a traceback to viewers."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipeline import warehouse
from pipeline.settings import ROOT, Settings
from tests.support import edit_serving, read_only_mount
from ui.text import md

pytestmark = pytest.mark.slow
OpenPage = Callable[..., AppTest]
PAGES = [
    "app_pages/overview.py",
    "app_pages/at_risk.py",
    "app_pages/accuracy.py",
    "app_pages/why.py",
    "app_pages/health.py",
    "app_pages/data.py",
    "app_pages/pipeline_runs.py",
]
HOSTILE = "![pixel](http://elsewhere.example/p.png) [link](http://elsewhere.example)"


def serving(home: Path) -> dict[str, object]:
    pointer = warehouse.current(Settings(home=home))
    assert pointer is not None
    return pointer


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_from_a_read_only_home(
    open_page: OpenPage,
    home_copy: Path,
    use_home: Callable[[Path], Path],
    page: str,
) -> None:
    home = home_copy
    with read_only_mount(home):
        use_home(home)
        at = open_page(page)
        assert not at.exception, at.exception
        assert not [e.value for e in at.error if "Read-only" in e.value]
    assert (home / "current.json").exists()  # nothing was lost either


def test_a_damaged_pointer_still_serves_the_build_and_every_page_says_so(
    open_page: OpenPage, home_copy: Path, use_home: Callable[[Path], Path]
) -> None:
    home = use_home(home_copy)
    build_id = serving(home)["build_id"]
    text = (home / "current.json").read_text()
    (home / "current.json").write_text(text[: len(text) // 2])

    at = open_page("app_pages/at_risk.py")

    assert not at.exception
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) > 0  # the list still serves
    notes = [w.value for w in at.sidebar.warning]
    assert any("current.json is damaged" in note and build_id in note for note in notes)


def test_a_feature_label_with_markdown_shows_as_text_on_the_health_page(
    open_page: OpenPage, home_copy: Path, use_home: Callable[[Path], Path]
) -> None:
    home = use_home(home_copy)
    # A mapping's `features:` words end up here (feature_dictionary), as this label would.
    edit_serving(
        Settings(home=home),
        "update feature_dictionary set label = ? where feature = "
        "(select min(feature) from monitor_feature_drift where not counted)",
        params=[HOSTILE],
    )

    at = open_page("app_pages/health.py")

    assert not at.exception
    caption = next(c.value for c in at.caption if c.value.startswith("Not counted"))
    assert md(HOSTILE) in caption
    assert "](" not in caption.replace("\\](", "")  # no link or image left to render


def test_viewers_get_a_sentence_not_a_traceback() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["maxUploadSize"] <= 200
