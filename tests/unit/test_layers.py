"""The dbt Python models know only the pure packages: ml and monitoring (docs/architecture.md)."""

from __future__ import annotations

import ast
import sys

from pipeline.settings import DBT_PROJECT_DIR

ALLOWED = {"ml", "monitoring", "pyarrow", "pandas", "numpy"}


def imported_packages(source: str) -> set[str]:
    """Top-level packages a Python file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_dbt_python_models_import_only_ml_monitoring_and_data_libraries() -> None:
    models = sorted((DBT_PROJECT_DIR / "models").rglob("*.py"))
    assert len(models) >= 10
    for path in models:
        outside = imported_packages(path.read_text()) - ALLOWED - set(sys.stdlib_module_names)
        assert not outside, f"{path.relative_to(DBT_PROJECT_DIR)} imports {sorted(outside)}"


def test_the_check_sees_a_service_layer_import() -> None:
    assert imported_packages("from pipeline import warehouse\nimport ml.train") == {
        "pipeline",
        "ml",
    }
