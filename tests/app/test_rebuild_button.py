"""AppTest of the Rebuild button with a fake build injected into the app's BuildJob."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.access import Actor, shell_user
from pipeline.build.jobs import BuildJob
from pipeline.build.lock import build_lock
from pipeline.history import RunRecord
from pipeline.settings import Settings
from ui import data

OpenPage = Callable[..., AppTest]
PIPELINE = "app_pages/pipeline_runs.py"


def click_rebuild(at: AppTest) -> AppTest:
    """Press the page's Rebuild button and run the app."""
    return next(b for b in at.button if b.label == "Rebuild").click().run()


@dataclass
class FakeBuild:
    """A build that holds the real lock until released, and records who started it."""

    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    triggers: list[str] = field(default_factory=list)
    actors: list[Actor | None] = field(default_factory=list)

    def __call__(
        self, settings: Settings, trigger: str = "cli", by: Actor | None = None
    ) -> RunRecord:
        holder = {"trigger": trigger, "started_at": "2026-01-01T00:00:00+00:00", "build_id": "b1"}
        with build_lock(settings.lock_path, holder):
            self.triggers.append(trigger)
            self.actors.append(by)
            self.started.set()
            assert self.release.wait(timeout=30), "the test never released the fake build"
        return RunRecord(build_id="b1", trigger=trigger, started_at=holder["started_at"])


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch, empty_home: Path) -> Iterator[FakeBuild]:
    """The app's build job runs FakeBuild instead of dbt (AppTest does not wait for threads)."""
    fake = FakeBuild()
    monkeypatch.setattr(data, "BuildJob", functools.partial(BuildJob, runner=fake))
    yield fake
    fake.release.set()
    data.build_job().wait(timeout=10)


def test_rebuild_starts_one_build_in_the_background_and_says_so(
    open_page: OpenPage, fake_build: FakeBuild
) -> None:
    at = open_page(PIPELINE)

    click_rebuild(at)

    assert not at.exception
    assert not at.warning
    assert [t.value for t in at.toast] == [
        "Build started. The pages keep showing the last good build until it finishes."
    ]
    assert fake_build.started.wait(timeout=10)
    assert data.build_job().running
    assert fake_build.triggers == ["app"]


def rebuild_button(at: AppTest) -> Any:
    return next(b for b in at.button if b.label == "Rebuild")


def test_rebuild_button_is_disabled_while_a_build_runs_and_says_who_started_it(
    open_page: OpenPage, fake_build: FakeBuild
) -> None:
    at = open_page(PIPELINE)
    click_rebuild(at)
    assert fake_build.started.wait(timeout=10)

    at.run()

    assert not at.exception
    assert rebuild_button(at).disabled
    running = [box.value for box in at.info if "already running" in box.value]
    assert len(running) == 1 and "started by app" in running[0]
    # A second start that races past the disabled button is still refused by the job.
    refusal = data.build_job().start(trigger="app", by=shell_user())
    assert refusal is not None and "already running" in refusal
    assert fake_build.triggers == ["app"], "a second build must not start"


def test_rebuild_is_accepted_again_once_the_previous_build_finished(
    open_page: OpenPage, fake_build: FakeBuild
) -> None:
    at = open_page(PIPELINE)
    click_rebuild(at)
    assert fake_build.started.wait(timeout=10)
    fake_build.release.set()
    data.build_job().wait(timeout=10)
    fake_build.started.clear()
    fake_build.release.clear()

    click_rebuild(at)

    assert not at.exception
    assert not at.warning
    assert fake_build.started.wait(timeout=10)
    assert fake_build.triggers == ["app", "app"]


def test_rebuild_button_is_disabled_while_another_process_holds_the_build_lock(
    open_page: OpenPage, fake_build: FakeBuild, empty_home: Path
) -> None:
    settings = Settings(home=empty_home).ensure()
    started = (datetime.now(UTC) - timedelta(seconds=5)).isoformat(timespec="seconds")
    cli_holder = {"trigger": "cli", "started_at": started, "build_id": "cli1"}
    with build_lock(settings.lock_path, cli_holder):
        at = open_page(PIPELINE)
        page_progress = at.main.get("progress")
        sidebar_progress = at.sidebar.get("progress")

        button_disabled = rebuild_button(at).disabled

    assert not at.exception
    assert button_disabled
    running = [box.value for box in at.info if "already running" in box.value]
    assert len(running) == 1 and running[0].startswith(
        f"A build is already running (started by cli at {started}, build cli1)"
    )
    assert fake_build.triggers == []
    # Both the page and the sidebar show the other process's build as running, its time
    # counted from when it took the lock (5 s ago; a loaded machine may add a second or two).
    starting = {f"[0/?] Starting ({seconds}s elapsed)" for seconds in range(5, 9)}
    assert len(page_progress) == len(sidebar_progress) == 1
    assert page_progress[0].proto.text in starting
    assert sidebar_progress[0].proto.text in starting
