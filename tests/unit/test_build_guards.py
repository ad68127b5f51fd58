"""The build's guards without running dbt: refusals before it starts (disk, settings, data),
the watchdog's limits, signals, and the lock around every writer of raw data.

Each refusal is checked with what must survive it: the last good build still serves, raw
data is unchanged, and nothing is left in the scratch folder."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

import demo
from pipeline import dataset, history, warehouse
from pipeline.build import guards
from pipeline.build.lock import build_lock
from pipeline.build.rebuild import rebuild
from pipeline.settings import ROOT, Settings
from tests.support import pipeline_cli
from tests.unit.test_hostile_mappings import GOOD, PEOPLE, USAGE
from tests.unit.test_serving_survives import publish_build

SERVING = "20260101T000000Z-aaaaaa"
PROFILES = ROOT / "dbt_project" / "profiles.yml"


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("raw") / "raw.duckdb"
    demo.generate(path, customers=40, months=3, seed=42)
    return path


@pytest.fixture
def home(tmp_path: Path, raw: Path) -> Settings:
    """Demo raw data and a last good build (a tiny published warehouse)."""
    settings = Settings(home=tmp_path / "home").ensure()
    settings.raw_path.write_bytes(raw.read_bytes())
    dataset.save(settings, dataset.DEMO, {})
    publish_build(settings, SERVING)
    # A valid mapping to import, with its files, for the import-while-building case.
    (settings.home / "people.csv").write_text(PEOPLE)
    (settings.home / "usage.csv").write_text(USAGE)
    (settings.home / "shop.yml").write_text(yaml.safe_dump(GOOD))
    return settings


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused_before_dbt(settings: Settings, record: history.RunRecord) -> str:
    """The build failed without running dbt; the last good build serves; returns why."""
    assert record.status == "failed" and not record.published
    assert record.nodes == []
    assert record.failure is not None
    saved = history.load_all(settings)[0]
    assert saved.build_id == record.build_id and saved.status == "failed"
    pointer = warehouse.current(settings)
    assert pointer is not None and pointer["build_id"] == SERVING
    assert list(settings.build_dir.iterdir()) == []
    return record.failure["message"]


def test_a_build_with_too_little_free_disk_is_refused_with_the_numbers(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guards, "free_gb", lambda _path: 0.25)
    message = assert_refused_before_dbt(home, rebuild(home, trigger="test"))
    assert f"Only 0.25 GB is free on the disk of {home.home}" in message
    assert "at least 1.00 GB free (BATON_MIN_FREE_DISK_GB)" in message
    assert "up to 20GiB (BATON_BUILD_MAX_SPILL)" in message


def test_an_as_of_far_past_the_data_in_dataset_json_is_refused_at_build_start(
    home: Settings,
) -> None:
    # dataset.json can be written by hand: its vars are checked again when a build starts.
    dataset.save(home, "edited", {"as_of": "9999-12-31"})
    message = assert_refused_before_dbt(home, rebuild(home, trigger="test"))
    assert "The build setting as_of in dataset.json is not allowed" in message
    assert "9999-12-31 is outside the data" in message and "at most 92 days after" in message


@pytest.mark.parametrize(
    ("dbt_vars", "says"),
    [
        ({"horizon_days": 100_000}, "100,000 is outside the allowed range, 1 to 730"),
        ({"xgboost_params": {"n_estimators": 100_000_000}}, "n_estimators: 1e+08 is outside"),
        ({"backtest_months": 0}, "0 is outside the allowed range, 1 to 36"),
    ],
)
def test_settings_out_of_range_in_dataset_json_are_refused_at_build_start(
    home: Settings, dbt_vars: dict[str, object], says: str
) -> None:
    dataset.save(home, "edited", dbt_vars)
    message = assert_refused_before_dbt(home, rebuild(home, trigger="test"))
    assert says in message


def test_a_snapshot_grid_past_its_limit_is_refused_at_build_start(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_MAX_SNAPSHOT_ROWS", "50")
    message = assert_refused_before_dbt(home, rebuild(home, trigger="test"))
    assert "months x 40 customers); a build allows at most 50" in message


def test_the_dbt_profile_caps_spill_with_the_builds_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.build import context

    assert "max_temp_directory_size: \"{{ var('baton')['max_spill'] }}\"" in PROFILES.read_text()
    monkeypatch.setenv("BATON_BUILD_MAX_SPILL", "3GiB")
    assert context.paths(Settings(home=tmp_path))["max_spill"] == "3GiB"


def watch(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[guards.BuildGuard, list[int]]:
    """A guard watching from a worker thread (as in the app), dbt's cancel counted."""
    cancels: list[int] = []
    monkeypatch.setattr(guards, "CHECK_SECONDS", 0.05)
    monkeypatch.setattr(guards, "cancel_dbt", lambda: cancels.append(1))
    made: list[guards.BuildGuard] = []

    def run() -> None:
        with guards.BuildGuard(settings, lambda: {"node": "ml_backtest", "where": " while X"}) as g:
            made.append(g)
            deadline = time.monotonic() + 5
            while g.reason is None and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    return made[0], cancels


def test_the_watchdog_stops_a_build_past_its_time_limit(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_BUILD_TIMEOUT", "0.2")
    guard, cancels = watch(home, monkeypatch)
    failure = guard.failure()
    assert "ran longer than its limit of 0 seconds (BATON_BUILD_TIMEOUT)" in failure["message"]
    assert failure["node"] == "ml_backtest" and "while X" in failure["message"]
    assert guard.signal_name is None  # a limit, recorded as failed, not interrupted
    assert len(cancels) >= 2  # dbt's queries are cancelled until dbt gives up


def test_the_watchdog_stops_a_build_when_the_disk_runs_low(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guards, "free_gb", lambda _path: 0.5)
    guard, cancels = watch(home, monkeypatch)
    assert "fell to 0.50 GB free, below the 1.00 GB" in guard.failure()["message"]
    assert cancels


def test_the_watchdog_stops_a_build_whose_spill_grows_past_its_bound(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_BUILD_MAX_SPILL", "1KiB")
    spill = home.build_dir / "tmp"
    spill.mkdir()
    (spill / "duckdb_temp_block-0.block").write_bytes(b"x" * 4096)
    guard, cancels = watch(home, monkeypatch)
    assert "spilled 0.0 GB" in guard.failure()["message"]
    assert "more than 1KiB (BATON_BUILD_MAX_SPILL)" in guard.failure()["message"]
    assert cancels


def test_sigterm_in_the_main_thread_interrupts_with_its_name_except_while_publishing(
    home: Settings,
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with guards.BuildGuard(home, lambda: {"node": "", "where": " while publishing"}) as guard:
        with guard.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)  # held: the publish finishes
        assert guard.signal_name == "SIGTERM"
    assert guard.failure()["signal"] == "SIGTERM"
    with pytest.raises(KeyboardInterrupt), guards.BuildGuard(home, dict) as guard:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
    assert guard.signal_name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return pipeline_cli(settings.home, *args)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("demo", "--customers", "20", "--months", "2"), "Demo data not written: A build is"),
        (("model", "use", "auto"), "A build is already running"),
        (("dbt-vars",), "Not now: A build is already running"),
        (("docs",), "Docs not generated: A build is already running"),
        (("import", "{home}/shop.yml"), "Import not applied: A build is already running"),
    ],
    ids=["demo", "model-use", "dbt-vars", "docs", "import"],
)
def test_every_writer_is_refused_while_a_build_runs_and_changes_nothing(
    home: Settings, args: tuple[str, ...], says: str
) -> None:
    raw, data = digest(home.raw_path), home.dataset_path.read_text()
    holder = {"trigger": "scheduler", "started_at": "2026-01-01T00:00:00+00:00", "build_id": "B"}
    with build_lock(home.lock_path, holder):
        done = cli(home, *(arg.format(home=home.home) for arg in args))
    assert done.returncode != 0, done.stdout
    assert says in done.stderr and "started by scheduler" in done.stderr
    assert "Traceback" not in done.stderr
    assert digest(home.raw_path) == raw and home.dataset_path.read_text() == data
    assert warehouse.current(home)["build_id"] == SERVING  # type: ignore[index]


def test_a_full_disk_during_a_build_is_recorded_in_words_not_as_a_traceback(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.build import context

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(home.context_path))

    monkeypatch.setattr(context, "write_context", full)
    message = assert_refused_before_dbt(home, rebuild(home, trigger="test"))
    assert message.startswith("The disk is full (No space left on device: ")
    assert "Free some space, then rebuild." in message


def test_the_guards_interrupt_landing_in_a_finalizer_prints_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen in CI: the time limit's SIGINT arrived while a multiprocessing finalizer ran, and
    # Python printed "Exception ignored in <Finalize object>" with a traceback on the CLI.
    class Finalized:
        def __del__(self) -> None:
            raise KeyboardInterrupt("SIGINT")

    class Other:
        def __del__(self) -> None:
            raise ValueError("not the guard's")

    reported: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.append(u.exc_type))
    before = sys.unraisablehook
    with guards.BuildGuard(Settings(home=tmp_path), lambda: {"step": "testing"}) as guard:
        guard._raised = True  # the guard raised its interrupt (a limit or a signal)
        Finalized()
        Other()
    assert reported == [ValueError]  # Python's report (the traceback) for the other only
    assert sys.unraisablehook is before
