"""How many workers xgboost.spark boosts with: sized by the sampled rows, not by the cores."""

from __future__ import annotations

from ml.distributed import ROWS_PER_WORKER, boosting_workers


def test_a_sample_of_up_to_a_worker_s_rows_boosts_on_one_worker_whatever_the_slots() -> None:
    assert boosting_workers(0, slots=16) == 1
    assert boosting_workers(15_000, slots=16) == 1
    assert boosting_workers(ROWS_PER_WORKER, slots=16) == 1


def test_larger_samples_get_one_worker_per_worker_s_rows_up_to_the_task_slots() -> None:
    assert boosting_workers(ROWS_PER_WORKER + 1, slots=16) == 2
    assert boosting_workers(14 * ROWS_PER_WORKER, slots=16) == 14
    assert boosting_workers(14 * ROWS_PER_WORKER, slots=4) == 4
