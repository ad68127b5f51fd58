"""Real builds stopped on purpose: SIGTERM, Ctrl-C, the time limit (from the CLI and from a
thread, as the app runs it). Each ends as a true record with the step it reached, the last
good build keeps serving, and nothing is left in the scratch folder."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from pipeline import history, warehouse
from pipeline.build import guards, registry
from pipeline.build.rebuild import rebuild
from pipeline.history import RunRecord
from pipeline.read import queries
from pipeline.settings import Settings
from tests.support import start_pipeline, wait_for_nodes

pytestmark = pytest.mark.slow


def assert_nothing_lost(settings: Settings, serving_before: str | None) -> RunRecord:
    """The last good build serves and reads; scratch is empty; returns the newest record."""
    pointer = warehouse.current(settings)
    assert pointer is not None and pointer["build_id"] == serving_before
    assert "fallback" not in pointer
    assert len(queries.at_risk(pointer["path"])) > 0
    assert list(settings.build_dir.iterdir()) == []
    record = history.latest(settings)
    assert record is not None
    assert history.load_all(settings, stored=True)[0].status == record.status  # on disk too
    return record


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_midway_is_recorded_as_interrupted_at_its_node(
    copied_home: Settings, sent: signal.Signals, code: int
) -> None:
    before = warehouse.current(copied_home)["build_id"]  # type: ignore[index]
    process = start_pipeline(copied_home.home, "rebuild")
    wait_for_nodes(copied_home, process, done=8)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=300)

    assert process.returncode == code, stderr
    record = assert_nothing_lost(copied_home, before)
    assert record.status == "interrupted"  # Ctrl-C used to read "failed at an unknown step"
    assert record.failure is not None
    assert record.failure["signal"] == sent.name
    assert record.failure["node"], record.failure
    assert (
        f"Interrupted by {sent.name} while running {record.failure['node']}"
        in (record.failure["message"])
    )
    assert "Traceback" not in stderr and f"interrupted: Interrupted by {sent.name}" in stderr


def test_a_cli_build_past_its_time_limit_is_stopped_and_recorded_with_a_sentence(
    copied_home: Settings,
) -> None:
    before = warehouse.current(copied_home)["build_id"]  # type: ignore[index]
    started = time.monotonic()
    process = start_pipeline(copied_home.home, "rebuild", env={"BATON_BUILD_TIMEOUT": "4"})
    _, stderr = process.communicate(timeout=300)

    assert process.returncode == 1, stderr
    record = assert_nothing_lost(copied_home, before)
    assert record.status == "failed"
    assert record.failure is not None
    assert (
        "ran longer than its limit of 4 seconds (BATON_BUILD_TIMEOUT)"
        in (record.failure["message"])
    )
    assert "Traceback" not in stderr
    assert time.monotonic() - started < 120


def test_a_build_in_a_thread_past_its_time_limit_is_stopped_too(
    copied_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The app runs builds in a worker thread, where no signal can interrupt dbt: the
    # watchdog cancels dbt's queries instead, until dbt gives up.
    before = warehouse.current(copied_home)["build_id"]  # type: ignore[index]
    monkeypatch.setenv("BATON_BUILD_TIMEOUT", "4")
    outcome: dict[str, RunRecord] = {}
    thread = threading.Thread(target=lambda: outcome.update(r=rebuild(copied_home, "app")))
    thread.start()
    thread.join(300)

    record = assert_nothing_lost(copied_home, before)
    assert outcome["r"].build_id == record.build_id
    assert record.status == "failed" and record.failure is not None
    assert "(BATON_BUILD_TIMEOUT)" in record.failure["message"]


def test_an_error_from_a_step_the_time_limit_cut_short_is_recorded_as_the_time_limit(
    copied_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A query the watchdog cancels outside dbt's nodes fails with DuckDB's own words
    # ("Query interrupted"); the record must name the limit, not that error (CI saw it once).
    before = warehouse.current(copied_home)["build_id"]  # type: ignore[index]
    monkeypatch.setenv("BATON_BUILD_TIMEOUT", "2")
    real_ensure = registry.ensure

    def ensure_cut_short(settings: Settings) -> None:
        real_ensure(settings)
        time.sleep(2 + 3 * guards.CHECK_SECONDS)  # the watchdog stops the build meanwhile
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(registry, "ensure", ensure_cut_short)
    outcome: dict[str, RunRecord] = {}
    thread = threading.Thread(target=lambda: outcome.update(r=rebuild(copied_home, "app")))
    thread.start()
    thread.join(120)

    record = assert_nothing_lost(copied_home, before)
    assert outcome["r"].build_id == record.build_id
    assert record.status == "failed" and record.failure is not None
    assert (
        "ran longer than its limit of 2 seconds (BATON_BUILD_TIMEOUT)"
        in (record.failure["message"])
    )
