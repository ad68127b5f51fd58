"""AppTest after a second build on newer data: movement since the last build on every view."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline import warehouse
from pipeline.read import export, queries
from pipeline.settings import Settings
from tests.app.conftest import CUSTOMERS, MONTHS
from tests.support import copy_home, run_pipeline

pytestmark = pytest.mark.slow
OpenPage = Callable[..., AppTest]


@pytest.fixture(scope="module")
def second_build_home(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's built home, then a month more of data and a second build (a real one)."""
    target = tmp_path_factory.mktemp("baton_second_build") / "home"
    home = copy_home(Settings(home=built_home), target).home
    run_pipeline(home, "demo", "--customers", str(CUSTOMERS), "--months", str(MONTHS + 1))
    run_pipeline(home, "rebuild")
    return home


@pytest.fixture
def second_build(second_build_home: Path, use_home: Callable[[Path], Path]) -> Path:
    """The twice-built home, active for this test."""
    return use_home(second_build_home)


def builds(home: Path) -> tuple[str, str]:
    """Paths of the warehouse in service and of the one published before it."""
    settings = Settings(home=home)
    pointer = warehouse.current(settings)
    previous = warehouse.previous(settings)
    assert pointer is not None and previous is not None, "expected two published builds"
    return str(pointer["path"]), str(previous)


def expected_movement(current: pd.DataFrame, previous: pd.DataFrame, k: int) -> pd.DataFrame:
    """The rule, restated: new in the top k or unscored before; else +-5 points; else steady."""
    was = previous.set_index("customer_id")
    rows = []
    for row in current.itertuples():
        if row.customer_id not in was.index:
            rows.append((row.customer_id, "new", float("nan")))
            continue
        before = was.loc[row.customer_id]
        change = round((row.churn_probability - before["churn_probability"]) * 100, 1) + 0.0
        if row.risk_rank <= k and before["risk_rank"] > k:
            move = "new"
        elif change >= 5:
            move = "rising"
        elif change <= -5:
            move = "falling"
        else:
            move = "steady"
        rows.append((row.customer_id, move, change))
    return pd.DataFrame(rows, columns=["customer_id", "movement", "risk_change_pts"])


def test_at_risk_list_shows_each_customers_movement_since_the_previous_build(
    open_page: OpenPage, second_build: Path
) -> None:
    current, previous = builds(second_build)
    k = queries.capacity_k(current)
    at = open_page()
    scored = queries.at_risk(current)
    at.number_input[0].set_value(len(scored)).run()  # the whole list, past the top k

    assert not at.exception
    shown = at.dataframe[0].value.reset_index(drop=True)
    expected = expected_movement(scored, queries.at_risk(previous), k)
    pd.testing.assert_frame_equal(
        shown[["customer_id", "movement", "risk_change_pts"]], expected, check_dtype=False
    )
    assert "new" in set(shown["movement"])
    assert {"rising", "falling"} & set(shown["movement"]), "a month later, some risks move"
    assert shown["risk_change_pts"].notna().any()


def test_download_with_movement_is_the_view_and_the_cli_export_byte_for_byte(
    open_page: OpenPage,
    second_build: Path,
    media_files: Callable[[str], bytes],
    pipeline_cli: Callable[..., str],
    tmp_path: Path,
) -> None:
    at = open_page()
    at.radio[0].set_value("expected_loss").run()
    at.number_input[0].set_value(30).run()

    assert not at.exception
    shown = at.dataframe[0].value.reset_index(drop=True)
    downloaded = media_files(at.get("download_button")[0].proto.url)
    assert downloaded == export.to_csv_bytes(shown)
    header = downloaded.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[7:9] == ["movement", "risk_change_pts"]
    cli_csv = tmp_path / "cli.csv"
    pipeline_cli(
        second_build,
        "export-at-risk",
        "--out",
        str(cli_csv),
        "--top",
        "30",
        "--sort",
        "expected_loss",
    )
    assert downloaded == cli_csv.read_bytes(), "the button and the CLI must export the same bytes"


def test_overview_counts_new_rising_and_falling_customers_in_the_top_k(
    open_page: OpenPage, second_build: Path
) -> None:
    current, previous = builds(second_build)
    k = queries.capacity_k(current)
    moved = expected_movement(queries.at_risk(current).head(k), queries.at_risk(previous), k)
    counts = moved["movement"].value_counts()

    at = open_page("app_pages/overview.py")

    assert not at.exception
    assert any(
        m.value.startswith(
            f"Of the {k} to contact: **{counts.get('new', 0)}** are new to the list, "
            f"**{counts.get('rising', 0)}** more at risk and **{counts.get('falling', 0)}** less"
        )
        for m in at.markdown
    )
    changed = at.dataframe[1].value  # the first is who to call first
    assert len(changed) == int((moved["movement"] != "steady").sum())
    assert list(changed["movement"].drop_duplicates()) == [
        move for move in ("new", "rising", "falling") if counts.get(move, 0)
    ]


def test_what_changed_shows_the_changes_between_the_two_builds_and_their_effect(
    open_page: OpenPage, second_build: Path
) -> None:
    at = open_page("app_pages/changes.py")

    assert not at.exception
    assert [title.value for title in at.title] == ["What changed"]
    shown = at.dataframe[0].value
    assert {"usage_daily", "accounts"} <= set(shown["name"]), "a month more of raw data"
    assert set(shown["kind"]) <= {"Code", "Configuration", "Data", "Libraries"}
    text = " ".join(m.value for m in at.markdown)
    assert "Customers to contact:" in text
    assert at.get("vega_lite_chart"), "the accuracy of both builds, month by month"
