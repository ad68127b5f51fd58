"""Charts list only what they draw, each method in its own colour on every page."""

from __future__ import annotations

import pandas as pd

from ui import charts


def test_the_legend_names_only_the_methods_the_dataset_has_in_their_fixed_colours() -> None:
    metrics = pd.DataFrame(
        {
            "scoring_month": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01"] * 2),
            "method": ["xgboost", "recency", "xgboost", "recency", "xgboost", "recency"],
            "precision_at_k": [0.3, 0.1, 0.25, 0.12, 0.2, 0.1],
        }
    )
    spec = charts.metric_over_time(metrics, "precision_at_k").to_dict()
    scale = next(layer["encoding"]["color"]["scale"] for layer in spec["layer"])
    assert scale["domain"] == ["Baton model", "Days since last activity"]
    assert scale["range"] == [
        charts.METHOD_COLORS["Baton model"],
        charts.METHOD_COLORS["Days since last activity"],
    ]


def test_bar_charts_have_a_pixel_height_with_room_for_every_label() -> None:
    importance = pd.DataFrame(
        {"label": [f"Factor {i}" for i in range(15)], "mean_abs_points": range(15, 0, -1)}
    )
    spec = charts.importance_bars(importance).to_dict()
    # A number (a step height makes Vega-Lite drop the page's fit and warn), 22 px per bar.
    assert spec["height"] == 15 * 22 + charts.X_AXIS_PIXELS
    assert spec["encoding"]["y"]["axis"]["labelOverlap"] is False, "labels must not be thinned"


def test_volume_days_below_the_range_are_red_and_days_above_hollow() -> None:
    volume = pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=4),
            "row_count": [1, 4, 9, 2],
            "low_rows": 2,
            "high_rows": 6,
            "expected_rows": 4,
            "status": ["below", "in range", "above", "below"],
        }
    )
    layers = charts.volume_band(volume).to_dict()["layer"]
    dots = {
        layer["transform"][0]["filter"]: layer["mark"] for layer in layers if "transform" in layer
    }
    assert dots == {
        "(datum.status === 'below')": {
            "type": "point", "shape": "circle", "color": charts.ALARM_COLOR, "filled": True,
            "size": 28,
        },
        "(datum.status === 'above')": {
            "type": "point", "shape": "circle", "color": charts.CURRENT_COLOR, "filled": False,
            "size": 28,
        },
    }  # fmt: skip
    in_range_only = charts.volume_band(volume.assign(status="in range")).to_dict()["layer"]
    assert not [layer for layer in in_range_only if "transform" in layer]
