"""Data where every customer has the same outcome: a sentence that says what is missing."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.backtest import walk_forward
from ml.baselines import fit_logistic
from ml.frame import LABEL
from ml.train import OneOutcomeError, fit_churn_model


def everyone(frame: pd.DataFrame, churned: bool) -> pd.DataFrame:
    labeled = frame[LABEL].notna()
    frame = frame.copy()
    frame.loc[labeled, LABEL] = churned
    return frame


def test_training_where_everyone_churned_says_so_and_what_to_check(make_frame, make_config) -> None:
    frame = everyone(make_frame(customers=60, months=6), churned=True)
    with pytest.raises(OneOutcomeError) as error:
        fit_churn_model(frame[frame[LABEL].notna()], make_config())
    message = str(error.value)
    assert "have the same outcome (every customer churned)" in message
    assert "customers who stayed and customers who left" in message
    assert "single event" in message and "inactivity_days" in message
    assert "only one class" not in message


def test_training_where_nobody_churned_says_so(make_frame, make_config) -> None:
    frame = everyone(make_frame(customers=60, months=6), churned=False)
    with pytest.raises(OneOutcomeError, match=r"\(no customer churned\)"):
        fit_logistic(frame[frame[LABEL].notna()], make_config())


def test_the_backtest_skips_months_with_one_outcome_instead_of_failing(
    make_frame, make_config
) -> None:
    frame = everyone(make_frame(customers=60, months=8), churned=True)
    assert walk_forward(frame, make_config()).empty
