"""`python -m bench`: demo data, rebuilds (cold, again, one more day), pages, export and the
floor at each size."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import daily, report, stages
from bench.monitor import ChildRun, run_child
from pipeline import history
from pipeline.build import progress
from pipeline.settings import DEFAULT_ENGINE, ENGINES, ROOT, Settings, build_threads

SIZES = {"S": 5_000, "M": 100_000, "L": 1_000_000}
APP_SIZE = "M"  # pages and export are timed here, or at the largest size run
RESULTS_DIR = ROOT / "bench" / "results"
# The button's code path (pipeline.build.rebuild), with its own trigger name.
REBUILD = (
    "import sys\n"
    "from pipeline.build.rebuild import rebuild\n"
    "from pipeline.settings import get_settings\n"
    "record = rebuild(get_settings(), trigger='bench')\n"
    "print(record.build_id)\n"
    "print(record.failure or '', file=sys.stderr)\n"
    "sys.exit(0 if record.status == 'success' else 1)\n"
)


# What a rebuild's record says about its snapshot months (pipeline/build/incremental.py).
MONTH_KEYS = ("full", "reason", "recompute_from", "months_recomputed", "months_kept")


class ChildFailedError(RuntimeError):
    """A child process (demo, rebuild, floor, pages) exited with an error."""


def parse_sizes(text: str | None, customers: int | None) -> list[tuple[str, int]]:
    """Named sizes from `S,M,L` plus a custom `--customers N` (default: S, M and L)."""
    names = [n.strip().upper() for n in text.split(",") if n.strip()] if text else []
    if not names and customers is None:
        names = list(SIZES)
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size(s) {unknown}; use {', '.join(SIZES)} or --customers N")
    chosen = [(name, SIZES[name]) for name in names]
    return chosen + ([(f"{customers:,}", customers)] if customers else [])


def _mib(kib: float) -> float:
    return kib / 1024


def _checked(run: ChildRun, what: str) -> ChildRun:
    """The run, or ChildFailedError with the tail of its stderr."""
    if run.returncode != 0:
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        raise ChildFailedError(f"{what} exited with {run.returncode}:\n{tail}")
    return run


def _child(command: list[str], env: dict[str, str], logs: Path, what: str) -> ChildRun:
    """Run a Python child from the project root and fail loudly if it fails."""
    return _checked(run_child([sys.executable, *command], env, ROOT, logs), what)


def generate(
    settings: Settings, env: dict[str, str], customers: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Demo data through the CLI: wall time and peak RSS."""
    command = ["-m", "pipeline", "demo", "--customers", str(customers)]
    command += ["--months", str(args.months), "--seed", str(args.seed)]
    run = _child(command, env, settings.home / "bench_logs" / "demo", "demo")
    return {"seconds": run.seconds, "peak_mib": _mib(run.peak_kib), "output": run.stdout.strip()}


def rebuild(settings: Settings, env: dict[str, str], name: str) -> dict[str, Any]:
    """One rebuild in a child process: per-stage seconds and peak MiB, total, slowest nodes."""
    launched = time.time()

    def label() -> str:
        return stages.progress_label(progress.read(settings), launched)

    logs = settings.home / "bench_logs" / name
    run = _checked(run_child([sys.executable, "-c", REBUILD], env, ROOT, logs, label), name)
    # The last word: DuckDB may draw a progress bar (no newline) on the line before it.
    build_id = run.stdout.split()[-1]
    record = next(r for r in history.load_all(settings) if r.build_id == build_id)
    target = settings.dbt_target_dir
    manifest = json.loads((target / "manifest.json").read_text())
    by_node = stages.node_stages(record.nodes, manifest)
    dbt = stages.dbt_times(json.loads((target / "run_results.json").read_text()))
    build_started = float((progress.read(settings) or {}).get("started", run.started))
    seconds = stages.stage_seconds(
        record.nodes, by_node, run.started, dbt, build_started + (record.seconds or 0), run.ended
    )
    peaks = stages.attribute(run.samples, by_node)
    slowest = sorted(record.nodes, key=lambda n: -float(n["seconds"]))[:5]
    return {
        "build_id": build_id,
        "seconds": run.seconds,
        "peak_mib": _mib(run.peak_kib),
        "stages": {s: {"seconds": seconds[s], "peak_mib": peaks.get(s)} for s in stages.STAGES},
        "slowest_nodes": {n["name"]: round(float(n["seconds"]), 2) for n in slowest},
        "tests": record.tests,
        "rows": record.rows,
        "samples": len(run.samples),
        # Full refresh or incremental, why, and the snapshot months recomputed and kept.
        "months": {key: (record.incremental or {}).get(key) for key in MONTH_KEYS},
    }


def floor_env(env: dict[str, str]) -> dict[str, str]:
    """The floor's environment: no ML cache (it must compute), and OpenMP threads that sleep
    when idle as in a build (`pipeline` sets that on import; the floor imports XGBoost first)."""
    return {"OMP_WAIT_POLICY": "PASSIVE", **env, "BATON_ML_CACHE": "off"}


def add_day(settings: Settings) -> dict[str, Any]:
    """Append the day after the newest one to the raw data (bench/daily.py), timed."""
    started = time.perf_counter()
    added = daily.append_day(settings.raw_path)
    return {**added, "seconds": time.perf_counter() - started}


def json_child(module: str, args: list[str], env: dict[str, str], logs: Path) -> dict[str, Any]:
    """Run `python -m module args` and return its JSON output plus its peak MiB."""
    run = _child(["-m", module, *args], env, logs, module)
    return {**json.loads(run.stdout.strip().splitlines()[-1]), "peak_mib": _mib(run.peak_kib)}


def bench_size(
    name: str, customers: int, args: argparse.Namespace, workdir: Path, with_app: bool
) -> dict[str, Any]:
    """Every measurement of one size, in a fresh BATON_HOME."""
    (workdir / "homes").mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix=f"{customers}-", dir=workdir / "homes"))
    settings = Settings(home=home, engine=args.engine)
    env = {**os.environ, **dict(args.env), "BATON_HOME": str(home), "BATON_ENGINE": args.engine}
    logs = home / "bench_logs"
    print(f"[{name}] {customers:,} accounts in {home}", file=sys.stderr, flush=True)
    result: dict[str, Any] = {"size": name, "customers": customers, "home": str(home)}
    # A failing step keeps what was measured before it; a failing floor (say, out of memory)
    # is recorded and the day after still measured.
    try:
        result["generate"] = generate(settings, env, customers, args)
        print(f"[{name}] generated: {result['generate']['output']}", file=sys.stderr, flush=True)
        result["rebuild"] = rebuild(settings, env, "rebuild")
        seconds = result["rebuild"]["seconds"]
        print(f"[{name}] rebuilt in {seconds:.0f}s", file=sys.stderr, flush=True)
        if args.cold_only:
            return result
        result["rebuild2"] = rebuild(settings, env, "rebuild2")
        if args.engine == "duckdb":  # the floor replays DuckDB SQL; a Spark build compiles Spark's
            try:
                floor = json_child("bench.floor", [str(home)], floor_env(env), logs / "floor")
                result["floor"] = floor
                result["ratio_by_stage"] = report.ratio_by_stage(result["rebuild"], floor)
            except ChildFailedError as error:  # the day after is still measured
                result["floor_error"] = str(error)
                print(f"[{name}] floor: {error}", file=sys.stderr, flush=True)
        # The floor ran on the cold build's data; the day after changes it.
        result["daily_data"] = add_day(settings)
        result["daily"] = rebuild(settings, env, "daily")
        seconds = result["daily"]["seconds"]
        print(f"[{name}] one more day rebuilt in {seconds:.0f}s", file=sys.stderr, flush=True)
        if with_app:
            result["app"] = json_child("bench.app_timing", [], env, logs / "app")
    except ChildFailedError as error:
        result["error"] = str(error)
        print(f"[{name}] {error}", file=sys.stderr, flush=True)
    return result


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    cli = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    cli.add_argument("--sizes", help="comma-separated S,M,L (default: all three)")
    cli.add_argument("--customers", type=int, help="a custom size: this many accounts")
    cli.add_argument("--months", type=int, default=24)
    cli.add_argument("--seed", type=int, default=42)
    cli.add_argument("--out", type=Path, help="JSON file (default bench/results/<timestamp>.json)")
    cli.add_argument("--workdir", type=Path, help="where the temporary homes go (default: /tmp)")
    cli.add_argument("--keep", action="store_true", help="keep the homes for inspection")
    cli.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="what the rebuilds build on (BATON_ENGINE); spark needs `make spark-setup` and "
        "Java, its driver memory is BATON_SPARK_MEMORY (--env), and it has no floor",
    )
    cli.add_argument(
        "--cold-only",
        action="store_true",
        help="only the first (cold) rebuild of each size: no second build, day after or pages "
        "(for a slow engine's large sizes)",
    )
    cli.add_argument(
        "--env",
        action="append",
        default=[],
        type=lambda text: tuple(text.split("=", 1)),
        metavar="KEY=VALUE",
        help="extra environment for every child, e.g. OMP_WAIT_POLICY=PASSIVE",
    )
    return cli


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write the JSON after every size, print the markdown tables."""
    args = parser().parse_args(argv)
    sizes = parse_sizes(args.sizes, args.customers)
    app_size = APP_SIZE if APP_SIZE in dict(sizes) else max(sizes, key=lambda s: s[1])[0]
    out = args.out or RESULTS_DIR / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": {
            "months": args.months,
            "seed": args.seed,
            "env": dict(args.env),
            "engine": args.engine,
            "cold_only": args.cold_only,
            # dbt threads of the builds, as the harness's environment sets them (an --env
            # BATON_BUILD_THREADS in `env` overrides it for the children).
            "build_threads": build_threads(),
        },
        "machine": report.machine(),
        "sizes": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="baton-bench-", dir=args.workdir))
    print(f"Writing {out}; homes under {workdir}", file=sys.stderr)
    failed = False
    try:
        for name, customers in sizes:
            measured = bench_size(name, customers, args, workdir, name == app_size)
            failed = "error" in measured
            result["sizes"].append(measured)
            result["machine"]["load_average_end"] = os.getloadavg()
            out.write_text(json.dumps(result, indent=2))
            if not args.keep:  # free the disk before the next, larger size
                shutil.rmtree(workdir / "homes", ignore_errors=True)
            if failed:
                break
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    result["sizes"] = [size for size in result["sizes"] if "rebuild" in size]
    print(report.markdown(result))
    print(f"Results: {out}", file=sys.stderr)
    return 1 if failed else 0
