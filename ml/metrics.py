"""Accuracy metrics business owners understand: precision/recall at capacity k, lift, MRR."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the k highest scores (ties broken by position, deterministic)."""
    k = min(k, len(scores))
    order = np.argsort(-scores, kind="stable")
    mask = np.zeros(len(scores), dtype=bool)
    mask[order[:k]] = True
    return mask


def evaluate(
    y: np.ndarray,
    scores: np.ndarray,
    mrr: np.ndarray,
    k: int,
    probabilities: np.ndarray | None = None,
) -> dict[str, float]:
    """All per-month metrics of one ranking; the Brier score only when probabilities are given.

    `scores` only need to order customers (ties are broken by position); `probabilities`
    are the calibrated risks the Brier score judges. Calibration such as isotonic
    regression creates ties, so rank by the raw model score and judge the calibrated one.
    """
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    mrr = np.nan_to_num(np.asarray(mrr, dtype=float))
    n, positives = len(y), int(y.sum())
    both_classes = 0 < positives < n
    in_top_k = top_k_mask(scores, k)
    in_top_decile = top_k_mask(scores, max(1, n // 10))
    base_rate = positives / n if n else float("nan")
    lost_mrr = float((mrr * y).sum())
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
        "mrr_captured_at_k": (
            float((mrr * y)[in_top_k].sum() / lost_mrr) if lost_mrr > 0 else float("nan")
        ),
        "brier": (
            float(brier_score_loss(y, np.clip(probabilities, 0, 1)))
            if probabilities is not None and n
            else float("nan")
        ),
    }
