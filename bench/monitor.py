"""Run one child process and sample its memory (and the build's progress) every ~0.2 s."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

INTERVAL_SECONDS = 0.2


@dataclass(frozen=True)
class Sample:
    """Memory of the process tree at one moment, and what the build was doing then."""

    t: float
    rss_kib: int  # VmRSS summed over the process and its descendants
    hwm_kib: int  # VmHWM (peak so far) of the main process
    label: str = ""  # a stage name or the dbt node running (see stages.attribute)


@dataclass
class ChildRun:
    """How a child process ended: exit code, wall time, samples and its kernel-counted peak."""

    returncode: int
    started: float
    ended: float
    peak_kib: int  # max of ru_maxrss (kernel) and the sampled tree RSS
    samples: list[Sample] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""

    @property
    def seconds(self) -> float:
        """Wall time from launch to exit."""
        return self.ended - self.started


def _status_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB) of one process; empty if it is gone."""
    values: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return values


def descendants(pid: int) -> list[int]:
    """Child processes of `pid`, recursively (from /proc/<pid>/task/*/children)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids = [int(p) for p in children.read_text().split()]
        except (OSError, ValueError):
            continue
        for child in pids:
            found += [child, *descendants(child)]
    return found


def sample(pid: int, label: str = "") -> Sample:
    """One memory sample of the tree rooted at `pid`."""
    main = _status_kib(pid)
    rss = main.get("VmRSS", 0) + sum(_status_kib(c).get("VmRSS", 0) for c in descendants(pid))
    return Sample(time.time(), rss, main.get("VmHWM", 0), label)


def run_child(
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    log_dir: Path,
    label: Callable[[], str] | None = None,
) -> ChildRun:
    """Run `command` to completion, sampling RSS (and `label()`) every INTERVAL_SECONDS."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.txt", log_dir / "stderr.txt"
    samples: list[Sample] = []
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.time()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            samples.append(sample(process.pid, label() if label else ""))
            time.sleep(INTERVAL_SECONDS)
        ended = time.time()
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    peak = max([usage.ru_maxrss, *(s.rss_kib for s in samples)])
    return ChildRun(
        returncode=process.returncode,
        started=started,
        ended=ended,
        peak_kib=peak,
        samples=samples,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )
