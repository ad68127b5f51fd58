"""Page script runs and the at-risk CSV export on a built warehouse, timed like a user sees them.

Run as `python -m bench.app_timing` with BATON_HOME set; prints one JSON object.
"""

from __future__ import annotations

import ast
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from pipeline import warehouse
from pipeline.read import export, queries, words
from pipeline.settings import ROOT, get_settings

REPEATS = 3  # timed runs after one warm-up; the median is reported
APP_TIMEOUT_SECONDS = 60
APP = ROOT / "app.py"


def seconds(work: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def median_seconds(work: Callable[[], object], repeats: int = REPEATS) -> float:
    """Median wall seconds over `repeats` calls."""
    return statistics.median(seconds(work) for _ in range(repeats))


def app_pages(app: Path = APP) -> list[str]:
    """The page files the app registers: every `st.Page("<file>.py", ...)` in its entry file."""
    pages = [
        str(call.args[0].value)
        for call in ast.walk(ast.parse(app.read_text()))
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "Page"
        and call.args
        and isinstance(call.args[0], ast.Constant)
        and str(call.args[0].value).endswith(".py")
    ]
    if not pages:
        raise SystemExit(f"no st.Page(...) file found in {app}")
    return pages


def page_times() -> dict[str, dict[str, Any]]:
    """Per page: the first (cold) run and the median of warm runs; data reads are cached."""
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_SECONDS)
    times: dict[str, dict[str, Any]] = {"app.py (first load)": {"cold": seconds(at.run)}}
    for page in app_pages():

        def run_page(page: str = page) -> None:
            at.switch_page(page).run()

        cold = seconds(run_page)
        times[page] = {
            "cold": cold,
            "warm_median": median_seconds(run_page),
            "errors": [str(e.value) for e in at.exception],
        }
    return times


def export_times() -> dict[str, Any]:
    """Median seconds of the CSV download: read the list, shape it, encode it (full and top 100)."""
    pointer = warehouse.current(get_settings())
    if pointer is None:
        raise SystemExit("no published build")
    path = pointer["path"]

    sizes: dict[str, int] = {}

    def csv(top: int | None) -> None:
        rows = queries.at_risk(path)
        frame = export.export_frame(
            rows,
            queries.dataset_words(path),
            words.present_attributes(rows),
            top=top,
            named=words.present_names(rows),
        )
        data = export.to_csv_bytes(frame)
        sizes[f"{top or 'full'}_bytes"] = len(data)

    return {
        "read_seconds": median_seconds(lambda: queries.at_risk(path)),
        "full_seconds": median_seconds(lambda: csv(None)),
        "top100_seconds": median_seconds(lambda: csv(100)),
        **sizes,
    }


if __name__ == "__main__":
    print(json.dumps({"pages": page_times(), "export": export_times()}))
