"""Probability calibration fitted on a slice later than the training data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

# Isotonic regression needs enough positives to be stable; below this, use Platt scaling.
MIN_POSITIVES_FOR_ISOTONIC = 200
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass
class Calibrator:
    """Maps raw model probabilities to calibrated ones; serializable to plain JSON."""

    method: str = "identity"
    params: dict[str, list[float]] = field(default_factory=dict)

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        """Choose isotonic or Platt by the number of positives and fit it."""
        raw, y = np.asarray(raw, dtype=float), np.asarray(y, dtype=int)
        if y.sum() == 0 or y.sum() == len(y):
            self.method, self.params = "identity", {}
        elif y.sum() >= MIN_POSITIVES_FOR_ISOTONIC:
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
            self.method = "isotonic"
            self.params = {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
        else:
            lr = LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), y)
            self.method = "platt"
            self.params = {"coef": [float(lr.coef_[0, 0])], "intercept": [float(lr.intercept_[0])]}
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for raw model probabilities."""
        raw = np.asarray(raw, dtype=float)
        if self.method == "isotonic":
            return np.interp(raw, self.params["x"], self.params["y"])
        if self.method == "platt":
            z = self.params["coef"][0] * _logit(raw) + self.params["intercept"][0]
            return 1.0 / (1.0 + np.exp(-z))
        return raw

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form for the model registry."""
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        """Inverse of to_dict."""
        return cls(method=str(data["method"]), params=dict(data["params"]))  # type: ignore[call-overload]
