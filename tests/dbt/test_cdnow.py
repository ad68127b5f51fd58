"""CDNOW, a CD retailer's closed cohort in whitespace-separated text, through the whole product
from the example mapping alone: the shape the product was not built for."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from pipeline import warehouse
from pipeline.history import RunRecord
from pipeline.ingest.importer import import_mapping
from pipeline.ingest.mapping import load_mapping
from pipeline.read import queries
from pipeline.settings import ROOT, Settings
from tests.dbt import any_business
from tests.support import cdnow_master, pipeline_cli

pytestmark = pytest.mark.slow

MAPPING = ROOT / "examples" / "cdnow.yml"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory, build: Callable[..., RunRecord]) -> str:
    data = tmp_path_factory.mktemp("cdnow-data")
    shutil.copy(cdnow_master(), data / "CDNOW_master.txt")
    settings = Settings(home=tmp_path_factory.mktemp("cdnow-home"), data_dirs=(data,)).ensure()
    import_mapping(load_mapping(MAPPING, settings), settings)
    record = build(settings)
    assert record.status == "success", record.failure
    pointer = warehouse.current(settings)
    assert pointer is not None
    return str(pointer["path"])


def test_cdnow_gets_distinct_risks_and_a_value_for_every_customer_with_purchases(
    cdnow: str,
) -> None:
    assert any_business.distinct_risk_share(cdnow) >= any_business.DISTINCT_RISKS
    assert any_business.customers_with_history_but_no_value(cdnow) == 0


def test_cdnow_exports_in_a_shop_s_words_with_no_empty_column(cdnow: str) -> None:
    header = any_business.export_header(cdnow)
    assert "expected_spend_90d_usd" in header and "expected_spend_loss_usd" in header
    assert not [name for name in header if "mrr" in name or "revenue" in name]
    assert any_business.empty_export_columns(cdnow) == []


def test_no_reason_on_the_list_is_one_nearly_every_customer_on_it_shares(cdnow: str) -> None:
    # The top 100 are lapsed one-time buyers: no purchase expected, none in 90 days, a long
    # quiet... Each family shared by nearly all of them is named once on the Why page, in
    # rounds, until the rows' reasons tell customers apart (seen: five such families, two of
    # them still on every row when only the first round's were left out).
    assert any_business.reasons_on_nearly_every_row(cdnow) == {}
    assert len(queries.common_reasons(cdnow)) >= 2


def test_the_cli_export_names_the_reasons_its_rows_leave_out(cdnow: str, tmp_path: Path) -> None:
    home = Path(cdnow).parents[1]  # <home>/warehouses/<build>.duckdb
    out = tmp_path / "at_risk.csv"

    done = pipeline_cli(home, "export-at-risk", "--out", str(out), "--top", "100")

    assert done.returncode == 0, done.stderr
    first = queries.common_reasons(cdnow)["label"].iloc[0]
    assert "so the list leaves them out of each row" in done.stdout
    assert f"{first} (" in done.stdout


def test_a_shop_s_spend_is_not_worded_as_a_subscription(cdnow: str) -> None:
    # The mapping rewords no feature's money: non-contractual data gets a shop's words unasked.
    with duckdb.connect(cdnow, read_only=True) as connection:
        label = connection.execute(
            "select label from feature_dictionary where feature = 'mrr'"
        ).fetchall()
        reasons = connection.execute(
            "select reason_1, reason_2, reason_3 from at_risk_customers"
        ).fetchall()
    assert label == [("Average monthly spend, last 90 days",)]
    said = {reason for row in reasons for reason in row if reason}
    assert not [reason for reason in said if "Pays " in reason or "revenue" in reason]
    assert any(reason.startswith("Spends $") for reason in said)


def test_a_closed_cohort_is_not_blamed_on_the_data(cdnow: str) -> None:
    triage = queries.triage(cdnow)
    assert triage is not None and triage["verdict"] != "data_quality", triage


def test_cdnow_model_ranks_at_least_as_well_as_both_baselines(cdnow: str) -> None:
    auc = any_business.mean_auc(cdnow)
    # Measured: model 0.72033, logistic regression 0.72005, BG/NBD 0.7136, recency 0.661 (mean
    # of 9 months of about 6,000 customers). Trees alone tied with the logistic regression
    # here (0.72001); the model now weighs it in where it ranks an earlier month better by
    # more than a standard error (ml.train, ml.linear), which puts it ahead: no tolerance.
    assert auc["xgboost"] >= auc["logistic"], auc
    assert auc["xgboost"] >= auc["bg_nbd"], auc
    assert auc["xgboost"] > auc["recency"], auc
