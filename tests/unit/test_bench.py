"""The benchmark harness: node-to-stage grouping, memory attribution, timings and tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import report, stages, triage
from bench.app_timing import app_pages
from bench.floor import feature_models
from bench.monitor import Sample
from bench.runner import parse_sizes
from pipeline.settings import DBT_PROJECT_DIR

LAUNCHED = 1_000.0


def node(name: str, seconds: float, resource_type: str = "model") -> dict[str, Any]:
    """A run-record node as pipeline.build.rebuild stores it."""
    uid = f"{resource_type}.baton.{name}"
    return {"unique_id": uid, "name": name, "resource_type": resource_type, "seconds": seconds}


def manifest_of(folders: dict[str, str]) -> dict[str, Any]:
    """A manifest with each model under models/<folder>/."""
    return {"nodes": {f"model.baton.{n}": {"fqn": ["baton", f, n]} for n, f in folders.items()}}


@pytest.mark.parametrize(
    ("name", "resource_type", "folders", "stage"),
    [
        ("stg_raw__activity", "model", ["staging"], "sql_models"),
        ("int_customer_snapshots", "model", ["intermediate"], "sql_models"),
        ("customer_snapshots", "model", ["marts"], "sql_models"),
        ("ml_config", "model", ["ml"], "sql_models"),
        ("ml_model_candidate", "model", ["ml"], "training"),
        ("ml_backtest_predictions", "model", ["ml"], "backtest"),
        ("ml_backtest_metrics", "model", ["ml"], "backtest"),
        ("ml_predictions", "model", ["ml"], "scoring"),
        ("ml_model_in_service", "model", ["ml"], "scoring"),
        ("ml_explanations", "model", ["ml"], "explanations"),
        ("at_risk_customers", "model", ["ml"], "explanations"),
        ("not_null_ml_predictions_customer_id", "test", [], "tests"),
        ("customer_snapshots_point_in_time", "unit_test", ["marts"], "tests"),
        ("drift_by_feature", "model", ["monitoring"], "monitors"),
        ("something_new", "model", ["ml"], "other"),
    ],
)
def test_nodes_are_grouped_into_stages_by_type_folder_and_name(
    name: str, resource_type: str, folders: list[str], stage: str
) -> None:
    assert stages.stage_of(name, resource_type, folders) == stage


def test_node_stages_take_each_models_folder_from_the_manifest() -> None:
    manifest = manifest_of({"stg_raw__customers": "staging", "drift": "monitoring"})
    nodes = [node("stg_raw__customers", 0.1), node("drift", 0.2), node("unique_x", 0.1, "test")]

    assert stages.node_stages(nodes, manifest) == {
        "stg_raw__customers": "sql_models",
        "drift": "monitors",
        "unique_x": "tests",
    }


def state(current: str, done: int, total: int, started: float = LAUNCHED + 1) -> dict[str, Any]:
    """A progress.json as pipeline.build.progress writes it."""
    return {"started": started, "current": current, "done": done, "total": total}


@pytest.mark.parametrize(
    ("progress", "label"),
    [
        (None, "startup"),
        (state("old_node", 3, 9, started=LAUNCHED - 60), "startup"),
        (state("", 0, 0), "parse"),
        (state("ml_predictions", 4, 9), "ml_predictions"),
        (state("unique_x", 9, 9), "publish"),
    ],
)
def test_progress_file_tells_which_step_of_the_build_is_running(
    progress: dict[str, Any] | None, label: str
) -> None:
    assert stages.progress_label(progress, LAUNCHED) == label


def test_memory_samples_count_for_the_stage_of_the_node_running_then() -> None:
    by_node = {"stg_a": "sql_models", "ml_model_candidate": "training", "unique_x": "tests"}
    samples = [
        Sample(1.0, 100 * 1024, 100 * 1024, "startup"),
        Sample(1.2, 200 * 1024, 200 * 1024, "parse"),
        Sample(1.4, 300 * 1024, 300 * 1024, "stg_a"),
        Sample(1.6, 900 * 1024, 900 * 1024, "ml_model_candidate"),
        Sample(1.8, 500 * 1024, 900 * 1024, "ml_model_candidate"),
        Sample(2.0, 400 * 1024, 900 * 1024, "unique_x"),
        Sample(2.2, 450 * 1024, 900 * 1024, "publish"),
    ]

    assert stages.attribute(samples, by_node) == {
        "startup": 100.0,
        "parse": 200.0,
        "sql_models": 300.0,
        "training": 900.0,
        "tests": 400.0,
        "publish": 450.0,
    }


def test_a_peak_between_two_samples_is_charged_to_the_later_samples_stage() -> None:
    by_node = {"stg_a": "sql_models", "ml_explanations": "explanations"}
    samples = [
        Sample(1.0, 300 * 1024, 300 * 1024, "stg_a"),
        # RSS is back down, but the high-water mark says the process peaked at 2 GiB since.
        Sample(1.2, 400 * 1024, 2048 * 1024, "ml_explanations"),
        Sample(1.4, 350 * 1024, 2048 * 1024, "stg_a"),
    ]

    peaks = stages.attribute(samples, by_node)

    assert peaks == {"sql_models": 350.0, "explanations": 2048.0}


def test_samples_of_unknown_nodes_count_as_other() -> None:
    peaks = stages.attribute([Sample(1.0, 1024, 1024, "not_in_the_record")], {})

    assert peaks == {"other": 1.0}


def test_stage_seconds_sum_node_times_and_take_the_rest_from_timestamps() -> None:
    by_node = {"stg_a": "sql_models", "ml_model_candidate": "training", "unique_x": "tests"}
    nodes = [node("stg_a", 1.5), node("ml_model_candidate", 10.0), node("unique_x", 0.5, "test")]
    dbt = (LAUNCHED + 2.0, LAUNCHED + 5.0, LAUNCHED + 18.0)  # invoked, first node, last node

    seconds = stages.stage_seconds(nodes, by_node, LAUNCHED, dbt, LAUNCHED + 19.5, LAUNCHED + 20)

    assert seconds["startup"] == pytest.approx(2.0)
    assert seconds["parse"] == pytest.approx(3.0)
    assert seconds["sql_models"] == pytest.approx(1.5)
    assert seconds["training"] == pytest.approx(10.0)
    assert seconds["tests"] == pytest.approx(0.5)
    assert seconds["monitors"] == 0.0
    assert seconds["publish"] == pytest.approx(1.5)
    assert seconds["other"] == pytest.approx(20 - 2 - 3 - 12 - 1.5)
    assert sum(seconds.values()) == pytest.approx(20.0)


def test_dbt_times_come_from_the_invocation_and_the_node_timings() -> None:
    run_results = {
        "metadata": {
            "invocation_started_at": "2026-01-01T00:00:00Z",
            "generated_at": "2026-01-01T00:01:00Z",
        },
        "results": [
            {
                "timing": [
                    {"started_at": "2026-01-01T00:00:05Z", "completed_at": "2026-01-01T00:00:06Z"},
                    {"started_at": "2026-01-01T00:00:06Z", "completed_at": "2026-01-01T00:00:30Z"},
                ]
            },
            {"timing": []},
        ],
    }

    invoked, first, last = stages.dbt_times(run_results)

    assert (first - invoked, last - invoked) == (5.0, 30.0)


def result_of(size: str, customers: int, with_floor: bool = True) -> dict[str, Any]:
    """A benchmark result of one size, every stage 1 s and 100 MiB."""
    timed = {"seconds": 1.0, "peak_mib": 100.0}
    build = {"seconds": 30.0, "peak_mib": 1536.0, "stages": dict.fromkeys(stages.STAGES, timed)}
    result: dict[str, Any] = {
        "size": size,
        "customers": customers,
        "generate": {"seconds": 2.0, "peak_mib": 300.0},
        "rebuild": build,
        "rebuild2": {**build, "stages": {**build["stages"], "parse": {"seconds": 0.84}}},
    }
    if with_floor:
        result["floor"] = {
            "seconds": 10.0,
            "peak_mib": 800.0,
            "stages": {"train": timed},
            "rows_labeled": 60_000,
            "rows_explained": 2_800,
        }
    return result


def test_markdown_table_has_one_row_per_size_with_seconds_and_mib_of_every_stage() -> None:
    table = report.sizes_table([result_of("S", 5_000), result_of("M", 100_000, with_floor=False)])

    header, separator, small, medium = table.splitlines()
    columns = header.count("|") - 1
    assert columns == 2 + 1 + len(stages.STAGES) + 6
    assert separator.count("---") == columns
    assert all(row.count("|") - 1 == columns for row in (small, medium))
    assert small.startswith("| S | 5,000 | 2.0 s / 300 MiB | 1.0 s / 100 MiB |")
    assert small.endswith(
        "| 30.0 s / 1,536 MiB | 0.8 s | 30.0 s / 1,536 MiB | 10.0 s / 800 MiB | 3.0x | 3.0x |"
    )
    assert medium.startswith("| M | 100,000 |")
    assert medium.endswith("| 0.8 s | 30.0 s / 1,536 MiB | – | – | – |")


def test_a_cell_without_measurement_shows_a_dash() -> None:
    assert report.cell(None) == "–"
    assert report.cell(1.234) == "1.2 s"
    assert report.cell(0.0123, digits=2) == "0.01 s"


def test_floor_table_lists_missing_floor_stages_as_dashes() -> None:
    table = report.floor_table([result_of("S", 5_000)])

    row = table.splitlines()[2]
    assert row.startswith("| S | – | – | 1.0 s | – |")
    assert row.endswith("| 10.0 s / 800 MiB | 60,000 / 2,800 |")


def test_sizes_are_named_or_custom() -> None:
    assert parse_sizes("s,M", None) == [("S", 5_000), ("M", 100_000)]
    assert parse_sizes(None, None) == [("S", 5_000), ("M", 100_000), ("L", 1_000_000)]
    assert parse_sizes(None, 2_500) == [("2,500", 2_500)]
    with pytest.raises(SystemExit):
        parse_sizes("XL", None)


def test_floor_rebuilds_the_feature_mart_after_every_model_it_reads() -> None:
    def model(name: str, *parents: str) -> dict[str, Any]:
        return {"name": name, "depends_on": {"nodes": list(parents)}}

    manifest = {
        "metadata": {"project_name": "baton"},
        "nodes": {
            "model.baton.stg_a": model("stg_a", "source.baton.raw.a"),
            "model.baton.stg_b": model("stg_b"),
            "model.baton.int_ab": model("int_ab", "model.baton.stg_a", "model.baton.stg_b"),
            "model.baton.customer_snapshots": model(
                "customer_snapshots", "model.baton.int_ab", "model.baton.stg_a"
            ),
            "model.baton.ml_predictions": model("ml_predictions", "model.baton.customer_snapshots"),
        },
    }

    names = [n["name"] for n in feature_models(manifest)]

    assert names == ["stg_a", "stg_b", "int_ab", "customer_snapshots"]


def test_pages_are_read_from_the_apps_navigation(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "import streamlit as st\n"
        "st.navigation([\n"
        '    st.Page("app_pages/a.py", title="A", default=True),\n'
        '    st.Page("app_pages/b.py", url_path="bee"),\n'
        "    st.Page(lambda: None, title='inline'),\n"
        "]).run()\n"
    )

    assert app_pages(app) == ["app_pages/a.py", "app_pages/b.py"]


@pytest.mark.parametrize("scenario", sorted(triage.CODE_EDITS))
def test_every_code_scenario_edits_the_current_project_once(tmp_path: Path, scenario: str) -> None:
    home = tmp_path / "home"
    project = triage.edited_project(home, scenario)
    relative, old, new = triage.CODE_EDITS[scenario]
    edited = (project / relative).read_text()
    original = (DBT_PROJECT_DIR / relative).read_text()
    assert edited == original.replace(old, new, 1) != original
    assert triage.EXPECTED[scenario] in ("pipeline_change", "healthy")
