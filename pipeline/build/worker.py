"""The app's builds run in a process of their own: `python -m pipeline.build.worker TRIGGER BY`.

In the Streamlit process a build shares the interpreter lock with the server and every page's
reruns: measured under load, the Rebuild button's build took 41-118 s where the same build
from the CLI took 24-31 s (docs/speed.md). In a child process it is the CLI's build, and the
app's memory stays the app's. The app checks the role before it starts the child (the child
trusts that check: whoever can run it can run `python -m pipeline rebuild` anyway) and passes
the actor's name for the run record.
"""

from __future__ import annotations

import os
import subprocess
import sys

from pipeline.access import Actor, Role, require_operator
from pipeline.build.lock import BuildRefusedError
from pipeline.build.rebuild import BuildSetupError, rebuild
from pipeline.history import RunRecord, find
from pipeline.settings import ROOT, Settings, get_settings


class BuildProcessError(RuntimeError):
    """The build process ended without a run record (refused before it started, or crashed)."""


def build_in_child(settings: Settings, trigger: str = "app", by: Actor | None = None) -> RunRecord:
    """Run `rebuild` in a child process for `by` (an operator) and return its run record.

    The child builds the home of `settings`; progress and the record reach the app through
    BATON_HOME as they do from the CLI. Raises BuildProcessError with the child's last line
    when it ended without a record.
    """
    actor = require_operator(by, "rebuilding")
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.build.worker", trigger, actor.name],
        cwd=ROOT,
        env={**os.environ, "BATON_HOME": str(settings.home)},
        capture_output=True,
        text=True,
        check=False,
    )
    build_id = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    record = find(settings, build_id) if build_id else None
    if record is None:
        said = done.stderr.strip().splitlines()
        raise BuildProcessError(
            said[-1] if said else f"The build ended with code {done.returncode}."
        )
    return record


def main(argv: list[str] | None = None) -> int:
    """Build for the app; print the build id (exit 0), or say why not on stderr (exit 2)."""
    trigger, by = argv if argv is not None else sys.argv[1:]
    try:
        record = rebuild(get_settings(), trigger=trigger, by=Actor(by, Role.OPERATOR))
    except (BuildRefusedError, BuildSetupError) as error:
        print(str(error), file=sys.stderr)
        return 2
    print(record.build_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
