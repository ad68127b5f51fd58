"""AppTest of every page against a real small warehouse (300 customers x 12 months)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from pipeline import export, history, queries, warehouse
from pipeline.settings import Settings

PAGES = {
    "app_pages/overview.py": "Overview",
    "app_pages/at_risk.py": "At-risk customers",
    "app_pages/accuracy.py": "Accuracy over time",
    "app_pages/why.py": "Why customers are at risk",
    "app_pages/pipeline_runs.py": "Pipeline",
}

pytestmark = pytest.mark.slow
OpenPage = Callable[..., AppTest]


def serving_path(home: Path) -> str:
    """Path of the warehouse in service for a home."""
    pointer = warehouse.current(Settings(home=home))
    assert pointer is not None, "the fixture build did not publish a warehouse"
    return str(pointer["path"])


def chart_data(at: AppTest, index: int) -> pd.DataFrame:
    """The data behind the index-th Altair chart of the page."""
    chart = at.get("vega_lite_chart")[index].proto
    assert len(chart.datasets) == 1, "expected the chart's data as one named dataset"
    return convert_arrow_bytes_to_pandas_df(chart.datasets[0].data.data)


@pytest.mark.parametrize(("page", "title"), PAGES.items())
def test_every_page_renders_without_exception_on_a_built_warehouse(
    open_page: OpenPage, serving_home: Path, page: str, title: str
) -> None:
    at = open_page(page)

    assert not at.exception
    assert [t.value for t in at.title] == [title]
    assert not at.error


@pytest.mark.parametrize("page", PAGES)
def test_sidebar_says_what_the_pages_show_and_that_no_build_runs(
    open_page: OpenPage, serving_home: Path, page: str
) -> None:
    at = open_page(page)

    summary = queries.model_summary(serving_path(serving_home))
    build_id = warehouse.current(Settings(home=serving_home))["build_id"]
    assert [m.value for m in at.sidebar.markdown] == [
        f"**Data as of** {summary['data_as_of']}",
        f"**Model** `{summary['model_version']}`",
    ]
    captions = [c.value for c in at.sidebar.caption]
    assert captions[0].startswith(f"Build {build_id}, published ")
    assert captions[-1] == "No build running."


def test_at_risk_page_defaults_to_the_outreach_capacity(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page()

    path = serving_path(serving_home)
    scored = len(queries.at_risk(path))
    expected_rows = min(int(queries.model_summary(path)["capacity_k"]), scored)
    assert at.number_input[0].value == expected_rows
    assert len(at.dataframe[0].value) == expected_rows


def test_at_risk_list_and_download_show_exactly_the_chosen_number_of_customers(
    open_page: OpenPage,
    serving_home: Path,
    media_files: Callable[[str], bytes],
    pipeline_cli: Callable[..., str],
    tmp_path: Path,
) -> None:
    at = open_page()
    at.number_input[0].set_value(5).run()

    assert not at.exception
    scored = queries.at_risk(serving_path(serving_home))
    expected = export.export_frame(scored, top=5)
    shown = at.dataframe[0].value.reset_index(drop=True)
    assert len(shown) == 5
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Customers shown"] == f"5 of {len(scored):,} matching"

    downloaded = media_files(at.get("download_button")[0].proto.url)
    assert downloaded == export.to_csv_bytes(expected)
    cli_csv = tmp_path / "cli.csv"
    pipeline_cli(serving_home, "export-at-risk", "--out", str(cli_csv), "--top", "5")
    assert downloaded == cli_csv.read_bytes(), "the button and the CLI must export the same bytes"


def test_filters_and_order_change_the_list_and_the_download_matches_the_filtered_cli_export(
    open_page: OpenPage,
    serving_home: Path,
    media_files: Callable[[str], bytes],
    pipeline_cli: Callable[..., str],
    tmp_path: Path,
) -> None:
    at = open_page()
    segment = at.multiselect[0]
    segment.set_value(["SMB"]).run()
    at.radio[0].set_value("expected_loss").run()
    at.number_input[0].set_value(7).run()

    assert not at.exception
    shown = at.dataframe[0].value.reset_index(drop=True)
    assert set(shown["segment"]) == {"SMB"}
    losses = shown["expected_mrr_loss_usd"].tolist()
    assert losses == sorted(losses, reverse=True)
    downloaded = media_files(at.get("download_button")[0].proto.url)
    cli_csv = tmp_path / "cli.csv"
    pipeline_cli(
        serving_home,
        "export-at-risk",
        "--out",
        str(cli_csv),
        "--top",
        "7",
        "--segment",
        "SMB",
        "--sort",
        "expected_loss",
    )
    assert downloaded == cli_csv.read_bytes()


def test_accuracy_page_shows_backtest_metrics_and_three_charts(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page("app_pages/accuracy.py")

    assert not at.exception
    metrics = queries.backtest_metrics(serving_path(serving_home))
    assert not metrics.empty, "12 months of demo data should leave matured backtest months"
    model_auc = metrics.loc[metrics["method"] == "xgboost", "roc_auc"].mean()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Model ROC AUC (mean)"] == f"{model_auc:.2f}"
    assert 0.0 <= float(shown["Model ROC AUC (mean)"]) <= 1.0
    assert shown["Precision in the top 100 (mean)"].endswith("%")
    assert len(at.get("vega_lite_chart")) == 3
    roc = chart_data(at, 0)
    assert set(roc["Method"]) >= {"Baton model", "Days since last activity"}


def test_why_page_waterfall_follows_the_chosen_customer(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page("app_pages/why.py")
    path = serving_path(serving_home)
    riskiest = queries.at_risk(path)["customer_id"].tolist()

    assert not at.exception
    assert at.selectbox[0].value == riskiest[0]
    first = chart_data(at, 1)

    at.selectbox[0].select(riskiest[1]).run()

    assert not at.exception
    second = chart_data(at, 1)
    expected = queries.customer_explanation(path, riskiest[1])
    final_score = second.loc[second["step"] == "This customer", "end"].item()
    assert final_score == pytest.approx(
        expected["base_value"].iloc[0] + expected["contribution"].sum(), abs=1e-6
    )
    assert not first["end"].equals(second["end"]), "the waterfall did not change customer"


def test_why_page_ranks_features_by_their_average_impact(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page("app_pages/why.py")

    importance = queries.feature_importance(serving_path(serving_home))
    bars = chart_data(at, 0)
    assert bars["label"].tolist() == importance["label"].head(15).tolist()


def test_pipeline_page_names_the_serving_build_and_lists_its_run(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page("app_pages/pipeline_runs.py")

    assert not at.exception
    build_id = warehouse.current(Settings(home=serving_home))["build_id"]
    assert any(f"Serving build **{build_id}**" in m.value for m in at.markdown)
    runs = at.dataframe[0].value
    assert runs["Build"].tolist() == [r.build_id for r in history.load_all(Settings(serving_home))]
    assert runs.loc[runs["Build"] == build_id, "Status"].item() == "success"
    nodes = at.dataframe[1].value
    assert {"model", "test"} <= set(nodes["resource_type"])
    assert (nodes["status"].isin(["success", "pass"])).all()
