"""A build that is killed, or that runs while the dashboard reads, never breaks what serves."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import history, warehouse
from pipeline.build.rebuild import recover_interrupted
from pipeline.read import queries
from pipeline.settings import ROOT, Settings
from tests.support import pipeline_cli, serving_build, start_pipeline, wait_for_nodes

pytestmark = pytest.mark.slow


def test_sigkill_midway_reads_as_interrupted_at_once_and_the_next_start_cleans_up(
    copied_home: Settings,
) -> None:
    before = serving_build(copied_home)
    process = start_pipeline(copied_home.home, "rebuild")
    wait_for_nodes(copied_home, process, done=10)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert serving_build(copied_home) == before
    pointer = warehouse.current(copied_home)
    assert pointer is not None
    assert len(queries.at_risk(pointer["path"])) > 0
    # Readers see the dead pid at once; the file says running until the next start.
    killed = history.latest(copied_home)
    assert killed is not None and killed.status == "interrupted"
    assert killed.failure is not None and killed.failure["node"]
    assert f"pid {process.pid}" in killed.failure["message"]
    assert "while running" in killed.failure["message"]
    [stored] = [r for r in history.load_all(copied_home, stored=True) if r.status == "running"]

    assert recover_interrupted(copied_home) == [stored.build_id]
    record = history.latest(copied_home)
    assert record is not None and record.status == "interrupted"
    assert record.failure is not None and "stopped before finishing" in record.failure["message"]
    assert not copied_home.build_warehouse_path.exists()
    assert list(copied_home.build_dir.iterdir()) == []


def test_two_cli_rebuilds_started_together_run_exactly_one_and_refuse_the_other_politely(
    copied_home: Settings,
) -> None:
    runs_before = {record.build_id for record in history.load_all(copied_home)}
    processes = [start_pipeline(copied_home.home, "rebuild") for _ in range(2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    outcomes = [
        (process.returncode, output) for process, output in zip(processes, outputs, strict=True)
    ]

    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    refused_stderr = next(err for code, (_, err) in outcomes if code == 2)
    assert "Build not started: A build is already running (started by cli" in refused_stderr
    new_runs = [r for r in history.load_all(copied_home) if r.build_id not in runs_before]
    assert [run.status for run in new_runs] == ["success"]
    assert serving_build(copied_home) == new_runs[0].build_id


def test_reading_the_dashboard_data_during_a_build_never_fails_or_mixes_builds(
    copied_home: Settings,
) -> None:
    process = start_pipeline(copied_home.home, "rebuild")
    seen: set[str] = set()
    reads = 0
    try:
        while process.poll() is None:
            pointer = warehouse.current(copied_home)
            assert pointer is not None
            at_risk = queries.at_risk(pointer["path"])
            summary = queries.model_summary(pointer["path"])
            # One consistent build: every row was scored by the model that build registered.
            assert set(at_risk["model_version"]) == {summary["model_version"]}
            seen.add(pointer["build_id"])
            reads += 1
    finally:
        process.wait(timeout=600)
    assert process.returncode == 0
    assert reads > 5
    latest = history.latest(copied_home)
    assert latest is not None and latest.status == "success"
    assert serving_build(copied_home) == latest.build_id


def _small_file_limit() -> None:
    """In the child: files may not grow past 3 MB, as on a full disk (EFBIG, not a kill)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3 * 1024 * 1024, 3 * 1024 * 1024))


def test_a_full_disk_fails_the_build_cleanly_and_keeps_the_last_good_build(
    copied_home: Settings,
) -> None:
    before = serving_build(copied_home)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "rebuild"],
        cwd=ROOT,
        env={**os.environ, "BATON_HOME": str(copied_home.home)},
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_small_file_limit,
    )
    assert done.returncode == 1, done.stderr
    assert "The last good build keeps serving." in done.stderr
    assert serving_build(copied_home) == before
    record = history.latest(copied_home)
    assert record is not None and record.status == "failed"
    assert record.failure is not None and record.failure["message"]
    assert not copied_home.build_warehouse_path.exists()


def test_a_truncated_serving_warehouse_leaves_status_and_export_serving_an_intact_kept_build(
    copied_home: Settings, tmp_path: Path
) -> None:
    pointer = warehouse.current(copied_home)
    assert pointer is not None
    serving = Path(pointer["path"])
    # An older kept build (as publish leaves them): a copy, with its manifest.
    older = "20000101T000000Z-kept00"
    kept = copied_home.warehouses_dir / f"{older}.duckdb"
    shutil.copyfile(serving, kept)
    manifest = {"build_id": older, "bytes": kept.stat().st_size, "published_at": "2000-01-01"}
    warehouse.manifest_path(copied_home, older).write_text(json.dumps(manifest))
    data = serving.read_bytes()
    serving.write_bytes(data[: len(data) // 2])  # "IO Error: Could not read enough bytes"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return pipeline_cli(copied_home.home, *args, timeout=120)

    status = cli("status", "--json")
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert found["serving_build"] == older
    assert f"the warehouse of build {pointer['build_id']} is damaged" in found["serving_note"]
    assert found["model"]["model_version"]
    out = tmp_path / "at_risk.csv"
    export = cli("export-at-risk", "--out", str(out), "--top", "5")
    assert export.returncode == 0, export.stderr
    assert len(out.read_text().splitlines()) == 6
    text = cli("status")
    assert "Serving the newest intact kept build" in text.stdout
