"""Refit on every matured month after early stopping (`refit_on_all_months`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.frame import LABEL, SNAPSHOT
from ml.train import fit_churn_model


def labeled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame[LABEL].notna()]


def test_refit_learns_from_every_month_with_the_early_stopped_rounds_and_calibrator(
    make_frame, make_config
) -> None:
    frame = labeled(make_frame(customers=150, months=7, seed=5))
    held_back = fit_churn_model(frame, make_config(params={"refit_on_all_months": False}))
    refit = fit_churn_model(frame, make_config(params={"refit_on_all_months": True}))
    assert held_back.n_train == 150 * 4
    assert refit.n_train == len(frame) == 150 * 6
    assert refit.booster.num_boosted_rounds() == held_back.booster.num_boosted_rounds()
    # The calibrator is the one fitted out of sample, before the refit.
    assert refit.calibrator.to_dict() == held_back.calibrator.to_dict()
    newest = frame[frame[SNAPSHOT] == frame[SNAPSHOT].max()]
    assert not np.allclose(refit.raw_probability(newest), held_back.raw_probability(newest))


def test_refit_is_skipped_when_customers_not_months_are_held_out(make_frame, make_config) -> None:
    frame = labeled(make_frame(customers=300, months=2, seed=6))
    held_back = fit_churn_model(
        frame, make_config(min_train_months=1, params={"refit_on_all_months": False})
    )
    refit = fit_churn_model(
        frame, make_config(min_train_months=1, params={"refit_on_all_months": True})
    )
    assert refit.n_train == held_back.n_train < len(frame)
    newest = frame[frame[SNAPSHOT] == frame[SNAPSHOT].max()]
    assert np.allclose(refit.raw_probability(newest), held_back.raw_probability(newest))
