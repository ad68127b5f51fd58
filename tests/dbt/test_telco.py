"""The Telco flat customer file runs through the whole product from its mapping alone.

One export: trained on held-out customers, checked on customers held out of training (five
folds), every current customer scored and explained with the mapping's plain labels,
exported as CSV; the Accuracy page shows the held-out check.
Two exports (dbt snapshots keep both): a month of walk-forward accuracy appears, and formula
cells in the newest export come out of the CSV export neutralized.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import streamlit as st
import yaml
from streamlit.testing.v1 import AppTest

from pipeline import warehouse
from pipeline.history import RunRecord
from pipeline.ingest.importer import import_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.read import export, queries
from pipeline.settings import ROOT, Settings
from tests.dbt import any_business

MAPPING = ROOT / "examples" / "telco.yml"
DATASET = (ROOT / ".." / "shared" / "datasets" / "telco_customer_churn.csv").resolve()
CUSTOMERS, CHURNED = 7043, 1869
FORMULAS = ('=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def telco_file() -> None:
    if not DATASET.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{DATASET} is missing in CI")
        pytest.skip(f"{DATASET} is not here (see ../shared/datasets/README.md)")


def import_and_build(settings: Settings, mapping: Path, build: Callable[..., RunRecord]) -> None:
    import_mapping(read_mapping(mapping, settings), settings)
    record = build(settings)
    assert record.status == "success", record.failure


def serving(settings: Settings) -> str:
    pointer = warehouse.current(settings)
    assert pointer is not None
    return str(pointer["path"])


@pytest.fixture(scope="module")
def one_export(
    tmp_path_factory: pytest.TempPathFactory, build: Callable[..., RunRecord]
) -> Settings:
    """The example mapping as it is: one export, dated the day of the import."""
    settings = Settings(home=tmp_path_factory.mktemp("telco-one")).ensure()
    import_and_build(settings, MAPPING, build)
    return settings


def variant(folder: Path, exported_on: str, extra_columns: dict[str, str], csv: Path) -> Path:
    """The example mapping reading `csv`, with an export date and extra column mappings."""
    spec = yaml.safe_load(MAPPING.read_text())
    spec["sources"]["telco"] = str(csv)
    spec["tables"]["customer_exports"]["columns"].update(
        {"exported_on": exported_on, **extra_columns}
    )
    path = folder / f"telco-{len(list(folder.glob('*.yml')))}.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def two_exports(
    tmp_path_factory: pytest.TempPathFactory, build: Callable[..., RunRecord]
) -> Settings:
    """Last month's export, then this month's, whose names hold spreadsheet formulas."""
    data = tmp_path_factory.mktemp("telco-data")
    settings = Settings(
        home=tmp_path_factory.mktemp("telco-two"), data_dirs=(DATASET.parent, data)
    ).ensure()
    import_and_build(settings, variant(data, "current_date - 31", {}, DATASET), build)
    newest = pd.read_csv(DATASET, dtype=str, keep_default_na=False)
    newest["Name"] = newest["customerID"]
    staying = newest.index[newest["Churn"] == "No"][: len(FORMULAS)]
    newest.loc[staying, "Name"] = FORMULAS
    newest.to_csv(data / "telco_with_names.csv", index=False)
    mapping = variant(data, "current_date", {"account_name": "Name"}, data / "telco_with_names.csv")
    import_and_build(settings, mapping, build)
    return settings


@pytest.fixture
def accuracy_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Settings], AppTest]]:
    """Open the Accuracy page of a home in AppTest."""

    def open_(settings: Settings) -> AppTest:
        monkeypatch.setenv("BATON_HOME", str(settings.home))
        st.cache_resource.clear()
        st.cache_data.clear()
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        app.run()
        return app.switch_page("app_pages/accuracy.py").run()

    yield open_
    st.cache_resource.clear()
    st.cache_data.clear()


def test_one_export_scores_every_customer_still_there(one_export: Settings) -> None:
    at_risk = queries.at_risk(serving(one_export))
    assert len(at_risk) == CUSTOMERS - CHURNED
    assert at_risk["churn_probability"].between(0, 1).all()
    assert at_risk["risk_rank"].tolist() == list(range(1, len(at_risk) + 1))
    assert at_risk.head(50)["reason_1"].notna().all()
    assert set(at_risk["segment"]) == {"Month-to-month", "One year", "Two year"}


def test_one_export_is_checked_on_customers_held_out_of_training(one_export: Settings) -> None:
    path = serving(one_export)
    summary = queries.model_summary(path)
    # Held-out customers calibrate and stop early (about 30%); the rest train.
    assert 0.6 * CUSTOMERS < summary["n_train"] < 0.8 * CUSTOMERS
    with duckdb.connect(path, read_only=True) as connection:
        labeled = connection.execute(
            "select count(*), avg(churned_within_horizon::int) from ml_features where is_matured"
        ).fetchone()
    assert labeled is not None and labeled[0] == CUSTOMERS
    assert abs(labeled[1] - CHURNED / CUSTOMERS) < 1e-9
    # No later export to walk forward to: every customer is scored by models (five folds)
    # trained without them. No recency row: the file has no activity dates to rank by.
    metrics = queries.backtest_metrics(path).set_index("method")
    assert set(metrics.index) == {"xgboost", "logistic"}
    assert metrics["held_out"].all() and metrics["scoring_month"].nunique() == 1
    assert (metrics["n_customers"] == CUSTOMERS).all()
    assert (metrics["n_churned"] == CHURNED).all()
    # The dataset's reference for a well-tuned gradient-boosted model in 5-fold
    # cross-validation is 0.84-0.85 (../shared/datasets/README.md); far higher means leakage.
    assert 0.80 < metrics.loc["xgboost", "roc_auc"] < 0.88
    assert 0.80 < metrics.loc["logistic", "roc_auc"] < 0.88


def test_explanations_use_the_labels_declared_in_the_mapping(one_export: Settings) -> None:
    declared = {
        name: spec["label"]
        for name, spec in yaml.safe_load(MAPPING.read_text())["features"].items()
    }
    with duckdb.connect(serving(one_export), read_only=True) as connection:
        dictionary = dict(
            connection.execute("select feature, label from feature_dictionary").fetchall()
        )
        explained = connection.execute(
            "select count(distinct customer_id), count(distinct feature) from ml_explanations"
        ).fetchone()
    assert dictionary == declared
    assert explained == (CUSTOMERS - CHURNED, len(declared))
    reasons = queries.at_risk(serving(one_export))["reason_1"].dropna()
    assert reasons.str.contains("contract|Customer for|Internet service|Pays").any()


def test_one_export_exports_the_at_risk_csv(one_export: Settings) -> None:
    path = serving(one_export)
    frame = queries.export_list(path, queries.at_risk(path), top=200)
    table = pd.read_csv(io.BytesIO(export.to_csv_bytes(frame)))
    assert len(table) == 200
    assert table["risk_pct"].is_monotonic_decreasing
    assert table["reason_1"].notna().all()


def test_accuracy_page_shows_the_held_out_check_with_one_export(
    one_export: Settings, accuracy_page: Callable[[Settings], AppTest]
) -> None:
    app = accuracy_page(one_export)
    assert not app.exception
    assert any(m.value.startswith("#### On customers held out of training") for m in app.markdown)
    assert any("There is no later export to test the model on yet" in c.value for c in app.caption)
    methods = app.dataframe[0].value
    assert set(methods["Method"]) == {"Baton model", "Logistic regression"}
    assert not app.get("vega_lite_chart")  # one check, not a month-by-month chart
    assert not any("History accumulates" in i.value for i in app.info)
    health = app.switch_page("app_pages/health.py").run()
    assert not health.exception
    assert health.info[0].value.startswith("No verdict for a customer file")


def test_two_exports_are_kept_by_the_snapshot_and_backtested(two_exports: Settings) -> None:
    with duckdb.connect(str(two_exports.history_path), read_only=True) as connection:
        exports = connection.execute(
            "select count(distinct exported_on), count(*) from customer_exports_history "
            "where dbt_valid_to is null"
        ).fetchone()
    assert exports == (2, 2 * CUSTOMERS)
    metrics = queries.backtest_metrics(serving(two_exports))
    assert set(metrics["method"]) == {"xgboost", "logistic"}  # no activity dates: no recency
    assert metrics["scoring_month"].nunique() == 1 and not metrics["held_out"].any()
    model = metrics[metrics["method"] == "xgboost"].iloc[0]
    assert model["n_customers"] == CUSTOMERS and model["roc_auc"] > 0.8


def test_accuracy_page_shows_the_month_once_there_are_two_exports(
    two_exports: Settings, accuracy_page: Callable[[Settings], AppTest]
) -> None:
    app = accuracy_page(two_exports)
    assert not app.exception
    assert not any("History accumulates" in i.value for i in app.info)
    assert any("Each month is one export" in c.value for c in app.caption)


def test_formula_cells_in_an_export_come_out_of_the_csv_neutralized(
    two_exports: Settings,
) -> None:
    at_risk = queries.at_risk(serving(two_exports))
    hostile = at_risk[at_risk["customer_name"].isin(FORMULAS)]
    assert len(hostile) == len(FORMULAS)
    csv = export.to_csv_bytes(queries.export_list(serving(two_exports), at_risk)).decode()
    for formula in FORMULAS:
        cell = '"' + ("'" + formula).replace('"', '""') + '"' if '"' in formula else "'" + formula
        assert cell in csv, formula
    assert not re.search(r"(^|,)[=+@]", csv, flags=re.MULTILINE)


def test_telco_gets_distinct_risks_real_values_and_its_own_words(one_export: Settings) -> None:
    path = serving(one_export)
    assert any_business.distinct_risk_share(path) >= any_business.DISTINCT_RISKS
    assert any_business.customers_with_history_but_no_value(path) == 0
    assert any_business.empty_export_columns(path) == []
    header = any_business.export_header(path)
    assert {"contract", "internet_service", "payment_method", "monthly_revenue_usd"} <= set(header)
    assert not {"segment", "plan", "region"} & set(header)


def test_telco_model_ranks_at_least_as_well_as_the_logistic_baseline(
    two_exports: Settings,
) -> None:
    auc = any_business.mean_auc(serving(two_exports))
    assert auc["xgboost"] >= auc["logistic"], auc
