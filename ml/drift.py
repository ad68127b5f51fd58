"""Drift statistics for the monitors: binned profiles, PSI, Jensen-Shannon, learned limits.

Pure numpy/pandas, so the dbt monitoring models stay thin and every statistic is unit-tested.
Distributions are compared on bins fitted to the reference plus one bin for missing values,
so a feature that starts arriving empty drifts like any other change: one bin per value for
numbers with few distinct values (counts, flags), quantile edges for the others (a mass point
such as the zeros of a spend keeps a bin of its own), the reference's categories for text.
PSI and Jensen-Shannon are the textbook formulas on the bins' shares (see psi).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml.edges import edges_from_summary, value_summary

MISSING = "missing"
OTHER = "other"
# PSI divides by each bin's share: a bin empty on one side gets this share instead of 0 (or a
# millionth of that side's smallest non-empty share, when that is smaller still), the
# convention of Evidently and most PSI implementations. Bins empty on both sides are left out
# (0 ln 0/0 = 0). Nothing else is smoothed, so on the same counts the PSI is the textbook one.
EMPTY_BIN_SHARE = 1e-4
# A robust standard deviation from the median absolute deviation (normal data).
MAD_TO_SD = 1.4826


def _format(value: float) -> str:
    return f"{value:,.4g}"


def value_binned(reference: np.ndarray, value_limit: int) -> bool:
    """Whether a numeric feature gets one bin per value: at most `value_limit` distinct ones."""
    values = np.asarray(reference, dtype=float)
    return 0 < len(np.unique(values[~np.isnan(values)])) <= value_limit


def numeric_edges(reference: np.ndarray, bins: int = 10, value_limit: int = 0) -> np.ndarray:
    """Inner bin edges fitted to the reference, for numeric_bins.

    With at most `value_limit` distinct values (counts such as failed payments, flags), each
    value v gets the bin [v, next value), the largest one alone, then one bin for higher
    values (and one below the smallest). Otherwise edges at the reference's `bins` quantiles;
    when they collapse on a mass point (a value held by 1/bins or more of the reference, e.g.
    zero spend), each mass point keeps a bin of its own and the other values are cut at their
    own quantiles, into bins in proportion to their share.
    """
    values = np.asarray(reference, dtype=float)
    values = values[~np.isnan(values)]
    return edges_from_summary(value_summary(values, bins, value_limit), bins)


def numeric_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each value: 0..len(edges) by `value >= edge`, len(edges)+1 when missing."""
    values = np.asarray(values, dtype=float)
    index = np.searchsorted(edges, values, side="right")
    return np.where(np.isnan(values), len(edges) + 1, index)


def numeric_labels(edges: np.ndarray, by_value: bool = False) -> list[str]:
    """Readable labels of the bins numeric_bins makes, ending with the missing bin.

    `by_value`: the edges come from numeric_edges' one bin per value ("0", "1", "> 7").
    """
    edges = np.asarray(edges, dtype=float)
    if len(edges) == 0:
        return ["all values", MISSING]
    if by_value:
        shown = [_format(edge) for edge in edges[:-1]]
        return [f"< {shown[0]}", *shown, f"> {shown[-1]}", MISSING]

    def point(low: float, high: float) -> bool:  # the bin [low, high) holds `low` only
        return bool(np.nextafter(low, np.inf) == high)

    labels = [f"< {_format(edges[0])}"]
    after: float | None = None  # the value of the point bin just before
    for low, high in itertools.pairwise(edges):
        if point(low, high):
            labels.append(_format(low))
            after = low
            continue
        start = f"> {_format(after)}" if after is not None else _format(low)
        labels.append(f"{start} to < {_format(high)}")
        after = None
    labels.append(f"> {_format(after)}" if after is not None else f">= {_format(edges[-1])}")
    return [*labels, MISSING]


def categories(reference: Sequence[object], top: int = 12) -> list[str]:
    """The reference's most frequent categories (at most `top`), most frequent first."""
    values = pd.Series(list(reference), dtype="object").dropna().astype(str)
    return values.value_counts().index[:top].tolist()


def categorical_bins(values: Sequence[object], known: list[str]) -> np.ndarray:
    """Bin index of each value: its position in `known`, then "other", then missing."""
    series = pd.Series(list(values), dtype="object")
    text = series.astype(str)
    position = {name: i for i, name in enumerate(known)}
    index = text.map(position).fillna(len(known)).to_numpy(dtype=int)
    return np.where(series.isna().to_numpy(), len(known) + 1, index)


def categorical_labels(known: list[str]) -> list[str]:
    """Labels of the bins categorical_bins makes."""
    return [*known, OTHER, MISSING]


def bin_counts(index: np.ndarray, n_bins: int) -> np.ndarray:
    """How many values fall in each of `n_bins` bins."""
    return np.bincount(np.asarray(index, dtype=int), minlength=n_bins).astype(float)


def _shares(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sides' shares per bin, bins empty on both sides left out."""
    p, q = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    kept = (p > 0) | (q > 0)
    p, q = p[kept], q[kept]
    return p / max(p.sum(), 1.0), q / max(q.sum(), 1.0)


def _no_empty_bins(shares: np.ndarray) -> np.ndarray:
    """Empty bins get EMPTY_BIN_SHARE, or a millionth of the smallest share when that is less."""
    filled = shares[shares > 0]
    smallest = float(filled.min()) if len(filled) else EMPTY_BIN_SHARE
    floor = EMPTY_BIN_SHARE if smallest > EMPTY_BIN_SHARE else smallest / 1e6
    return np.where(shares > 0, shares, floor)


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two binned count vectors (0 = same distribution).

    The textbook sum over bins of (q - p) ln(q / p) on the shares p (reference) and q
    (current); empty bins as EMPTY_BIN_SHARE says.
    """
    p, q = _shares(reference, current)
    p, q = _no_empty_bins(p), _no_empty_bins(q)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, 0 to 1) of two binned count vectors (exact: an empty
    bin needs no smoothing here, 0 log 0 = 0)."""
    p, q = _shares(reference, current)
    mixture = (p + q) / 2

    def divergence(shares: np.ndarray) -> float:
        kept = shares > 0
        return float(np.sum(shares[kept] * np.log2(shares[kept] / mixture[kept])))

    return float(np.sqrt(max(0.5 * divergence(p) + 0.5 * divergence(q), 0.0)))


def leave_one_out(by_period: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PSI and JS distance of each period (row of counts) against the other periods pooled.

    This is how much the statistic moves between ordinary months at this sample size: the
    yardstick for calling the current month's value unusual.
    """
    rows = np.asarray(by_period, dtype=float)
    total = rows.sum(axis=0)
    psis = np.array([psi(total - row, row) for row in rows])
    distances = np.array([js_distance(total - row, row) for row in rows])
    return psis, distances


def learned_limit(ordinary: np.ndarray, factor: float, floor: float) -> float:
    """`factor` times the largest ordinary value, never below `floor` (NaN-safe)."""
    values = np.asarray(ordinary, dtype=float)
    values = values[~np.isnan(values)]
    largest = float(values.max()) if len(values) else 0.0
    return max(floor, factor * largest)


def daily_volume_bands(
    daily: pd.DataFrame,
    check_from: pd.Timestamp,
    check_to: pd.Timestamp,
    history_weeks: int,
    k: float,
    min_relative: float,
    min_absolute: float,
) -> pd.DataFrame:
    """Each source's rows per day from `check_from` to `check_to` against its learned range.

    The range of a day comes from the same weekday in the `history_weeks` weeks before it:
    the median -/+ `k` robust SDs (from the median absolute deviation, and never less than
    the counting noise sqrt(median)), at least `min_relative` of the median and `min_absolute`
    rows. Days outside their range never enter a later day's history (which then reaches
    further back, up to 4x), so a burst does not make the normal days after it look low, and
    a drop stays flagged until it is fixed.
    Weekly rhythms and slow growth do not raise alarms. Days without rows count as zero;
    days before a source's first row or with too little history are left out. `daily` has
    columns source_table, event_date and row_count (days without rows may be absent).
    """
    columns = [
        "source_table", "day", "row_count", "expected_rows", "low_rows", "high_rows",
        "history_days", "status",
    ]  # fmt: skip
    check_from, check_to = pd.Timestamp(check_from), pd.Timestamp(check_to)
    needed = max(2, history_weeks // 2)
    out = []
    for source, group in daily.groupby("source_table", sort=True):
        days = pd.to_datetime(group["event_date"])
        counts = group.assign(event_date=days).groupby("event_date")["row_count"].sum()
        if counts.empty or counts.index.min() > check_to:
            continue
        calendar = pd.date_range(counts.index.min(), check_to, freq="D")
        series = counts.reindex(calendar, fill_value=0).to_numpy(dtype=float)
        usable = np.ones(len(series), dtype=bool)  # in range, so fit to learn from
        for d, day in enumerate(calendar):
            # The newest `history_weeks` usable same weekdays, looking back at most 4x as far.
            past = [d - 7 * week for week in range(1, 4 * history_weeks + 1) if d >= 7 * week]
            history = series[[i for i in past if usable[i]][:history_weeks]]
            if len(history) < needed:
                continue
            center = float(np.median(history))
            spread = MAD_TO_SD * float(np.median(np.abs(history - center)))
            # Never narrower than counting noise (Poisson: sd = sqrt(mean)), a share, a count.
            noise = max(spread, float(np.sqrt(abs(center))))
            half = max(k * noise, min_relative * abs(center), min_absolute)
            low, high, rows = center - half, center + half, series[d]
            status = "below" if rows < low else "above" if rows > high else "in range"
            usable[d] = status == "in range"
            if day >= check_from:
                out.append((source, day, rows, center, max(low, 0.0), high, len(history), status))
    return pd.DataFrame(out, columns=columns)


def expected_roc_auc(probabilities: np.ndarray, scores: np.ndarray | None = None) -> float:
    """ROC AUC to expect when labels are not known yet, if the probabilities are calibrated.

    Each customer counts as a churner with weight p and a stayer with weight 1 - p; the
    estimate is the weighted share of (churner, stayer) pairs the scores rank correctly
    (confidence-based performance estimation). Ties count one half.
    """
    p = np.asarray(probabilities, dtype=float)
    s = p if scores is None else np.asarray(scores, dtype=float)
    if len(p) < 2:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    p, s = p[order], s[order]
    # For each distinct score: churner weight there, stayer weight strictly below and tied.
    # Where each run of equal scores starts (NaNs, sorted last, count as one score).
    same = (s[1:] == s[:-1]) | (np.isnan(s[1:]) & np.isnan(s[:-1]))
    start = np.flatnonzero(np.concatenate([[True], ~same]))
    churn_w = np.add.reduceat(p, start)
    stay_w = np.add.reduceat(1 - p, start)
    stay_below = np.cumsum(stay_w) - stay_w
    correct = np.sum(churn_w * (stay_below + 0.5 * stay_w))
    # Pairs of a customer with itself are not pairs: remove p_i (1 - p_i) counted as ties.
    correct -= 0.5 * np.sum(p * (1 - p))
    total = p.sum() * (1 - p).sum() - np.sum(p * (1 - p))
    return float(correct / total) if total > 0 else float("nan")


def expected_performance(
    probabilities: np.ndarray, scores: np.ndarray, capacity_k: int
) -> dict[str, float]:
    """What to expect of an unlabeled month from calibrated probabilities: customers, churn
    rate, ROC AUC and precision at k."""
    p = np.asarray(probabilities, dtype=float)
    return {
        "customers": float(len(p)),
        "churn_rate": float(p.mean()) if len(p) else float("nan"),
        "roc_auc": expected_roc_auc(p, scores),
        "precision_at_k": expected_precision_at_k(p, scores, capacity_k),
    }


def expected_precision_at_k(probabilities: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Precision in the top k to expect from calibrated probabilities: their mean there."""
    p = np.asarray(probabilities, dtype=float)
    if len(p) == 0:
        return float("nan")
    top = np.argsort(-np.asarray(scores, dtype=float), kind="mergesort")[: max(k, 1)]
    return float(p[top].mean())


def feature_profiles(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    period: str,
    reference_periods: Sequence[object],
    current_period: object,
    bins: int = 10,
    scores: Sequence[str] = (),
    value_limit: int = 0,
) -> pd.DataFrame:
    """Binned counts of every feature for each reference period and the current period.

    Bins are fitted on the pooled reference (see numeric_edges; numeric features with at most
    `value_limit` distinct values get one bin per value); `scores` are numeric columns of
    model output (kind "prediction"). Returns one row per feature, period and bin: feature,
    kind, period, time_window (reference or current), bin_order, bin_label, rows.
    """
    periods = pd.to_datetime(frame[period])
    reference_keys = pd.to_datetime(pd.Series(list(reference_periods))).tolist()
    current_key = pd.to_datetime(pd.Series([current_period])).iloc[0]
    reference = frame[periods.isin(reference_keys)]
    parts = []
    kinds = [(name, "numeric") for name in numeric]
    kinds += [(name, "categorical") for name in categorical]
    kinds += [(name, "prediction") for name in scores]
    for name, kind in kinds:
        if kind != "categorical":
            fitted = pd.to_numeric(reference[name], errors="coerce").to_numpy(dtype=float)
            limit = value_limit if kind == "numeric" else 0
            edges = numeric_edges(fitted, bins, limit)
            labels = numeric_labels(edges, by_value=value_binned(fitted, limit))
            index = numeric_bins(pd.to_numeric(frame[name], errors="coerce").to_numpy(), edges)
        else:
            known = categories(reference[name].tolist())
            labels = categorical_labels(known)
            index = categorical_bins(frame[name].tolist(), known)
        counts = [
            (key, bin_counts(index[(periods == key).to_numpy()], len(labels)))
            for key in [*reference_keys, current_key]
        ]
        parts.append(profile_rows(name, kind, labels, counts, current_key))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PROFILE_COLUMNS)


PROFILE_COLUMNS = ["feature", "kind", "period", "time_window", "bin_order", "bin_label", "rows"]


def profile_rows(
    name: str,
    kind: str,
    labels: list[str],
    counts: Sequence[tuple[object, np.ndarray]],
    current: object,
) -> pd.DataFrame:
    """One feature's profile rows: for each (period, bin counts), each bin's label and rows."""
    periods = [key for key, _ in counts for _ in labels]
    return pd.DataFrame(
        {
            "feature": name,
            "kind": kind,
            "period": periods,
            "time_window": ["current" if key == current else "reference" for key in periods],
            "bin_order": np.tile(np.arange(len(labels)), len(counts)),
            "bin_label": labels * len(counts),
            "rows": np.concatenate([rows for _, rows in counts]).astype(np.int64),
        },
        columns=PROFILE_COLUMNS,
    )


def drift_table(
    profiles: pd.DataFrame, factor: float, psi_floor: float, js_floor: float
) -> pd.DataFrame:
    """Per feature: PSI and JS distance of current vs pooled reference, and learned limits.

    A limit is `factor` times the largest leave-one-out value among the reference periods
    (never below its floor), so features that wobble from month to month, or small samples,
    need a bigger move to count. A feature drifted when both statistics exceed their limits.
    """
    rows = []
    for (feature, kind), group in profiles.groupby(["feature", "kind"], sort=False):
        periods, period_index = np.unique(group["period"].to_numpy(), return_inverse=True)
        table = np.zeros((len(periods), int(group["bin_order"].max()) + 1))
        np.add.at(table, (period_index, group["bin_order"].to_numpy(dtype=int)), group["rows"])
        current_periods = group.loc[group["time_window"] == "current", "period"].unique()
        is_current = np.isin(periods, current_periods)
        reference, current = table[~is_current], table[is_current]
        if len(reference) == 0 or len(current) == 0 or current.sum() == 0:
            continue
        pooled, now = reference.sum(axis=0), current.sum(axis=0)
        ordinary_psi, ordinary_js = leave_one_out(reference) if len(reference) > 1 else ([], [])
        value_psi, value_js = psi(pooled, now), js_distance(pooled, now)
        psi_limit = learned_limit(np.asarray(ordinary_psi), factor, psi_floor)
        js_limit = learned_limit(np.asarray(ordinary_js), factor, js_floor)
        rows.append(
            {
                "feature": feature,
                "kind": kind,
                "psi": value_psi,
                "js_distance": value_js,
                "psi_limit": psi_limit,
                "js_limit": js_limit,
                "severity": value_psi / psi_limit,
                "drifted": bool(value_psi > psi_limit and value_js > js_limit),
                "n_reference": int(pooled.sum()),
                "n_current": int(now.sum()),
                "reference_periods": len(reference),
            }
        )
    columns = [
        "feature", "kind", "psi", "js_distance", "psi_limit", "js_limit", "severity", "drifted",
        "n_reference", "n_current", "reference_periods",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
