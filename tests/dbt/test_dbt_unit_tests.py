"""The dbt unit tests (`unit_tests:` in dbt_project/models) are all selected, and all pass.

They pin the SQL that decides what a feature row and its label mean (trailing windows, the
snapshot grid, both churn definitions). They run here the way the pipeline runs dbt: in-process
through `run_dbt`, in a home of its own with demo raw data (the profile attaches it). A unit
test that fails, errors or silently stops being selected fails this test.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from pipeline.build import context, registry
from pipeline.build.dbt_runner import NodeEvent, NodeResult, run_dbt
from pipeline.settings import DBT_PROJECT_DIR, Settings

pytestmark = pytest.mark.slow

# How many unit tests dbt_project/models declares today; raise it when adding some.
UNIT_TESTS_AT_LEAST = 14
# A dataset whose vars differ from the defaults on every var the unit tests read.
OTHER_DATASET_VARS = {
    "churn_definition": "non_contractual",
    "horizon_days": 60,
    "inactivity_days": 30,
}


def declared_unit_tests() -> set[str]:
    """Names of the unit tests in the project's YAML files."""
    names: set[str] = set()
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        names.update(test["name"] for test in document.get("unit_tests") or [])
    return names


def run_unit_tests(settings: Settings, dbt_vars: dict[str, Any]) -> dict[str, NodeResult]:
    """`dbt test --select test_type:unit` in-process; the unit test results by name."""
    registry.ensure(settings)  # profiles.yml attaches the registry read-only
    context.write_context(settings, "unit-tests")  # ... and the context database
    events: queue.Queue[NodeEvent] = queue.Queue()
    every_var = {**dbt_vars, "baton": context.paths(settings)}
    outcome = run_dbt("test", settings, events, "--select", "test_type:unit", dbt_vars=every_var)
    assert not outcome.error, outcome.error
    return {node.name: node for node in outcome.nodes if node.resource_type == "unit_test"}


@pytest.mark.parametrize(
    "dbt_vars",
    [{}, OTHER_DATASET_VARS],
    ids=["default_vars", "another_datasets_vars"],
)
def test_every_dbt_unit_test_is_selected_and_passes(
    fresh_home: Callable[..., Settings], dbt_vars: dict[str, Any]
) -> None:
    # Each unit test pins the vars it reads (`overrides: vars:`), so another dataset's vars
    # must not change a result.
    results = run_unit_tests(fresh_home(), dbt_vars)

    not_passed = {
        name: f"{node.status}: {node.message}"
        for name, node in results.items()
        if node.status != "pass"
    }
    assert not not_passed, not_passed
    assert set(results) == declared_unit_tests()
    assert len(results) >= UNIT_TESTS_AT_LEAST
