"""Mappings and files meant to hurt: settings out of range, YAML bombs, slow or huge
expressions, mislabeled encodings, too many uploads. Each is refused with a sentence, fast,
and the raw data and dataset settings of the last good import stay exactly as they were."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.ingest import limits, uploads
from pipeline.ingest.importer import import_mapping
from pipeline.ingest.mapping import MappingError, read_mapping
from pipeline.ingest.safety import (
    MAX_YAML_ALIASES,
    UnsafeExpressionError,
    UnsafePathError,
    check_expression,
)
from pipeline.settings import ROOT, Settings

PEOPLE = "id,name,since\n1,Ada,2024-01-01\n2,Bob,2024-01-15\n3,Cy,2024-02-01\n"
USAGE = "id,day\n1,2024-01-02\n1,2024-02-03\n2,2024-01-20\n3,2024-02-02\n3,2024-03-05\n"
GOOD: dict[str, Any] = {
    "name": "shop",
    "vars": {"churn_definition": "non_contractual", "horizon_days": 30},
    "sources": {"people": "people.csv", "usage": "usage.csv"},
    "tables": {
        "accounts": {
            "from": "people",
            "columns": {"account_id": "id", "account_name": "name", "signup_date": "since"},
        },
        "usage_daily": {
            "from": "usage",
            "columns": {"account_id": "id", "usage_date": "day", "active_users": 1, "events": 1},
        },
    },
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    (data / "people.csv").write_text(PEOPLE)
    (data / "usage.csv").write_text(USAGE)
    settings = Settings(home=tmp_path / "home", data_dirs=(data.resolve(),)).ensure()
    import_mapping(read_mapping(write(settings, GOOD), settings), settings)  # the last good one
    return settings


def write(settings: Settings, mapping: dict[str, Any] | str, name: str = "m.yml") -> Path:
    path = settings.data_dirs[0] / name
    path.write_text(mapping if isinstance(mapping, str) else yaml.safe_dump(mapping))
    return path


def changed(**changes: Any) -> dict[str, Any]:
    mapping: dict[str, Any] = yaml.safe_load(yaml.safe_dump(GOOD))
    for key, value in changes.items():
        if key == "vars":
            mapping["vars"].update(value)
        else:
            mapping[key] = value
    return mapping


def fingerprint(settings: Settings) -> tuple[str, str]:
    """What an import must not change when it is refused: raw data and dataset.json."""
    return (
        hashlib.sha256(settings.raw_path.read_bytes()).hexdigest(),
        settings.dataset_path.read_text(),
    )


def refused(settings: Settings, mapping: dict[str, Any] | str) -> list[str]:
    """Import `mapping`; it must be refused with nothing changed; the problems as text."""
    before = fingerprint(settings)
    with pytest.raises(MappingError) as error:
        import_mapping(read_mapping(write(settings, mapping), settings), settings)
    assert fingerprint(settings) == before
    assert not list(settings.home.glob(".raw-import-*"))  # scratch, its WAL and spill removed
    return [str(problem) for problem in error.value.problems]


# --- 1. settings out of range --------------------------------------------------------


def test_as_of_far_after_the_data_is_refused_with_the_allowed_range(settings: Settings) -> None:
    [problem] = refused(settings, changed(vars={"as_of": "9999-12-31"}))
    assert "vars.as_of" in problem
    assert "after its first date (2024-01-02)" in problem
    assert "at most 92 days after its newest (2024-03-05), so by 2024-06-05" in problem


def test_as_of_before_the_data_is_refused(settings: Settings) -> None:
    [problem] = refused(settings, changed(vars={"as_of": "2023-06-01"}))
    assert "2023-06-01 is outside the data" in problem


def test_as_of_within_the_margin_is_accepted(settings: Settings) -> None:
    mapping = changed(vars={"as_of": "2024-04-01"})
    counts = import_mapping(read_mapping(write(settings, mapping), settings), settings)
    assert counts["accounts"] == 3


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("horizon_days", 100_000, "1 to 730"),
        ("inactivity_days", 0, "1 to 1,095"),
        ("capacity_k", 10**9, "1 to 1e+06"),
        ("backtest_months", 500, "1 to 36"),
        ("min_train_months", 1000, "1 to 120"),
        ("xgboost_params", {"n_estimators": 100_000_000}, "n_estimators: 1e+08 is outside"),
        (
            "xgboost_params",
            {"max_depth": 50},
            "max_depth: 50 is outside the allowed range, 1 to 12",
        ),
        ("xgboost_params", {"nthread": 64}, "'nthread' is not a setting a mapping may change"),
        ("xgboost_params", {"learning_rate": "fast"}, "A number from 0.001 to 1"),
        ("xgboost_params", {"refit_on_all_months": 1}, "true or false"),
    ],
)
def test_settings_out_of_range_are_refused_with_the_range_and_why(
    settings: Settings, name: str, value: Any, says: str
) -> None:
    [problem] = refused(settings, changed(vars={name: value}))
    assert f"vars.{name}" in problem and says in problem


def test_a_snapshot_grid_too_large_to_build_is_refused_with_its_size(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_MAX_SNAPSHOT_ROWS", "5")
    [problem] = refused(settings, GOOD)
    assert "would hold 6 feature rows (2 months x 3 customers)" in problem
    assert "at most 5 (BATON_MAX_SNAPSHOT_ROWS)" in problem


# --- 6. memory and time bombs ----------------------------------------------------------


def yaml_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [9, 10])
def test_a_yaml_alias_bomb_is_refused_at_once_without_expanding(
    settings: Settings, levels: int
) -> None:
    started = time.monotonic()
    [problem] = refused(settings, yaml_bomb(levels))
    assert time.monotonic() - started < 2  # it took 53 s and 3.3 GB at 9 levels
    assert f"more than {MAX_YAML_ALIASES} aliases" in problem


def test_a_few_yaml_aliases_still_work(settings: Settings) -> None:
    text = yaml.safe_dump(GOOD).replace("sources:", "x-people: &people people.csv\nsources:", 1)
    path = write(settings, text.replace("people: people.csv", "people: *people"))
    parsed = read_mapping(path, settings)
    assert [p for p in parsed.problems if p.column != ""] == []


def test_a_mapping_file_over_its_size_cap_is_refused(settings: Settings) -> None:
    [problem] = refused(settings, "# " + "x" * 1_100_000 + "\n" + yaml.safe_dump(GOOD))
    assert "unreadable mapping" in problem and "over 1,000,000 bytes" in problem


@pytest.mark.parametrize(
    "expression",
    [
        "sleep_ms(5000)",
        "pg_sleep(5)",
        "repeat('x', 1000000000)",
        "range(1000000000)",
        "list_transform([1, 2], x -> x + 1)",
        "random()",
        "current_setting('threads')",
    ],
)
def test_functions_outside_the_allow_list_are_refused_by_name(
    settings: Settings, expression: str
) -> None:
    function = expression.split("(")[0]
    with pytest.raises(UnsafeExpressionError, match=rf"the function {function}\(\)"):
        check_expression(expression)
    mapping = changed()
    mapping["tables"]["accounts"]["columns"]["account_name"] = expression
    [problem] = refused(settings, mapping)
    assert f"{function}()" in problem


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yml")), ids=lambda p: p.name)
def test_every_expression_of_the_examples_is_allowed(example: Path) -> None:
    problems = read_mapping(example, Settings(home=example.parent)).problems
    assert [str(p) for p in problems if p.rule == "unsafe expression"] == []


def test_an_import_past_its_time_limit_stops_with_a_sentence(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "import_timeout_seconds", lambda: 0.01)
    [problem] = refused(settings, GOOD)
    assert "too slow" in problem and "(BATON_IMPORT_TIMEOUT)" in problem


def test_an_import_past_its_memory_limit_stops_with_a_sentence(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_DUCKDB_MEMORY_LIMIT", "30MB")
    monkeypatch.setattr(limits, "IMPORT_MAX_SPILL", "50MB")
    many = "id,name,since\n" + "".join(f"{i},n{i},2024-01-01\n" for i in range(300))
    (settings.data_dirs[0] / "people.csv").write_text(many)
    mapping = changed()
    mapping["tables"]["accounts"].update(
        group_by=["since"],
        columns={
            "account_id": "min(id)",
            "account_name": "string_agg(lpad(name, 1000000, 'x'), '')",
            "signup_date": "since",
        },
    )
    [problem] = refused(settings, mapping)
    assert "too large" in problem and "30MB, BATON_DUCKDB_MEMORY_LIMIT" in problem


# --- 9. encodings and uploads ----------------------------------------------------------


def test_a_utf8_file_declared_latin1_is_refused_instead_of_garbled(settings: Settings) -> None:
    (settings.data_dirs[0] / "people.csv").write_bytes(
        "id,name,since\n1,Café Müller,2024-01-01\n2,Bob,2024-01-15\n3,Cy,2024-02-01\n".encode()
    )
    mapping = changed(
        sources={"people": {"path": "people.csv", "encoding": "latin-1"}, "usage": "usage.csv"}
    )
    [problem] = refused(settings, mapping)
    assert "wrong encoding" in problem
    assert "'1,Café Müller,2024-01-01' would read as '1,CafÃ© MÃ¼ller,2024-01-01'" in problem
    assert "remove the `encoding:` line" in problem


def test_a_real_latin1_file_declared_latin1_imports_its_accents(settings: Settings) -> None:
    (settings.data_dirs[0] / "people.csv").write_bytes(
        "id,name,since\n1,Café Müller,2024-01-01\n2,Bob,2024-01-15\n3,Cy,2024-02-01\n".encode(
            "latin-1"
        )
    )
    mapping = changed(
        sources={"people": {"path": "people.csv", "encoding": "latin-1"}, "usage": "usage.csv"}
    )
    import_mapping(read_mapping(write(settings, mapping), settings), settings)
    import duckdb

    with duckdb.connect(str(settings.raw_path), read_only=True) as connection:
        names = [r[0] for r in connection.execute("select account_name from accounts").fetchall()]
    assert "Café Müller" in names


def test_uploads_beyond_their_count_or_total_size_are_refused_and_kept_ones_stay(
    settings: Settings,
) -> None:
    bounded = Settings(home=settings.home, max_uploads=2, max_uploads_mb=0.001)  # 1,000 bytes
    uploads.save_upload(bounded, "a.csv", b"x" * 400)
    uploads.save_upload(bounded, "a.csv", b"x" * 500)  # replacing one counts once
    with pytest.raises(UnsafePathError, match=r"would take 0\.0 MB, over the 0 MB"):
        uploads.save_upload(bounded, "b.csv", b"x" * 600)
    uploads.save_upload(bounded, "b.csv", b"x" * 400)
    with pytest.raises(UnsafePathError, match="2 uploads are kept already"):
        uploads.save_upload(bounded, "c.csv", b"x")
    assert [p.name for p in uploads.list_uploads(bounded)] == ["a.csv", "b.csv"]
    uploads.remove_upload(bounded, "a.csv")
    assert [p.name for p in uploads.list_uploads(bounded)] == ["b.csv"]
