"""An import's DuckDB connection, bounded in memory, spill and time.

A mapping's expressions run on the user's files; even allow-listed functions can be slow or
large on a hostile file (a huge padded string, a cross-product through `group_by`). The import
connection gets DuckDB's memory limit (BATON_DUCKDB_MEMORY_LIMIT), a cap on what it may
spill next to its scratch file, and a timer that interrupts it after BATON_IMPORT_TIMEOUT
seconds; either ends the import with a problem in words instead of a hang or a full disk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline.ingest.validation import Problem
from pipeline.settings import duckdb_memory_limit, import_timeout_seconds

# Most an import may spill to disk beside its scratch file.
IMPORT_MAX_SPILL = "10GiB"
# What DuckDB raises when a bound stops a query.
LIMIT_ERRORS = (duckdb.InterruptException, duckdb.OutOfMemoryException)


def spill_dir(target: Path) -> Path:
    """Where an import connection on `target` spills (removed with the scratch file)."""
    return target.with_name(target.name + ".tmp")


@contextmanager
def bounded_connection(target: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection, list[str]]]:
    """A connection to `target` with memory and spill caps, interrupted after the import
    timeout; yields it and a list that holds "timeout" once the timer fired."""
    connection = duckdb.connect(
        str(target),
        config={
            "memory_limit": duckdb_memory_limit(),
            "temp_directory": str(spill_dir(target)),
            "max_temp_directory_size": IMPORT_MAX_SPILL,
        },
    )
    fired: list[str] = []
    done = threading.Event()

    def interrupt() -> None:
        # An interrupt stops the query running at that moment: keep interrupting until the
        # import gives up, so one arriving between two queries is not lost.
        if done.wait(import_timeout_seconds()):
            return
        fired.append("timeout")
        while not done.wait(0.05):
            connection.interrupt()

    timer = threading.Thread(target=interrupt, name="import-timeout", daemon=True)
    timer.start()
    try:
        yield connection, fired
    finally:
        done.set()
        timer.join()
        connection.close()


def limit_problem(error: duckdb.Error, fired: list[str]) -> Problem | None:
    """The problem a bound raised (time, memory, spill), in words; None for other errors."""
    if fired or isinstance(error, duckdb.InterruptException):
        seconds = import_timeout_seconds()
        return Problem(
            "import",
            "",
            "too slow",
            0,
            (),
            f"Computing and checking the tables took longer than {seconds:,.0f} seconds "
            "(BATON_IMPORT_TIMEOUT), so the import stopped. Simplify the mapping's "
            "expressions, filter rows with `where`, or raise the limit.",
        )
    if isinstance(error, duckdb.OutOfMemoryException):
        return Problem(
            "import",
            "",
            "too large",
            0,
            (str(error).splitlines()[0][:200],),
            f"The mapping needs more memory than an import may use "
            f"({duckdb_memory_limit()}, BATON_DUCKDB_MEMORY_LIMIT) or more than "
            f"{IMPORT_MAX_SPILL} of disk to spill to. Check expressions that build large "
            "values (padding, repeated text) and `group_by`, or import fewer rows.",
        )
    return None
