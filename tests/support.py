"""Helpers shared by the app and browser test suites."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from pipeline import history, warehouse
from pipeline.build import spark
from pipeline.settings import ROOT, Settings


def copy_home(source: Settings, target: Path) -> Settings:
    """A copy of a built home (registry, warehouses, history, dbt's parse state; not its lock
    or build scratch) whose current.json names the copy's warehouse, not the original's."""
    shutil.copytree(source.home, target, ignore=shutil.ignore_patterns("build.lock", "build"))
    settings = Settings(home=target).ensure()
    pointer = warehouse.current(source)
    assert pointer is not None
    copied = target / "warehouses" / Path(pointer["path"]).name
    settings.current_pointer.write_text(
        settings.current_pointer.read_text().replace(pointer["path"], str(copied))
    )
    return settings


def edit_serving(settings: Settings, *statements: str, params: list[object] | None = None) -> None:
    """Run SQL on the warehouse in service, then record its new size in its manifest and in
    current.json, as a publish would: an edited file whose size no longer matches what was
    published reads as damaged, and whether an edit changes the size depends on DuckDB's
    block allocation, so a test that edits without this passes or fails by chance."""
    pointer = warehouse.current(settings)
    assert pointer is not None and "fallback" not in pointer
    path = Path(pointer["path"])
    with duckdb.connect(str(path)) as connection:
        for sql in statements:
            connection.execute(sql, params)
    size = path.stat().st_size
    manifest = warehouse.manifest_path(settings, pointer["build_id"])
    for sidecar in (manifest, settings.current_pointer):
        sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "bytes": size}))


def pipeline_cli(
    home: Path,
    *args: str,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`python -m pipeline ...` in a child process that finds its home through BATON_HOME, as
    a user runs it (`env` adds to the environment, e.g. BATON_ENGINE); its exit and output."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env={**os.environ, "BATON_HOME": str(home), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_pipeline(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`python -m pipeline ...` started in a child (stdout and stderr piped, as text), for
    tests that act while it runs: interrupt it, read beside it, start another."""
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=ROOT,
        env={**os.environ, "BATON_HOME": str(home), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def serving_build(settings: Settings) -> str | None:
    """The build id a home serves (None before the first publish)."""
    pointer = warehouse.current(settings)
    return pointer["build_id"] if pointer else None


def wait_for_nodes(settings: Settings, process: subprocess.Popen[str], done: int) -> None:
    """Wait until the running build (not the one serving) has finished `done` nodes (its
    progress.json says so), or fail after 3 minutes or when it ends first."""
    serving = serving_build(settings)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "the build ended before it could be interrupted"
        try:
            state = json.loads((settings.home / "progress.json").read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("done", 0) >= done and state.get("build_id") != serving:
            return
        time.sleep(0.1)
    pytest.fail("the build made no progress in 3 minutes")


def wait_for_new_build(settings: Settings, before: str | None, seconds: float = 180) -> str:
    """Wait until a build other than `before` serves (a running build may not fail meanwhile);
    its build id."""
    deadline = time.monotonic() + seconds
    while serving_build(settings) == before:
        latest = history.latest(settings)
        assert latest is None or latest.status in ("running", "success"), latest.failure
        assert time.monotonic() < deadline, f"no new build published in {seconds:.0f}s"
        time.sleep(2)
    after = serving_build(settings)
    assert after is not None
    return after


def run_pipeline(home: Path, *args: str, timeout: float = 600) -> str:
    """`pipeline_cli` that must succeed; its stdout."""
    result = pipeline_cli(home, *args, timeout=timeout)
    assert result.returncode == 0, f"pipeline {args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def cdnow_master() -> Path:
    """CDNOW_master.txt from the Lifetimes wheel (a dev dependency); skip without it, fail in CI."""
    import importlib.util

    import pytest

    locations = [Path("/tmp/cdnow-data")]
    spec = importlib.util.find_spec("lifetimes")
    if spec is not None and spec.submodule_search_locations:
        locations.insert(0, Path(spec.submodule_search_locations[0]) / "datasets")
    found = [folder / "CDNOW_master.txt" for folder in locations]
    master = next((path for path in found if path.is_file()), None)
    if master is None:
        message = f"CDNOW_master.txt is in none of {[str(p) for p in found]}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI installs it with the Lifetimes wheel (requirements-dev).")
        pytest.skip(f"{message} (install requirements-dev.txt for the Lifetimes wheel).")
    return master


@contextmanager
def read_only_mount(folder: Path) -> Iterator[Path]:
    """`folder` bind-mounted read-only onto itself, as a home on a read-only volume is (the
    paths inside it, such as current.json's, stay valid); unmounted afterwards.

    A real mount, not permissions: tests run as root, and root ignores file modes (a chmod'd
    home would still be writable). Needs root and mount rights: elsewhere the test is
    skipped, but in CI (CI=true, which runs as root) it must run, so it fails instead.
    """
    reason = ""
    if os.geteuid() != 0:
        reason = "needs root to bind-mount a read-only home"
    else:
        done = subprocess.run(
            ["mount", "--bind", "-o", "ro", str(folder), str(folder)],
            capture_output=True,
            text=True,
        )
        reason = "" if done.returncode == 0 else f"mount refused: {done.stderr.strip()}"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs as root and must test a read-only home: {reason}")
        pytest.skip(reason)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def require_spark() -> None:
    """Skip without Java or the Spark packages; in CI (env CI set), fail instead."""
    reason = spark.unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"Spark engine unavailable in CI: {reason}")
    pytest.skip(f"Spark engine unavailable: {reason}")
