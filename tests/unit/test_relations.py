"""ml.relations on DuckDB's side: ranks that do not depend on floating-point noise, and
Python models that take turns when dbt runs several threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from ml import relations
from pipeline.settings import DEFAULT_BUILD_THREADS, build_threads


def test_ranks_go_highest_first_and_break_ties_on_the_customer() -> None:
    table = pa.table(
        {
            "customer_id": ["c", "a", "b", "d"],
            "churn_probability": [0.5, 0.5, 0.9, 0.1],
        }
    )
    ranked = relations.rank(table, "risk_rank", ["churn_probability"], stable_by="customer_id")
    by_customer = dict(
        zip(ranked["customer_id"].to_pylist(), ranked["risk_rank"].to_pylist(), strict=True)
    )
    assert by_customer == {"b": 1, "a": 2, "c": 3, "d": 4}


def test_values_that_differ_only_by_floating_point_noise_tie() -> None:
    # The same risk summed in another order differs in the 16th digit: still a tie, so the
    # customer id decides, whichever of the two came out a hair larger on this machine.
    noisy = 0.07444616 + 1.1e-16
    table = pa.table(
        {
            "customer_id": ["A001998", "A001996"],
            "churn_probability": [noisy, 0.07444616],
            "raw_probability": [0.2, 0.2],
        }
    )
    ranked = relations.rank(
        table, "risk_rank", ["churn_probability", "raw_probability"], stable_by="customer_id"
    )
    by_customer = dict(
        zip(ranked["customer_id"].to_pylist(), ranked["risk_rank"].to_pylist(), strict=True)
    )
    assert by_customer == {"A001996": 1, "A001998": 2}


def test_a_real_difference_in_risk_still_ranks_first() -> None:
    table = pa.table({"customer_id": ["a", "b"], "churn_probability": [0.3000001, 0.3000002]})
    ranked = relations.rank(table, "risk_rank", ["churn_probability"], stable_by="customer_id")
    assert ranked["risk_rank"].to_pylist() == [2, 1]


def test_map_groups_applies_the_function_to_each_group_in_key_order() -> None:
    rows = duckdb.from_arrow(
        pa.table({"month": ["2024-02", "2024-01", "2024-02", "2024-01"], "x": [1.0, 2.0, 3.0, 5.0]})
    )
    schema = pa.schema([("month", pa.string()), ("total", pa.float64()), ("rows", pa.int64())])

    def total(group: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {"month": [group["month"].iloc[0]], "total": [group["x"].sum()], "rows": [len(group)]}
        )

    result = relations.map_groups(rows, ["month"], total, schema)
    assert result.to_pylist() == [
        {"month": "2024-01", "total": 7.0, "rows": 2},
        {"month": "2024-02", "total": 4.0, "rows": 2},
    ]
    assert relations.to_pandas(result)["rows"].tolist() == [2, 2]
    assert relations.map_groups(rows.filter("false"), ["month"], total, schema).num_rows == 0


def test_models_that_hold_a_mart_take_turns_across_dbt_threads() -> None:
    # dbt runs each Python model in a thread of the build's process (BATON_BUILD_THREADS).
    running, most = 0, 0
    guard = threading.Lock()

    def heavy(dbt: object, session: object) -> str:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with guard:
            running -= 1
        return f"{dbt}-{session}"

    model = relations.one_at_a_time(heavy)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(model, range(4), range(4)))
    assert results == ["0-0", "1-1", "2-2", "3-3"]
    assert most == 1
    # Undecorated, the same models do overlap: the lock is what keeps them apart.
    running, most = 0, 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(heavy, range(4), range(4)))
    assert most > 1


def test_build_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATON_BUILD_THREADS", raising=False)
    assert build_threads() == DEFAULT_BUILD_THREADS
    monkeypatch.setenv("BATON_BUILD_THREADS", "8")
    assert build_threads() == 8
    for unusable in ("zero", "0", "-2"):
        monkeypatch.setenv("BATON_BUILD_THREADS", unusable)
        assert build_threads() == DEFAULT_BUILD_THREADS


def test_arrow_tables_convert_to_pandas_from_several_threads_at_once() -> None:
    # The Spark backtest fits two months at a time, each converting its collected rows;
    # DuckDB's default connection refuses a second call while one runs.
    table = pa.table(
        {
            "value": pa.array(range(300_000), pa.float64()),
            "day": pa.array(range(300_000), pa.int32()).cast(pa.date32()),
        }
    )
    with ThreadPoolExecutor(4) as pool:
        frames = list(pool.map(lambda _: relations.to_pandas(table), range(40)))

    assert all(len(frame) == 300_000 for frame in frames)
    assert str(frames[-1]["day"].dtype).startswith("datetime64")


def test_digests_ignore_row_order_and_change_with_any_value() -> None:
    frame = pd.DataFrame(
        {
            "month": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"]),
            "customer": ["a", "b", "a", "b"],
            "spend": [1.5, 2.0, None, 4.25],
            "label": [True, False, None, True],
        }
    )
    with duckdb.connect() as connection:

        def digests(rows: pd.DataFrame) -> dict[object, str]:
            connection.register("rows", rows)
            connection.execute("create or replace table mart as select * from rows")
            names = ["customer", "spend", "label"]
            labeled = connection.table("mart").filter("label is not null")
            return relations.digests(labeled, names, "month")

        first = digests(frame)
        assert len(first) == 2  # one per month
        assert digests(frame.iloc[::-1]) == first
        changed = frame.copy()
        changed.loc[1, "spend"] = 2.01
        after = digests(changed)
        # Only the month of the changed row has another digest.
        assert [after[m] == first[m] for m in sorted(first)] == [False, True]
        # Rows the filter leaves out do not count.
        unlabeled = frame.copy()
        unlabeled.loc[2, "spend"] = 99.0
        assert digests(unlabeled) == first


def test_rows_reach_pandas_typed_as_duckdb_types_them() -> None:
    # Text comes straight from Arrow (faster); every column must still be what `.df()` gives.
    relation = duckdb.sql(
        """
        select * from (values
            (date '2024-01-01', 1::int, 'a', null::varchar, 1.5::decimal(10, 2), true, [1, 2]),
            (null, null, null, null, null, null, null),
            (date '2024-02-01', 3, 'c', null, 2.5, false, [])
        ) t(day, count, name, nothing, amount, flag, list)
        """
    )
    expected = relation.df()

    frame = relations.to_pandas(relation)

    assert list(frame.dtypes) == list(expected.dtypes)
    pd.testing.assert_frame_equal(frame, expected)
    only_text = duckdb.sql("select 'a' as x, 'b' as y")
    pd.testing.assert_frame_equal(relations.to_pandas(only_text), only_text.df())
