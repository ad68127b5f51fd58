"""A mapping's `vars`: the dbt vars every build of the dataset gets, checked before dbt
renders them into SQL (known ones by type and range, any other must be a plain value)."""

from __future__ import annotations

import re
from typing import Any

from pipeline.ingest.bounds import var_problem
from pipeline.ingest.validation import Problem
from pipeline.ingest.wording import MAPPING, report

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
INT_VARS = ("horizon_days", "inactivity_days", "capacity_k", "backtest_months", "min_train_months")
PLAIN_TEXT = re.compile(r"^[A-Za-z0-9_.:+-]{0,64}$")
# Set by the import itself (from `kind`, `features:` and `labels:`), never by `vars`.
RESERVED_VARS = ("dataset_kind", "flat_features", "feature_wording", "attribute_labels")


def _plain(value: Any) -> bool:
    """A var value dbt can render into SQL without quoting surprises."""
    if isinstance(value, bool | int | float) or value is None:
        return True
    if isinstance(value, str):
        return bool(PLAIN_TEXT.match(value))
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(NAME.match(str(k)) and _plain(v) for k, v in value.items())
    return False


def read_vars(spec: Any, problems: list[Problem]) -> dict[str, Any]:
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        report(problems, MAPPING, "vars", "invalid setting", "vars is a mapping of name: value.")
        return {}
    for name, value in spec.items():
        column = f"vars.{name}"
        if name in RESERVED_VARS:
            report(problems, MAPPING, column, "invalid setting", "Set by `kind: flat` itself.")
        elif (bounded := var_problem(str(name), value)) is not None:
            report(problems, MAPPING, column, "invalid setting", bounded)
        elif name == "churn_definition" and value not in ("contractual", "non_contractual"):
            report(problems, MAPPING, column, "invalid setting", "contractual or non_contractual.")
        elif name == "as_of" and value and not re.match(r"^\d{4}-\d{2}-\d{2}$", str(value)):
            report(problems, MAPPING, column, "invalid setting", "A date as YYYY-MM-DD.")
        elif name == "currency" and not re.match(r"^[A-Za-z]{3}$", str(value)):
            report(
                problems, MAPPING, column, "invalid setting", "A currency code such as USD or GBP."
            )
        elif not NAME.match(str(name)) or not _plain(value):
            report(
                problems,
                MAPPING,
                column,
                "invalid setting",
                "Names and values are plain words or numbers (letters, digits, _ . : + -).",
            )
    return dict(spec)
