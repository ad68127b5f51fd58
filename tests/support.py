"""Helpers shared by the app and browser test suites."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
