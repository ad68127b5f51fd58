"""The model's margin: the boosted trees blended with the BG/NBD model of purchase rhythm.

Where the feature mart has the BG/NBD probability of no purchase within the horizon
(non-contractual churn), the model's log-odds are (1 - w) x the booster's + w x that
probability's log-odds. The BG/NBD part is smooth in every customer's recency and frequency,
so customers the trees put in the same leaves still get risks of their own, and a principled
model steadies the trees on small or noisy histories. Measured (walk-forward mean ROC AUC,
with the trees' shape tuned): Online Retail Apr-Aug 2011 0.748 without, 0.7505 with w = 0.25,
0.750 choosing w among 0.25 and 0.5 month by month; CDNOW 0.7077 without, 0.7082 with 0.25.
Choosing w per month on the newest matured month (0, 0.25 or 0.5) measured worse than a fixed
0.25 on both: one month is too noisy to choose a weight on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BLEND_FEATURE = "btyd_p_no_purchase"
BLEND_WEIGHT = 0.25
# BG/NBD probabilities are kept within [CLIP, 1 - CLIP] before their log-odds.
CLIP = 1e-6


def blend_logit(frame: pd.DataFrame) -> np.ndarray | None:
    """The BG/NBD score's log-odds per row (NaN where missing), or None without the column."""
    if BLEND_FEATURE not in frame or not frame[BLEND_FEATURE].notna().any():
        return None
    p = np.clip(
        pd.to_numeric(frame[BLEND_FEATURE], errors="coerce").to_numpy(float), CLIP, 1 - CLIP
    )
    return np.log(p / (1 - p))


def blended(
    booster_margin: np.ndarray, logit: np.ndarray | None, weight: float, center: float
) -> np.ndarray:
    """(1 - w) x the booster's margin + w x the BG/NBD log-odds (`center` where missing)."""
    if not weight or logit is None:
        return booster_margin
    return (1 - weight) * booster_margin + weight * np.where(np.isnan(logit), center, logit)


def center_of(logit: np.ndarray | None) -> float:
    """The mean BG/NBD log-odds of the training rows, standing in for a missing score."""
    if logit is None or np.isnan(logit).all():
        return 0.0
    return float(np.nanmean(logit))
