"""Fault injection: a real `python -m pipeline rebuild` killed at seeded random points.

Points span start-up, SQL models, Python models and publish. Each is exact: the build pauses
there when BATON_FAULT_POINT names it (pipeline/build/faults.py: `started`, `context`,
`node:<model>` as dbt starts a model, and the steps of publish), writes the point's name to
BATON_FAULT_MARKER, and the test kills it (SIGKILL, or SIGTERM where a signal can be
handled). Every point kills a copy of the one session build (tests/conftest.py `built`), then
checks: a good build serves and reads, the record says interrupted (with the model it
reached), and the next rebuild succeeds and leaves no scratch, spill or unpublished
warehouse behind. (tests/dbt/test_build_resilience.py and test_build_interruptions.py kill
builds mid-query too.)
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline import history, warehouse
from pipeline.build import faults
from pipeline.build.rebuild import rebuild
from pipeline.read import queries
from pipeline.settings import DBT_PROJECT_DIR, Settings
from tests.conftest import BuiltHome
from tests.support import start_pipeline

pytestmark = pytest.mark.slow

SEED = 20261206
MODELS = DBT_PROJECT_DIR / "models"
PYTHON_MODELS = sorted(path.stem for path in MODELS.rglob("*.py"))
# The flat models do not run on event data.
SQL_MODELS = sorted(path.stem for path in MODELS.rglob("*.sql") if "flat" not in path.parts)


@dataclass(frozen=True)
class Point:
    """Where to kill: a named pause point, or the start of a model (by progress.json)."""

    phase: str  # start-up, SQL model, Python model, publish
    name: str
    signal: signal.Signals

    @property
    def id(self) -> str:
        return f"{self.phase.replace(' ', '-')}:{self.name}:{self.signal.name}"


def points(seed: int = SEED) -> list[Point]:
    """Ten points over the four phases, chosen and signalled at random, reproducibly (each
    costs about two small builds: about 5 minutes in all on 2 quiet cores)."""
    rng = random.Random(seed)

    def handled() -> signal.Signals:
        return rng.choice([signal.SIGKILL, signal.SIGTERM])

    return [
        Point("start-up", "started", handled()),
        Point("start-up", "context", handled()),
        *(Point("SQL model", name, handled()) for name in rng.sample(SQL_MODELS, 2)),
        *(Point("Python model", name, handled()) for name in rng.sample(PYTHON_MODELS, 2)),
        # A publish holds signals until it is done, so only SIGKILL can cut it short.
        *(
            Point("publish", name, signal.SIGKILL)
            for name in ("publish:moved", "publish:manifest", "publish:pointer", "recorded")
        ),
    ]


POINTS = points()
TIMINGS: list[tuple[str, float]] = []


def hook(point: Point) -> str:
    """The BATON_FAULT_POINT name of a point."""
    return f"node:{point.name}" if point.phase.endswith("model") else point.name


def running_nodes(home: Settings) -> list[str]:
    """The nodes the build's progress file says are running (dbt runs several at once)."""
    try:
        running = json.loads((home.home / "progress.json").read_text()).get("running") or {}
    except (OSError, ValueError):
        return []
    return [str(name) for name, _ in running.values()]


def reach(point: Point, process: subprocess.Popen[str], marker: Path, home: Settings) -> None:
    """Wait until the build pauses at `point` and, at a model, until its progress file says
    so (written by another thread a moment later); fail if it ends first or takes 3 minutes."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the build ended before {point.id}"
        paused = marker.exists() and marker.read_text() == hook(point)
        if paused and (not point.phase.endswith("model") or point.name in running_nodes(home)):
            return
        time.sleep(0.02)
    pytest.fail(f"the build never reached {point.id}")


@pytest.fixture(scope="module")
def workplace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One path every point's home is copied to, so dbt's vars (which name the home's files)
    stay the same from point to point and dbt's partial parse is reused."""
    return tmp_path_factory.mktemp("fault-injection") / "home"


def fresh_copy(built: BuiltHome, target: Path) -> Settings:
    """A copy of the session's built home at `target`, keeping the dbt parse state that a
    previous point left there (parsed with this path's vars)."""
    parsed = target.parent / "dbt_target"
    if (target / "dbt_target").exists():
        shutil.rmtree(parsed, ignore_errors=True)
        (target / "dbt_target").rename(parsed)
    shutil.rmtree(target, ignore_errors=True)
    skip = ["build.lock", "dbt_target"] if parsed.exists() else ["build.lock"]
    shutil.copytree(built.settings.home, target, ignore=shutil.ignore_patterns(*skip))
    if parsed.exists():
        parsed.rename(target / "dbt_target")
    settings = Settings(home=target)
    source = str(warehouse.current(built.settings)["path"])  # type: ignore[index]
    copied = str(target / "warehouses" / Path(source).name)
    settings.current_pointer.write_text(
        settings.current_pointer.read_text().replace(source, copied)
    )
    return settings


@pytest.mark.parametrize("point", POINTS, ids=[point.id for point in POINTS])
def test_a_build_killed_at_any_point_leaves_a_good_build_serving_and_a_true_record(
    built: BuiltHome, workplace: Path, tmp_path: Path, point: Point
) -> None:
    started = time.monotonic()
    home = fresh_copy(built, workplace)
    before = warehouse.current(home)
    assert before is not None
    marker = tmp_path / "reached"
    env = {faults.POINT_ENV: hook(point), faults.MARKER_ENV: str(marker)}
    process = start_pipeline(home.home, "rebuild", env=env)
    try:
        reach(point, process, marker, home)
        process.send_signal(point.signal)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    killed = history.load_all(home)[0]

    # A good build serves: the one before, or this one if the kill came after its pointer.
    served = warehouse.current(home)
    assert served is not None and "fallback" not in served
    after_pointer = point.name in ("publish:pointer", "recorded")
    assert served["build_id"] == (killed.build_id if after_pointer else before["build_id"])
    assert len(queries.at_risk(served["path"])) > 0
    # A warehouse that was not published never counts as the previous build.
    if not after_pointer:
        assert warehouse.previous(home) != home.warehouses_dir / f"{killed.build_id}.duckdb"

    # The record says interrupted, with the step, at once (no next build needed).
    assert killed.status == "interrupted", (point.id, killed.failure)
    assert killed.failure is not None
    if point.phase in ("SQL model", "Python model"):
        # dbt runs several nodes at once: the record names the longest running, and the
        # sentence every node that was running, the killed point's among them.
        assert f" {point.name}" in killed.failure["message"], killed.failure["message"]
        assert killed.failure["node"]
    if point.signal == signal.SIGTERM:
        assert process.returncode == 143 and "Traceback" not in stderr
        assert history.load_all(home, stored=True)[0].status == "interrupted"  # recorded
    else:
        assert f"pid {process.pid}" in killed.failure["message"]

    # The next rebuild succeeds and leaves nothing behind.
    record = rebuild(home, trigger="test-after-kill")
    assert record.status == "success", record.failure
    assert warehouse.current(home)["build_id"] == record.build_id  # type: ignore[index]
    assert list(home.build_dir.iterdir()) == []  # scratch and DuckDB spill files
    published = {kept["build_id"] for kept in warehouse.kept(home)}
    assert {p.stem for p in home.warehouses_dir.glob("*.duckdb")} == published
    assert not list(home.home.glob(".*.tmp")) and not list(home.warehouses_dir.glob(".*.tmp"))
    stored = {r.build_id: r for r in history.load_all(home, stored=True)}
    assert stored[killed.build_id].status == "interrupted"
    assert stored[killed.build_id].published == after_pointer
    assert not any(r.status == "running" for r in stored.values())
    TIMINGS.append((point.id, time.monotonic() - started))


def test_fault_points_cover_every_phase_with_at_least_ten_points() -> None:
    phases = {point.phase for point in POINTS}
    assert phases == {"start-up", "SQL model", "Python model", "publish"}
    assert len(POINTS) >= 10
    assert points() == POINTS  # seeded: the same points on every run
    if TIMINGS:
        print("\n".join(f"{name}: {seconds:.1f}s" for name, seconds in TIMINGS))
