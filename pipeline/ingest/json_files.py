"""JSON exports as sources: JSON Lines (one object per line, as event trackers and many
APIs export) or one array of objects, read by DuckDB's JSON reader into a table.

Every object's keys make the columns (the schema is read from the whole file, so a key that
first appears late is not lost); nested objects stay structs, read in a mapping as
`properties.plan`. Text that holds dates or amounts as exports write them is typed by
pipeline.ingest.exports, as for text files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SUFFIXES = (".json", ".jsonl", ".ndjson")


def load(
    connection: duckdb.DuckDBPyConnection, table: str, path: Path, limit: int | None = None
) -> list[str]:
    """`path` as table `table` of `connection`; its columns. With a `limit` (a preview), its
    first `limit` objects, typed by those alone; else every object, typed by all of them."""
    relation = connection.sql(
        "select * from read_json($path, format = 'auto', sample_size = $sample)",
        params={"path": str(path), "sample": -1 if limit is None else int(limit)},
    )
    (relation if limit is None else relation.limit(limit)).create(table)
    return list(connection.table(table).columns)
