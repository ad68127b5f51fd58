"""Acceptance of the triage verdict: `python -m bench.triage --seeds 5 --clean-seeds 20`.

For every clean seed it generates demo data into a temporary home and rebuilds through
`pipeline.build.rebuild` (the button's code path, in a child process); for the first
`--seeds` of them, each scenario then starts from a copy of that clean home (so a model is in
service and a previous build exists), regenerates the raw data with the scenario and the
same seed, rebuilds, and checks the verdict:

| scenario | expected |
|---|---|
| clean | healthy |
| tracking_outage, late_data | data_quality, and the new model is not put in service |
| price_increase | world_change |
| schema_change | the build fails at the staging contract, data_quality, last good build serves |
| sql_change | pipeline_change naming stg_raw__activity and the analytics engineer |
| comment_change | healthy: a comment in a SQL model changes no feature |

The two code scenarios keep the clean data and rebuild a copy of the dbt project with one
edit (BATON_PROJECT_DIR), the way a teammate's pull request would change it.

Results go to bench/results/triage.json (rewritten after every build) and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import warehouse
from pipeline.settings import DBT_PROJECT_DIR, ROOT, Settings

RESULTS = ROOT / "bench" / "results" / "triage.json"
SCENARIOS = (
    "clean", "tracking_outage", "late_data", "price_increase", "schema_change", "sql_change",
    "comment_change",
)  # fmt: skip
EXPECTED = {
    "clean": "healthy",
    "tracking_outage": "data_quality",
    "late_data": "data_quality",
    "price_increase": "world_change",
    "schema_change": "data_quality",
    "sql_change": "pipeline_change",
    "comment_change": "healthy",
}
# Code scenarios: one edit to one file of a copy of the dbt project (file, old, new).
ACTIVITY_MODEL = "models/staging/stg_raw__activity.sql"
FROM_SOURCE = "    from source\n"
CODE_EDITS = {
    "sql_change": (
        ACTIVITY_MODEL,
        FROM_SOURCE,
        FROM_SOURCE + "    where hash(account_id) % 3 <> 0\n",
    ),
    "comment_change": (ACTIVITY_MODEL, FROM_SOURCE, "    from source -- reviewed\n"),
}
# One rebuild through the button's code path, printing its run record as JSON.
REBUILD = (
    "import json\n"
    "from dataclasses import asdict\n"
    "from pipeline.build.rebuild import rebuild\n"
    "from pipeline.settings import get_settings\n"
    "print(json.dumps(asdict(rebuild(get_settings(), trigger='bench-triage'))))\n"
)


@dataclass
class Outcome:
    """One scenario build and whether its verdict (and serving state) is the expected one."""

    scenario: str
    seed: int
    expected: str
    verdict: str | None
    correct: bool
    status: str
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the results file."""
        return dict(self.__dict__)


def _run(
    command: list[str], home: Path, timeout: float, project: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATON_HOME": str(home)}
    if project is not None:
        env["BATON_PROJECT_DIR"] = str(project)
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


def generate(home: Path, scenario: str, seed: int, customers: int, months: int) -> None:
    """Demo data with a scenario, as a user would write it (`python -m pipeline demo`)."""
    command = ["-m", "pipeline", "demo", "--customers", str(customers), "--months", str(months)]
    command += ["--seed", str(seed), "--scenario", scenario]
    done = _run(command, home, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"demo {scenario} seed {seed} failed:\n{done.stderr[-2000:]}")


def edited_project(home: Path, scenario: str) -> Path:
    """A copy of the dbt project with the scenario's one edit, beside the home."""
    relative, old, new = CODE_EDITS[scenario]
    project = home.parent / f"{home.name}-dbt_project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    path = project / relative
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"{scenario}: {old!r} is no longer in {relative}; update CODE_EDITS")
    path.write_text(text.replace(old, new, 1))
    return project


def rebuild(home: Path, project: Path | None = None) -> dict[str, Any]:
    """One rebuild in a child process (of `project`, a dbt project, if given); its record."""
    done = _run(["-c", REBUILD], home, timeout=3600, project=project)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"rebuild in {home} crashed:\n{done.stderr[-2000:]}")
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def copy_home(source: Path, target: Path) -> None:
    """A copy of a built home whose pointer names the copied warehouse."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("build.lock", "build"))
    pointer = warehouse.current(Settings(home=source))
    if pointer is not None:
        copied = target / "warehouses" / Path(pointer["path"]).name
        text = (target / "current.json").read_text().replace(pointer["path"], str(copied))
        (target / "current.json").write_text(text)


def judge(
    scenario: str, seed: int, record: dict[str, Any], before: dict[str, Any] | None, home: Path
) -> Outcome:
    """Compare a build's verdict and serving state with what the scenario should give."""
    triage = record.get("triage") or {}
    verdict = triage.get("verdict")
    expected = EXPECTED[scenario]
    correct = verdict == expected
    detail = "; ".join(str(item.get("message", "")) for item in triage.get("evidence", [])[:2])
    if scenario == "sql_change":
        summary = str(triage.get("summary", ""))
        named = "stg_raw__activity" in summary and triage.get("owner") == "analytics engineer"
        correct = correct and named
        detail = f"owner {triage.get('owner')}; {summary}"
    elif scenario == "schema_change":
        failure = record.get("failure") or {}
        pointer = warehouse.current(Settings(home=home)) or {}
        serving = before is not None and pointer.get("build_id") == before.get("build_id")
        correct = correct and record["status"] == "failed"
        correct = correct and failure.get("layer") == "source data" and serving
        detail = f"failed at {failure.get('node')} ({failure.get('layer')}); " + (
            "last good build serving" if serving else "last good build NOT serving"
        )
    elif expected == "data_quality" and before is not None:
        kept = record.get("model_version") == before.get("model_version")
        correct = correct and kept and record.get("promoted") is False
        detail = ("model kept; " if kept else "NEW MODEL PROMOTED; ") + detail
    return Outcome(
        scenario, seed, expected, verdict, correct, record["status"], detail[:300],
        float(record.get("seconds") or 0.0),
    )  # fmt: skip


def summarize(outcomes: list[Outcome]) -> dict[str, Any]:
    """Correct / runs per scenario and the false-alarm rate of the clean seeds."""
    table = {
        scenario: {
            "correct": sum(o.correct for o in outcomes if o.scenario == scenario),
            "runs": sum(o.scenario == scenario for o in outcomes),
        }
        for scenario in SCENARIOS
    }
    clean = [o for o in outcomes if o.scenario == "clean"]
    alarms = sum(o.verdict != "healthy" for o in clean)
    return {
        "scenarios": table,
        "clean_false_alarms": alarms,
        "clean_false_alarm_rate": alarms / len(clean) if clean else None,
    }


def markdown(summary: dict[str, Any], customers: int, months: int = 24) -> str:
    """The results table of docs/monitoring.md."""
    lines = [
        f"| scenario ({customers:,} accounts x {months} months) | expected verdict "
        "| correct / seeds |",
        "|---|---|---|",
    ]
    for scenario, counts in summary["scenarios"].items():
        if counts["runs"]:
            expected = EXPECTED[scenario]
            if scenario == "schema_change":
                expected = "data_quality, build failed at the contract, last good build serving"
            elif expected == "data_quality":
                expected = "data_quality, new model not put in service"
            elif scenario == "sql_change":
                expected = "pipeline_change, naming the model and the analytics engineer"
            lines.append(f"| {scenario} | {expected} | {counts['correct']} / {counts['runs']} |")
    rate = summary["clean_false_alarm_rate"]
    if rate is not None:
        runs = summary["scenarios"]["clean"]["runs"]
        lines.append(
            f"\nClean false-alarm rate: {summary['clean_false_alarms']} of {runs} ({rate:.0%})."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the acceptance harness; exit 0 when every verdict is right."""
    parser = argparse.ArgumentParser(prog="python -m bench.triage", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per scenario")
    parser.add_argument("--clean-seeds", type=int, default=20, help="seeds of clean data")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the homes here")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS[1:]),
        help="comma-separated scenarios to run on each of the first --seeds clean homes "
        "(default: all); e.g. sql_change,comment_change for the code scenarios alone",
    )
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SCENARIOS[1:]))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {SCENARIOS[1:]}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="baton-triage-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    outcomes: list[Outcome] = []

    def save() -> dict[str, Any]:
        summary = summarize(outcomes)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {
                    "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "customers": args.customers,
                    "months": args.months,
                    "seeds": args.seeds,
                    "clean_seeds": args.clean_seeds,
                    "wall_seconds": round(time.time() - started, 1),
                    "summary": summary,
                    "runs": [o.as_dict() for o in outcomes],
                },
                indent=2,
            )
        )
        return summary

    for seed in range(args.first_seed, args.first_seed + args.clean_seeds):
        clean = workdir / f"clean-{seed}"
        shutil.rmtree(clean, ignore_errors=True)
        generate(clean, "clean", seed, args.customers, args.months)
        before = rebuild(clean)
        outcomes.append(judge("clean", seed, before, None, clean))
        print(_line(outcomes[-1]), flush=True)
        save()
        if seed >= args.first_seed + args.seeds or before["status"] != "success":
            continue
        for scenario in (name for name in SCENARIOS[1:] if name in chosen):
            home = workdir / f"{scenario}-{seed}"
            shutil.rmtree(home, ignore_errors=True)
            copy_home(clean, home)
            project = None
            if scenario in CODE_EDITS:
                project = edited_project(home, scenario)
            else:
                generate(home, scenario, seed, args.customers, args.months)
            outcomes.append(judge(scenario, seed, rebuild(home, project), before, home))
            print(_line(outcomes[-1]), flush=True)
            save()
            if args.workdir is None:
                shutil.rmtree(home, ignore_errors=True)
                if project is not None:
                    shutil.rmtree(project, ignore_errors=True)
        if args.workdir is None:
            shutil.rmtree(clean, ignore_errors=True)
    summary = save()
    print()
    print(markdown(summary, args.customers, args.months))
    print(f"\nResults in {args.out} ({time.time() - started:.0f} s).")
    return 0 if all(o.correct for o in outcomes) else 1


def _line(outcome: Outcome) -> str:
    mark = "ok  " if outcome.correct else "FAIL"
    return (
        f"{mark} {outcome.scenario:<16} seed {outcome.seed:<3} verdict {outcome.verdict} "
        f"({outcome.status}, {outcome.seconds:.0f}s) {outcome.detail[:120]}"
    )


if __name__ == "__main__":
    sys.exit(main())
