"""The app's builds run in a child process; what it says when it cannot build reaches the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.access import AccessDeniedError, Actor, Role
from pipeline.build.worker import BuildProcessError, build_in_child
from pipeline.settings import Settings


def test_a_refusal_in_the_child_reaches_the_app_as_its_sentence(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home").ensure()  # no raw data yet

    with pytest.raises(BuildProcessError, match="No raw data at"):
        build_in_child(settings, "app", Actor("olga@example.com", Role.OPERATOR))


def test_a_viewer_starts_no_child(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home").ensure()

    with pytest.raises(AccessDeniedError):
        build_in_child(settings, "app", Actor("vera@example.com", Role.VIEWER))
    assert not list(settings.runs_dir.glob("*.json")), "a viewer's request must start no build"
