"""Machine facts and the markdown tables of a benchmark result."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from bench.stages import STAGES
from ml.cache import installed_version

PACKAGES = (
    "dbt-core",
    "dbt-duckdb",
    "dbt-spark",
    "pyspark",
    "duckdb",
    "xgboost",
    "shap",
    "scikit-learn",
    "streamlit",
    "pandas",
    "numpy",
    "pyarrow",
)
STAGE_TITLES = {
    "startup": "startup",
    "parse": "dbt parse",
    "sql_models": "SQL models",
    "training": "training",
    "backtest": "backtest",
    "scoring": "scoring",
    "explanations": "explanations",
    "tests": "tests",
    "monitors": "monitors",
    "publish": "publish",
    "other": "other",
}
FLOOR_TITLES = {
    "features_sql": "feature mart (SQL + BTYD)",
    "backtest_load": "backtest: load frame",
    "backtest": "walk-forward backtest (with baselines)",
    "backtest_metrics": "backtest metrics",
    "load": "candidate: load frame",
    "train": "candidate fit",
    "train_1_thread": "candidate fit, nthread=1",
    "predict": "score everyone",
    "explain": "SHAP rows",
    "monitor_sql": "monitor SQL",
    "monitors": "monitor statistics",
    "shap_package": "shap package (as built)",
}
DASH = "–"


def _proc_field(path: str, key: str) -> str:
    """The first `key: value` of a /proc text file, or ''."""
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return ""


def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model, load, Python and package versions of this machine."""
    mem_kib = _proc_field("/proc/meminfo", "MemTotal").split(" ")[0] or "0"
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(int(mem_kib) / 1024**2, 1),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name"),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: installed_version(name) for name in PACKAGES},
    }


def cell(seconds: float | None, mib: float | None = None, digits: int = 1) -> str:
    """`12.3 s / 456 MiB`, `12.3 s`, or a dash when nothing was measured."""
    if seconds is None:
        return DASH
    text = f"{seconds:.{digits}f} s"
    return text if mib is None else f"{text} / {mib:,.0f} MiB"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join([_row(header), _row(["---"] * len(header)), *map(_row, rows)])


def size_row(result: dict[str, Any]) -> list[str]:
    """One table row of a size: every stage's seconds and peak MiB."""
    generate, build = result["generate"], result["rebuild"]
    second, daily, floor = result.get("rebuild2"), result.get("daily"), result.get("floor")
    stages = [cell(build["stages"][s]["seconds"], build["stages"][s]["peak_mib"]) for s in STAGES]
    return [
        result["size"],
        f"{result['customers']:,}",
        cell(generate["seconds"], generate["peak_mib"]),
        *stages,
        cell(build["seconds"], build["peak_mib"]),
        cell(second["stages"]["parse"]["seconds"]) if second else DASH,
        cell(second["seconds"], second["peak_mib"]) if second else DASH,
        cell(daily["seconds"], daily["peak_mib"]) if daily else DASH,
        cell(floor["seconds"], floor["peak_mib"]) if floor else DASH,
        f"{build['seconds'] / floor['seconds']:.1f}x" if floor else DASH,
        f"{second['seconds'] / floor['seconds']:.1f}x" if floor and second else DASH,
        f"{daily['seconds'] / floor['seconds']:.1f}x" if floor and daily else DASH,
    ]


def sizes_table(results: list[dict[str, Any]]) -> str:
    """Markdown table, one row per size: seconds / peak MiB of every stage."""
    header = [
        "size",
        "accounts",
        "generate",
        *(STAGE_TITLES[s] for s in STAGES),
        "rebuild total",
        "2nd build dbt parse",
        "2nd build total (cache reused)",
        "one more day: build total",
        "floor",
        "rebuild / floor",
        "2nd build / floor",
        "one more day / floor",
    ]
    return _table(header, [size_row(r) for r in results])


def floor_table(results: list[dict[str, Any]]) -> str:
    """Markdown table of the bare-compute floor stages per size."""
    header = ["size", *FLOOR_TITLES.values(), "floor total", "labeled rows / explained"]
    rows = []
    for result in results:
        floor = result.get("floor")
        if not floor:
            continue
        stages = floor["stages"]
        rows.append(
            [
                result["size"],
                *(cell(stages[k]["seconds"]) if k in stages else DASH for k in FLOOR_TITLES),
                cell(floor["seconds"], floor["peak_mib"]),
                f"{floor['rows_labeled']:,} / {floor['rows_explained']:,}",
            ]
        )
    return _table(header, rows)


def ratio_by_stage(build: dict[str, Any], floor: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per rebuild stage the floor reproduces, and in total: the cold rebuild's seconds, the
    floor's seconds for the same work, and rebuild / floor (None when the floor took 0 s)."""

    def entry(rebuild_seconds: float, floor_seconds: float) -> dict[str, Any]:
        ratio = rebuild_seconds / floor_seconds if floor_seconds > 0 else None
        return {"rebuild_seconds": rebuild_seconds, "floor_seconds": floor_seconds, "ratio": ratio}

    floor_by_stage = floor.get("by_rebuild_stage", {})
    ratios = {
        stage: entry(float(build["stages"][stage]["seconds"]), float(floor_by_stage[stage]))
        for stage in STAGES
        if stage in floor_by_stage
    }
    ratios["total"] = entry(float(build["seconds"]), float(floor["seconds"]))
    return ratios


def ratio_table(results: list[dict[str, Any]]) -> str:
    """Markdown table: per stage, cold rebuild seconds / floor seconds (ratio), one row a size."""
    shown = [s for s in STAGES if any(s in r.get("ratio_by_stage", {}) for r in results)]
    header = ["size", *(f"{STAGE_TITLES[s]}: rebuild / floor" for s in shown), "total"]
    rows = []
    for result in results:
        ratios = result.get("ratio_by_stage")
        if not ratios:
            continue
        cells = []
        for stage in [*shown, "total"]:
            item = ratios.get(stage)
            if item is None:
                cells.append(DASH)
                continue
            ratio = DASH if item["ratio"] is None else f"{item['ratio']:.1f}x"
            seconds = f"{item['rebuild_seconds']:.1f} s / {item['floor_seconds']:.1f} s"
            cells.append(f"{seconds} = {ratio}")
        rows.append([result["size"], *cells])
    return _table(header, rows)


def app_table(app: dict[str, Any]) -> str:
    """Markdown table of page script runs and CSV export times at one size."""
    rows = [
        [
            page + (" (raised an exception)" if t.get("errors") else ""),
            cell(t.get("cold"), digits=2),
            cell(t.get("warm_median"), digits=2),
        ]
        for page, t in app["pages"].items()
    ]
    csv = app["export"]
    rows += [
        ["CSV export, full list", DASH, cell(csv["full_seconds"], digits=2)],
        ["CSV export, top 100", DASH, cell(csv["top100_seconds"], digits=2)],
    ]
    return _table(["page / action", "first run", "median of 3 (warm)"], rows)


def markdown(result: dict[str, Any]) -> str:
    """Every table of a benchmark result, with the machine it ran on."""
    info = result["machine"]
    extra = ", ".join(f"`{k}={v}`" for k, v in result["args"]["env"].items())
    parts = [
        f"Machine: {info['cores']} cores, {info['ram_gib']} GiB, {info['cpu_model']}; "
        f"load average at start {info['load_average'][0]:.1f}. Cells: seconds / peak RSS."
        + (f" Extra environment: {extra}." if extra else ""),
        sizes_table(result["sizes"]),
        floor_table(result["sizes"]),
        ratio_table(result["sizes"]),
    ]
    for size in result["sizes"]:
        if size.get("app"):
            parts += [f"Pages and export at {size['size']}:", app_table(size["app"])]
    return "\n\n".join(parts) + "\n"
