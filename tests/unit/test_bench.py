"""The benchmark harness: node-to-stage grouping, memory attribution, timings and tables."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from bench import daily, floor, report, runner, stages, triage
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
        "daily": {**build, "seconds": 20.0},
    }
    if with_floor:
        result["floor"] = {
            "seconds": 10.0,
            "peak_mib": 800.0,
            "stages": {"train": timed},
            "by_rebuild_stage": {"training": 1.0},
            "rows_labeled": 60_000,
            "rows_explained": 2_800,
        }
        result["ratio_by_stage"] = report.ratio_by_stage(build, result["floor"])
    return result


def test_markdown_table_has_one_row_per_size_with_seconds_and_mib_of_every_stage() -> None:
    table = report.sizes_table([result_of("S", 5_000), result_of("M", 100_000, with_floor=False)])

    header, separator, small, medium = table.splitlines()
    columns = header.count("|") - 1
    assert columns == 2 + 1 + len(stages.STAGES) + 8
    assert separator.count("---") == columns
    assert all(row.count("|") - 1 == columns for row in (small, medium))
    assert small.startswith("| S | 5,000 | 2.0 s / 300 MiB | 1.0 s / 100 MiB |")
    assert small.endswith(
        "| 30.0 s / 1,536 MiB | 0.8 s | 30.0 s / 1,536 MiB | 20.0 s / 1,536 MiB "
        "| 10.0 s / 800 MiB | 3.0x | 3.0x | 2.0x |"
    )
    assert medium.startswith("| M | 100,000 |")
    assert medium.endswith("| 0.8 s | 30.0 s / 1,536 MiB | 20.0 s / 1,536 MiB | – | – | – | – |")


def test_a_cell_without_measurement_shows_a_dash() -> None:
    assert report.cell(None) == "–"
    assert report.cell(1.234) == "1.2 s"
    assert report.cell(0.0123, digits=2) == "0.01 s"


def test_floor_table_lists_missing_floor_stages_as_dashes() -> None:
    table = report.floor_table([result_of("S", 5_000)])

    row = table.splitlines()[2]
    titles = list(report.FLOOR_TITLES)
    cells = row.strip("| ").split(" | ")
    assert cells[0] == "S"
    assert cells[1 + titles.index("train")] == "1.0 s"
    assert cells[1 : 1 + len(titles)].count("–") == len(titles) - 1
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


def test_ratio_by_stage_divides_each_cold_rebuild_stage_by_the_floors_same_work() -> None:
    build = result_of("S", 5_000)["rebuild"]
    build["stages"] = {**build["stages"], "backtest": {"seconds": 16.0, "peak_mib": 1.0}}
    measured = {"seconds": 20.0, "by_rebuild_stage": {"backtest": 8.0, "scoring": 0.0}}

    ratios = report.ratio_by_stage(build, measured)

    assert ratios["backtest"] == {"rebuild_seconds": 16.0, "floor_seconds": 8.0, "ratio": 2.0}
    assert ratios["scoring"]["ratio"] is None  # a floor stage too fast to time
    assert ratios["total"] == {"rebuild_seconds": 30.0, "floor_seconds": 20.0, "ratio": 1.5}
    assert list(ratios) == ["backtest", "scoring", "total"]  # in the rebuild's stage order


def test_ratio_table_shows_rebuild_and_floor_seconds_per_stage() -> None:
    table = report.ratio_table([result_of("S", 5_000), result_of("M", 100_000, False)])

    header, _, row = table.splitlines()
    assert header == "| size | training: rebuild / floor | total |"
    assert row == "| S | 1.0 s / 1.0 s = 1.0x | 30.0 s / 10.0 s = 3.0x |"


def test_every_floor_stage_is_the_bare_version_of_a_rebuild_stage() -> None:
    assert set(floor.REBUILD_STAGE.values()) <= set(stages.STAGES)
    assert set(floor.REBUILD_STAGE) | set(floor.EXTRA_STAGES) == set(report.FLOOR_TITLES)
    timed = {name: {"seconds": 1.0} for name in [*floor.REBUILD_STAGE, *floor.EXTRA_STAGES]}

    seconds = floor.by_rebuild_stage(timed)

    assert seconds["backtest"] == 3.0  # load, walk-forward, metrics; comparisons left out
    assert seconds["training"] == 2.0
    assert sum(seconds.values()) == len(floor.REBUILD_STAGE)


def test_floor_runs_a_python_model_of_the_feature_mart_without_dbt() -> None:
    connection = duckdb.connect()
    connection.execute("create table histories as select range as n from range(3)")
    node = {
        "name": "scores",
        "original_file_path": "models/scores.py",
        "raw_code": (
            "def model(dbt, session):\n"
            "    dbt.config(materialized='table')\n"
            "    return dbt.ref('histories').project('n * 2 as doubled').to_arrow_table()\n"
        ),
    }

    floor.run_python_model(connection, node)

    assert connection.execute("select sum(doubled) from scores").fetchall() == [(6,)]


def test_floor_builds_the_monitors_sql_without_rebuilding_the_feature_mart() -> None:
    def model(name: str, *parents: str) -> dict[str, Any]:
        return {"name": name, "depends_on": {"nodes": [f"model.baton.{p}" for p in parents]}}

    manifest = {
        "metadata": {"project_name": "baton"},
        "nodes": {
            f"model.baton.{m['name']}": m
            for m in [
                model("stg_a"),
                model("int_dates", "stg_a"),
                model("customer_snapshots", "int_dates"),
                model("int_volume", "stg_a"),
                model("monitor_config", "int_dates", "int_volume"),
            ]
        },
    }

    names = [n["name"] for n in feature_models(manifest, "monitor_config", ["customer_snapshots"])]

    assert names == ["int_volume", "monitor_config"]


def raw_of(path: Path) -> None:
    """A raw file with two days of events: A1 active, A2 cancelled on the last day."""
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            """
            create table subscriptions as select * from (values
                ('A1', date '2026-01-01', null::date), ('A2', date '2026-01-01', date '2026-09-30')
            ) as t(account_id, started_at, ended_at);
            create table usage_daily as select * from (values
                ('A1', date '2026-09-29', 3), ('A1', date '2026-09-30', 4),
                ('A2', date '2026-09-30', 1)
            ) as t(account_id, usage_date, events);
            create table tickets as select * from (values
                ('T1', 'A1', timestamp '2026-09-30 10:00:00')
            ) as t(ticket_id, account_id, created_at);
            create table invoices as select * from (values
                ('I1', 'A1', date '2026-09-01', date '2026-09-15'),
                ('I2', 'A1', date '2026-09-30', date '2026-10-14')
            ) as t(invoice_id, account_id, invoice_date, due_date);
            create table payments as select * from (values
                ('P1', 'I2', 'A1', timestamp '2026-09-30 12:00:00'),
                ('P2', 'I1', 'A1', timestamp '2026-09-30 13:00:00')
            ) as t(payment_id, invoice_id, account_id, attempted_at);
            """
        )


def test_one_more_day_repeats_the_newest_days_events_under_new_ids(tmp_path: Path) -> None:
    raw = tmp_path / "raw.duckdb"
    raw_of(raw)

    added = daily.append_day(raw)

    assert added == {
        "day": "2026-10-01",
        "rows": {"usage_daily": 1, "tickets": 1, "invoices": 1, "payments": 2},
    }
    with duckdb.connect(str(raw), read_only=True) as connection:
        usage = connection.execute("select * from usage_daily where usage_date > '2026-09-30'")
        assert usage.fetchall() == [("A1", date(2026, 10, 1), 4)]  # A2 has cancelled
        new = "where cast(attempted_at as date) = '2026-10-01' order by payment_id"
        payments = connection.execute(f"select payment_id, invoice_id from payments {new}")
        # The copy of the newest day's invoice is paid; an older invoice's attempt repeats.
        assert payments.fetchall() == [("P1-20261001", "I2-20261001"), ("P2-20261001", "I1")]
        invoice = connection.execute("select * from invoices where invoice_id = 'I2-20261001'")
        assert invoice.fetchall() == [("I2-20261001", "A1", date(2026, 10, 1), date(2026, 10, 15))]
        for table, key in [("tickets", "ticket_id"), ("payments", "payment_id")]:
            total, distinct = connection.execute(
                f"select count(*), count(distinct {key}) from {table}"
            ).fetchall()[0]
            assert total == distinct


def test_each_size_records_the_daily_build_the_floor_and_its_ratios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    envs: dict[str, dict[str, str]] = {}
    order: list[str] = []
    built = result_of("S", 5_000)

    def fake_rebuild(settings: Any, env: dict[str, str], name: str) -> dict[str, Any]:
        order.append(name)
        return {**built["rebuild"], "build_id": name}

    def fake_child(module: str, args: list[str], env: dict[str, str], logs: Path) -> Any:
        envs[module] = env
        order.append(module)
        if module == "bench.app_timing":
            return {"pages": {}, "export": {"full_seconds": 0.5, "top100_seconds": 0.1}}
        return {
            "seconds": 4.0,
            "peak_mib": 10.0,
            "stages": {"backtest": {"seconds": 2.0, "peak_mib": 10.0}},
            "by_rebuild_stage": {"backtest": 2.0},
            "rows_labeled": 100,
            "rows_explained": 10,
        }

    def fake_day(settings: Any) -> dict[str, Any]:
        order.append("add_day")
        return {"day": "2026-10-01", "rows": {"usage_daily": 3}, "seconds": 0.1}

    monkeypatch.setattr(
        runner, "generate", lambda *a: {"seconds": 1.0, "peak_mib": 1.0, "output": ""}
    )
    monkeypatch.setattr(runner, "rebuild", fake_rebuild)
    monkeypatch.setattr(runner, "json_child", fake_child)
    monkeypatch.setattr(runner, "add_day", fake_day)
    args = argparse.Namespace(
        engine="duckdb", env=[("BATON_ML_CACHE", "on")], months=24, seed=1, cold_only=False
    )

    result = runner.bench_size("S", 5_000, args, tmp_path, with_app=True)

    assert "error" not in result
    assert order == ["rebuild", "rebuild2", "bench.floor", "add_day", "daily", "bench.app_timing"]
    assert result["daily"]["build_id"] == "daily"
    assert set(result["daily"]) == set(result["rebuild2"])  # the same shape
    assert result["daily_data"]["day"] == "2026-10-01"
    assert result["ratio_by_stage"]["backtest"]["ratio"] == pytest.approx(1.0 / 2.0)
    assert result["ratio_by_stage"]["total"]["ratio"] == pytest.approx(30.0 / 4.0)
    assert envs["bench.floor"]["BATON_ML_CACHE"] == "off"  # the floor always computes
    assert envs["bench.app_timing"]["BATON_ML_CACHE"] == "on"
    machine = {"cores": 2, "ram_gib": 1, "cpu_model": "x", "load_average": [1.0]}
    printed = report.markdown({"machine": machine, "args": {"env": {}}, "sizes": [result]})
    assert "| S | 1.0 s / 2.0 s = 0.5x | 30.0 s / 4.0 s = 7.5x |" in printed


def test_triage_refuses_an_unknown_scenario_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        triage.main(["--scenarios", "sql_change,no_such_thing", "--clean-seeds", "0"])
    assert "no_such_thing" in capsys.readouterr().err


def test_cold_only_stops_each_size_after_its_first_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    built = result_of("M", 100_000)
    monkeypatch.setattr(
        runner, "generate", lambda *a: {"seconds": 1.0, "peak_mib": 1.0, "output": ""}
    )
    monkeypatch.setattr(
        runner, "rebuild", lambda settings, env, name: order.append(name) or built["rebuild"]
    )
    monkeypatch.setattr(runner, "json_child", lambda module, *a: order.append(module) or {})
    monkeypatch.setattr(runner, "add_day", lambda settings: order.append("add_day") or {})
    args = runner.parser().parse_args(["--sizes", "M", "--engine", "spark", "--cold-only"])

    result = runner.bench_size("M", 100_000, args, tmp_path, with_app=True)

    assert order == ["rebuild"]
    assert "rebuild" in result and "rebuild2" not in result and "daily" not in result
