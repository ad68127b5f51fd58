"""Real `dbt build` runs on demo data: what gets published, what the CLI says, and failures.

One session build (tests/conftest.py `built`) serves every read-only test; each failure case
gets its own home with tiny raw data and a copy of that build as "the last good warehouse".
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline import history, warehouse
from pipeline.access import Actor, Role
from pipeline.build import progress
from pipeline.build.jobs import BuildJob
from pipeline.build.lock import BuildRefusedError
from pipeline.dataset import save as save_dataset
from pipeline.history import RunRecord
from pipeline.settings import Settings
from tests.support import pipeline_cli

pytestmark = pytest.mark.slow

LABELS = ["is_matured", "churned_within_horizon"]
EXPORT_HEADER = (
    "customer_id,customer_name,segment,plan,region,monthly_revenue_usd,risk_pct,movement,"
    "risk_change_pts,expected_revenue_loss_usd,reason_1,reason_2,reason_3,snapshot_date,"
    "model_version"
)


def serving_path(settings: Settings) -> Path:
    pointer = warehouse.current(settings)
    assert pointer is not None, "nothing published"
    return Path(pointer["path"])


def query(path: Path, sql: str, params: list[object] | None = None) -> pd.DataFrame:
    with warehouse.connect(path) as connection:
        return connection.execute(sql, params or []).df()


def cli(settings: Settings, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m pipeline ...` in a child process that finds its home through BATON_HOME."""
    return pipeline_cli(settings.home, *args, cwd=cwd)


def assert_one_readable_line(message: str) -> None:
    assert message.strip(), "empty failure message"
    assert "\n" not in message and "\r" not in message, message
    assert "Traceback" not in message, message
    assert "Candidate functions" not in message, message
    assert 'File "' not in message, message
    assert len(message) <= 600, message


@pytest.fixture(scope="module")
def served(built) -> Path:
    assert built.record.status == "success", built.record.failure
    return serving_path(built.settings)


# --- the session build ----------------------------------------------------------------


def test_session_build_succeeds_and_is_published_atomically(built) -> None:
    record, settings = built.record, built.settings
    assert record.status == "success", record.failure
    assert record.published and record.failure is None
    assert record.model_version
    pointer = json.loads(settings.current_pointer.read_text())
    assert pointer["build_id"] == record.build_id
    assert Path(pointer["path"]) == settings.warehouses_dir / f"{record.build_id}.duckdb"
    assert Path(pointer["path"]).exists()
    assert not settings.build_warehouse_path.exists()  # moved, not copied
    saved = history.latest(settings)
    assert saved is not None and saved.build_id == record.build_id
    assert saved.status == "success" and saved.finished_at and saved.seconds
    assert record.rows["at_risk_customers"] > 0
    assert record.rows["customer_snapshots"] > record.rows["at_risk_customers"]


def test_every_dbt_test_of_the_session_build_passes(built) -> None:
    nodes = built.record.nodes
    tests = [n for n in nodes if n["resource_type"] in ("test", "unit_test")]
    models = [n for n in nodes if n["resource_type"] == "model"]
    assert len(tests) >= 40 and len(models) >= 20
    assert [(n["name"], n["status"], n["message"]) for n in tests if n["status"] != "pass"] == []
    assert [(n["name"], n["status"]) for n in models if n["status"] != "success"] == []
    assert built.record.tests == {"passed": len(tests), "failed": 0, "warned": 0}
    layers = {n["layer"] for n in models}
    assert {"source data", "transformations", "ML"} <= layers


def test_progress_counts_every_node_of_the_build(built) -> None:
    assert built.progress, "on_progress was never called"
    last = built.progress[-1]
    assert last["done"] == last["total"] == len(built.record.nodes)
    dones = [update["done"] for update in built.progress]
    assert dones == sorted(dones)
    shared = progress.read(built.settings)
    assert shared is not None and shared["build_id"] == built.record.build_id
    assert shared["done"] == shared["total"]


def test_the_apps_build_runs_in_a_process_of_its_own_and_records_who_asked(
    tmp_path: Path, make_home: Callable[[Path, Path], Settings], demo_raw: Path
) -> None:
    # In the app's process a build shares the interpreter with the server and ran 1.5-4x
    # slower than the CLI's; the Rebuild button's build is the CLI's build in a child.
    settings = make_home(tmp_path / "home", demo_raw)
    job = BuildJob(settings)

    assert job.start("app", by=Actor("olga@example.com", Role.OPERATOR)) is None
    job.wait(timeout=600)

    assert job.error is None, job.error
    record = job.last
    assert record is not None and record.status == "success", record
    assert (record.trigger, record.triggered_by) == ("app", "olga@example.com")
    assert record.pid != os.getpid(), "the build ran in the app's own process"
    assert (warehouse.current(settings) or {}).get("build_id") == record.build_id
    assert not job.running


def test_at_risk_has_one_row_per_customer_of_the_newest_snapshot(served: Path) -> None:
    at_risk = query(served, "select * from at_risk_customers")
    newest = query(
        served,
        "select customer_id, snapshot_date from customer_snapshots "
        "where snapshot_date = (select max(snapshot_date) from customer_snapshots)",
    )
    assert len(newest) > 100
    assert at_risk["customer_id"].is_unique
    assert set(at_risk["customer_id"]) == set(newest["customer_id"])
    assert set(pd.to_datetime(at_risk["snapshot_date"])) == set(
        pd.to_datetime(newest["snapshot_date"])
    )


def test_at_risk_probabilities_are_probabilities_ranked_highest_first(served: Path) -> None:
    at_risk = query(served, "select * from at_risk_customers order by risk_rank")
    probability = at_risk["churn_probability"]
    assert probability.between(0, 1).all()
    assert probability.nunique() > 5  # a real ranking, not a constant
    assert probability.is_monotonic_decreasing
    assert at_risk["risk_rank"].tolist() == list(range(1, len(at_risk) + 1))
    expected_loss = at_risk["churn_probability"] * at_risk["customer_value"]
    assert (at_risk["expected_loss"] - expected_loss).abs().max() < 1e-6


def test_top_customers_have_plain_reasons_from_their_biggest_risk_drivers(served: Path) -> None:
    top = query(served, "select * from at_risk_customers where risk_rank <= 10 order by risk_rank")
    for row in top.itertuples():
        assert row.reason_1, row
        explanation = query(
            served,
            "select feature, reason, points from customer_explanations "
            "inner join feature_dictionary using (feature) "
            "where customer_id = ? "
            "and family not in (select family from common_reasons) "
            "order by points desc, feature limit 1",
            [row.customer_id],
        )
        # The first reason is the biggest bar of the customer's Why waterfall.
        assert explanation["reason"].iloc[0] == row.reason_1
        assert explanation["feature"].iloc[0] == row.reason_1_feature
        assert explanation["points"].iloc[0] > 0
        assert "{" not in row.reason_1, "a reason template placeholder was left unfilled"
        reasons = [r for r in (row.reason_1, row.reason_2, row.reason_3) if r]
        assert len(set(reasons)) == len(reasons)


def test_backtest_scores_every_month_with_the_model_and_both_baselines(served: Path) -> None:
    metrics = query(served, "select * from ml_backtest_metrics")
    methods = metrics.groupby("scoring_month")["method"].apply(frozenset)
    assert len(methods) >= 3
    assert set(methods) == {frozenset({"xgboost", "recency", "logistic"})}
    assert not metrics.duplicated(["scoring_month", "method"]).any()
    newest = query(served, "select max(snapshot_date) as d from customer_snapshots")["d"].iloc[0]
    assert pd.to_datetime(metrics["scoring_month"]).max() < pd.Timestamp(newest)


def test_model_beats_the_recency_baseline_on_mean_roc_auc(served: Path) -> None:
    metrics = query(
        served, "select method, avg(roc_auc) as auc from ml_backtest_metrics group by method"
    )
    auc = dict(zip(metrics["method"], metrics["auc"], strict=True))
    assert auc["xgboost"] > auc["recency"], auc
    assert auc["xgboost"] > 0.6, auc


def test_status_json_names_last_build_model_version_and_backtest(
    built, served: Path, tmp_path: Path
) -> None:
    done = cli(built.settings, "status", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["last_build"]["build_id"] == built.record.build_id
    assert status["last_build"]["status"] == "success"
    assert status["serving_build"] == built.record.build_id
    assert status["model"]["model_version"] == built.record.model_version
    expected = query(served, "select scoring_month, method, roc_auc from ml_backtest_metrics")
    assert len(status["backtest"]) == len(expected)
    assert {row["method"] for row in status["backtest"]} == {"xgboost", "recency", "logistic"}
    first = status["backtest"][0]
    assert 0 <= first["roc_auc"] <= 1
    date.fromisoformat(str(first["scoring_month"])[:10])


def test_export_cli_writes_the_k_riskiest_customers_with_the_documented_header(
    built, served: Path, tmp_path: Path
) -> None:
    out = tmp_path / "at-risk.csv"
    done = cli(built.settings, "export-at-risk", "--out", str(out), "--top", "10", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == EXPORT_HEADER
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 10
    top = query(served, "select * from at_risk_customers order by risk_rank limit 10")
    assert [r["customer_id"] for r in rows] == top["customer_id"].tolist()
    risk = [float(r["risk_pct"]) for r in rows]
    assert risk == sorted(risk, reverse=True)
    assert all(0 <= value <= 100 for value in risk)


# --- point in time ----------------------------------------------------------------------


def rewrite_history_from(raw: Path, cutoff: date) -> None:
    """Change, delete and add activity, payments, tickets and plans dated on/after `cutoff`."""
    day = cutoff.isoformat()
    connection = duckdb.connect(str(raw))
    try:
        for sql in (
            # Some customers go silent from the cutoff on; the rest look ten times busier.
            "delete from usage_daily where usage_date >= $day and hash(account_id) % 2 = 0",
            "update usage_daily set events = events * 10, active_users = active_users + 3 "
            "where usage_date >= $day",
            # Activity, a failed payment and an urgent ticket ON the snapshot day itself.
            "insert into usage_daily select account_id, cast($day as date), 9, 900 from accounts "
            "where account_id not in (select account_id from usage_daily where usage_date = $day)",
            "delete from payments where attempted_at >= cast($day as timestamp) "
            "and hash(payment_id) % 3 = 0",
            "update payments set status = case status when 'failed' then 'succeeded' "
            "else 'failed' end where attempted_at >= cast($day as timestamp)",
            "insert into payments select 'PIT-' || account_id, null, account_id, "
            "cast($day as timestamp), 1.0, 'failed' from accounts",
            "delete from tickets where created_at >= cast($day as timestamp) "
            "and hash(ticket_id) % 3 = 0",
            "update tickets set priority = 'urgent' where created_at >= cast($day as timestamp)",
            "insert into tickets select 'PIT-' || account_id, account_id, "
            "cast($day as timestamp), 'urgent', 'bug' from accounts",
            # Plans that start on or after the cutoff cost three times as much.
            "update subscriptions set mrr = mrr * 3 where started_at >= $day",
        ):
            connection.execute(sql, {"day": day})
        connection.execute("checkpoint")
    finally:
        connection.close()


def snapshot_features(path: Path, until: date) -> pd.DataFrame:
    frame = query(
        path,
        "select * exclude (is_matured, churned_within_horizon) from customer_snapshots "
        "where snapshot_date <= ? order by snapshot_date, customer_id",
        [until],
    )
    return frame.reset_index(drop=True)


def test_features_of_a_snapshot_ignore_data_dated_on_or_after_it(
    built, served: Path, demo_raw: Path, tmp_path: Path, make_home, build
) -> None:
    dates = query(served, "select distinct snapshot_date from customer_snapshots order by 1")
    cutoff = pd.Timestamp(dates["snapshot_date"].iloc[2]).date()  # the third snapshot
    settings = make_home(tmp_path / "rewritten", demo_raw)
    rewrite_history_from(settings.raw_path, cutoff)

    record = build(settings)
    assert record.status == "success", record.failure
    rewritten = serving_path(settings)

    before, after = snapshot_features(served, cutoff), snapshot_features(rewritten, cutoff)
    assert pd.to_datetime(before["snapshot_date"]).nunique() == 3
    assert len(before) > 500
    pd.testing.assert_frame_equal(after, before, check_exact=True)

    # The rewrite is visible one snapshot later, so the comparison above could have failed.
    later = pd.Timestamp(dates["snapshot_date"].iloc[3]).date()
    late_before = snapshot_features(served, later).iloc[len(before) :]
    late_after = snapshot_features(rewritten, later).iloc[len(after) :]
    both = late_before.merge(late_after, on="customer_id", suffixes=("_before", "_after"))
    assert len(both) > 100
    for column in ("events_30d", "failed_payments_30d", "tickets_30d", "days_since_last_activity"):
        changed = both[f"{column}_before"].ne(both[f"{column}_after"])
        assert changed.any(), column


# --- failures keep the last good build serving ----------------------------------------


@dataclass
class FailedBuild:
    """A build that was meant to fail, with what was in service before it."""

    settings: Settings
    record: RunRecord
    pointer_before: str
    stale: RunRecord | None = None
    refused: BuildRefusedError | None = None
    runs_while_refused: list[str] | None = None


def serve_copy_of(source: Settings, target: Settings) -> str:
    """Publish a copy of `source`'s warehouse in `target` as its last good build."""
    pointer = warehouse.current(source)
    assert pointer is not None
    copy = target.warehouses_dir / Path(pointer["path"]).name
    shutil.copyfile(pointer["path"], copy)
    text = json.dumps({**pointer, "path": str(copy)})
    target.current_pointer.write_text(text)
    return text


def alter_raw(raw: Path, *statements: str) -> None:
    connection = duckdb.connect(str(raw))
    try:
        for sql in statements:
            connection.execute(sql)
        connection.execute("checkpoint")
    finally:
        connection.close()


def failed_build(
    home: Path,
    tools: tuple[Callable[..., Settings], Callable[..., RunRecord]],
    built,
    tiny_raw: Path,
    mutate: Callable[[Settings], None],
    rebuild_in: Callable[[Settings], FailedBuild] | None = None,
) -> FailedBuild:
    """A home with tiny raw data changed by `mutate` and a last good build, then one rebuild."""
    make_home, build = tools
    assert built.record.status == "success", built.record.failure
    settings = make_home(home, tiny_raw)
    mutate(settings)
    pointer = serve_copy_of(built.settings, settings)
    if rebuild_in is None:
        return FailedBuild(settings, build(settings), pointer)
    result = rebuild_in(settings)
    result.pointer_before = pointer
    return result


def assert_last_good_build_serves(failed: FailedBuild) -> None:
    settings = failed.settings
    assert failed.record.status == "failed"
    assert not failed.record.published
    assert settings.current_pointer.read_text() == failed.pointer_before
    at_risk = query(serving_path(settings), "select count(*) as n from at_risk_customers")
    assert at_risk["n"].iloc[0] > 0
    assert not settings.build_warehouse_path.exists()
    assert [p.name for p in settings.warehouses_dir.iterdir()] == [
        Path(json.loads(failed.pointer_before)["path"]).name
    ]
    saved = {r.build_id: r for r in history.load_all(settings)}
    assert saved[failed.record.build_id].status == "failed"


@pytest.fixture(scope="module")
def tools(make_home, build) -> tuple[Callable[..., Settings], Callable[..., RunRecord]]:
    return make_home, build


@pytest.fixture(scope="module")
def renamed_column(tmp_path_factory, tools, built, tiny_raw) -> FailedBuild:
    """usage_daily.events renamed upstream; a run left 'running' by a dead process waits."""
    stale = RunRecord(
        build_id="20260101T000000Z-dead00", trigger="app", started_at="2026-01-01T00:00:00+00:00"
    )
    stale.pid = 999_999_999

    def mutate(settings: Settings) -> None:
        alter_raw(settings.raw_path, "alter table usage_daily rename column events to event_count")
        history.save(settings, stale)

    home = tmp_path_factory.mktemp("renamed-column")
    failed = failed_build(home, tools, built, tiny_raw, mutate)
    failed.stale = stale
    return failed


@pytest.fixture(scope="module")
def duplicate_account(tmp_path_factory, tools, built, tiny_raw) -> FailedBuild:
    def mutate(settings: Settings) -> None:
        alter_raw(settings.raw_path, "insert into accounts select * from accounts limit 1")

    home = tmp_path_factory.mktemp("duplicate-account")
    return failed_build(home, tools, built, tiny_raw, mutate)


@pytest.fixture(scope="module")
def retyped_column(tmp_path_factory, tools, built, tiny_raw) -> FailedBuild:
    """usage_daily.usage_date arrives as text, with a value that is not a date."""

    def mutate(settings: Settings) -> None:
        alter_raw(settings.raw_path, "alter table usage_daily alter usage_date type varchar")
        alter_raw(
            settings.raw_path,
            "update usage_daily set usage_date = 'yesterday' "
            "where rowid = (select min(rowid) from usage_daily)",
        )

    home = tmp_path_factory.mktemp("retyped-column")
    return failed_build(home, tools, built, tiny_raw, mutate)


@pytest.fixture(scope="module")
def bad_var(tmp_path_factory, tools, built, tiny_raw) -> FailedBuild:
    """The dataset's dbt vars set an as-of date that is not a date."""

    def mutate(settings: Settings) -> None:
        save_dataset(settings, "bad as_of", {"as_of": "last tuesday"})

    home = tmp_path_factory.mktemp("bad-var")
    return failed_build(home, tools, built, tiny_raw, mutate)


@pytest.fixture(scope="module")
def unknown_churn_definition(tmp_path_factory, tools, built, tiny_raw) -> FailedBuild:
    """The dataset's dbt vars name a churn definition the project does not know."""

    def mutate(settings: Settings) -> None:
        save_dataset(settings, "bad definition", {"churn_definition": "vibes"})

    home = tmp_path_factory.mktemp("unknown-definition")
    return failed_build(home, tools, built, tiny_raw, mutate)


@pytest.fixture(scope="module")
def unknown_feature(tmp_path_factory, tools, built, tiny_raw) -> FailedBuild:
    """The dataset's dbt vars leave out a feature the mart does not have."""

    def mutate(settings: Settings) -> None:
        save_dataset(settings, "bad feature", {"exclude_features": ["paid_to_date"]})

    home = tmp_path_factory.mktemp("unknown-feature")
    return failed_build(home, tools, built, tiny_raw, mutate)


@pytest.fixture(scope="module")
def short_history(tmp_path_factory, tools, built, tiny_raw) -> FailedBuild:
    """Three months of raw data (too short to train); a second rebuild is tried meanwhile."""
    build = tools[1]

    def rebuild_in(settings: Settings) -> FailedBuild:
        started, checked = threading.Event(), threading.Event()
        outcome: dict[str, object] = {}

        def on_progress(_state: object) -> None:
            started.set()
            checked.wait(60)  # hold the build (not dbt) until the second request was made

        def first() -> None:
            outcome["record"] = build(settings, "scheduler", on_progress)

        thread = threading.Thread(target=first)
        thread.start()
        refused, runs = None, None
        try:
            assert started.wait(300), "the first build never reported progress"
            try:
                build(settings, "app")
            except BuildRefusedError as error:
                refused = error
            runs = sorted(path.name for path in settings.runs_dir.iterdir())
        finally:
            checked.set()
            thread.join(300)
        record = outcome["record"]
        assert isinstance(record, RunRecord)
        return FailedBuild(settings, record, "", refused=refused, runs_while_refused=runs)

    home = tmp_path_factory.mktemp("short-history")
    return failed_build(home, tools, built, tiny_raw, lambda _: None, rebuild_in)


def test_renamed_raw_column_fails_at_staging_in_the_source_data_layer(renamed_column) -> None:
    failure = renamed_column.record.failure
    assert failure is not None
    assert failure["node"] == "stg_raw__activity"
    assert failure["layer"] == "source data"
    assert "events" in failure["message"]
    assert_one_readable_line(failure["message"])


def test_renamed_raw_column_keeps_the_last_good_warehouse_serving(renamed_column) -> None:
    assert_last_good_build_serves(renamed_column)


def test_an_as_of_that_is_not_a_date_is_refused_before_dbt_and_keeps_serving(
    bad_var,
) -> None:
    # It used to reach dbt and fail int_data_as_of with a SQL error; the build's settings
    # are now checked against their ranges first (pipeline/build/guards.py).
    failure = bad_var.record.failure
    assert failure is not None
    assert failure["layer"] == "settings"
    assert "as_of" in failure["message"] and "A real date as YYYY-MM-DD" in failure["message"]
    assert bad_var.record.nodes == []  # dbt never ran
    assert_one_readable_line(failure["message"])
    assert_last_good_build_serves(bad_var)


def test_compile_error_names_the_model_and_the_fix_and_keeps_serving(
    unknown_churn_definition,
) -> None:
    failure = unknown_churn_definition.record.failure
    assert failure is not None
    assert "churn_definition must be 'contractual' or 'non_contractual'" in failure["message"]
    assert_one_readable_line(failure["message"])
    assert_last_good_build_serves(unknown_churn_definition)


def test_unknown_feature_names_the_feature_and_the_fix_and_keeps_serving(
    unknown_feature,
) -> None:
    failure = unknown_feature.record.failure
    assert failure is not None
    assert failure["node"] == "ml_backtest_predictions"
    assert (
        "Unknown features in include_features/exclude_features: ['paid_to_date']"
        in failure["message"]
    )
    assert "feature_dictionary" in failure["message"]
    assert_one_readable_line(failure["message"])
    assert_last_good_build_serves(unknown_feature)


def test_retyped_raw_column_fails_in_the_source_data_layer_and_keeps_serving(
    retyped_column,
) -> None:
    failure = retyped_column.record.failure
    assert failure is not None
    assert failure["layer"] == "source data", failure
    assert "yesterday" in failure["message"] or "date" in failure["message"].lower()
    assert_one_readable_line(failure["message"])
    assert_last_good_build_serves(retyped_column)


def test_next_build_marks_a_run_left_running_by_a_dead_process_interrupted(
    renamed_column,
) -> None:
    records = {r.build_id: r for r in history.load_all(renamed_column.settings)}
    assert renamed_column.stale is not None
    stale = records[renamed_column.stale.build_id]
    assert stale.status == "interrupted"
    assert stale.finished_at
    assert stale.failure and stale.failure["layer"] == "pipeline"
    assert records[renamed_column.record.build_id].status == "failed"
    assert len(records) == 2


def test_failing_data_test_fails_the_build_and_keeps_the_last_good_warehouse(
    duplicate_account,
) -> None:
    record = duplicate_account.record
    assert record.failure is not None
    assert record.failure["node"] == "unique_stg_raw__customers_customer_id"
    assert record.failure["layer"] == "source data"
    assert_one_readable_line(record.failure["message"])
    assert record.tests["failed"] >= 1
    statuses = {n["name"]: n["status"] for n in record.nodes}
    assert statuses["unique_stg_raw__customers_customer_id"] == "fail"
    assert_last_good_build_serves(duplicate_account)


def test_too_short_history_fails_in_the_ml_layer_with_one_readable_line(short_history) -> None:
    record = short_history.record
    assert record.failure is not None
    assert record.failure["layer"] == "ML"
    assert_one_readable_line(record.failure["message"])
    registry = next(n for n in record.nodes if n["name"] == "ml_model_candidate")
    assert registry["status"] == "error"
    assert "InsufficientHistoryError" in registry["message"]
    assert "training needs at least" in registry["message"]
    assert_one_readable_line(registry["message"])
    assert_last_good_build_serves(short_history)


def test_too_short_history_is_reported_as_insufficient_history(short_history) -> None:
    failure = short_history.record.failure
    assert failure is not None
    assert "InsufficientHistoryError" in failure["message"]
    assert failure["node"] == "ml_model_candidate"


def test_second_rebuild_while_one_runs_is_refused_and_touches_nothing(short_history) -> None:
    refused = short_history.refused
    assert refused is not None, "the second rebuild was not refused"
    assert "scheduler" in str(refused)
    assert refused.holder["build_id"] == short_history.record.build_id
    assert short_history.runs_while_refused == [f"{short_history.record.build_id}.json"]
    assert [r.build_id for r in history.load_all(short_history.settings)] == [
        short_history.record.build_id
    ]
