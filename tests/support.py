"""Helpers shared by the app and browser test suites."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.settings import ROOT


def run_pipeline(home: Path, *args: str, timeout: float = 600) -> str:
    """Run `python -m pipeline ...` for one BATON_HOME, as a user would; return stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=ROOT,
        env={**os.environ, "BATON_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
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
