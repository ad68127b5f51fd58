"""A customer's SHAP contributions (log-odds) walked as approximate points of calibrated risk.

SHAP values add up in log-odds, not in probability. To show them in the unit the at-risk
list uses, the waterfall starts at the typical customer's score, adds the contributions
one at a time (largest first), and reads the calibrated risk after each step: a step's
points are the change in risk it causes *at that point of the path*. The steps sum exactly
to the customer's risk, but another order would split it differently, hence "approximate".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Calibrate = Callable[[np.ndarray], np.ndarray]
BASE, STEP, TOTAL = "Typical customer", "step", "This customer"


def _sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-margin))


def points(values: np.ndarray, base_value: float, calibrate: Calibrate | None = None) -> np.ndarray:
    """Each contribution's points of calibrated risk on its customer's walk (rows x features).

    The same walk as waterfall_steps, for every row at once: contributions largest |effect|
    first from `base_value`, each worth the change in calibrated risk (x 100) it causes at
    that point. A customer's reasons ranked by these points are the waterfall's largest bars.
    """
    calibrate = calibrate or (lambda raw: raw)
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values.copy()
    order = np.argsort(-np.abs(values), axis=1, kind="stable")
    walked = np.take_along_axis(values, order, axis=1)
    margins = base_value + np.concatenate(
        [np.zeros((len(values), 1)), np.cumsum(walked, axis=1)], axis=1
    )
    risk = 100 * np.asarray(calibrate(_sigmoid(margins).ravel()), dtype=float)
    steps = np.diff(risk.reshape(margins.shape), axis=1)
    found = np.empty_like(steps)
    np.put_along_axis(found, order, steps, axis=1)
    return found


def waterfall_steps(
    explanation: pd.DataFrame, calibrate: Calibrate | None = None, top: int = 10
) -> pd.DataFrame:
    """One row per bar: the typical customer, the `top` largest effects, the rest, the total.

    `explanation` holds `reason`, `contribution` and `base_value` (largest |effect| first).
    Columns: order, step, kind (base/step/total), start, end, value in log-odds, and
    start_pts, end_pts, value_pts in points of calibrated risk (`calibrate` maps the
    booster's probability to the calibrated one; identity when None).
    """
    calibrate = calibrate or (lambda raw: raw)
    explanation = _one_bar_per_reason(explanation)
    shown = explanation.head(top)
    names = shown["reason"].astype(str).tolist()
    effects = shown["contribution"].astype(float).tolist()
    if len(explanation) > top:
        names.append(f"{len(explanation) - top} other factors")
        effects.append(float(explanation["contribution"].iloc[top:].sum()))
    base = float(explanation["base_value"].iloc[0])
    margins = base + np.concatenate([[0.0], np.cumsum(effects)])
    risk = 100 * np.asarray(calibrate(_sigmoid(margins)), dtype=float)
    rows = [(BASE, "base", 0.0, base, 0.0, risk[0])]
    rows += [
        (name, STEP, margins[i], margins[i + 1], risk[i], risk[i + 1])
        for i, name in enumerate(names)
    ]
    rows.append((TOTAL, "total", 0.0, margins[-1], 0.0, risk[-1]))
    frame = pd.DataFrame(rows, columns=["step", "kind", "start", "end", "start_pts", "end_pts"])
    frame.insert(0, "order", range(len(frame)))
    frame["value"] = frame["end"] - frame["start"]
    frame["value_pts"] = frame["end_pts"] - frame["start_pts"]
    return frame


def _one_bar_per_reason(explanation: pd.DataFrame) -> pd.DataFrame:
    """Factors worded alike (two features that both read "Active on one day only") as one
    bar with their summed contribution, largest |effect| first: two bars of the same words
    would read as one fact counted twice."""
    merged = explanation.groupby("reason", sort=False, dropna=False, as_index=False).agg(
        contribution=("contribution", "sum"), base_value=("base_value", "first")
    )
    order = np.argsort(-merged["contribution"].abs().to_numpy(), kind="stable")
    return merged.iloc[order].reset_index(drop=True)


# Largest gap (points) between the walked path's end and the listed risk for the points to
# be shown: beyond it the conversion would not reproduce the list, so log-odds are shown.
MAX_GAP_PTS = 0.5


def customer_waterfall(
    explanation: pd.DataFrame, calibrator: dict[str, object], risk: float, top: int = 10
) -> tuple[pd.DataFrame, bool]:
    """The waterfall steps, and whether they are in points of risk that end at `risk` (the
    calibrated probability on the list) within MAX_GAP_PTS; else only log-odds are honest."""
    if explanation.empty:
        return explanation, False
    from ml.calibration import Calibrator  # sklearn import: only when a waterfall is drawn

    calibrate = Calibrator.from_dict(calibrator).transform if calibrator else None
    steps = waterfall_steps(explanation, calibrate, top=top)
    in_points = abs(float(steps["end_pts"].iloc[-1]) - 100 * risk) <= MAX_GAP_PTS
    return steps, in_points
