"""Serving survives what happens to BATON_HOME: a read-only mount, damaged files, dead builds.

Published warehouses here are small DuckDB files put in place by the real publish code, so
each test runs in milliseconds; tests/dbt and tests/app repeat the key cases on real builds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from pipeline import history, warehouse
from pipeline.build import guards, progress, publish, registry
from pipeline.build.jobs import BuildJob
from pipeline.build.lock import build_lock, is_locked
from pipeline.history import RunRecord
from pipeline.settings import Settings
from tests.support import read_only_mount

OLD, NEW = "20260101T000000Z-aaaaaa", "20260201T000000Z-bbbbbb"


def publish_build(settings: Settings, build_id: str, rows: int = 3) -> Path:
    """A tiny warehouse published by the real publish code, with its run record."""
    settings.ensure()
    with duckdb.connect(str(settings.build_warehouse_path)) as connection:
        connection.execute(f"create table at_risk_customers as select * from range({rows}) t(id)")
    path = publish.publish(settings, build_id)
    started = f"{build_id[:4]}-{build_id[4:6]}-{build_id[6:8]}T00:00:00+00:00"
    record = RunRecord(build_id=build_id, trigger="test", started_at=started)
    record.status, record.published = "success", True
    history.save(settings, record)
    return path


def rows(pointer: dict[str, object] | None) -> int:
    assert pointer is not None
    with warehouse.connect(str(pointer["path"])) as connection:
        return int(connection.execute("select count(*) from at_risk_customers").fetchone()[0])


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings(home=tmp_path / "home").ensure()
    publish_build(settings, OLD, rows=3)
    publish_build(settings, NEW, rows=5)
    return settings


def test_the_newest_published_build_serves_with_no_note(home: Settings) -> None:
    pointer = warehouse.current(home)
    assert pointer is not None and pointer["build_id"] == NEW
    assert "fallback" not in pointer
    assert warehouse.previous(home) == home.warehouses_dir / f"{OLD}.duckdb"


def test_truncated_current_json_serves_the_newest_intact_kept_build_and_says_so(
    home: Settings,
) -> None:
    text = home.current_pointer.read_text()
    home.current_pointer.write_text(text[: len(text) // 2])

    pointer = warehouse.current(home)

    assert pointer is not None and pointer["build_id"] == NEW
    assert rows(pointer) == 5
    assert "current.json is damaged" in str(pointer["fallback"])
    assert f"Serving the newest intact kept build, {NEW}" in str(pointer["fallback"])


def test_truncated_warehouse_serves_the_build_before_it_and_says_why(home: Settings) -> None:
    truncate(home.warehouses_dir / f"{NEW}.duckdb")

    pointer = warehouse.current(home)

    assert pointer is not None and pointer["build_id"] == OLD
    assert rows(pointer) == 3  # the older build's data, read without an error
    note = str(pointer["fallback"])
    assert f"the warehouse of build {NEW} is damaged" in note
    assert "bytes of the" in note and f"kept build, {OLD}" in note
    assert warehouse.previous(home) is None  # nothing older than what serves


def test_unreadable_warehouse_of_the_same_size_is_not_served(home: Settings) -> None:
    path = home.warehouses_dir / f"{NEW}.duckdb"
    size = path.stat().st_size
    path.write_bytes(b"\0" * size)  # same length, garbage inside

    pointer = warehouse.current(home)

    assert pointer is not None and pointer["build_id"] == OLD
    assert "cannot be read" in str(pointer["fallback"])


def test_no_intact_build_at_all_serves_nothing_rather_than_failing(home: Settings) -> None:
    for path in home.warehouses_dir.glob("*.duckdb"):
        truncate(path)
    assert warehouse.current(home) is None


def test_a_warehouse_moved_but_never_published_is_neither_served_nor_previous(
    home: Settings,
) -> None:
    stray = "20260301T000000Z-cccccc"  # a publish killed after the move, before its manifest
    with duckdb.connect(str(home.warehouses_dir / f"{stray}.duckdb")) as connection:
        connection.execute("create table at_risk_customers as select 1 as id")
    home.current_pointer.unlink()  # even with no pointer, the stray is never chosen

    pointer = warehouse.current(home)
    assert pointer is not None and pointer["build_id"] == NEW
    assert [kept["build_id"] for kept in warehouse.kept(home)] == [NEW, OLD]

    assert f"{stray}.duckdb" in guards.clean_leftovers(home)
    assert not (home.warehouses_dir / f"{stray}.duckdb").exists()
    assert (home.warehouses_dir / f"{NEW}.duckdb").exists()


def test_warehouses_published_before_manifests_still_count_by_their_run_record(
    home: Settings,
) -> None:
    warehouse.manifest_path(home, OLD).unlink()
    assert [kept["build_id"] for kept in warehouse.kept(home)] == [NEW, OLD]
    assert OLD not in " ".join(guards.clean_leftovers(home))


def plant_running(settings: Settings, pid: int, build_id: str = "20260301T000000Z-dddddd") -> None:
    record = RunRecord(build_id=build_id, trigger="cli", started_at="2026-03-01T00:00:00+00:00")
    record.pid = pid
    history.save(settings, record)
    state = progress.Progress(build_id, "cli")
    state.phase, state.current, state.done, state.total = "dbt", "ml_backtest_predictions", 7, 40
    progress.write(settings, state)


def test_a_dead_builds_running_record_reads_as_interrupted_with_its_step(home: Settings) -> None:
    plant_running(home, pid=999_999_999)

    [latest, *_] = history.load_all(home)

    assert latest.status == "interrupted"
    assert latest.failure is not None
    assert latest.failure["node"] == "ml_backtest_predictions"
    assert "while running ml_backtest_predictions (7 of 40 nodes done)" in latest.failure["message"]
    assert "The next build cleans up what it left." in latest.failure["message"]
    # Reading changes nothing: the next build start rewrites the record.
    assert history.load_all(home, stored=True)[0].status == "running"


def test_a_build_that_holds_the_lock_in_a_live_process_reads_as_running(home: Settings) -> None:
    plant_running(home, pid=os.getpid())
    with build_lock(home.lock_path, {"trigger": "cli"}):
        assert history.load_all(home)[0].status == "running"
    # The lock was released without the record being finished: the build is gone.
    assert history.load_all(home)[0].status == "interrupted"


def test_next_start_removes_scratch_spill_and_leftovers_of_killed_imports(home: Settings) -> None:
    (home.build_dir / "tmp").mkdir()
    (home.build_dir / "tmp" / "duckdb_temp_storage-0.tmp").write_bytes(b"x" * 1000)
    (home.build_dir / "warehouse.duckdb").write_bytes(b"x")
    dead = home.home / ".raw-import-999999999.duckdb"
    dead.write_bytes(b"x")
    (home.home / ".raw-import-999999999.duckdb.tmp").mkdir()
    alive = home.home / f".raw-import-{os.getpid()}.duckdb"
    alive.write_bytes(b"x")
    (home.home / ".current.json.999999999.tmp").write_text("{")

    guards.clean_leftovers(home)

    assert list(home.build_dir.iterdir()) == []
    assert not dead.exists() and not (home.home / ".raw-import-999999999.duckdb.tmp").exists()
    assert alive.exists()  # an import still running in this process keeps its scratch file
    assert not (home.home / ".current.json.999999999.tmp").exists()
    assert warehouse.current(home) is not None


def test_the_service_layer_reads_a_read_only_mounted_home(home: Settings) -> None:
    (home.home / "build.lock").write_text(json.dumps({"trigger": "cli", "pid": 1}))
    plant_running(home, pid=999_999_999)
    with read_only_mount(home.home):
        with pytest.raises(OSError):
            (home.home / "probe").write_text("x")  # really read-only
        settings = Settings(home=home.home).ensure_if_writable()
        assert not is_locked(settings.lock_path)
        assert not BuildJob(settings).running
        assert warehouse.current(settings) is not None
        assert rows(warehouse.current(settings)) == 5
        assert warehouse.previous(settings) is not None
        assert history.load_all(settings)[0].status == "interrupted"
        assert progress.read(settings) is not None
        assert registry.versions(settings).empty  # no registry yet: none is created
