"""The work queue filters and orders at-risk customers the same way everywhere."""

import pandas as pd
import pytest

from pipeline.read.work_queue import QueueFilter, largest_tie, select


def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "risk_rank": [1, 2, 3, 4],
            "customer_id": ["a", "b", "c", "d"],
            "segment": ["SMB", "Enterprise", "SMB", "Mid-Market"],
            "plan": ["starter", "enterprise", "growth", "pro"],
            "region": ["EMEA", "EMEA", "APAC", "LATAM"],
            "customer_value": [50.0, 9000.0, 300.0, 1200.0],
            "churn_probability": [0.6, 0.4, 0.3, 0.2],
            "expected_loss": [30.0, 3600.0, 90.0, 240.0],
        }
    )


def test_no_filter_keeps_everyone_in_risk_order() -> None:
    assert select(customers(), QueueFilter())["customer_id"].tolist() == ["a", "b", "c", "d"]


def test_filters_combine_and_keep_risk_order() -> None:
    queue = QueueFilter(segments=("SMB", "Enterprise"), regions=("EMEA",), min_value=100)
    assert select(customers(), queue)["customer_id"].tolist() == ["b"]


def test_expected_loss_order_puts_big_accounts_first() -> None:
    queue = QueueFilter(order="expected_loss")
    assert select(customers(), queue)["customer_id"].tolist() == ["b", "d", "c", "a"]


def test_a_filter_that_matches_nobody_gives_an_empty_list() -> None:
    assert select(customers(), QueueFilter(max_value=10)).empty


def test_unknown_order_is_refused() -> None:
    with pytest.raises(ValueError, match="order must be one of"):
        QueueFilter(order="name")


def test_the_largest_tie_counts_risks_as_the_page_shows_them() -> None:
    nearly_all_lapse = pd.Series([99.8, 99.7, 99.6, 99.9, 99.5, 99.6, 98.4, 90.0, 50.0, 40.0, None])
    assert largest_tie(nearly_all_lapse) == (6, 100.0)
    assert largest_tie(pd.Series([61.2, 60.4, 12.0] * 3 + [5.0])) is None  # 3 of 10 share 61%
    assert largest_tie(pd.Series([99.8] * 9)) is None  # too few to speak of a list
