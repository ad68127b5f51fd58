"""Text from data or a mapping shown as text, never as markdown.

Captions, infos, metric and widget labels render markdown: a feature label from a mapping
such as `![x](http://elsewhere/pixel.png)` would make every viewer's browser fetch that
image, and `http://...` would become a link. `md()` backslash-escapes what starts a
markdown construct (links, images, autolinks, code, emphasis, math, Streamlit's :colour[]
and :icon: directives, HTML, and headings, lists and quotes at the start of a line), so the
text reads exactly as written, and removes bidirectional controls.
"""

from __future__ import annotations

import re

from pipeline.read.plain_text import strip_controls

_ANYWHERE = re.compile(r"([\\`*_\[\]<>$|~@])")
# `:` before a letter or `/` starts :emoji:, :material/icon:, :red[...] and http:// links.
_COLON = re.compile(r":(?=[^\s\d])")
_WWW = re.compile(r"(?i)\b(www)\.")
_LINE_START = re.compile(r"(?m)^(\s*)([#\-+=>])")
_NUMBERED = re.compile(r"(?m)^(\s*\d+)([.)])")


def md(value: object) -> str:
    """`value` as markdown that displays exactly its text."""
    text = _ANYWHERE.sub(r"\\\1", str(strip_controls(str(value))))
    text = _COLON.sub(r"\\:", text)
    text = _WWW.sub(r"\1\\.", text)
    text = _NUMBERED.sub(r"\1\\\2", text)
    return _LINE_START.sub(r"\1\\\2", text)
