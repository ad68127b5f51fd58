"""The model in service across builds: the promotion rule and rollback by pinning."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pytest

from pipeline import warehouse
from pipeline.build import registry
from pipeline.history import RunRecord
from pipeline.read import queries
from pipeline.settings import Settings

pytestmark = pytest.mark.slow


def _predicted_version(settings: Settings) -> str:
    pointer = warehouse.current(settings)
    assert pointer is not None
    return str(queries.at_risk(pointer["path"])["model_version"].iloc[0])


def test_a_clearly_worse_candidate_is_registered_but_the_model_in_service_keeps_scoring(
    copied_home: Settings, build: Callable[..., RunRecord]
) -> None:
    serving = registry.versions(copied_home)
    old = serving.loc[serving["in_service"], "model_version"].item()
    with duckdb.connect(str(copied_home.registry_path)) as connection:
        connection.execute("update model_versions set backtest_roc_auc = 0.999")

    record = build(copied_home)

    assert record.status == "success", record.failure
    assert record.promoted is False
    assert record.model_version == old
    assert "below the model in service" in (record.model_decision or "")
    assert _predicted_version(copied_home) == old


def test_pinning_a_version_makes_the_next_build_score_with_it(
    copied_home: Settings, build: Callable[..., RunRecord]
) -> None:
    old = registry.versions(copied_home)["model_version"].iloc[0]
    with duckdb.connect(str(copied_home.registry_path)) as connection:
        # A second, different version in the registry to roll back to.
        connection.execute(
            "insert into model_versions select 'rollback-target', trained_at, build_id, "
            "data_fingerprint, n_train, n_trees, config, categories, calibrator, booster_json, "
            "backtest_roc_auc, registered_at from model_versions where model_version = ?",
            [old],
        )
    registry.use_version(copied_home, "rollback-target")

    record = build(copied_home)

    assert record.status == "success", record.failure
    assert record.model_version == "rollback-target"
    assert "pinned" in (record.model_decision or "")
    assert _predicted_version(copied_home) == "rollback-target"
    versions = registry.versions(copied_home)
    assert versions.loc[versions["model_version"] == "rollback-target", "pinned"].item()


def test_using_an_unknown_version_is_refused(copied_home: Settings) -> None:
    with pytest.raises(registry.UnknownModelVersionError, match="model list"):
        registry.use_version(copied_home, "no-such-version")
