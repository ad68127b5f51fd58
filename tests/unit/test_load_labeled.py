"""Loading the feature mart compactly: only labeled rows, float32, categories, month order."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.backtest import EXTRA_COLUMNS, walk_forward
from ml.frame import CUSTOMER, LABEL, SNAPSHOT, load_labeled, model_frame


@pytest.fixture
def mart(make_frame) -> tuple[duckdb.DuckDBPyConnection, pd.DataFrame]:
    """A feature mart in DuckDB, stored newest month first, with an extra unused column."""
    frame = make_frame(customers=120, months=10, unlabeled_months=2)
    frame = frame.assign(customer_name="Customer " + frame[CUSTOMER])
    con = duckdb.connect()
    con.register("frame_view", frame.iloc[::-1])
    con.execute("create table customer_snapshots as select * from frame_view")
    return con, frame


def test_load_labeled_keeps_labeled_rows_in_month_order_in_compact_types(mart, make_config):
    con, frame = mart
    config = make_config()

    loaded = load_labeled(con.table("customer_snapshots"), config, EXTRA_COLUMNS)

    assert len(loaded) == int(frame[LABEL].notna().sum())
    assert loaded[SNAPSHOT].is_monotonic_increasing
    assert "customer_name" not in loaded
    assert isinstance(loaded[CUSTOMER].dtype, pd.CategoricalDtype)
    assert isinstance(loaded["plan"].dtype, pd.CategoricalDtype)
    assert loaded["active_days_30d"].dtype == np.float32
    # Columns the backtest reads besides the features keep their precision.
    assert loaded["customer_value"].dtype == np.float64
    assert loaded["days_since_last_activity"].isna().any(), "missing values stay missing"


def test_model_frame_shares_columns_already_compact_instead_of_copying(mart, make_config):
    con, _ = mart
    config = make_config()
    loaded = load_labeled(con.table("customer_snapshots"), config, EXTRA_COLUMNS)

    lean = model_frame(loaded, config, extra=EXTRA_COLUMNS)

    assert np.shares_memory(
        lean["active_days_30d"].to_numpy(), loaded["active_days_30d"].to_numpy()
    )


def test_backtest_scores_are_the_same_from_the_compact_load_and_from_a_plain_frame(
    mart, make_config
):
    con, frame = mart
    config = make_config()
    plain = frame[frame[LABEL].notna()]

    compact = walk_forward(
        load_labeled(con.table("customer_snapshots"), config, EXTRA_COLUMNS), config
    )
    reference = walk_forward(plain, config)

    key = ["scoring_month", "method", CUSTOMER]
    pd.testing.assert_frame_equal(
        compact.sort_values(key, ignore_index=True),
        reference.sort_values(key, ignore_index=True),
    )
