"""The Rebuild button against the CLI, on the same home: rounds alternating the two.

Each round runs `python -m pipeline rebuild`, then clicks Rebuild on the Pipeline page of the
real app in headless Chromium (the system's `chromium`, through Playwright), and reads each
build's seconds from its run record. With `--new-day` (the default) one more day of data is
appended before every build (bench/daily.py), and the ML cache is off, so each build refits
the ML and recomputes the recent months; `--unchanged` measures builds of unchanged data.

    BATON_HOME=... python -m bench.button --rounds 4    # on a built home (e.g. a demo)

Prints one line per round and the ratio of the sums (button / CLI).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import daily
from pipeline.settings import ROOT

PORT = 8611
REBUILD = re.compile(r"(^|\s)Rebuild$")  # the button, not "Use and rebuild"
WAIT_SECONDS = 600


def _records(home: Path) -> list[Path]:
    return sorted((home / "runs").glob("*.json"))


def _next_record(home: Path, count: int) -> dict[str, Any]:
    """The run record after the first `count`, once its build has finished."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        records = _records(home)
        if len(records) > count:
            record: dict[str, Any] = json.loads(records[-1].read_text())
            if record.get("status") in ("success", "failed"):
                return record
        time.sleep(0.5)
    raise TimeoutError(f"no build finished within {WAIT_SECONDS} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--unchanged", action="store_true", help="no new day, ML cache on")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    home = Path(os.environ["BATON_HOME"])
    env = {**os.environ, **({} if args.unchanged else {"BATON_ML_CACHE": "off"})}
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("bench.button needs the system's `chromium` (Debian package chromium).")
    app = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(PORT)]
    app += ["--server.headless", "true"]
    server = subprocess.Popen(
        app, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    rounds: list[tuple[float, float]] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            for number in range(1, args.rounds + 1):
                if not args.unchanged:
                    daily.append_day(home / "raw.duckdb")
                count = len(_records(home))
                cli = [sys.executable, "-m", "pipeline", "rebuild"]
                subprocess.run(cli, cwd=ROOT, env=env, check=True, capture_output=True)
                by_cli = _next_record(home, count)["seconds"]
                if not args.unchanged:
                    daily.append_day(home / "raw.duckdb")
                page.goto(f"http://localhost:{PORT}/pipeline", timeout=60_000)
                button = page.get_by_role("button", name=REBUILD)
                button.wait_for(timeout=60_000)
                page.wait_for_timeout(1000)  # the sidebar's first poll
                count = len(_records(home))
                button.click()
                by_button = _next_record(home, count)["seconds"]
                rounds.append((by_cli, by_button))
                print(f"round {number}: CLI {by_cli:.1f} s, button {by_button:.1f} s", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    ratio = sum(b for _, b in rounds) / sum(c for c, _ in rounds)
    print(f"button / CLI = {ratio:.2f}")


if __name__ == "__main__":
    main()
