"""Drift bin edges from a summary of the values: what lets Spark fit numpy's bins exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ml.drift import numeric_edges
from ml.edges import (
    ValueSummary,
    edges_from_summary,
    interpolate,
    quantile_positions,
    quantile_probabilities,
    rest_bins,
)


def summary_from_counts(values: np.ndarray, bins: int, value_limit: int) -> ValueSummary:
    """The summary the way ml.distributed_profiles builds it: from sorted value counts, order
    statistics at positions and the mass points with the next value, never the values."""
    distinct, counts = np.unique(values, return_counts=True)
    n = int(counts.sum())
    if n == 0 or len(distinct) <= value_limit:
        return ValueSummary(n, distinct)
    end = np.cumsum(counts)

    def order_statistics(ends: np.ndarray, values_: np.ndarray, total: int, p: np.ndarray):
        below, above, weight = quantile_positions(total, p)
        at = lambda i: values_[np.searchsorted(ends, i, side="right")]  # noqa: E731
        return interpolate(at(below), at(above), weight)

    mass = counts >= n / bins
    rest_counts = np.where(mass, 0, counts)
    n_rest = int(rest_counts.sum())
    kept = ~mass
    rest = (
        order_statistics(
            np.cumsum(counts[kept]),
            distinct[kept],
            n_rest,
            quantile_probabilities(rest_bins(bins, n, n_rest)),
        )
        if n_rest
        else np.array([])
    )
    return ValueSummary(
        n,
        None,
        order_statistics(end, distinct, n, quantile_probabilities(bins)),
        distinct[mass],
        np.append(distinct[1:], np.inf)[mass],
        rest,
    )


def test_order_statistics_give_numpys_quantiles_to_the_bit() -> None:
    rng = np.random.default_rng(1)
    for trial in range(500):
        values = np.sort(rng.normal(size=int(rng.integers(1, 300))) * 10.0 ** (trial % 7 - 3))
        if trial % 3 == 0:
            values = np.round(values)
        for bins in (2, 3, 7, 10):
            p = quantile_probabilities(bins)
            below, above, weight = quantile_positions(len(values), p)
            found = interpolate(values[below], values[above], weight)
            assert np.array_equal(found, np.quantile(values, p))


@pytest.mark.parametrize("shape", ["normal", "counts", "zero_inflated", "two_mass_points", "steps"])
def test_edges_from_sorted_value_counts_equal_the_edges_from_the_values(shape: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(150):
        n = int(rng.integers(0, 400))
        values = {
            "normal": rng.normal(size=n),
            "counts": rng.integers(0, int(rng.integers(1, 40)), size=n).astype(float),
            "zero_inflated": np.where(rng.random(n) < rng.random(), 0.0, rng.exponential(size=n)),
            "two_mass_points": np.where(
                rng.random(n) < 0.4, 0.0, np.where(rng.random(n) < 0.3, 1.0, rng.normal(size=n))
            ),
            "steps": np.round(rng.exponential(size=n) * 3, 1),
        }[shape]
        for limit in (0, 20):
            expected = numeric_edges(values, 10, limit)
            found = edges_from_summary(summary_from_counts(values, 10, limit), 10)
            assert np.array_equal(found, expected), (shape, limit)


def test_a_mass_points_closing_edge_is_dropped_when_no_value_follows_before_the_next_edge() -> None:
    # Days: 0 and 1 are mass points; nothing lies between 0 and 1, so [0+, 1) would be empty.
    values = np.array([0.0] * 50 + [1.0] * 30 + list(np.arange(2.0, 22.0)))
    edges = edges_from_summary(summary_from_counts(values, 10, 0), 10)
    assert np.nextafter(0.0, np.inf) not in edges and 0.0 in edges and 1.0 in edges
    assert np.array_equal(edges, numeric_edges(values, 10, 0))
