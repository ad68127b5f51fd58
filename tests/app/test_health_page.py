"""AppTest of the Health page and the Overview badge on a real small warehouse."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from monitoring import verdict as triage
from monitoring.words import VERDICT_NAMES
from pipeline import history, warehouse
from pipeline.history import RunRecord
from pipeline.read import queries
from pipeline.settings import Settings
from tests.support import edit_serving
from ui.text import md

pytestmark = pytest.mark.slow
HEALTH = "app_pages/health.py"
OpenPage = Callable[..., AppTest]


def serving_path(home: Path) -> str:
    pointer = warehouse.current(Settings(home=home))
    assert pointer is not None, "the fixture build did not publish a warehouse"
    return str(pointer["path"])


def chart_data(at: AppTest, index: int) -> pd.DataFrame:
    chart = at.get("vega_lite_chart")[index].proto
    return convert_arrow_bytes_to_pandas_df(chart.datasets[0].data.data)


def verdict_box(at: AppTest) -> str:
    """The text of the first success, warning or error box: the verdict sentence."""
    boxes = [*at.success, *at.warning, *at.error]
    assert boxes, "no verdict shown"
    return str(boxes[0].value)


def test_health_page_says_the_verdict_first_then_shows_the_evidence(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page(HEALTH)

    assert not at.exception
    assert [t.value for t in at.title] == ["Health"]
    verdict = queries.triage(serving_path(serving_home))
    assert verdict is not None
    box = verdict_box(at)
    assert box.startswith(f"**{VERDICT_NAMES[verdict['verdict']]}.**")
    assert md(verdict["summary"]) in box  # data in the summary shows as text, escaped
    owner = verdict["owner"][:1].upper() + verdict["owner"][1:]
    assert at.markdown[0].value.startswith(f"**Who acts** {owner}")
    assert [s.value for s in at.subheader] == [
        "Evidence",
        "Data quality",
        "Have customers changed?",
        "Churn and accuracy over time",
    ]
    assert len(at.get("vega_lite_chart")) == 4  # volume, distribution, churn, accuracy


def test_feature_distribution_follows_the_chosen_feature(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page(HEALTH)
    path = serving_path(serving_home)
    drift = queries.feature_drift(path)
    chooser = next(s for s in at.selectbox if s.label == "Distribution of")
    assert chooser.value == drift.loc[drift["counted"], "feature"].iloc[0]  # most severe counted
    other = next(f for f in drift["feature"] if f != chooser.value)

    chooser.select(other).run()

    assert not at.exception
    shown = chart_data(at, 1)
    expected = queries.feature_distribution(path)
    expected = expected[expected["feature"] == other]
    assert sorted(shown["bin_label"].unique()) == sorted(expected["bin_label"].unique())
    assert set(shown["Window"]) == {"Reference months", "Newest snapshot"}
    assert shown["share"].sum() == pytest.approx(2.0)


def test_health_page_shows_drift_that_did_not_count_and_says_why(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page(HEALTH)

    drift = queries.feature_drift(serving_path(serving_home))
    skipped = drift[~drift["counted"]]
    assert skipped["drifted"].any(), "12 months of data: features accumulated to date drift"
    moved = drift[drift["drifted"]]
    counting = f"{len(moved)} moved more than usual ({moved['counted'].sum()} counting toward"
    assert any(counting in c.value for c in at.caption)
    caption = next(c.value for c in at.caption if c.value.startswith("Not counted"))
    assert all(label in caption for label in skipped["label"])
    assert "grow by construction" in caption
    table = at.dataframe[-1].value
    assert set(table.loc[~table["counted"], "label"]) == set(skipped["label"])


def rules(spec: dict[str, object]) -> list[dict[str, object]]:
    """The encodings of every rule mark of a layered Vega-Lite spec."""
    layers = spec.get("layer", [spec])
    assert isinstance(layers, list)
    return [
        layer.get("encoding", {})
        for layer in layers
        if (layer.get("mark") or {}).get("type", layer.get("mark")) == "rule"
    ]


def test_limit_lines_are_horizontal_and_only_the_change_marker_is_vertical(
    open_page: OpenPage, serving_home: Path
) -> None:
    at = open_page(HEALTH)

    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    over_time = [spec for spec in specs if "Snapshot month" in json.dumps(spec)]
    assert len(over_time) == 2, "churn rate and ranking quality over time"
    for spec in over_time:
        found = rules(spec)
        assert found, "the reference mean and the limit are rules"
        for encoding in found:
            if "y2" in encoding:  # the estimate's error bar: one month, low to high
                assert "x" in encoding
            elif "y" in encoding:  # a level across the whole chart: no x, or it is a barcode
                assert "x" not in encoding, encoding
            else:  # the day things changed
                assert "x" in encoding


def test_overview_badge_shows_the_verdict(open_page: OpenPage, serving_home: Path) -> None:
    at = open_page("app_pages/overview.py")

    verdict = queries.triage(serving_path(serving_home))
    assert verdict is not None
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Pipeline health"] == VERDICT_NAMES[verdict["verdict"]]


def test_health_page_before_the_first_build_says_what_to_do(
    open_page: OpenPage, empty_home: Path
) -> None:
    at = open_page(HEALTH)

    assert not at.exception
    assert "No verdict yet" in at.info[0].value
    assert "python -m pipeline rebuild" in at.info[0].value


def test_a_build_broken_by_its_source_data_shows_a_data_problem_while_the_last_good_serves(
    open_page: OpenPage,
    home_copy: Path,
    use_home: Callable[[Path], Path],
) -> None:
    home = use_home(home_copy)
    failure = {
        "node": "stg_raw__activity",
        "layer": "source data",
        "message": 'Binder Error: Referenced column "events" not found',
    }
    verdict = triage.failed_build(failure)
    assert verdict is not None
    failed = RunRecord(
        build_id="29991231T000000Z-broken",
        trigger="test",
        started_at="2999-12-31T00:00:00+00:00",
        status="failed",
        failure=failure,
        triage=verdict.as_dict(),
    )
    history.save(Settings(home=home), failed)

    at = open_page(HEALTH)

    assert not at.exception
    assert at.error[0].value.startswith("**Data problem.** It is the data: the build failed at")
    assert at.markdown[0].value == "**Who acts** Analytics engineer"
    assert any(failed.build_id in c.value for c in at.caption)
    serving = warehouse.current(Settings(home=home))
    assert serving is not None
    assert any(serving["build_id"] in c.value for c in at.caption)
    evidence = at.dataframe[0].value
    assert evidence["About"].tolist() == ["stg_raw__activity"]

    overview = at.switch_page("app_pages/overview.py").run()
    assert {m.label: m.value for m in overview.metric}["Pipeline health"] == "Data problem"


def test_a_build_made_before_the_monitors_says_the_verdict_is_not_available(
    open_page: OpenPage,
    home_copy: Path,
    use_home: Callable[[Path], Path],
) -> None:
    home = use_home(home_copy)
    edit_serving(Settings(home=home), "drop table triage_verdict")

    at = open_page(HEALTH)

    assert not at.exception
    assert "Verdict not available" in at.info[0].value
    overview = at.switch_page("app_pages/overview.py").run()
    assert {m.label: m.value for m in overview.metric}["Pipeline health"] == "Not available"
