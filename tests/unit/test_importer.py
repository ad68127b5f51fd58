"""Importing swaps raw data only when everything is valid; flat files; the CLI report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from pipeline.build import registry
from pipeline.build.lock import BuildRefusedError, build_lock
from pipeline.dataset import build_vars as dataset_vars
from pipeline.dataset import name as dataset_name
from pipeline.dataset import save as save_dataset
from pipeline.ingest.importer import import_mapping, validate_mapping
from pipeline.ingest.mapping import MappingError, read_mapping
from pipeline.ingest.wording import mart_features, mart_meta
from pipeline.settings import ROOT, Settings

CUSTOMERS = (
    "id,Churn,Plan,monthly,tenure,Contract\n"
    "a1,Yes,basic,10.5,3,Month-to-month\n"
    "a2,No,pro,99,40,Two year\n"
    "a3,No,basic,12,12,One year\n"
)
FLAT: dict[str, Any] = {
    "name": "Flat shop",
    "kind": "flat",
    "sources": {"crm": "customers.csv"},
    "tables": {
        "customer_exports": {
            "from": "crm",
            "columns": {"account_id": "id", "churned": "Churn", "plan": "Plan", "mrr": "monthly"},
        }
    },
    "features": {
        "tenure": {"label": "Months as a customer", "kind": "numeric", "unit": "months"},
        "contract": {"expression": "Contract", "label": "Contract", "kind": "categorical"},
    },
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    return Settings(home=tmp_path / "home", data_dirs=(data.resolve(),)).ensure()


def write(settings: Settings, mapping: dict[str, Any], csv: str = CUSTOMERS) -> Path:
    """The mapping and its CSV in the data folder; returns the mapping's path."""
    data = settings.data_dirs[0]
    (data / "customers.csv").write_text(csv)
    path = data / f"{mapping['name'].replace(' ', '_')}.yml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def flat(**changes: Any) -> dict[str, Any]:
    mapping = yaml.safe_load(yaml.safe_dump(FLAT))
    mapping.update(changes)
    return mapping


def test_flat_import_writes_one_typed_column_per_feature(settings: Settings) -> None:
    counts = import_mapping(read_mapping(write(settings, FLAT), settings), settings)
    assert counts == {"customer_exports": 3}
    with duckdb.connect(str(settings.raw_path), read_only=True) as connection:
        types = dict(
            connection.execute(
                "select column_name, column_type from (describe customer_exports)"
            ).fetchall()
        )
        exported = connection.execute(
            "select distinct exported_on = current_date from customer_exports"
        ).fetchall()
    assert types["tenure"] == "DOUBLE" and types["contract"] == "VARCHAR"
    assert types["churned"] == "BOOLEAN" and types["exported_on"] == "DATE"
    assert exported == [(True,)]


def test_yes_no_columns_read_yes_and_no_as_features_and_attributes(settings: Settings) -> None:
    # DuckDB's sniffer types a Yes/No column as boolean; as text it reads Yes/No again, so
    # a reason says "Churned before: Yes", not "true".
    mapping = flat()
    mapping["tables"]["customer_exports"]["columns"]["segment"] = "Churn"
    mapping["features"]["churn_before"] = {
        "expression": "Churn", "label": "Churned before", "kind": "categorical"
    }  # fmt: skip
    import_mapping(read_mapping(write(settings, mapping), settings), settings)
    with duckdb.connect(str(settings.raw_path), read_only=True) as connection:
        rows = connection.execute(
            "select account_id, churned, segment, churn_before from customer_exports order by 1"
        ).fetchall()
    yes, no = ("Yes", "Yes"), ("No", "No")
    assert rows == [("a1", True, *yes), ("a2", False, *no), ("a3", False, *no)]


def test_flat_dataset_passes_its_feature_declarations_to_dbt(settings: Settings) -> None:
    import_mapping(read_mapping(write(settings, FLAT), settings), settings)
    dbt_vars = dataset_vars(settings)
    assert dbt_vars["dataset_kind"] == "flat"
    assert dbt_vars["min_train_months"] == 1
    assert [f["name"] for f in dbt_vars["flat_features"]] == ["tenure", "contract"]
    assert dbt_vars["flat_features"][0] == {
        "name": "tenure",
        "label": "Months as a customer",
        "kind": "numeric",
        "unit": "months",
        "reason": "",
        "reason_if_missing": "",
        "description": "Months as a customer",
    }


def test_flat_file_problems_are_all_reported(settings: Settings) -> None:
    csv = CUSTOMERS + "a2,maybe,pro,-5,forty,Two year\n"
    mapping = flat(
        features={
            **FLAT["features"],
            "Bad Name": {"label": "x", "kind": "numeric"},
            "snapshot_date": {"label": "clash", "kind": "numeric"},
            "colour": {"label": "Colour", "kind": "text"},
        }
    )
    problems = validate_mapping(read_mapping(write(settings, mapping, csv), settings), settings)
    found = {(p.table, p.column, p.rule) for p in problems}
    assert {
        ("customer_exports", "features.Bad Name", "invalid feature"),
        ("customer_exports", "features.snapshot_date", "invalid feature"),
        ("customer_exports", "features.colour", "invalid feature"),
        ("customer_exports", "churned", "wrong type"),
        ("customer_exports", "mrr", "negative value"),
        ("customer_exports", "tenure", "wrong type"),
        ("customer_exports", "account_id, exported_on", "duplicate key"),
    } <= found


def test_a_churn_flag_written_in_words_is_refused_with_the_comparison_to_map(
    settings: Settings,
) -> None:
    csv = CUSTOMERS.replace(",Yes,", ",Churned,").replace(",No,", ",Stayed,")
    problems = validate_mapping(read_mapping(write(settings, flat(), csv), settings), settings)
    (flag,) = [p for p in problems if p.column == "churned"]
    assert "'Stayed', 'Churned'" in flag.hint, flag.hint
    assert "your_column = 'Churned'" in flag.hint, flag.hint  # the rarer word: leavers
    mapping = flat()
    mapping["tables"]["customer_exports"]["columns"]["churned"] = "Churn = 'Churned'"
    assert validate_mapping(read_mapping(write(settings, mapping, csv), settings), settings) == []


def test_flat_mapping_without_features_or_churn_flag_is_refused(settings: Settings) -> None:
    mapping = flat(features={})
    del mapping["tables"]["customer_exports"]["columns"]["churned"]
    found = {(p.column, p.rule) for p in read_mapping(write(settings, mapping), settings).problems}
    assert {("features", "missing column"), ("churned", "missing column")} <= found


UNITS = {
    "events_to_date": {
        "label": "Units bought to date",
        "unit": "count",
        "reason": "{value} unit{s} bought to date",
    }
}


def events(features: dict[str, Any]) -> dict[str, Any]:
    """An events mapping whose `features:` reword features of the mart."""
    return {
        "name": "Shop",
        "sources": {"crm": "customers.csv"},
        "tables": {"accounts": {"from": "crm", "columns": {"account_id": "id"}}},
        "features": features,
    }


def test_events_mapping_rewords_features_of_the_mart_for_dbt(settings: Settings) -> None:
    mapping = read_mapping(write(settings, events(UNITS)), settings)
    assert [p for p in mapping.problems if p.column.startswith("features")] == []
    assert mapping.build_vars()["feature_wording"] == UNITS
    assert "events_to_date" in mart_features() and "customer_id" not in mart_features()


def test_an_attribute_named_in_labels_is_worded_by_that_name_in_reasons(
    settings: Settings,
) -> None:
    # Online Retail calls its region "Country": reasons must say "Country: Canada".
    worded = {**events({"segment": {"reason": "A {value} customer"}}), "labels": {}}
    worded["labels"] = {"region": "Country", "segment": "Customer type"}
    mapping = read_mapping(write(settings, worded), settings)
    assert [p for p in mapping.problems if p.column.startswith(("features", "labels"))] == []
    assert mapping.build_vars()["feature_wording"] == {
        "region": {"label": "Country", "reason": "Country: {value}"},
        # What `features:` says wins over the label's default wording.
        "segment": {"label": "Customer type", "reason": "A {value} customer"},
    }


def test_an_event_noun_words_every_event_count_and_features_still_win(
    settings: Settings,
) -> None:
    worded = {**events(UNITS), "labels": {"event": "unit"}}
    mapping = read_mapping(write(settings, worded), settings)
    assert [p for p in mapping.problems if p.column.startswith(("features", "labels"))] == []
    wording = mapping.build_vars()["feature_wording"]
    counted = [name for name, meta in mart_meta().items() if meta.get("unit") == "events"]
    assert set(counted) <= set(wording) and len(counted) >= 4
    assert wording["events_7d"] == {
        "label": "Units, last 7 days",
        "reason": "{value} unit{s} in the last 7 days",
    }
    assert wording["events_to_date"] == UNITS["events_to_date"]
    assert not any("event" in words["reason"] for words in wording.values())


def test_events_mapping_rewords_known_features_only_and_never_their_values(
    settings: Settings,
) -> None:
    wording = {
        "events_2_date": {"label": "Typo"},
        "mrr": {"expression": "1", "kind": "numeric"},
        "tenure_days": {"label": " "},
        "seats": {"unit": "Seats!"},
    }
    mapping = read_mapping(write(settings, events(wording)), settings)
    found = {(p.column, p.rule) for p in mapping.problems}
    assert {
        ("features.events_2_date", "invalid feature"),
        ("features.mrr", "unknown setting"),
        ("features.tenure_days", "invalid feature"),
        ("features.seats", "invalid feature"),
    } <= found
    assert "feature_wording" not in mapping.build_vars()


def test_failed_import_leaves_raw_data_untouched(settings: Settings) -> None:
    import_mapping(read_mapping(write(settings, FLAT), settings), settings)
    before = settings.raw_path.read_bytes()
    bad = write(settings, FLAT, CUSTOMERS + "a9,Yes,basic,1,not a number,x\n")
    with pytest.raises(MappingError) as error:
        import_mapping(read_mapping(bad, settings), settings)
    assert [p.rule for p in error.value.problems] == ["wrong type"]
    assert settings.raw_path.read_bytes() == before
    assert sorted(p.name for p in settings.home.glob(".raw-import-*")) == []


def test_import_is_refused_while_a_build_runs(settings: Settings) -> None:
    path = write(settings, FLAT)
    with (
        build_lock(settings.lock_path, {"trigger": "button", "started_at": "now"}),
        pytest.raises(BuildRefusedError, match="started by button"),
    ):
        import_mapping(read_mapping(path, settings), settings)
    assert not settings.raw_path.exists()


def test_switching_dataset_keeps_each_history_and_retires_the_model(settings: Settings) -> None:
    registry.ensure(settings)
    with duckdb.connect(str(settings.registry_path)) as connection:
        connection.execute("insert into service_state values ('v-demo', true, 'pinned', now())")
    save_dataset(settings, "demo", {})
    settings.history_path.write_text("demo history")
    save_dataset(settings, "Flat shop", {"dataset_kind": "flat"})
    assert not settings.history_path.exists()
    assert (settings.home / "history" / "demo.duckdb").read_text() == "demo history"
    with duckdb.connect(str(settings.registry_path), read_only=True) as connection:
        state = connection.execute(
            "select model_version, pinned, reason from service_state"
        ).fetchall()
    assert state == [(None, False, "Dataset changed from 'demo' to 'Flat shop'.")]
    save_dataset(settings, "demo", {})
    assert settings.history_path.read_text() == "demo history"
    assert dataset_name(settings) == "demo"


def test_cli_import_lists_every_problem_and_exits_non_zero(settings: Settings) -> None:
    import_mapping(read_mapping(write(settings, FLAT), settings), settings)
    before = settings.raw_path.read_bytes()
    csv = CUSTOMERS + "a2,maybe,pro,-5,forty,Two year\n"
    mapping = flat(sources={"crm": "customers.csv", "secret": "/etc/passwd"})
    mapping["features"]["contract"]["expression"] = "Contract; drop table customer_exports"
    path = write(settings, mapping, csv)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "import", str(path)],
        cwd=ROOT,
        env={**os.environ, "BATON_HOME": str(settings.home), "BATON_DATA_DIR": str(path.parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    report = result.stderr
    assert "Import failed; raw data and the serving build are unchanged. 6 problem(s):" in report
    for line in (
        "mapping.sources.secret: unsafe path",
        "customer_exports.features.contract: unsafe expression",
        "customer_exports.churned: wrong type (1 row)",
        "customer_exports.mrr: negative value (1 row)",
        "customer_exports.tenure: wrong type (1 row)",
        "customer_exports.account_id, exported_on: duplicate key (2 rows)",
    ):
        assert line in report, report
    assert "account_id='a2'" in report
    assert settings.raw_path.read_bytes() == before


def test_flat_export_dates_must_be_present_when_mapped(settings: Settings) -> None:
    csv = "id,Churn,Plan,monthly,tenure,Contract,as_of\na1,No,b,1,2,x,2024-01-31\na2,No,b,1,2,x,\n"
    mapping = flat()
    mapping["tables"]["customer_exports"]["columns"]["exported_on"] = "as_of"
    problems = validate_mapping(read_mapping(write(settings, mapping, csv), settings), settings)
    assert [(p.column, p.rule, p.count) for p in problems] == [("exported_on", "missing value", 1)]
