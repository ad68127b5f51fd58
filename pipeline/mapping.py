"""Bring your own data: a YAML mapping from your files onto the raw-data contract.

A mapping names source files (CSV, Parquet, or a table of a DuckDB file), then for each
contract table the source, an optional filter and grouping, and one SQL expression per
contract column. `load_mapping` + `import_mapping` write a fresh raw.duckdb atomically and
record the dataset's dbt vars (churn definition, horizon...) for the next builds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipeline.contract import TABLES
from pipeline.history import write_atomic
from pipeline.settings import Settings

SOURCE_READERS = {".csv": "read_csv", ".parquet": "read_parquet", ".pq": "read_parquet"}


class MappingError(ValueError):
    """A mapping or its data cannot be imported; `problems` lists every reason found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class TableMapping:
    """How one contract table is computed from a source."""

    source: str
    columns: dict[str, str]
    where: str | None = None
    group_by: list[str] = field(default_factory=list)


@dataclass
class Mapping:
    """A parsed mapping file."""

    name: str
    path: Path
    sources: dict[str, Path | tuple[Path, str]]
    tables: dict[str, TableMapping]
    dbt_vars: dict[str, Any]


def _resolve(base: Path, spec: Any) -> Path | tuple[Path, str]:
    if isinstance(spec, dict):
        return ((base / str(spec["path"])).resolve(), str(spec["table"]))
    return (base / str(spec)).resolve()


def load_mapping(path: Path) -> Mapping:
    """Parse and check a mapping file; raise MappingError listing every problem."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise MappingError([f"Cannot read mapping {path}: {error}"]) from error
    if not isinstance(data, dict):
        raise MappingError([f"{path} is not a YAML mapping with sources and tables."])
    problems: list[str] = []
    base = path.parent
    sources = {name: _resolve(base, spec) for name, spec in (data.get("sources") or {}).items()}
    for name, source in sources.items():
        file = source[0] if isinstance(source, tuple) else source
        if not file.exists():
            problems.append(f"source '{name}': file {file} does not exist")
    tables: dict[str, TableMapping] = {}
    for table_name, spec in (data.get("tables") or {}).items():
        if table_name not in TABLES:
            problems.append(
                f"tables.{table_name}: not a contract table (expected one of {', '.join(TABLES)})"
            )
            continue
        if spec.get("from") not in sources:
            problems.append(f"tables.{table_name}.from: unknown source '{spec.get('from')}'")
        columns = {str(k): str(v) for k, v in (spec.get("columns") or {}).items()}
        contract = TABLES[table_name]
        unknown = sorted(set(columns) - set(contract.column_names))
        if unknown:
            problems.append(f"tables.{table_name}: columns not in the contract: {unknown}")
        missing = [c.name for c in contract.columns if c.required and c.name not in columns]
        if missing:
            problems.append(f"tables.{table_name}: required columns not mapped: {missing}")
        tables[table_name] = TableMapping(
            source=str(spec.get("from")),
            columns=columns,
            where=spec.get("where"),
            group_by=[str(g) for g in spec.get("group_by") or []],
        )
    for table in TABLES.values():
        if table.required and table.name not in tables:
            problems.append(f"tables.{table.name}: required table not mapped")
    if problems:
        raise MappingError(problems)
    return Mapping(
        name=str(data.get("name", path.stem)),
        path=path,
        sources=sources,
        tables=tables,
        dbt_vars=dict(data.get("vars") or {}),
    )


def _register_source(
    connection: duckdb.DuckDBPyConnection, name: str, source: Path | tuple[Path, str]
) -> None:
    """Expose a source file as a view named after the source, without pasting paths into SQL."""
    if isinstance(source, tuple):
        file, table = source
        alias = f"src_{name}"
        connection.execute("attach ? as " + _quote(alias) + " (read_only)", [str(file)])
        relation = connection.table(f"{_quote(alias)}.{_quote(table)}")
    else:
        reader = SOURCE_READERS.get(source.suffix.lower())
        if reader is None:
            raise MappingError([f"source '{name}': unsupported file type {source.suffix}"])
        relation = getattr(connection, reader)(str(source))
    relation.create_view(name)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def table_sql(table_name: str, spec: TableMapping) -> str:
    """The SELECT that produces one contract table, typed and in contract order."""
    contract = TABLES[table_name]
    selected = ",\n    ".join(
        f"cast({spec.columns.get(c.name, 'null')} as {c.type}) as {_quote(c.name)}"
        for c in contract.columns
    )
    sql = f"select\n    {selected}\nfrom {_quote(spec.source)}"
    if spec.where:
        sql += f"\nwhere {spec.where}"
    if spec.group_by:
        sql += "\ngroup by " + ", ".join(spec.group_by)
    return sql


def _empty_table_sql(table_name: str) -> str:
    columns = ", ".join(f"{_quote(c.name)} {c.type}" for c in TABLES[table_name].columns)
    return f"create table {_quote(table_name)} ({columns})"


def _check_required_values(connection: duckdb.DuckDBPyConnection) -> list[str]:
    problems = []
    for table in TABLES.values():
        for column in table.columns:
            if not column.required:
                continue
            nulls = connection.execute(
                f"select count(*) from {_quote(table.name)} where {_quote(column.name)} is null"
            ).fetchone()
            if nulls and nulls[0]:
                problems.append(
                    f"{table.name}.{column.name}: {nulls[0]:,} rows without a value (required)"
                )
    duplicates = connection.execute(
        "select count(*) - count(distinct account_id) from accounts"
    ).fetchone()
    if duplicates and duplicates[0]:
        problems.append(f"accounts.account_id: {duplicates[0]:,} duplicate ids")
    return problems


def import_mapping(mapping: Mapping, settings: Settings) -> dict[str, int]:
    """Build a new raw.duckdb from the mapping, check it, and swap it in; rows per table."""
    settings.ensure()
    tmp = settings.raw_path.with_name(f".raw-import-{os.getpid()}.duckdb")
    tmp.unlink(missing_ok=True)
    problems: list[str] = []
    counts: dict[str, int] = {}
    connection = duckdb.connect(str(tmp))
    try:
        for name, source in mapping.sources.items():
            _register_source(connection, name, source)
        for table_name in TABLES:
            spec = mapping.tables.get(table_name)
            try:
                if spec is None:
                    connection.execute(_empty_table_sql(table_name))
                else:
                    connection.execute(
                        f"create table {_quote(table_name)} as {table_sql(table_name, spec)}"
                    )
            except duckdb.Error as error:
                problems.append(f"tables.{table_name}: {str(error).splitlines()[0]}")
                connection.execute(_empty_table_sql(table_name))
        if not problems:
            problems = _check_required_values(connection)
        for table_name in TABLES:
            row = connection.execute(f"select count(*) from {_quote(table_name)}").fetchone()
            counts[table_name] = int(row[0]) if row else 0
        for name in mapping.sources:
            connection.execute(f"drop view if exists {_quote(name)}")
    finally:
        connection.close()
    if problems:
        tmp.unlink(missing_ok=True)
        raise MappingError(problems)
    os.replace(tmp, settings.raw_path)
    save_dataset(settings, mapping.name, mapping.dbt_vars)
    return counts


def save_dataset(settings: Settings, name: str, dbt_vars: dict[str, Any]) -> None:
    """Record which dataset raw.duckdb holds and the dbt vars its builds need."""
    write_atomic(settings.dataset_path, json.dumps({"name": name, "vars": dbt_vars}))


def dataset_vars(settings: Settings) -> dict[str, Any]:
    """The dbt vars of the dataset in raw.duckdb (empty for the demo)."""
    try:
        return dict(json.loads(settings.dataset_path.read_text()).get("vars") or {})
    except (OSError, ValueError):
        return {}
