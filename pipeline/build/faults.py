"""Named pause points for the fault-injection test, off unless BATON_FAULT_POINT is set.

With `BATON_FAULT_POINT=publish:moved` (say), a build that reaches that point writes the
point's name to the file BATON_FAULT_MARKER names and waits there, so the test can kill it
at an exact step (tests/dbt/test_fault_injection.py). Points: `started` (run record saved),
`context` (context database written), `node:<model>` (dbt starts that node), `publish:moved`,
`publish:manifest`, `publish:pointer`, `recorded` (registry updated, run record not final).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

POINT_ENV = "BATON_FAULT_POINT"
MARKER_ENV = "BATON_FAULT_MARKER"
MAX_PAUSE_SECONDS = 600.0
# Set when the build is told to stop (a signal, a limit), so a paused dbt thread lets dbt end.
_released = threading.Event()


def point(name: str) -> None:
    """Pause here if the test asked for this point; a no-op otherwise."""
    if os.environ.get(POINT_ENV) != name:
        return
    marker = os.environ.get(MARKER_ENV)
    if marker:
        Path(marker).write_text(name)
    _released.wait(MAX_PAUSE_SECONDS)


def release() -> None:
    """End every pause (called when a build is stopped)."""
    _released.set()
