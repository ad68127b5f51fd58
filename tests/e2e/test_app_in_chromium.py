"""The real app in headless Chromium: every page, the CSV download and the Rebuild button."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from pipeline import history, warehouse
from pipeline.build.lock import is_locked
from pipeline.read import export, queries
from pipeline.settings import Settings
from tests.support import wait_for_new_build

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IDLE_APP = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHARTS = '[data-testid="stVegaLiteChart"].vega-embed > :is(svg, canvas)'
CAPACITY_LABEL = "How many customers can your team contact?"
REBUILD_SECONDS = 180
# url_path of each st.Page in app.py.
OVERVIEW, AT_RISK, ACCURACY, WHY, PIPELINE = "/", "/at-risk", "/accuracy", "/why", "/pipeline"
REBUILD = re.compile(r"(^|\s)Rebuild$")  # the button, not "Use and rebuild"
# Holds the build lock the way `python -m pipeline rebuild` does, until stdin closes.
HOLD_LOCK = """
import sys
from pathlib import Path
from pipeline.build.lock import build_lock
holder = {"trigger": "cli", "started_at": "2026-01-01T09:00:00+00:00", "build_id": "cli-build"}
with build_lock(Path(sys.argv[1]), holder):
    print("locked", flush=True)
    sys.stdin.read()
"""


def open_page(page: Page, url: str, title: str) -> None:
    """Load a page and wait until its script has run, the way Streamlit's own e2e suite does."""
    page.goto(url)
    page.wait_for_selector(IDLE_APP)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def wait_until_idle(page: Page) -> None:
    """Let a rerun triggered by an interaction start and finish."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE_APP)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll a condition outside the browser (files in BATON_HOME)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f}s waiting for {what}"
        time.sleep(0.2)


def download_csv(page: Page, tmp_path: Path, name: str) -> tuple[bytes, str]:
    """Click the download button; return the file's bytes and suggested name."""
    with page.expect_download() as info:
        page.get_by_test_id("stDownloadButton").get_by_role("button").click()
    download = info.value
    target = tmp_path / name
    download.save_as(target)
    return target.read_bytes(), download.suggested_filename


# What an owner must never read: a missing value printed as code, a traceback, or a
# modeller's word on the pages written for owners (analysts' terms live in collapsed
# expanders, whose text is not shown).
LEAKS = re.compile(r"\b(None|nan|NaN|NaT|undefined|Traceback)\b")
JARGON = re.compile(r"ROC AUC|\bAUC\b|SHAP|log-odds|\bPSI\b|precision|recall|Jensen", re.I)
OWNER_PAGES = {"overview", "at_risk", "accuracy", "why"}


@pytest.fixture
def console(page: Page) -> list[str]:
    """Warnings and errors the page logs to the browser console (Vega logs its own there)."""
    messages: list[str] = []
    page.on(
        "console",
        lambda message: (
            messages.append(f"{message.type}: {message.text}")
            if message.type in ("warning", "error")
            else None
        ),
    )
    return messages


def open_expanders(page: Page) -> None:
    """Open every collapsed expander. A chart inside one is drawn only when the browser gets
    to it (CI saw the Accuracy page's analyst chart drawn on one run and not on the next), so
    charts are counted with every expander open."""
    collapsed = page.locator('[data-testid="stExpander"] details:not([open]) > summary')
    while collapsed.count():
        collapsed.first.click()


def shown_text(page: Page) -> str:
    """The text the main area shows (the sidebar and collapsed expanders excluded)."""
    return page.get_by_test_id("stMainBlockContainer").inner_text()


def markdown(page: Page, text: str) -> Locator:
    """Markdown blocks containing a text (bold parts included)."""
    return page.get_by_test_id("stMarkdownContainer").filter(has_text=text)


@pytest.mark.parametrize(
    ("path", "title", "ready", "charts"),
    [
        (OVERVIEW, "Overview", '[data-testid="stMetric"]', 0),
        (AT_RISK, "At-risk customers", '[data-testid="stDownloadButton"]', 0),
        (ACCURACY, "Accuracy over time", CHARTS, 3),
        (WHY, "Why customers are at risk", CHARTS, 3),
        (PIPELINE, "Pipeline", '[data-testid="stDataFrame"]', 0),
        ("/health", "Health", CHARTS, 4),
    ],
    ids=["overview", "at_risk", "accuracy", "why", "pipeline_runs", "health"],
)
def test_every_page_opens_without_exception_and_draws_its_charts(
    page: Page,
    console: list[str],
    app_url: str,
    screenshot: Callable[[Page, str], Path],
    request: pytest.FixtureRequest,
    path: str,
    title: str,
    ready: str,
    charts: int,
) -> None:
    open_page(page, app_url + path, title)
    expect(page.locator(ready).first).to_be_visible()
    page.wait_for_timeout(500)  # let Vega and the data grid finish drawing

    # First the page as an owner sees it, analysts' expanders closed...
    screenshot(page, request.node.callspec.id)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    text = shown_text(page)
    assert not LEAKS.findall(text), LEAKS.findall(text)
    if request.node.callspec.id in OWNER_PAGES:
        assert not JARGON.findall(text), JARGON.findall(text)
    # ...then every chart, the analysts' too, drawn without a warning.
    open_expanders(page)
    expect(page.locator(CHARTS)).to_have_count(charts)
    page.wait_for_timeout(500)
    vega = [message for message in console if re.search(r"vega|\bWARN\b", message, re.I)]
    assert not vega, vega


@pytest.mark.parametrize(
    ("path", "title", "charts"),
    [
        (OVERVIEW, "Overview", 0),
        (AT_RISK, "At-risk customers", 0),
        (ACCURACY, "Accuracy over time", 3),
        (WHY, "Why customers are at risk", 3),
    ],
    ids=["overview", "at_risk", "accuracy", "why"],
)
def test_every_result_page_is_readable_in_the_dark_theme(
    browser: Browser,
    app_url: str,
    screenshot: Callable[[Page, str], Path],
    request: pytest.FixtureRequest,
    path: str,
    title: str,
    charts: int,
) -> None:
    # No theme is configured, so Streamlit follows the browser's colour scheme.
    context = browser.new_context(
        viewport={"width": 1440, "height": 1600}, color_scheme="dark", accept_downloads=True
    )
    page = context.new_page()
    try:
        open_page(page, app_url + path, title)
        if charts:
            expect(page.locator(CHARTS).first).to_be_visible()
        page.wait_for_timeout(500)

        background = page.get_by_test_id("stApp").evaluate(
            "element => getComputedStyle(element).backgroundColor"
        )
        assert luminance(background) < 0.2, f"dark theme not applied: {background}"
        screenshot(page, f"{request.node.callspec.id}_dark")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        open_expanders(page)
        expect(page.locator(CHARTS)).to_have_count(charts)
    finally:
        context.close()


def luminance(css_rgb: str) -> float:
    """Relative brightness (0 black .. 1 white) of a CSS `rgb(r, g, b)` colour."""
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_rgb)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_first_page_sidebar_says_what_the_pages_show(page: Page, app_url: str) -> None:
    open_page(page, app_url + AT_RISK, "At-risk customers")

    sidebar = page.get_by_test_id("stSidebarUserContent")
    expect(sidebar).to_contain_text("Newest data: ")
    expect(sidebar).to_contain_text("No build running.")


@pytest.mark.parametrize("path", [ACCURACY, WHY, PIPELINE])
def test_bookmarked_page_on_a_fresh_server_runs_the_app_with_its_sidebar(
    page: Page, fresh_app_url: str, path: str
) -> None:
    # A deep link on a server nobody has visited yet must still run app.py (navigation and
    # sidebar) and open the page without a "Page not found" dialog.
    page.goto(fresh_app_url + path)
    page.wait_for_selector(IDLE_APP)
    page.wait_for_timeout(1000)
    expect(page.get_by_role("dialog")).to_have_count(0)

    sidebar = page.get_by_test_id("stSidebarUserContent")
    expect(sidebar).to_contain_text("Newest data: ")
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("At-risk customers")


def test_downloaded_csv_is_the_list_shown_and_matches_the_cli_export(
    page: Page,
    app_url: str,
    baton_home: Path,
    pipeline_cli: Callable[..., str],
    tmp_path: Path,
) -> None:
    path = warehouse.current(Settings(home=baton_home))["path"]
    summary = queries.model_summary(path)
    scored = len(queries.at_risk(path))
    open_page(page, app_url + AT_RISK, "At-risk customers")
    capacity = page.get_by_role("spinbutton", name=CAPACITY_LABEL, exact=True)
    k = int(capacity.input_value())
    assert k == min(int(summary["capacity_k"]), scored)

    for top in (k, 7):
        if top != k:
            capacity.fill(str(top))
            capacity.press("Enter")
            wait_until_idle(page)
        expect(page.get_by_test_id("stMetric").first).to_contain_text(f"{top} of {scored:,}")
        downloaded, file_name = download_csv(page, tmp_path, f"app-{top}.csv")

        assert file_name == export.file_name(summary["snapshot_date"])
        rows = list(csv.reader(io.StringIO(downloaded.decode("utf-8-sig"))))
        path = warehouse.current(Settings(home=baton_home))["path"]
        assert rows[0] == list(queries.export_list(path, queries.at_risk(path).head(0)).columns)
        assert len(rows) - 1 == top
        cli_csv = tmp_path / f"cli-{top}.csv"
        pipeline_cli(baton_home, "export-at-risk", "--out", str(cli_csv), "--top", str(top))
        assert downloaded == cli_csv.read_bytes(), (
            "the button and the CLI must export the same bytes"
        )


def test_rebuild_button_is_disabled_while_another_process_builds(
    page: Page, app_url: str, baton_home: Path, screenshot: Callable[[Page, str], Path]
) -> None:
    lock_path = Settings(home=baton_home).lock_path
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock_path)],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        open_page(page, app_url + PIPELINE, "Pipeline")

        expect(page.get_by_role("button", name=REBUILD)).to_be_disabled()
        running = page.get_by_test_id("stAlertContentInfo").filter(has_text="already running")
        expect(running).to_contain_text("started by cli")
        expect(page.get_by_test_id("stProgress").first).to_be_visible()
        screenshot(page, "pipeline_while_cli_builds")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
    assert history.latest(Settings(home=baton_home)).trigger == "cli", "no build may start"


def test_rebuild_button_publishes_a_new_build_and_is_disabled_meanwhile(
    page: Page, app_url: str, baton_home: Path, screenshot: Callable[[Page, str], Path]
) -> None:
    settings = Settings(home=baton_home)
    before = warehouse.current(settings)["build_id"]
    runs_before = len(history.load_all(settings))
    open_page(page, app_url + PIPELINE, "Pipeline")
    expect(markdown(page, f"Serving build {before}")).to_have_count(1)
    rebuild = page.get_by_role("button", name=REBUILD)

    rebuild.click()
    expect(page.get_by_test_id("stToast")).to_contain_text("Build started")
    wait_until_idle(page)
    wait_for(lambda: is_locked(settings.lock_path), seconds=15, what="the build to take the lock")

    expect(rebuild).to_be_disabled()
    running = page.get_by_test_id("stAlertContentInfo").filter(has_text="already running")
    expect(running).to_contain_text("started by app")
    expect(page.get_by_test_id("stProgress").first).to_be_visible()
    screenshot(page, "pipeline_building")

    after = wait_for_new_build(settings, before, seconds=REBUILD_SECONDS)

    # The sidebar notices the new build and reruns the page without a reload.
    expect(markdown(page, f"Serving build {after}")).to_have_count(1, timeout=20_000)
    expect(rebuild).to_be_enabled()
    expect(
        page.get_by_test_id("stAlertContentInfo").filter(has_text="already running")
    ).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    runs = history.load_all(settings)
    assert len(runs) == runs_before + 1
    assert (runs[0].build_id, runs[0].trigger, runs[0].status) == (after, "app", "success")
    page.wait_for_timeout(1000)
    screenshot(page, "pipeline_after_rebuild")


def test_after_a_second_build_the_csv_carries_movement_and_matches_the_cli(
    page: Page,
    app_url: str,
    baton_home: Path,
    pipeline_cli: Callable[..., str],
    tmp_path: Path,
    screenshot: Callable[[Page, str], Path],
) -> None:
    settings = Settings(home=baton_home)
    if warehouse.previous(settings) is None:  # run alone: make the second build here
        pipeline_cli(baton_home, "rebuild")
    path = warehouse.current(settings)["path"]
    moved = queries.at_risk_with_movement(path, warehouse.previous(settings))
    open_page(page, app_url + AT_RISK, "At-risk customers")
    capacity = page.get_by_role("spinbutton", name=CAPACITY_LABEL, exact=True)
    top = int(capacity.input_value())

    downloaded, _ = download_csv(page, tmp_path, "app.csv")

    rows = list(csv.DictReader(io.StringIO(downloaded.decode("utf-8-sig"))))
    assert [row["movement"] for row in rows] == moved["movement"].head(top).tolist()
    assert all(row["movement"] != queries.NO_PREVIOUS for row in rows)
    cli_csv = tmp_path / "cli.csv"
    pipeline_cli(baton_home, "export-at-risk", "--out", str(cli_csv), "--top", str(top))
    assert downloaded == cli_csv.read_bytes(), "the button and the CLI must export the same bytes"
    screenshot(page, "at_risk_after_second_build")
