"""Group dbt nodes into benchmark stages, time the stages and attribute memory samples to them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bench.monitor import Sample
from pipeline.build.progress import of_build_since

# Stages of one rebuild, in the order they run ("other": the gaps between nodes and exit).
STAGES = (
    "startup",
    "parse",
    "sql_models",
    "training",
    "backtest",
    "scoring",
    "explanations",
    "tests",
    "monitors",
    "publish",
    "other",
)
# Labels a memory sample gets outside dbt nodes (see progress_label).
STARTUP, PARSE, PUBLISH, OTHER = "startup", "parse", "publish", "other"
ML_STAGE_BY_NODE = {
    "ml_config": "sql_models",
    "ml_model_candidate": "training",
    "ml_backtest_predictions": "backtest",
    "ml_backtest_metrics": "backtest",
    "ml_reliability": "backtest",
    "ml_predictions": "scoring",
    "ml_model_in_service": "scoring",
    "ml_explanations": "explanations",
    "customer_explanations": "explanations",
    "at_risk_customers": "explanations",
    "feature_importance": "explanations",
}
SQL_FOLDERS = frozenset({"staging", "intermediate", "marts"})
TEST_TYPES = frozenset({"test", "unit_test"})


def stage_of(name: str, resource_type: str, folders: Iterable[str] = ()) -> str:
    """The benchmark stage of one dbt node, from its type, folder (fqn) and name."""
    folders = set(folders)
    if resource_type in TEST_TYPES:
        return "tests"
    if "monitoring" in folders:
        return "monitors"
    if name in ML_STAGE_BY_NODE:
        return ML_STAGE_BY_NODE[name]
    if folders & SQL_FOLDERS:
        return "sql_models"
    return OTHER


def node_stages(nodes: list[dict[str, Any]], manifest: Mapping[str, Any]) -> dict[str, str]:
    """Node name -> stage for the nodes of a run record, folders taken from the manifest."""
    found = {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}
    stages = {}
    for node in nodes:
        fqn = found.get(node["unique_id"], {}).get("fqn", [])
        stages[node["name"]] = stage_of(node["name"], node["resource_type"], fqn[1:-1])
    return stages


def progress_label(progress: Mapping[str, Any] | None, launched: float) -> str:
    """What a build is doing by its progress.json: startup, parse, a node name, or publish."""
    progress = of_build_since(progress, launched)
    if not progress:
        return STARTUP  # no progress file yet, or one left by an earlier build
    total, done = int(progress.get("total") or 0), int(progress.get("done") or 0)
    if total and done >= total:
        return PUBLISH
    return str(progress.get("current") or PARSE)


def attribute(samples: list[Sample], stage_by_node: Mapping[str, str]) -> dict[str, float]:
    """Peak MiB per stage: each sample counts for the stage of the node running then.

    A rise of the main process's VmHWM between two samples means a peak the sampler
    missed; it is charged to the stage of the later sample.
    """
    peaks: dict[str, float] = {}
    previous_hwm = 0
    for item in samples:
        kib = item.rss_kib
        if item.hwm_kib > previous_hwm:
            kib = max(kib, item.hwm_kib)
        previous_hwm = max(previous_hwm, item.hwm_kib)
        label = item.label
        stage = label if label in STAGES else stage_by_node.get(label, OTHER)
        peaks[stage] = max(peaks.get(stage, 0.0), kib / 1024)
    return peaks


def timestamp(text: str) -> float:
    """Seconds since the epoch of an ISO timestamp (dbt writes UTC with a trailing Z)."""
    return datetime.fromisoformat(text).timestamp()


def dbt_times(run_results: Mapping[str, Any]) -> tuple[float, float, float]:
    """(dbt invocation start, first node start, last node end) from run_results.json."""
    timings = [t for r in run_results["results"] for t in r.get("timing", [])]
    invoked = timestamp(run_results["metadata"]["invocation_started_at"])
    if not timings:
        ended = timestamp(run_results["metadata"]["generated_at"])
        return invoked, ended, ended
    first = min(timestamp(t["started_at"]) for t in timings)
    last = max(timestamp(t["completed_at"]) for t in timings)
    return invoked, first, last


def stage_seconds(
    nodes: list[dict[str, Any]],
    stage_by_node: Mapping[str, str],
    launched: float,
    dbt: tuple[float, float, float],
    build_ended: float,
    exited: float,
) -> dict[str, float]:
    """Seconds per stage: node execution times summed, the rest from timestamps."""
    invoked, first_node, last_node = dbt
    seconds = dict.fromkeys(STAGES, 0.0)
    seconds["startup"] = invoked - launched
    seconds["parse"] = first_node - invoked
    for node in nodes:
        seconds[stage_by_node.get(node["name"], OTHER)] += float(node["seconds"])
    seconds["publish"] = max(build_ended - last_node, 0.0)
    accounted = sum(value for stage, value in seconds.items() if stage != OTHER)
    seconds[OTHER] = max(exited - launched - accounted, 0.0)
    return seconds
