"""Accuracy metrics business owners understand: precision/recall at capacity k, lift, value."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the k highest scores (ties broken by position, deterministic).

    Without sorting every score: the k-th highest is found by selection, then every score
    above it and, of the scores equal to it, the first ones by position fill the k."""
    scores = np.asarray(scores, dtype=float)
    k = min(k, len(scores))
    mask = np.zeros(len(scores), dtype=bool)
    if k <= 0:
        return mask
    if np.isnan(scores).any():  # NaN ranks as numpy's sort puts it: after every number
        return _top_k_by_sorting(scores, k)
    kth = -np.partition(-scores, k - 1)[k - 1]
    mask[scores > kth] = True
    tied = np.flatnonzero(scores == kth)
    mask[tied[: k - int(mask.sum())]] = True
    return mask


def _top_k_by_sorting(scores: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    mask = np.zeros(len(scores), dtype=bool)
    mask[order[:k]] = True
    return mask


def evaluate(
    y: np.ndarray,
    scores: np.ndarray,
    value: np.ndarray,
    k: int,
    probabilities: np.ndarray | None = None,
) -> dict[str, float]:
    """All per-month metrics of one ranking; the Brier score only when probabilities are given.

    `scores` only need to order customers (ties are broken by position); `probabilities`
    are the calibrated risks the Brier score judges. `value` is what each customer's loss
    would cost (MRR, or expected spend): the share of the lost value caught in the top k.
    """
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    value = np.nan_to_num(np.asarray(value, dtype=float))
    n, positives = len(y), int(y.sum())
    both_classes = 0 < positives < n
    in_top_k = top_k_mask(scores, k)
    in_top_decile = top_k_mask(scores, max(1, n // 10))
    base_rate = positives / n if n else float("nan")
    lost_value = float((value * y).sum())
    return {
        "n_customers": float(n),
        "n_churned": float(positives),
        "churn_rate": base_rate,
        "roc_auc": float(roc_auc_score(y, scores)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, scores)) if both_classes else float("nan"),
        "precision_at_k": float(y[in_top_k].mean()) if in_top_k.any() else float("nan"),
        "recall_at_k": float(y[in_top_k].sum() / positives) if positives else float("nan"),
        "lift_top_decile": (
            float(y[in_top_decile].mean() / base_rate) if positives else float("nan")
        ),
        "value_captured_at_k": (
            float((value * y)[in_top_k].sum() / lost_value) if lost_value > 0 else float("nan")
        ),
        "brier": (
            float(brier_score_loss(y, np.clip(probabilities, 0, 1)))
            if probabilities is not None and n
            else float("nan")
        ),
    }


def auc_gain_z(y: np.ndarray, baseline: np.ndarray, challenger: np.ndarray) -> float:
    """How many standard errors the challenger's ROC AUC is above the baseline's on the same
    rows: DeLong, DeLong & Clarke-Pearson (1988), in Sun & Xu's (2014) fast form. The two
    scores rank the same customers, so their AUCs are correlated and the test is paired."""
    from scipy.stats import rankdata

    positive = np.asarray(y) == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m < 2 or n < 2:
        return 0.0
    placements = []
    for score in (np.asarray(baseline, float), np.asarray(challenger, float)):
        x, z = score[positive], score[~positive]
        every = rankdata(np.concatenate([x, z]))
        v01 = (every[:m] - rankdata(x)) / n  # per positive: share of negatives ranked below
        v10 = 1.0 - (every[m:] - rankdata(z)) / m  # per negative: share of positives above
        placements.append((v01, v10))
    gain = placements[1][0].mean() - placements[0][0].mean()
    d01 = placements[1][0] - placements[0][0]
    d10 = placements[1][1] - placements[0][1]
    variance = d01.var(ddof=1) / m + d10.var(ddof=1) / n
    if variance <= 0:
        return 0.0 if gain == 0 else float(np.sign(gain) * np.inf)
    return float(gain / np.sqrt(variance))
