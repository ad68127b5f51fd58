"""The drift bins' edges from a summary of the reference values, so both engines fit them alike.

ml.drift.numeric_edges fits a numeric feature's bins on its pooled reference values. Its rule
needs only a few facts about them (ValueSummary): how many there are, every distinct value
when there are few, order statistics at the quantiles' positions, the values held by a
bin's worth of rows (mass points) with the next larger value, and order statistics of the
other values. numpy gets them from the values in memory (value_summary); Spark from sorted
value counts, without collecting the values (ml.distributed_profiles). `edges_from_summary`
is the one home of the rule; `quantile_positions` + `interpolate` are numpy's "linear"
quantile (np.quantile's default), so order statistics give numpy's quantiles to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EMPTY = np.array([], dtype=float)


@dataclass(frozen=True)
class ValueSummary:
    """What the bin rule needs to know of a feature's (non-missing) reference values."""

    n: int
    distinct: np.ndarray | None  # every distinct value, sorted, when few (value_limit); else None
    quantiles: np.ndarray = field(default_factory=lambda: EMPTY)  # at quantile_probabilities
    mass: np.ndarray = field(default_factory=lambda: EMPTY)  # values held by >= n/bins rows
    mass_next: np.ndarray = field(default_factory=lambda: EMPTY)  # next larger value (or inf)
    rest_quantiles: np.ndarray = field(default_factory=lambda: EMPTY)  # of the other values


def quantile_probabilities(bins: int) -> np.ndarray:
    """The inner quantiles that cut values into `bins` bins of equal mass."""
    return np.linspace(0, 1, bins + 1)[1:-1]


def rest_bins(bins: int, n: int, n_rest: int) -> int:
    """Bins for the values off the mass points: in proportion to their share, at least one."""
    return max(1, round(bins * n_rest / n))


def quantile_positions(
    n: int, probabilities: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0-based positions (below, above) in the sorted values and the weight of the one above,
    for each probability: numpy's "linear" method ((n - 1) p, between its neighbours)."""
    virtual = (n - 1) * np.asarray(probabilities, dtype=float)
    below = np.floor(virtual)
    above = np.minimum(below + 1, n - 1)
    return below.astype(np.int64), above.astype(np.int64), virtual - below


def interpolate(low: np.ndarray, high: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """numpy's quantile interpolation between two order statistics (its `_lerp`, bit for bit)."""
    low, high, weight = (np.asarray(a, dtype=float) for a in (low, high, weight))
    step = high - low
    return np.where(weight >= 0.5, high - step * (1 - weight), low + step * weight)


def value_summary(values: np.ndarray, bins: int, value_limit: int) -> ValueSummary:
    """The summary of values in memory (NaN already removed)."""
    distinct, counts = np.unique(values, return_counts=True)
    if len(values) == 0 or len(distinct) <= value_limit:
        return ValueSummary(len(values), distinct)
    quantiles = np.quantile(values, quantile_probabilities(bins))
    if len(np.unique(quantiles)) == bins - 1:  # no mass point: the rest is not needed
        return ValueSummary(len(values), None, quantiles)
    at_mass = counts >= len(values) / bins
    following = np.append(distinct[1:], np.inf)
    rest = values[~np.isin(values, distinct[at_mass])]
    share = rest_bins(bins, len(values), len(rest))
    inner = np.quantile(rest, quantile_probabilities(share)) if len(rest) else EMPTY
    return ValueSummary(
        len(values), None, quantiles, distinct[at_mass], following[at_mass], np.asarray(inner)
    )


def edges_from_summary(summary: ValueSummary, bins: int) -> np.ndarray:
    """Inner bin edges (see ml.drift.numeric_edges for the rule, in words)."""
    if summary.n == 0:
        return EMPTY
    if summary.distinct is not None:
        distinct = summary.distinct
        return np.append(distinct, np.nextafter(distinct[-1], np.inf))
    edges = np.unique(summary.quantiles)
    if len(edges) == bins - 1:
        return edges
    mass = summary.mass
    closes = np.nextafter(mass, np.inf)
    edges = np.unique(np.concatenate([mass, closes, summary.rest_quantiles]))
    # A mass point's bin closes just above it only where reference values follow before the
    # next edge: between two adjacent integers (1 and 2 days) that bin would always be empty.
    following = np.append(edges[1:], np.inf)
    keep = ~np.isin(edges, closes)
    for close, after in zip(closes, summary.mass_next, strict=True):
        j = int(np.searchsorted(edges, close))
        # Reference values in [close, next edge) exist iff the next value after the point is there.
        keep[j] = bool(after < following[j])
    return edges[keep]
