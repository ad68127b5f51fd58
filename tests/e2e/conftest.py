"""Fixtures for e2e: Debian Chromium via Playwright, a built demo home, a real app server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support import run_pipeline

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CUSTOMERS, MONTHS = 500, 12
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_SECONDS = 60
# A loaded 2-core machine: give assertions on the page more than Playwright's 5 s.
expect.set_options(timeout=15_000)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_streamlit(
    home: Path, log_path: Path, secrets: Path | None = None, port: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`streamlit run app.py` on a local port for a home; return it once healthy.

    `secrets` is the secrets.toml to use; without one, sign-in is off whatever a developer
    keeps in .streamlit/secrets.toml (the path given does not exist).
    """
    port = port or free_port()
    secrets = secrets or log_path.with_name("no-secrets.toml")
    log = open(log_path, "wb")  # noqa: SIM115 - the server writes to it until stopped
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--secrets.files",
            str(secrets),
        ],
        cwd=ROOT,
        env={**os.environ, "BATON_HOME": str(home)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so teardown stops every child
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return server, url
        except OSError:
            pass
        time.sleep(0.3)
    stop_streamlit(server)
    pytest.fail(f"streamlit was not healthy after {SERVER_START_SECONDS}s:\n{log_path.read_text()}")


def stop_streamlit(server: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (it may be running a build thread)."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's Chromium; missing it fails CI and skips elsewhere (never `playwright install`)."""
    path = shutil.which("chromium")
    if path is None:
        message = "Debian package `chromium` is not installed (shutil.which('chromium') is None)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[Browser]:
    """One headless Chromium for the session; each test gets a fresh context (profile)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context that accepts downloads.

    Tall, because Streamlit scrolls inside its own container: full-page screenshots only
    show the viewport.
    """
    context = browser.new_context(viewport={"width": 1440, "height": 1600}, accept_downloads=True)
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def baton_home(chromium_executable: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data and one successful build (checked after Chromium, so a skip costs nothing)."""
    home = tmp_path_factory.mktemp("baton_e2e_home")
    run_pipeline(home, "demo", "--customers", str(CUSTOMERS), "--months", str(MONTHS))
    run_pipeline(home, "rebuild")
    return home


@pytest.fixture(scope="module")
def app_url(baton_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the real app serving baton_home, shared by the module's tests."""
    server, url = start_streamlit(baton_home, tmp_path_factory.mktemp("logs") / "streamlit.log")
    yield url
    stop_streamlit(server)


@pytest.fixture
def fresh_app_url(baton_home: Path, tmp_path: Path) -> Iterator[str]:
    """A second app server no browser has visited yet (first-visit behaviour)."""
    server, url = start_streamlit(baton_home, tmp_path / "streamlit.log")
    yield url
    stop_streamlit(server)


@pytest.fixture
def pipeline_cli() -> Callable[..., str]:
    """`python -m pipeline ...` for a home."""
    return run_pipeline


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Path]:
    """Save a full-page screenshot to test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.mouse.move(0, 0)  # no hover tooltip over the page
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
