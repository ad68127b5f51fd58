"""Movement since the last build: who is new in the top k, who rose or fell."""

import math

import pandas as pd

from pipeline.queries import movement


def at_risk(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [c for c, _ in rows],
            "customer_name": [c.upper() for c, _ in rows],
            "mrr": 100.0,
            "churn_probability": [p for _, p in rows],
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
