"""Text from data made safe to show and export: no Unicode bidirectional controls.

A name holding a right-to-left override (U+202E) shows reversed, and can make "exe.txt"
read as "txt.exe" or hide a formula's `=` behind invisible characters. These controls have
no place in names, ids or reasons, so they are removed on the way to the pages and the CSV.
"""

from __future__ import annotations

import pandas as pd

# Embeddings, overrides and isolates, the Arabic letter mark, and left/right-to-left marks.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_REMOVE = str.maketrans("", "", BIDI_CONTROLS)


def strip_controls(value: object) -> object:
    """A text value without bidirectional controls; anything else unchanged."""
    return value.translate(_REMOVE) if isinstance(value, str) else value


def without_controls(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with bidirectional controls removed from every text column."""
    text = frame.select_dtypes(include=["object", "string"]).columns
    if len(text) == 0:
        return frame
    frame = frame.copy()
    frame[text] = frame[text].map(strip_controls)
    return frame
