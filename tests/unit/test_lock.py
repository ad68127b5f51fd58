"""The build lock: one holder across threads and processes, freed on exit, polite refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipeline import history
from pipeline.build.lock import BuildRefusedError, build_lock, is_locked, read_holder
from pipeline.build.rebuild import rebuild, recover_interrupted
from pipeline.history import RunRecord

HOLDER = {"trigger": "scheduler", "started_at": "2026-10-01T06:00:00+00:00", "build_id": "B-1"}

# Holds the lock (argv[1]) as trigger argv[2] until a line arrives on stdin.
HOLD = """
import sys
from pathlib import Path
from pipeline.build.lock import build_lock
holder = {"trigger": sys.argv[2], "started_at": "2026-10-01T07:00:00+00:00", "build_id": "B-sub"}
with build_lock(Path(sys.argv[1]), holder):
    print("held", flush=True)
    sys.stdin.readline()
"""
# Tries the lock (argv[1]) once; prints "acquired" or the refusal message.
TRY = """
import sys
from pathlib import Path
from pipeline.build.lock import BuildRefusedError, build_lock
try:
    with build_lock(Path(sys.argv[1]), {"trigger": "cli"}):
        print("acquired")
except BuildRefusedError as error:
    print(error)
"""


def start_holder(lock: Path, trigger: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), trigger],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    return process


def try_in_subprocess(lock: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TRY, str(lock)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def acquire(lock: Path, trigger: str = "app") -> None:
    with build_lock(lock, {"trigger": trigger}):
        pass


def test_second_holder_in_another_thread_is_refused_with_the_holders_trigger(
    tmp_path: Path,
) -> None:
    lock = tmp_path / "build.lock"
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with build_lock(lock, HOLDER):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(BuildRefusedError) as refused:
            acquire(lock)
        assert refused.value.holder["trigger"] == "scheduler"
        assert refused.value.holder["pid"] == os.getpid()
        message = str(refused.value)
        assert "scheduler" in message
        assert "2026-10-01T06:00:00+00:00" in message
        assert "B-1" in message
    finally:
        release.set()
        thread.join(10)
    acquire(lock)  # released when the holder's block ended


def test_lock_held_by_another_process_refuses_this_one(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    process = start_holder(lock, "cron")
    try:
        assert is_locked(lock)
        with pytest.raises(BuildRefusedError, match="started by cron"):
            acquire(lock)
        assert read_holder(lock)["pid"] == process.pid
    finally:
        process.communicate("\n", timeout=30)
    assert process.returncode == 0
    assert not is_locked(lock)
    acquire(lock)


def test_lock_held_by_this_process_refuses_another_process(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    with build_lock(lock, HOLDER):
        answer = try_in_subprocess(lock)
    assert answer.startswith("A build is already running (started by scheduler")
    assert try_in_subprocess(lock) == "acquired"


def test_lock_of_a_killed_process_is_freed(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    process = start_holder(lock, "cron")
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert not is_locked(lock)
    acquire(lock)


def test_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    with pytest.raises(ZeroDivisionError), build_lock(lock, HOLDER):
        assert is_locked(lock)
        _ = 1 / 0
    assert not is_locked(lock)
    acquire(lock)


def test_lock_file_names_the_current_holder(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    acquire(lock, trigger="a-much-longer-trigger-name")
    with build_lock(lock, HOLDER):
        holder = json.loads(lock.read_text())  # the old, longer content is fully replaced
    assert holder == {**HOLDER, "pid": os.getpid()}


def test_no_lock_file_means_not_locked(tmp_path: Path) -> None:
    assert not is_locked(tmp_path / "missing.lock")
    assert read_holder(tmp_path / "missing.lock") == {}


def test_refusal_without_holder_details_still_reads_as_a_sentence() -> None:
    message = str(BuildRefusedError({}))
    assert message.startswith("A build is already running. Wait for it")
    assert "try again" in message


def test_rebuild_while_the_lock_is_held_is_refused_and_leaves_no_trace(fresh_home) -> None:
    settings = fresh_home()
    marker = settings.build_dir / "left-by-the-running-build"
    marker.write_text("x")
    refused = pytest.raises(BuildRefusedError, match="scheduler")
    with build_lock(settings.lock_path, HOLDER), refused:
        rebuild(settings, trigger="app")
    assert list(settings.runs_dir.iterdir()) == []
    assert marker.exists()  # the running build's scratch folder is not reset
    assert not settings.current_pointer.exists()
    assert not (settings.home / "progress.json").exists()


def plant_running_record(settings, build_id: str = "20260101T000000Z-dead00") -> RunRecord:
    record = RunRecord(build_id=build_id, trigger="app", started_at="2026-01-01T00:00:00+00:00")
    record.pid = 999_999_999
    history.save(settings, record)
    return record


def test_recovery_marks_runs_left_running_as_interrupted(fresh_home) -> None:
    settings = fresh_home()
    planted = plant_running_record(settings)
    (settings.build_dir / "half-built.duckdb").write_text("x")
    assert recover_interrupted(settings) == [planted.build_id]
    [record] = history.load_all(settings)
    assert record.status == "interrupted"
    assert record.finished_at
    assert record.failure and record.failure["layer"] == "pipeline"
    assert list(settings.build_dir.iterdir()) == []
    assert recover_interrupted(settings) == []


def test_recovery_leaves_a_run_alone_while_a_build_holds_the_lock(fresh_home) -> None:
    settings = fresh_home()
    plant_running_record(settings)
    with build_lock(settings.lock_path, HOLDER):
        assert recover_interrupted(settings) == []
    [record] = history.load_all(settings, stored=True)  # the file is left as it was
    assert record.status == "running"
