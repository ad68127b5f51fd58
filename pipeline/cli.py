"""`python -m pipeline ...`: the same pipeline as the app, for shells and schedulers."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

import demo
from pipeline import dataset, history, warehouse
from pipeline.access import shell_user
from pipeline.build import context, docs, preview, progress, registry
from pipeline.build.lock import BuildRefusedError, build_lock
from pipeline.build.progress import Progress
from pipeline.build.rebuild import BuildSetupError, rebuild
from pipeline.ingest import importer, mapping, validation
from pipeline.read import diff, export, queries, sentences, work_queue
from pipeline.settings import Settings, get_settings


def _progress_printer() -> Callable[[Progress], None]:
    """A bar redrawn to fit the terminal; in a log (no terminal), one line per stage."""
    shown = {"stage": ""}

    def show(state: Progress) -> None:
        if sys.stderr.isatty():
            width = shutil.get_terminal_size().columns
            line = progress.describe(state.to_dict(), bar=True, width=width)
            print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)
        elif state.stage != shown["stage"]:
            shown["stage"] = state.stage
            print(state.line(), file=sys.stderr, flush=True)

    return show


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Write demo raw data into BATON_HOME (or, with --out, into a file to import)."""
    settings.ensure()
    target = Path(args.out) if args.out else settings.raw_path
    options = {
        "customers": args.customers,
        "months": args.months,
        "seed": args.seed,
        "scenario": args.scenario,
        "scenario_start": args.scenario_start,
    }
    scenario = "" if args.scenario == "clean" else f", scenario {args.scenario}"
    if args.out:
        counts = demo.generate(target, **options)
        rows = ", ".join(f"{table}: {count:,}" for table, count in counts.items())
        print(f"Demo data written to {target} ({rows}{scenario}); import it with a mapping.")
        return 0
    # Raw data is replaced under the build lock, like an import: never under a running build.
    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with build_lock(settings.lock_path, {"trigger": "demo", "started_at": started}):
            counts = demo.generate(target, **options)
            dataset.save(settings, dataset.DEMO, {})
    except BuildRefusedError as error:
        print(f"Demo data not written: {error}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{table}: {count:,}" for table, count in counts.items())
    print(f"Demo data written to {target} ({rows}{scenario})")
    return 0


def _month(text: str) -> date:
    """`YYYY-MM` (or a full date) as the first day of that month, for --scenario-start."""
    try:
        return date.fromisoformat(f"{text}-01" if len(text) == 7 else text).replace(day=1)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a month like 2026-07, not {text!r}") from error


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Load your own data through a mapping file; exit 1 listing every problem found."""
    try:
        counts = importer.import_mapping(
            mapping.read_mapping(Path(args.mapping), settings), settings, by=shell_user()
        )
    except mapping.MappingError as error:
        print(
            f"Import failed; raw data and the serving build are unchanged. "
            f"{len(error.problems)} problem(s):\n{validation.report(error.problems)}",
            file=sys.stderr,
        )
        return 1
    except BuildRefusedError as error:
        print(f"Import not applied: {error}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{table}: {count:,}" for table, count in counts.items())
    print(f"Imported into {settings.raw_path} ({rows}). Run `python -m pipeline rebuild` next.")
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Run the full build; exit 0 on success, 1 with a one-line reason otherwise."""
    try:
        record = rebuild(
            settings,
            trigger="cli",
            on_progress=_progress_printer(),
            by=shell_user(),
            full_refresh=getattr(args, "full_refresh", False),
        )
    except (BuildRefusedError, BuildSetupError) as error:
        print(f"Build not started: {error}", file=sys.stderr)
        return 2
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if record.status == "success":
        print(
            f"Build {record.build_id} succeeded in {record.seconds:.1f}s; "
            f"model {record.model_version} in service; "
            f"tests passed {record.tests.get('passed', 0)}, failed {record.tests.get('failed', 0)}."
        )
        return 0
    failure = record.failure or {}
    message = failure.get("message", "")
    serving = (
        "" if "last good build keeps serving" in message else " The last good build keeps serving."
    )
    if record.status == "interrupted":
        print(f"Build {record.build_id} interrupted: {message}{serving}", file=sys.stderr)
        name = failure.get("signal", "SIGINT")
        return 128 + int(getattr(signal.Signals, name, signal.SIGINT))
    print(
        f"Build {record.build_id} failed at {failure.get('node') or 'an unknown step'} "
        f"({failure.get('layer', 'unknown')} layer): {message}{serving}",
        file=sys.stderr,
    )
    return 1


def _serving_path(settings: Settings) -> str | None:
    pointer = warehouse.current(settings)
    return pointer["path"] if pointer else None


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the at-risk CSV exactly as the app's download button does."""
    path = _serving_path(settings)
    if path is None:
        print("No published build yet: run `python -m pipeline rebuild` first.", file=sys.stderr)
        return 1
    asks_value = args.min_value is not None or args.max_value is not None
    if (asks_value or args.sort == "expected_loss") and not queries.dataset_words(path).has_value:
        print(
            "This data has no amounts (no payments or revenue column), so customers have no "
            "value at risk to filter or sort by: drop --min-value, --max-value and "
            "--sort expected_loss.",
            file=sys.stderr,
        )
        return 2
    queue = work_queue.QueueFilter(
        segments=tuple(args.segment),
        plans=tuple(args.plan),
        regions=tuple(args.region),
        min_value=args.min_value,
        max_value=args.max_value,
        order=args.sort,
    )
    rows = queries.at_risk_with_movement(path, warehouse.previous(settings))
    frame = queries.export_list(path, work_queue.select(rows, queue), top=args.top)
    Path(args.out).write_bytes(export.to_csv_bytes(frame))
    print(f"Wrote {len(frame)} customers to {args.out}")
    tie = work_queue.largest_tie(frame["risk_pct"]) if args.sort == "risk" else None
    if tie is not None and queries.dataset_words(path).has_value:
        print(
            f"{sentences.tied_risks(tie[0], len(frame), tie[1])} --sort expected_loss puts "
            "those worth most first."
        )
    common = queries.common_reasons(path)
    if not common.empty:
        print(sentences.shared_reasons(common, queries.capacity_k(path)))
    return 0


def status(settings: Settings) -> dict[str, Any]:
    """The last build, the model in service and its backtest metrics, as plain data."""
    last = history.latest(settings)
    path = _serving_path(settings)
    result: dict[str, Any] = {
        # The engine builds run on now (BATON_ENGINE); each build's own is in its record.
        "engine": settings.engine,
        "serving_engine": _serving_engine(settings),
        "last_build": asdict(last) if last else None,
        "serving_build": (warehouse.current(settings) or {}).get("build_id"),
        # Set when current.json or its warehouse is damaged and a kept build serves instead.
        "serving_note": (warehouse.current(settings) or {}).get("fallback"),
        "model": None,
        "backtest": [],
        "triage": queries.build_triage(last, warehouse.current(settings)),
        "data_age": None,
        # Who imported data or chose the model (who built is each build's triggered_by).
        "actions": history.actions(settings, last=20),
    }
    if path is not None:
        summary = queries.model_summary(path)
        every = queries.dataset_words(path).expected_every_days
        age, stale = sentences.data_age(summary.get("newest_data"), date.today(), every)
        result["data_age"] = {
            "text": age,
            "stale_warning": sentences.stale_warning(age, every) if stale else None,
        }
        result["model"] = {key: _plain(value) for key, value in summary.items()}
        metrics = queries.backtest_metrics(path)
        result["backtest"] = [
            {key: _plain(value) for key, value in row.items()} for row in metrics.to_dict("records")
        ]
    return result


def _serving_engine(settings: Settings) -> str | None:
    """The engine that built the warehouse in service (from its run record), or None."""
    pointer = warehouse.current(settings)
    if pointer is None:
        return None
    for record in history.load_all(settings):
        if record.build_id == pointer["build_id"]:
            return record.engine
    return None


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Print the status (JSON with --json, a short summary otherwise)."""
    data = status(settings)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    last = data["last_build"]
    if last is None:
        print("No build yet. Run `python -m pipeline rebuild`.")
        return 0
    by = f" by {last['triggered_by']}" if last.get("triggered_by") else ""
    print(
        f"Last build {last['build_id']}: {last['status']} "
        f"({last['trigger']}{by}, {last['started_at']})"
    )
    if last.get("failure"):
        failure = last["failure"]
        print(f"  failed at {failure['node']} ({failure['layer']}): {failure['message']}")
    model = data["model"] or {}
    print(f"Serving build {data['serving_build']}, model {model.get('model_version')}")
    if data["serving_note"]:
        print(f"  {data['serving_note']}")
    if data.get("data_age"):
        print(data["data_age"]["stale_warning"] or data["data_age"]["text"])
    metrics = pd.DataFrame(data["backtest"])
    if not metrics.empty:
        headline = sentences.flagged_and_left(metrics, int(metrics["capacity_k"].iloc[0]))
        if headline:
            print(headline)
    verdict = data["triage"]
    if verdict:
        print(f"Verdict {verdict['verdict']} (owner: {verdict['owner']}): {verdict['summary']}")
    return 0


def cmd_docs(args: argparse.Namespace, settings: Settings) -> int:
    """Generate dbt docs of the serving build (lineage and every model's columns)."""
    try:
        target = docs.generate(settings)
    except (docs.NoBuildError, BuildRefusedError, RuntimeError) as error:
        print(f"Docs not generated: {error}", file=sys.stderr)
        return 1
    print(
        f"Docs written to {target}. Open {target / 'index.html'}, or serve them: "
        f"cd {target} && python -m http.server --bind 127.0.0.1 8080"
    )
    return 0


def cmd_dbt_vars(args: argparse.Namespace, settings: Settings) -> int:
    """Print the --vars of a build, for running dbt by hand; write its context database."""
    settings.ensure()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with build_lock(settings.lock_path, {"trigger": "dbt-vars", "started_at": started}):
            context.write_context(settings, f"manual-{started}")
    except BuildRefusedError as error:
        print(f"Not now: {error}", file=sys.stderr)
        return 2
    print(json.dumps(context.dbt_vars(settings), sort_keys=True))
    return 0


def cmd_diff(args: argparse.Namespace, settings: Settings) -> int:
    """What changed between two builds and what it did (default: serving vs the one before)."""
    try:
        before, after = diff.default_pair(settings, args.after, args.before)
        data = diff.report(settings, before, after)
    except diff.UnknownBuildError as error:
        print(str(error), file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2, default=str) if args.json else diff.markdown(data))
    return 0


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    """Build the working tree's project without publishing; exit 1 when a team rule breaks."""
    try:
        verdict = preview.preview(settings, on_progress=_progress_printer())
    except (BuildRefusedError, BuildSetupError, diff.UnknownBuildError) as error:
        print(f"Preview not run: {error}", file=sys.stderr)
        return 2
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if verdict.report is None:
        print(f"Preview failed: {' '.join(verdict.broken)} {verdict.failure}", file=sys.stderr)
        return 1
    text = diff.markdown(verdict.report, title="Preview")
    text += "\n" + (
        "### Rules\n" + "\n".join(f"- BROKEN: {rule}" for rule in verdict.broken)
        if verdict.broken
        else "### Rules\nEvery rule holds: this change may ship."
    )
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        print(json.dumps({**verdict.report, "broken": verdict.broken}, indent=2, default=str))
    else:
        print(text)
    return 1 if verdict.broken else 0


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    """List model versions, or pin one (or --auto) and rebuild so it scores."""
    if args.action == "list":
        table = registry.versions(settings)
        print(table.to_string(index=False) if len(table) else "No model registered yet.")
        return 0
    version = None if args.version in (None, "auto") else args.version
    try:
        registry.use_version(settings, version, by=shell_user())
    except (registry.UnknownModelVersionError, BuildRefusedError) as error:
        print(str(error), file=sys.stderr)
        return 1
    print(f"Model {version} pinned; rebuilding." if version else "Unpinned; rebuilding.")
    return cmd_rebuild(args, settings)


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    root = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    demo_cmd = commands.add_parser("demo", help="write demo raw data")
    demo_cmd.add_argument("--customers", type=int, default=5000)
    demo_cmd.add_argument("--months", type=int, default=24)
    demo_cmd.add_argument("--seed", type=int, default=42)
    demo_cmd.add_argument(
        "--out",
        help="write to this DuckDB file instead of BATON_HOME (e.g. data/demo.duckdb, "
        "then `import examples/demo.yml`)",
    )
    demo_cmd.add_argument(
        "--scenario",
        choices=demo.SCENARIOS,
        default="clean",
        help="what happens to the data or the world (see demo/scenarios.py)",
    )
    demo_cmd.add_argument(
        "--scenario-start",
        type=_month,
        default=None,
        metavar="YYYY-MM",
        help=f"month the scenario starts (default: {demo.SCENARIO_MONTHS} months before the end)",
    )
    demo_cmd.set_defaults(run=cmd_demo)

    import_cmd = commands.add_parser("import", help="load your own data via a mapping file")
    import_cmd.add_argument("mapping", help="mapping YAML, e.g. examples/online_retail.yml")
    import_cmd.set_defaults(run=cmd_import)

    rebuild_cmd = commands.add_parser("rebuild", help="run the full pipeline (dbt build)")
    rebuild_cmd.add_argument(
        "--full-refresh",
        action="store_true",
        help="compute every snapshot month, keeping none from the build in service",
    )
    rebuild_cmd.set_defaults(run=cmd_rebuild)

    export_cmd = commands.add_parser("export-at-risk", help="write the at-risk CSV")
    export_cmd.add_argument("--out", required=True, help="CSV file to write")
    export_cmd.add_argument("--top", type=int, default=None, help="only the first K")
    export_cmd.add_argument("--segment", action="append", default=[], help="repeatable")
    export_cmd.add_argument("--plan", action="append", default=[], help="repeatable")
    export_cmd.add_argument("--region", action="append", default=[], help="repeatable")
    export_cmd.add_argument(
        "--min-value",
        "--min-mrr",
        type=float,
        default=None,
        help="lowest value at risk (monthly revenue, or expected spend)",
    )
    export_cmd.add_argument("--max-value", "--max-mrr", type=float, default=None)
    export_cmd.add_argument(
        "--sort", choices=sorted(work_queue.ORDERS), default="risk", help="order of the list"
    )
    export_cmd.set_defaults(run=cmd_export)

    model_cmd = commands.add_parser("model", help="list model versions or pick the one in service")
    model_cmd.add_argument("action", choices=["list", "use"])
    model_cmd.add_argument(
        "version", nargs="?", help="version to pin, or 'auto' for the promotion rule"
    )
    model_cmd.set_defaults(run=cmd_model)

    diff_cmd = commands.add_parser(
        "diff", help="what changed between two builds and what it did to the model"
    )
    diff_cmd.add_argument("before", nargs="?", help="build id (default: the one before AFTER)")
    diff_cmd.add_argument("after", nargs="?", help="build id (default: the serving build)")
    diff_cmd.add_argument("--json", action="store_true", help="print JSON")
    diff_cmd.set_defaults(run=cmd_diff)

    preview_cmd = commands.add_parser(
        "preview",
        help="build the project as it is now without publishing, compare with the serving "
        "build, exit 1 when a rule of the team breaks (a report to attach to a pull request)",
    )
    preview_cmd.add_argument("--json", action="store_true", help="print JSON")
    preview_cmd.add_argument("--out", help="also write the Markdown report to this file")
    preview_cmd.set_defaults(run=cmd_preview)

    docs_cmd = commands.add_parser("docs", help="dbt docs of the serving build")
    docs_cmd.set_defaults(run=cmd_docs)

    vars_cmd = commands.add_parser(
        "dbt-vars",
        help="print the --vars a build passes to dbt (to run dbt by hand: "
        'cd dbt_project && dbt build --profiles-dir . --vars "$(python -m pipeline dbt-vars)")',
    )
    vars_cmd.set_defaults(run=cmd_dbt_vars)

    status_cmd = commands.add_parser("status", help="last build, model and metrics")
    status_cmd.add_argument("--json", action="store_true", help="print JSON")
    status_cmd.set_defaults(run=cmd_status)
    return root


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m pipeline`."""
    args = parser().parse_args(argv)
    return int(args.run(args, get_settings()))
