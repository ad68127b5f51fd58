"""Text from data or a mapping reaches pages and the CSV as text: no markdown, no bidi tricks."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipeline.read.export import export_frame, neutralize, to_csv_bytes
from pipeline.read.plain_text import BIDI_CONTROLS, strip_controls, without_controls
from pipeline.read.words import ATTRIBUTES, DatasetWords
from tests.unit.test_export import at_risk_rows
from ui.text import md

HOSTILE_LABELS = [
    "![pixel](http://elsewhere.example/p.png)",
    "[Click me](https://elsewhere.example)",
    "see http://elsewhere.example or www.elsewhere.example",
    "mail ops@elsewhere.example",
    "<img src=x onerror=alert(1)>",
    ":red[alarm] and $x^2$ and `code` and *bold*",
    "# heading\n- item\n1. first",
]


def unescaped(text: str, pattern: str) -> bool:
    """Whether `pattern` occurs in `text` without a backslash before its first character."""
    return re.search(r"(?<!\\)" + pattern, text) is not None


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_markdown_in_data_is_escaped_so_it_shows_as_written(label: str) -> None:
    shown = md(label)
    for construct in (r"\[", r"\]", r"<", r"\$", r"`", r"\*", r"@", r"\:(?=[a-z/])"):
        assert not unescaped(shown, construct), (label, shown)
    assert not unescaped(shown, r"www\.") or "www\\." in shown
    assert not re.search(r"(?m)^(#|-|\d+\.)", shown), shown
    # Only backslashes were added: removing them gives the text back.
    assert re.sub(r"\\(.)", r"\1", shown) == label


def test_ordinary_words_are_left_alone() -> None:
    sentence = "Usage down 45% vs the previous month (2026-01-01, 09:00): check it."
    assert md(sentence) == sentence


def test_bidi_overrides_are_removed_from_names_shown_and_exported() -> None:
    spoofed = "Acme\u202egnp.exe\u202c Ltd"
    assert strip_controls(spoofed) == "Acmegnp.exe Ltd"
    assert md(spoofed) == "Acmegnp.exe Ltd"
    frame = without_controls(pd.DataFrame({"customer_name": [spoofed], "n": [1]}))
    assert frame["customer_name"].tolist() == ["Acmegnp.exe Ltd"]

    rows = at_risk_rows([spoofed, '\u2067=HYPERLINK("http://x")', "Plain"])
    csv = to_csv_bytes(export_frame(rows, DatasetWords(), ATTRIBUTES)).decode("utf-8")
    assert not any(control in csv for control in BIDI_CONTROLS)
    # A control in front of `=` hid the formula from the check; it is still neutralized.
    assert "'=HYPERLINK" in csv
    assert neutralize("\u202d+1+1") == "'+1+1"
