"""AppTest of every page against a real small warehouse (300 customers x 12 months)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from pipeline import history, warehouse
from pipeline.read import export, queries, sentences
from pipeline.settings import Settings
from tests.support import edit_serving, pipeline_cli
from ui import charts

PAGES = {
    "app_pages/overview.py": "Overview",
    "app_pages/at_risk.py": "At-risk customers",
    "app_pages/accuracy.py": "Accuracy over time",
    "app_pages/why.py": "Why customers are at risk",
    "app_pages/pipeline_runs.py": "Pipeline",
}

pytestmark = pytest.mark.slow
OpenPage = Callable[..., AppTest]
WATERFALL = 2  # the Why page's charts: importance, top reasons, waterfall


def serving_path(home: Path) -> str:
    """Path of the warehouse in service for a home."""
    pointer = warehouse.current(Settings(home=home))
    assert pointer is not None, "the fixture build did not publish a warehouse"
    return str(pointer["path"])


def query(path: str, sql: str, params: list[object] | None = None) -> pd.DataFrame:
    """Rows of the published warehouse, read-only."""
    with warehouse.connect(path) as connection:
        return connection.execute(sql, params or []).df()


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
    every = queries.dataset_words(serving_path(serving_home)).expected_every_days
    age, stale = sentences.data_age(summary["newest_data"], date.today(), every)
    build_id = warehouse.current(Settings(home=serving_home))["build_id"]
    assert age.startswith("Newest data: ")
    model = f"**Model** `{summary['model_version']}`"
    assert [m.value for m in at.sidebar.markdown] == ([model] if stale else [age, model])
    assert [w.value for w in at.sidebar.warning] == ([age] if stale else [])
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
    scored = queries.at_risk_with_movement(
        serving_path(serving_home), warehouse.previous(Settings(home=serving_home))
    )
    expected = queries.export_list(serving_path(serving_home), scored, top=5)
    shown = at.dataframe[0].value.reset_index(drop=True)
    assert len(shown) == 5
    pd.testing.assert_frame_equal(shown, expected, check_dtype=False)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Customers shown, of those matching"] == f"5 of {len(scored):,}"

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
    losses = shown["expected_revenue_loss_usd"].tolist()
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
    assert shown["Ranking quality (model)"] == f"{model_auc:.2f}"
    model = metrics[metrics["method"] == "xgboost"]
    assert shown["Of the 100 flagged, left (average month)"] == (
        f"{model['precision_at_k'].mean():.0%}"
    )
    assert shown["Of all leavers, found in the top 100"].endswith("%")
    headline = sentences.flagged_and_left(metrics, 100)
    assert headline is not None and at.markdown[0].value == f"#### {headline}"
    assert len(at.get("vega_lite_chart")) == 3
    for chart in range(3):
        lines = chart_data(at, chart)
        assert set(lines["Method"]) >= {"Baton model", "Days since last activity"}


def test_why_page_waterfall_follows_the_chosen_customer(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page("app_pages/why.py")
    path = serving_path(serving_home)
    riskiest = queries.at_risk(path)["customer_id"].tolist()

    assert not at.exception
    assert at.selectbox[0].value == riskiest[0]
    first = chart_data(at, WATERFALL)

    at.selectbox[0].select(riskiest[1]).run()

    assert not at.exception
    second = chart_data(at, WATERFALL)
    expected = queries.customer_explanation(path, riskiest[1])
    final_score = second.loc[second["kind"] == "total", "end"].item()
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


def test_at_risk_list_says_first_build_when_there_is_no_earlier_build_to_compare(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page()

    shown = at.dataframe[0].value
    assert warehouse.previous(Settings(home=serving_home)) is None
    assert set(shown["movement"]) == {queries.NO_PREVIOUS}
    assert shown["risk_change_pts"].isna().all()
    assert at.dataframe[0].proto.placeholder == "", "a missing change shows blank, not 'None'"
    overview = at.switch_page("app_pages/overview.py").run()
    assert any("no earlier build" in c.value for c in overview.caption)


def test_reasons_on_the_list_are_the_customers_top_risk_drivers_worded_from_the_meta(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page()

    shown = at.dataframe[0].value
    path = serving_path(serving_home)
    explanations = query(
        path,
        "select explanations.customer_id, explanations.feature, explanations.reason, "
        "explanations.points, features.family "
        "from customer_explanations as explanations "
        "inner join feature_dictionary as features using (feature)",
    )
    shared = set(query(path, "select family from common_reasons")["family"])
    # The largest bars of each customer's waterfall, one per family of near-same factors and
    # one per sentence; then the families nearly everyone on the list shares are left out
    # (named first only where a customer has nothing else).
    raising = explanations[explanations["points"] > 0].sort_values(
        ["customer_id", "points", "feature"], ascending=[True, False, True]
    )
    first = ~raising.duplicated(["customer_id", "family"]) & ~raising.duplicated(
        ["customer_id", "reason"]
    )
    candidates = raising[first]
    own = candidates[~candidates["family"].isin(shared)]
    drivers = own.groupby("customer_id")["reason"].apply(lambda reasons: reasons.head(3).tolist())
    for customer in set(candidates["customer_id"]) - set(own["customer_id"]):
        drivers[customer] = candidates[candidates["customer_id"] == customer]["reason"][:1].tolist()
    assert len(shown) > 0
    for row in shown.itertuples():
        listed = [getattr(row, f"reason_{rank}") for rank in (1, 2, 3)]
        listed = [reason if isinstance(reason, str) else None for reason in listed]
        expected = drivers.get(row.customer_id, [])
        assert listed == expected + [None] * (3 - len(expected)), row.customer_id
    cells = shown[["reason_1", "reason_2", "reason_3"]].to_numpy().ravel()
    assert not any("{" in str(cell) for cell in cells), "a placeholder was left unfilled"


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        (
            "days_since_last_activity",
            lambda v: f"No activity for {v:,.0f} day{'' if v == 1 else 's'}",
        ),
        (
            "events_trend_30d",
            lambda v: (
                "Activity unchanged vs the previous month"
                if round(100 * abs(v - 1)) == 0
                else f"Activity {'up' if v > 1 else 'down'} {100 * abs(v - 1):,.0f}% vs the "
                "previous month"
            ),
        ),
        (
            "mrr_change_90d",
            lambda v: (
                "Monthly revenue unchanged vs 90 days ago"
                if f"{abs(v):,.0f}" == "0"
                else f"Monthly revenue {'up' if v > 0 else 'down'} ${abs(v):,.0f} vs 90 days ago"
            ),
        ),
        (
            "failed_payments_30d",
            lambda v: f"{v:,.0f} failed payment{'' if v == 1 else 's'} in the last 30 days",
        ),
    ],
)
def test_reasons_word_values_as_changes_and_counts_in_plain_words(
    serving_home: Path, feature: str, expected: Callable[[float], str]
) -> None:
    rows = query(
        serving_path(serving_home),
        "select feature_value, reason from customer_explanations "
        "where feature = ? and feature_value <> ''",
        [feature],
    )

    assert not rows.empty, f"no customer has a value for {feature}"
    for row in rows.itertuples():
        assert row.reason == expected(float(row.feature_value)), row


def test_a_feature_without_reason_meta_reads_label_and_value(serving_home: Path) -> None:
    # Features added later (or from your own data) may lack a template: they still read.
    rows = query(
        serving_path(serving_home),
        "select explanations.label, explanations.display_value, explanations.reason, "
        "features.reason_template "
        "from customer_explanations as explanations "
        "inner join feature_dictionary as features using (feature) "
        "where explanations.feature_value <> ''",
    )
    untemplated = rows[rows["reason_template"] == ""]
    assert (
        untemplated["reason"] == untemplated["label"] + ": " + untemplated["display_value"]
    ).all()
    assert (rows["reason_template"] != "").mean() > 0.9, "most features should carry a template"


def test_why_page_waterfall_walks_in_points_to_the_risk_on_the_list(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page("app_pages/why.py")
    customers = queries.at_risk(serving_path(serving_home))

    for customer in customers["customer_id"].head(3):
        at.selectbox[0].select(customer).run()
        steps = chart_data(at, WATERFALL)
        listed = customers.loc[customers["customer_id"] == customer, "churn_probability"].item()

        assert not at.exception
        assert at.get("vega_lite_chart")[WATERFALL].proto.spec.count("approximate") >= 1
        base = steps.loc[steps["kind"] == "base", "end_pts"].item()
        total = steps.loc[steps["kind"] == "total", "end_pts"].item()
        walked = base + steps.loc[steps["kind"] == "step", "value_pts"].sum()
        assert walked == pytest.approx(total, abs=1e-9)
        assert total == pytest.approx(100 * listed, abs=0.05), "must end at the listed risk"
        assert any("approximate" in c.value for c in at.caption)


def test_why_page_counts_each_factor_among_the_top_reasons_of_the_k_riskiest(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page("app_pages/why.py")
    path = serving_path(serving_home)
    k = int(queries.model_summary(path)["capacity_k"])
    top = queries.at_risk(path).head(k)

    counts = chart_data(at, 1)
    reasons = top[["reason_1", "reason_2", "reason_3"]].notna()
    assert counts["customers"].sum() == reasons.to_numpy().sum()
    for rank in (1, 2, 3):
        assert (
            counts.loc[counts["reason_rank"] == rank, "customers"].sum()
            == reasons[f"reason_{rank}"].sum()
        )
    assert counts.groupby("label")["customers"].sum().max() <= len(top)


def test_accuracy_page_marks_the_unmatured_month_as_a_provisional_estimate(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page("app_pages/accuracy.py")
    path = serving_path(serving_home)
    scored = queries.at_risk(path)
    k = int(queries.model_summary(path)["capacity_k"])

    precision = chart_data(at, 0)
    estimates = precision[precision["estimate"]]
    assert len(estimates) == 1
    estimate = estimates.iloc[0]
    assert estimate["Status"] == charts.PROVISIONAL
    assert pd.Timestamp(estimate["scoring_month"]) == pd.Timestamp(scored["snapshot_date"].max())
    assert (
        pd.Timestamp(estimate["scoring_month"])
        > precision["scoring_month"][~precision["estimate"]].max()
    )
    assert estimate["precision_at_k"] == pytest.approx(scored["churn_probability"].head(k).mean())
    measured = precision[precision["Status"] == charts.MEASURED]
    assert len(measured) == len(queries.backtest_metrics(path))
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert '"strokeDash"' in spec and charts.PROVISIONAL in spec, "provisional needs a legend entry"
    assert any(m.value.startswith("**Not known yet (") for m in at.markdown)


@pytest.mark.parametrize("page", ["app_pages/accuracy.py", "app_pages/why.py"])
def test_charts_leave_text_and_background_colours_to_the_theme(
    open_page: OpenPage, serving_home: Path, page: str
) -> None:
    at = open_page(page)

    specs = [chart.proto.spec.lower() for chart in at.get("vega_lite_chart")]
    assert specs
    for spec in specs:
        for fixed in ('"black"', '"white"', '"#000', '"#fff', '"background"'):
            assert fixed not in spec, f"{fixed} would be unreadable in one of the themes"


def test_a_filter_that_matches_nobody_says_so_and_how_to_widen_it(
    open_page: OpenPage, serving_home: Path
) -> None:
    scored = queries.at_risk(serving_path(serving_home))
    richest = scored.loc[scored["customer_value"].idxmax()]
    other_segment = next(s for s in sorted(scored["segment"].unique()) if s != richest["segment"])
    at = open_page()

    at.multiselect[0].set_value([other_segment]).run()
    value = float(richest["customer_value"])
    at.slider[0].set_value((value, value)).run()

    assert not at.exception
    assert [i.value for i in at.info] == [
        "No customer matches these filters. Widen the monthly revenue range or clear a filter."
    ]
    assert not at.dataframe
    assert not at.get("download_button")


def test_data_without_amounts_or_names_shows_no_value_loss_money_filter_or_name(
    open_page: OpenPage, home_copy: Path, use_home: Callable[[Path], Path]
) -> None:
    # A clickstream or a customer file without revenue: no customer has a value at risk
    # (tests/dbt/test_online_retail.py builds such data; here the list is made so), and no
    # name was mapped, so each name is the id.
    home = use_home(home_copy)
    edit_serving(
        Settings(home=home),
        "update at_risk_customers "
        "set customer_value = 0, expected_loss = 0, customer_name = customer_id",
    )

    at = open_page()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Expected to leave, of those shown" in labels
    assert not [label for label in labels if "revenue" in label.lower()], labels
    assert not at.slider and not at.radio  # no value range, no order by expected loss
    shown = at.dataframe[0].value
    assert not [column for column in shown.columns if "revenue" in column], list(shown.columns)
    assert "customer_name" not in shown.columns and "customer_id" in shown.columns

    overview = at.switch_page("app_pages/overview.py").run()
    assert not overview.exception and overview.title[0].value == "Overview"
    labels = [m.label for m in overview.metric]
    assert not [label for label in labels if "revenue" in label.lower()], labels
    assert [label for label in labels if label.startswith("Left within 30 days, ")], labels
    assert "customer_value" not in overview.dataframe[0].value.columns


def test_a_list_whose_risks_mostly_tie_says_so_and_how_to_tell_them_apart(
    open_page: OpenPage, serving_home: Path, home_copy: Path, use_home: Callable[[Path], Path]
) -> None:
    at = open_page()
    assert not [i.value for i in at.info if "same risk" in i.value], "the demo's risks differ"

    # A business where nearly everyone lapses (a marketplace's one-time buyers, docs/own-data.md):
    # the top risks are all 99.8%, the same on the page.
    home = use_home(home_copy)
    edit_serving(
        Settings(home=home),
        "update at_risk_customers set churn_probability = 0.998 where risk_rank <= 80",
    )
    at = open_page()
    shown = at.dataframe[0].value
    said = [i.value for i in at.info if "same risk" in i.value]
    assert said == [
        f"{min(80, len(shown))} of the {len(shown)} customers shown have the same risk, 100%: "
        "the model finds them about equally likely to leave. Order by expected revenue lost "
        "(Filter and sort) to contact those worth most first."
    ], said
    # The CLI's export says it too.
    written = pipeline_cli(home, "export-at-risk", "--out", str(home / "list.csv"), "--top", "100")
    assert written.returncode == 0, written.stderr
    assert "80 of the 100 customers shown have the same risk, 100%" in written.stdout
    assert "--sort expected_loss puts those worth most first." in written.stdout
