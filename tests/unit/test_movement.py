"""Movement since the last build: who is new in the top k, who rose or fell, by how much."""

import math

import pandas as pd

from pipeline.read.queries import movement


def at_risk(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [c for c, _ in rows],
            "customer_name": [c.upper() for c, _ in rows],
            "mrr": 100.0,
            "churn_probability": [p for _, p in rows],
            "risk_rank": pd.Series([p for _, p in rows]).rank(ascending=False, method="first"),
        }
    )


def test_first_build_has_no_movement() -> None:
    moved = movement(at_risk([("a", 0.5), ("b", 0.4)]), None, k=2)
    assert set(moved["movement"]) == {"first build"}
    assert moved["change_pts"].isna().all()


def test_new_rising_falling_and_steady_in_the_top_k() -> None:
    before = at_risk([("a", 0.30), ("b", 0.50), ("c", 0.45), ("d", 0.10)])
    now = at_risk([("a", 0.60), ("b", 0.40), ("c", 0.44), ("d", 0.35)])
    moved = movement(now, before, k=4).set_index("customer_id")
    assert moved.loc["a", "movement"] == "rising"
    assert math.isclose(moved.loc["a", "change_pts"], 30.0)
    assert moved.loc["b", "movement"] == "falling"
    assert moved.loc["c", "movement"] == "steady"
    assert moved.loc["d", "movement"] == "rising"


def test_customer_outside_the_previous_top_k_is_new() -> None:
    before = at_risk([("a", 0.5), ("b", 0.4), ("c", 0.1)])
    now = at_risk([("c", 0.6), ("a", 0.5)])
    moved = movement(now, before, k=2).set_index("customer_id")
    assert moved.loc["c", "movement"] == "new"
    assert moved.loc["a", "movement"] == "steady"


def test_customer_not_scored_before_is_new_even_outside_the_top_k() -> None:
    before = at_risk([("a", 0.5), ("b", 0.4)])
    now = at_risk([("a", 0.5), ("b", 0.4), ("z", 0.1)])
    moved = movement(now, before, k=2).set_index("customer_id")
    assert moved.loc["z", "movement"] == "new"
    assert math.isnan(moved.loc["z", "change_pts"])


def test_customer_outside_both_top_ks_rises_or_falls_but_is_not_new() -> None:
    before = at_risk([("a", 0.9), ("b", 0.8), ("c", 0.05), ("d", 0.30)])
    now = at_risk([("a", 0.9), ("b", 0.8), ("c", 0.15), ("d", 0.20)])
    moved = movement(now, before, k=2).set_index("customer_id")
    assert moved.loc["c", ["movement", "change_pts"]].tolist() == ["rising", 10.0]
    assert moved.loc["d", ["movement", "change_pts"]].tolist() == ["falling", -10.0]


def test_change_is_rounded_to_a_tenth_of_a_point_and_the_threshold_uses_what_is_shown() -> None:
    before = at_risk([("a", 0.500), ("b", 0.4000), ("c", 0.3000)])
    now = at_risk([("a", 0.5496), ("b", 0.39996), ("c", 0.3494)])
    moved = movement(now, before, k=3).set_index("customer_id")
    assert moved.loc["a", ["movement", "change_pts"]].tolist() == ["rising", 5.0]
    assert str(moved.loc["b", "change_pts"]) == "0.0"  # not "-0.0" in the CSV
    assert moved.loc["c", ["movement", "change_pts"]].tolist() == ["steady", 4.9]


def test_previous_build_of_other_customers_counts_as_no_previous_build() -> None:
    moved = movement(at_risk([("a", 0.5)]), at_risk([("x", 0.5)]), k=1)
    assert moved["movement"].tolist() == ["first build"]


def test_movement_keeps_every_row_and_the_order_of_the_list() -> None:
    now = at_risk([("b", 0.6), ("a", 0.5), ("c", 0.1)])
    moved = movement(now, at_risk([("a", 0.5), ("b", 0.4)]), k=1)
    assert moved["customer_id"].tolist() == ["b", "a", "c"]
    assert list(moved.columns[: len(now.columns)]) == list(now.columns)
