"""Named pause points for the fault-injection test, off unless BATON_FAULT_POINT is set.

With `BATON_FAULT_POINT=publish:moved` (say), a build that reaches that point writes the
point's name to the file BATON_FAULT_MARKER names and waits there, so the test can kill it
at an exact step (tests/dbt/test_fault_injection.py). Points: `started` (run record saved),
`context` (context database written), `publish:moved`, `publish:manifest`,
`publish:pointer`, `recorded` (registry updated, run record not yet final).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINT_ENV = "BATON_FAULT_POINT"
MARKER_ENV = "BATON_FAULT_MARKER"
MAX_PAUSE_SECONDS = 600.0


def point(name: str) -> None:
    """Pause here if the test asked for this point; a no-op otherwise."""
    if os.environ.get(POINT_ENV) != name:
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        Path(marker).write_text(name)
    deadline = time.monotonic() + MAX_PAUSE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
