"""Sign-in and roles in Chromium against a real OpenID Connect provider on 127.0.0.1.

The provider (tests/e2e/oidc_provider.py, Authlib's server components) serves discovery,
JWKS, a login form, tokens and userinfo; the app is the real `streamlit run app.py` with an
`[auth]` section pointing at it, so the whole flow is Streamlit's own: st.login, the
redirect, the code exchange, the signed identity cookie, st.user, st.logout.
"""

from __future__ import annotations

import getpass
import json
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from pipeline import history, warehouse
from pipeline.read import queries
from pipeline.settings import Settings
from tests.e2e import oidc_provider
from tests.e2e.conftest import free_port, start_streamlit, stop_streamlit
from tests.e2e.oidc_provider import User
from tests.support import wait_for_new_build

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

IDLE_APP = '[data-testid="stApp"][data-test-script-state="notRunning"]'
REBUILD = re.compile(r"(^|\s)Rebuild$")  # the button, not "Use and rebuild"
REBUILD_SECONDS = 180
VIEWER = User("u-vera", "vera@baton.test", "Vera Viewer")
OPERATOR = User("u-olga", "olga@baton.test", "Olga Operator")
STRANGER = User("u-mallory", "mallory@elsewhere.test", "Mallory")
# Every page of app.py (url_path) and its title.
PAGES = {
    "/": "Overview",
    "/at-risk": "At-risk customers",
    "/accuracy": "Accuracy over time",
    "/why": "Why customers are at risk",
    "/health": "Health",
    "/changes": "What changed",
    "/data": "Your data",
    "/pipeline": "Pipeline",
}
LOCAL_HOSTS = {"127.0.0.1"}


def secrets_toml(app_port: int, provider: oidc_provider.RunningProvider) -> str:
    """What an operator writes in .streamlit/secrets.toml (docs/sign-in.md), for this test."""
    client = provider.provider.client
    return f"""
[auth]
redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "{client.client_id}"
client_secret = "{client.client_secret}"
server_metadata_url = "{provider.metadata_url}"

[baton.roles]
operators = ["{OPERATOR.email}"]
viewers = ["@baton.test"]
"""


@pytest.fixture(scope="module")
def provider_and_app(
    baton_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[oidc_provider.RunningProvider, str]]:
    """A provider on a free port and the app with sign-in pointing at it."""
    folder = tmp_path_factory.mktemp("sign_in")
    port = free_port()
    provider = oidc_provider.start(
        [VIEWER, OPERATOR, STRANGER], redirect_uri=f"http://127.0.0.1:{port}/oauth2callback"
    )
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(secrets_toml(port, provider))
    try:
        server, url = start_streamlit(baton_home, folder / "streamlit.log", secrets_file, port)
    except BaseException:
        provider.stop()
        raise
    yield provider, url
    stop_streamlit(server)
    provider.stop()


@pytest.fixture
def signed_in_app(provider_and_app: tuple[oidc_provider.RunningProvider, str]) -> str:
    return provider_and_app[1]


def wait_idle(page: Page) -> None:
    page.wait_for_selector(IDLE_APP)


def sign_in(page: Page, app_url: str, user: User) -> None:
    """The whole flow in the browser: the app's button, the provider's form, back signed in."""
    page.goto(app_url)
    wait_idle(page)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=f"Sign in as {user.email}").click()  # the provider's page
    page.wait_for_url(f"{app_url}/", timeout=30_000)
    wait_idle(page)


def open_page(page: Page, url: str, title: str) -> None:
    page.goto(url)
    wait_idle(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def top_customer(home: Path) -> list[str]:
    """The riskiest customer's id and name: data nobody may see before signing in."""
    riskiest = queries.at_risk(warehouse.current(Settings(home=home))["path"]).iloc[0]
    return [str(riskiest["customer_id"]), str(riskiest["customer_name"])]


def test_a_visitor_sees_only_the_sign_in_screen_on_every_page(
    page: Page, signed_in_app: str, baton_home: Path, screenshot: Callable[[Page, str], Path]
) -> None:
    serving = warehouse.current(Settings(home=baton_home))["build_id"]
    secret_facts = [*top_customer(baton_home), serving]
    for path in PAGES:
        page.goto(signed_in_app + path)
        wait_idle(page)
        page.wait_for_timeout(500)

        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text("Baton")
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
        expect(page.get_by_test_id("stSidebarUserContent")).to_have_count(0)
        for selector in ("stMetric", "stDataFrame", "stDownloadButton", "stVegaLiteChart"):
            expect(page.get_by_test_id(selector)).to_have_count(0)
        shown = page.content()
        for fact in secret_facts:
            assert fact not in shown, f"{fact!r} is on the sign-in screen of {path}"
    screenshot(page, "sign_in_screen")


def test_a_viewer_sees_and_exports_but_cannot_rebuild_import_or_pin(
    page: Page,
    signed_in_app: str,
    baton_home: Path,
    tmp_path: Path,
    screenshot: Callable[[Page, str], Path],
) -> None:
    settings = Settings(home=baton_home)
    builds_before = len(history.load_all(settings))
    sign_in(page, signed_in_app, VIEWER)
    sidebar = page.get_by_test_id("stSidebarUserContent")
    expect(sidebar).to_contain_text(f"Signed in as {VIEWER.email} (viewer)")
    expect(sidebar).to_contain_text("Newest data:")

    open_page(page, signed_in_app + "/at-risk", "At-risk customers")
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").get_by_role("button").click()
    download.value.save_as(tmp_path / "at-risk.csv")
    assert len((tmp_path / "at-risk.csv").read_text().splitlines()) > 1

    open_page(page, signed_in_app + "/pipeline", "Pipeline")
    expect(page.get_by_role("button", name=REBUILD)).to_be_disabled()
    expect(page.get_by_role("button", name="Use and rebuild")).to_be_disabled()
    expect(page.get_by_text("you are signed in as vera@baton.test, a viewer")).to_be_visible()
    screenshot(page, "pipeline_as_viewer")

    open_page(page, signed_in_app + "/data", "Your data")
    expect(page.get_by_test_id("stFileUploader")).to_have_count(0)
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    expect(page.get_by_text("Uploading and importing data is for operators")).to_be_visible()
    assert len(history.load_all(settings)) == builds_before


def test_someone_the_roles_do_not_list_is_turned_away(page: Page, signed_in_app: str) -> None:
    sign_in(page, signed_in_app, STRANGER)

    turned_away = f"{STRANGER.email} is signed in but may not open Baton"
    expect(page.get_by_text(turned_away)).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarUserContent")).to_have_count(0)


def test_signing_out_returns_to_the_sign_in_screen(page: Page, signed_in_app: str) -> None:
    sign_in(page, signed_in_app, VIEWER)

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=30_000)
    page.goto(signed_in_app + "/pipeline")
    wait_idle(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)


def test_an_operator_rebuilds_and_the_run_history_names_who_triggered_each_build(
    page: Page,
    signed_in_app: str,
    baton_home: Path,
    pipeline_cli: Callable[..., str],
    screenshot: Callable[[Page, str], Path],
) -> None:
    settings = Settings(home=baton_home)
    before = warehouse.current(settings)["build_id"]
    sign_in(page, signed_in_app, OPERATOR)
    open_page(page, signed_in_app + "/pipeline", "Pipeline")
    rebuild = page.get_by_role("button", name=REBUILD)
    expect(rebuild).to_be_enabled()

    rebuild.click()
    expect(page.get_by_test_id("stToast")).to_contain_text("Build started")

    after = wait_for_new_build(settings, before, seconds=REBUILD_SECONDS)
    expect(page.get_by_text(f"Serving build {after}")).to_be_visible(timeout=20_000)
    page.wait_for_timeout(1000)
    screenshot(page, "pipeline_after_operator_rebuild")

    runs = {run.build_id: run for run in history.load_all(settings)}
    assert (runs[after].trigger, runs[after].triggered_by) == ("app", OPERATOR.email)
    assert runs[before].triggered_by == getpass.getuser(), "the first build ran from the CLI"
    status = json.loads(pipeline_cli(baton_home, "status", "--json"))
    assert status["last_build"]["build_id"] == after
    assert status["last_build"]["triggered_by"] == OPERATOR.email


def test_a_tour_of_every_page_asks_nothing_of_any_host_but_this_machine(
    browser: Browser, signed_in_app: str
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    urls: list[str] = []
    context.on("request", lambda request: urls.append(request.url))
    page = context.new_page()
    page.on("websocket", lambda socket: urls.append(socket.url))
    try:
        sign_in(page, signed_in_app, OPERATOR)
        for path, title in PAGES.items():
            open_page(page, signed_in_app + path, title)
            page.wait_for_timeout(1500)  # charts, fonts and icons load after the script ends
        icons = page.locator("link[rel~='icon']").evaluate_all("links => links.map(l => l.href)")
    finally:
        context.close()

    hosts = {urlsplit(url).hostname for url in urls if urlsplit(url).scheme not in ("data", "blob")}
    assert hosts == LOCAL_HOSTS, f"requests left the machine: {sorted(hosts - LOCAL_HOSTS)}"
    assert any(url.endswith("/_stcore/stream") for url in urls), "the tour saw the websocket"
    assert icons and all(icon.startswith("data:image/svg+xml") for icon in icons), icons
