"""Build progress: node events counted into one line and a JSON file other processes read."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from pipeline import history
from pipeline.build import progress
from pipeline.build.dbt_runner import NodeEvent, layer_of
from pipeline.build.progress import Progress
from pipeline.settings import Settings


def finish(name: str, status: str) -> NodeEvent:
    return NodeEvent("finish", f"model.baton.{name}", name, "model", status=status)


def test_events_count_finished_nodes_and_remember_failures() -> None:
    state = Progress("B-1", "app")
    for event in (
        NodeEvent("total", total=5),
        NodeEvent("start", "model.baton.stg_a", "stg_a", "model"),
        finish("stg_a", "success"),
        NodeEvent("start", "model.baton.stg_b", "stg_b", "model"),
        finish("stg_b", "error"),
        finish("unique_x", "fail"),
        finish("skipped_y", "skipped"),
        finish("test_z", "pass"),
    ):
        state.apply(event)
    assert (state.done, state.total) == (5, 5)
    assert state.current == "stg_b"
    assert state.failed == ["stg_b", "unique_x"]


def test_total_never_shrinks() -> None:
    state = Progress("B-1", "app")
    state.apply(NodeEvent("total", total=40))
    state.apply(NodeEvent("total", total=12))
    assert state.total == 40


def test_unknown_events_change_nothing() -> None:
    state = Progress("B-1", "app")
    state.apply(NodeEvent("callback_error", message="boom"))
    assert (state.done, state.total, state.current, state.failed) == (0, 0, "", [])


def start(name: str) -> NodeEvent:
    return NodeEvent("start", f"model.baton.{name}", name, "model")


LAST_BUILD = {
    "model.baton.stg_a": 2.0,
    "model.baton.ml_backtest_predictions": 20.0,
    "model.baton.ml_x": 5.0,
}


def test_estimate_sums_the_last_build_time_of_every_node_not_finished_yet() -> None:
    state = Progress("B-1", "app", node_seconds=LAST_BUILD)
    assert state.remaining_seconds == pytest.approx(27.0)
    state.apply(start("stg_a"))
    state.apply(finish("stg_a", "success"))
    assert state.remaining_seconds == pytest.approx(25.0)


def test_running_node_is_credited_with_the_time_it_has_already_spent() -> None:
    state = Progress("B-1", "app", node_seconds=LAST_BUILD)
    state.apply(start("ml_backtest_predictions"))
    started_ago(state, "ml_backtest_predictions", 8)
    assert state.remaining_seconds == pytest.approx(12.0 + 2.0 + 5.0, abs=0.5)
    started_ago(state, "ml_backtest_predictions", 100)
    assert state.remaining_seconds == pytest.approx(2.0 + 5.0, abs=0.5)


def started_ago(state: Progress, name: str, seconds: float) -> None:
    """Backdate a running node's start (and the build's first node start with it)."""
    state.running[f"model.baton.{name}"][1] = time.time() - seconds
    state.first_started = min(state.first_started, time.time() - seconds)


def test_nodes_side_by_side_show_the_longest_running_and_shorten_the_estimate() -> None:
    # dbt runs several nodes at once (BATON_BUILD_THREADS).
    state = Progress("B-1", "app", node_seconds=LAST_BUILD)
    state.apply(start("ml_backtest_predictions"))
    state.apply(start("stg_a"))
    started_ago(state, "ml_backtest_predictions", 4)
    started_ago(state, "stg_a", 4)
    assert (state.current, state.stage) == ("ml_backtest_predictions", "Backtesting")
    # 8 s of node time in 4 s of wall time: what is left takes half its node time.
    assert state.overlap == pytest.approx(0.5, abs=0.02)
    assert state.remaining_seconds == pytest.approx((16.0 + 0.0 + 5.0) * 0.5, abs=0.3)
    state.apply(finish("ml_backtest_predictions", "success"))
    assert state.current == "stg_a"  # the one still running
    state.apply(finish("stg_a", "success"))
    assert state.current == "stg_a"  # nothing runs: the last one to have run


def test_a_stop_names_every_node_running_longest_first() -> None:
    state = Progress("B-1", "app", node_seconds=LAST_BUILD)
    state.phase = "dbt"
    state.apply(NodeEvent("total", total=9))
    state.apply(start("ml_backtest_predictions"))
    state.apply(start("stg_a"))
    started_ago(state, "ml_backtest_predictions", 5)
    assert history.step(state.to_dict()) == {
        "node": "ml_backtest_predictions",
        "where": " while running ml_backtest_predictions and stg_a (0 of 9 nodes done)",
    }
    state.phase = "publishing"
    assert history.step(state.to_dict()) == {"node": "", "where": " while publishing"}


def test_line_shows_count_stage_elapsed_and_estimate() -> None:
    state = Progress("B-1", "app", started=time.time() - 8, node_seconds=LAST_BUILD)
    state.apply(NodeEvent("total", total=40))
    for _ in range(12):
        state.apply(finish("x", "success"))
    state.apply(start("ml_backtest_predictions"))
    started_ago(state, "ml_backtest_predictions", 8)
    assert re.fullmatch(r"\[12/40\] Backtesting \(8s elapsed, about 1[89]s left\)", state.line()), (
        state.line()
    )


def test_terminal_bar_fills_with_the_share_of_nodes_done() -> None:
    state = Progress("B-1", "cli")
    state.apply(NodeEvent("total", total=4))
    state.apply(finish("x", "success"))
    line = progress.describe(state.to_dict(), bar=True)
    assert line.startswith("[" + "#" * 6 + "-" * 18 + "] 1/4 ")


def test_line_before_dbt_reports_anything_has_no_estimate() -> None:
    state = Progress("B-1", "app")
    assert state.line() == "[0/?] Starting (0s elapsed)"
    assert state.remaining_seconds is None


def test_estimate_counts_down_between_file_updates(tmp_path) -> None:
    settings = Settings(home=tmp_path)
    progress.write(settings, Progress("B-1", "app", node_seconds={"model.baton.a": 30.0}))
    state = progress.read(settings)
    assert state is not None
    state["updated"] -= 10
    assert "about 20s left" in progress.describe(state)
    state["updated"] -= 100
    assert "about 0s left" in progress.describe(state)


def test_progress_round_trips_through_the_shared_file(tmp_path) -> None:
    settings = Settings(home=tmp_path)
    state = Progress("B-7", "cli", node_seconds={"model.baton.stg_a": 10.0, "model.baton.b": 20.0})
    state.apply(NodeEvent("total", total=3))
    state.apply(finish("stg_a", "error"))
    progress.write(settings, state)
    read = progress.read(settings)
    assert read is not None
    assert read["build_id"] == "B-7"
    assert read["trigger"] == "cli"
    assert (read["done"], read["total"], read["failed"]) == (1, 3, ["stg_a"])
    assert read["remaining"] == pytest.approx(20, abs=1)
    assert read["elapsed"] >= 0


def test_reading_progress_without_a_valid_file_gives_none(tmp_path) -> None:
    settings = Settings(home=tmp_path)
    assert progress.read(settings) is None
    (tmp_path / "progress.json").write_text("{half a file")
    assert progress.read(settings) is None


@pytest.mark.parametrize(
    ("fqn", "layer"),
    [
        (["baton", "staging", "stg_raw__usage"], "source data"),
        (["baton", "intermediate", "int_last_activity"], "transformations"),
        (["baton", "marts", "flat", "customer_snapshots"], "transformations"),
        (["baton", "ml", "ml_predictions"], "ML"),
        (["baton", "monitoring", "triage_verdict"], "monitoring"),
        (["baton", "unique_at_risk_customers_risk_rank"], "transformations"),
    ],
)
def test_a_failing_node_is_owned_by_the_layer_of_its_folder(fqn: list[str], layer: str) -> None:
    assert layer_of(SimpleNamespace(fqn=fqn)) == layer


def test_a_build_that_just_started_does_not_show_the_last_builds_progress(tmp_path) -> None:
    # The shared file still holds the previous build's last progress (all nodes done) until
    # the new build writes its own: the pages show "Starting", not "[165/165] ... 97s".
    settings = Settings(home=tmp_path)
    earlier = Progress("B-1", "cli", started=time.time() - 300)
    earlier.apply(NodeEvent("total", total=3))
    for name in ("a", "b", "c"):
        earlier.apply(finish(name, "success"))
    progress.write(settings, earlier)
    seconds_ago = (datetime.now(UTC) - timedelta(seconds=7)).isoformat(timespec="seconds")
    holder = {"trigger": "app", "by": "ops", "started_at": seconds_ago}
    # Counted from the lock's start: 7 s (8 when the clock turned a second meanwhile).
    assert progress.describe(progress.of_holder(settings, holder)) in {
        "[0/?] Starting (7s elapsed)",
        "[0/?] Starting (8s elapsed)",
    }

    started = Progress("B-2", "app")
    started.apply(NodeEvent("total", total=3))
    progress.write(settings, started)
    assert progress.of_holder(settings, holder)["build_id"] == "B-2"
    # A holder that says nothing of its start (an older lock file): the file as it is.
    assert progress.of_holder(settings, {"trigger": "cli"})["build_id"] == "B-2"
