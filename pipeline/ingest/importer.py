"""Import a mapping: compute every contract table, validate it, and only then swap it in.

Each table is computed from the mapping's expressions into a scratch DuckDB file (locked to
BATON_HOME and the data folders) as the values came, every rule of pipeline/validation.py
runs on it, and only a clean result is typed, written and moved over raw.duckdb, under the
build lock, so the last good raw data and the last good build keep serving otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline import dataset, history
from pipeline.access import Actor, require_operator
from pipeline.build.lock import build_lock
from pipeline.contract import FEATURE_TYPES, FLAT_TABLE, Table
from pipeline.ingest import (
    archives,
    bounds,
    exports,
    json_files,
    limits,
    month_names,
    spreadsheets,
    text,
    validation,
)
from pipeline.ingest.mapping import (
    Join,
    Mapping,
    MappingError,
    Source,
    TableMapping,
    required_tables,
)
from pipeline.ingest.safety import column_references, lock_down
from pipeline.ingest.safety import quote_identifier as q
from pipeline.ingest.validation import Problem
from pipeline.ingest.wording import MAPPING
from pipeline.settings import Settings

SHEET_HINT = (
    "Name the sheet with `sheet:` (default: the first), or save the sheet as CSV and map that."
)
ARCHIVE_HINT = "Name the file to read inside the zip with `member:`, or unzip it and map the file."
JSON_HINT = "JSON sources hold one object per line (JSON Lines) or one array of objects."
# Source formats read into a table of the import's database (typed there, pipeline.ingest.
# exports); Parquet and DuckDB sources are views of their files.
COPIED = ("text", "spreadsheet", "json")


def _open_source(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    source: Source,
    settings: Settings,
    scratch: Path,
    referenced: int,
) -> tuple[list[Problem], list[str] | None]:
    """File checks, then expose the source as a view (a table for text files) named after
    it; (problems, columns). `referenced`: how many of its columns the mapping reads. A
    source of several files or sheets (monthly exports, a workbook's yearly sheets) reads
    each alike, then stacks their rows by column name before dates and amounts are typed."""
    parts = source.parts()
    if len(parts) == 1:
        problems, columns = _open_part(
            connection, name, source, settings, scratch, referenced, _view(name)
        )
    else:
        views = [_view(f"{name}_part{i}") for i in range(len(parts))]
        for part, view in zip(parts, views, strict=True):
            problems, columns = _open_part(
                connection, name, part, settings, scratch, referenced, view
            )
            if problems:
                return problems, None
        stacked = " union all by name ".join(f"select * from {q(view)}" for view in views)
        connection.execute(f"create table {q(_view(name))} as {stacked}")
        for view in views:  # their rows are in the stacked table now
            _drop(connection, view)
        columns = list(connection.table(q(_view(name))).columns)
    if problems or columns is None:
        return problems, None
    return _parse(connection, name, source, parts, columns), columns


def _drop(connection: duckdb.DuckDBPyConnection, view: str) -> None:
    """Drop the view or table `view` and the DuckDB file attached for it, if any."""
    kinds = connection.execute(
        "select 'table' from duckdb_tables() where table_name = $1 "
        "union all select 'view' from duckdb_views() where view_name = $1 and not internal",
        [view],
    ).fetchall()
    for (kind,) in kinds:
        connection.execute(f"drop {kind} {q(view)}")
    attached = connection.execute(
        "select count(*) from duckdb_databases() where database_name = $1", [f"src_{view}"]
    ).fetchall()
    if attached[0][0]:
        connection.execute(f"detach {q('src_' + view)}")


def _open_part(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    source: Source,
    settings: Settings,
    scratch: Path,
    referenced: int,
    view: str,
) -> tuple[list[Problem], list[str] | None]:
    """One file (or sheet) of a source as `view`; a file inside a zip is read from a copy in
    `scratch`, deleted once it is loaded."""
    if source.member is None:
        return _open_file(connection, name, source, settings, scratch, referenced, view)
    try:
        copy = archives.extract(source.path, source.member, scratch, settings.max_file_mb)
    except archives.ArchiveError as error:
        return [Problem(name, "", "unreadable file", 0, (str(error),), ARCHIVE_HINT)], None
    try:
        inside = replace(source, path=copy, member=None)
        return _open_file(connection, name, inside, settings, scratch, referenced, view)
    finally:
        copy.unlink(missing_ok=True)


def _parse(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    source: Source,
    parts: tuple[Source, ...],
    columns: list[str],
) -> list[Problem]:
    """Dates and amounts as exports write them, typed in a source's view (text, spreadsheets
    and JSON; exports.parse), with the formats its `dates:` gives; the problems found."""
    if not any(part.format in COPIED for part in parts):
        if not source.dates:
            return []
        return [
            Problem(
                name,
                "",
                "invalid setting",
                0,
                (f"dates: {dict(source.dates)}",),
                f"{source.path.name} holds typed dates already: `dates:` is for text "
                "files, spreadsheets and JSON; remove it from this source.",
            )
        ]
    unknown = sorted({column for column, _ in source.dates} - set(columns))
    if unknown:
        return [_unknown_date_columns(name, unknown, columns)]
    try:
        exports.parse(connection, _view(name), dict(source.dates))
    except exports.DateFormatError as error:
        return [_date_format_problem(name, error)]
    return []


def _open_file(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    source: Source,
    settings: Settings,
    scratch: Path,
    referenced: int,
    view: str,
) -> tuple[list[Problem], list[str] | None]:
    """_open_part for a file read in place."""
    problems = validation.check_size(name, source.path, settings.max_file_mb)
    if problems:
        return problems, None
    if source.format != "duckdb":
        problems = validation.check_not_empty(name, source.path, source.header)
    if not problems and source.format == "text":
        problems = validation.check_encoding(name, source.path, source.encoding)
    if problems:
        return problems, None
    try:
        if source.format == "duckdb":
            alias = f"src_{view}"
            connection.execute(f"attach ? as {q(alias)} (read_only)", [str(source.path)])
            relation = connection.table(f"{q(alias)}.{q(str(source.table))}")
        elif source.format == "text":
            columns = text.load(
                connection,
                view,
                source.path,
                delimiter=source.delimiter,
                header=source.header,
                encoding=source.encoding,
                scratch=scratch,
            )
        elif source.format == "spreadsheet":
            columns = spreadsheets.load(
                connection,
                view,
                source.path,
                sheet=source.sheet,
                header=source.header,
                max_mb=settings.max_file_mb,
            )
        elif source.format == "json":
            columns = json_files.load(connection, view, source.path)
        else:
            relation = connection.sql(
                "select * from read_parquet($path)", params={"path": str(source.path)}
            )
        if source.format not in COPIED:
            columns = list(relation.columns)
            relation.create_view(view)
    except text.RaggedLinesError as error:
        return [
            Problem(
                name,
                "",
                "unreadable file",
                error.count,
                error.examples,
                f"Every line needs the {error.fields} fields of the first line, separated by "
                "spaces or tabs. Values holding spaces need a real delimiter (`delimiter:`).",
            )
        ], None
    except spreadsheets.SheetError as error:
        return [Problem(name, "", "unreadable file", 0, (str(error),), SHEET_HINT)], None
    except limits.LIMIT_ERRORS:
        raise
    except duckdb.Error as error:
        return [
            Problem(
                name,
                "",
                "unreadable file",
                0,
                (_first_line(error),),
                f"{source.path.name} could not be read as {source.format}."
                + (f" {JSON_HINT}" if source.format == "json" else ""),
            )
        ], None
    if source.format == "text":
        problems = validation.check_one_column(
            name, source.path, columns, source.delimiter, referenced, source.encoding
        )
        if problems:
            return problems, None
    if source.format != "text" and not _has_rows(connection, view):
        return [
            Problem(
                name,
                "",
                "empty file",
                0,
                (f"{source.path.name} has no rows",),
                validation.EMPTY_HINT,
            )
        ], None
    return [], columns


def _unknown_date_columns(name: str, unknown: list[str], columns: list[str]) -> Problem:
    """The problem of a source's `dates:` naming columns its file does not have."""
    return Problem(
        name,
        "",
        "missing column",
        0,
        tuple(unknown),
        f"`dates:` names columns of the file as its header writes them: {', '.join(columns)}.",
    )


def _date_format_problem(name: str, error: exports.DateFormatError) -> Problem:
    """The problem of dates that the format a source's `dates:` gives does not read."""
    return Problem(
        name,
        error.column,
        "unparseable date",
        error.count,
        error.examples,
        f"These do not read with '{error.fmt}' (`dates:` of this source). Write the format "
        "the values have, with strptime's codes: %d day, %m month, %b or %B month name (in "
        "the file's language), %Y year, %y two-digit year, %H:%M time.",
    )


def _references(mapping: Mapping) -> dict[str, int]:
    """How many distinct columns the mapping's expressions read from each source."""
    contract = {table.name: table for table in mapping.contract()}
    found: dict[str, set[tuple[str, ...]]] = {}
    for table_name, spec in mapping.tables.items():
        expressions = [
            *_expressions(mapping, contract[table_name], spec).values(),
            *([spec.where] if spec.where else []),
            *spec.group_by,
        ]
        for expression in expressions:
            for reference in column_references(expression):
                # `orders.customer_id` reads orders when orders is joined; the rest, `from`.
                joined = len(reference) > 1 and reference[0] in spec.sources[1:]
                source = reference[0] if joined else spec.source
                found.setdefault(source, set()).add(tuple(part.lower() for part in reference))
    return {source: len(references) for source, references in found.items()}


def _view(source: str) -> str:
    """The view a source is read through (never the name of a contract table)."""
    return f"_source_{source}"


def _has_rows(connection: duckdb.DuckDBPyConnection, view: str) -> bool:
    return bool(connection.execute(f"select exists (select 1 from {q(view)})").fetchall()[0][0])


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def _expressions(mapping: Mapping, table: Table, spec: TableMapping) -> dict[str, str]:
    """Contract column (and feature) -> expression; unmapped columns get their default."""
    columns = {c.name: spec.columns.get(c.name, c.default) for c in table.columns}
    if table is FLAT_TABLE:
        columns.update({feature.name: feature.expression for feature in mapping.features})
    return columns


def _types(mapping: Mapping, table: Table) -> dict[str, str]:
    types = {c.name: c.type for c in table.columns}
    if table is FLAT_TABLE:
        types.update({f.name: FEATURE_TYPES[f.kind] for f in mapping.features})
    return types


def _select(columns: dict[str, str], spec: TableMapping) -> str:
    selected = ",\n    ".join(f"{expression} as {q(name)}" for name, expression in columns.items())
    sql = f"select\n    {selected}\nfrom {_joined(spec, spec.joins)}"
    if spec.where:
        sql += f"\nwhere {spec.where}"
    if spec.group_by:
        sql += "\ngroup by " + ", ".join(spec.group_by)
    return sql


def _joined(spec: TableMapping, joins: tuple[Join, ...]) -> str:
    """The FROM clause of a table: its source, left-joined to `joins` in order."""
    clause = f"{q(_view(spec.source))} as {q(spec.source)}"
    for join in joins:
        how = f"using ({', '.join(q(c) for c in join.using)})" if join.using else f"on {join.on}"
        clause += f"\nleft join {q(_view(join.source))} as {q(join.source)} {how}"
    return clause


def _diagnose(
    connection: duckdb.DuckDBPyConnection,
    table: Table,
    spec: TableMapping,
    columns: dict[str, str],
    error: duckdb.Error,
) -> list[Problem]:
    """Which expressions fail, one by one, when the whole table cannot be computed."""
    problems = []
    for name, expression in columns.items():
        try:
            connection.execute(f"{_select({name: expression}, spec)} limit 0")
        except duckdb.Error as failure:
            problems.append(
                Problem(
                    table.name,
                    name,
                    "invalid expression",
                    0,
                    (_first_line(failure),),
                    f"{expression!r} cannot be computed on source "
                    f"{' joined to '.join(repr(source) for source in spec.sources)}.",
                )
            )
    if isinstance(error, duckdb.ConversionException):
        hint = _dates_hint(connection, spec, error) or (
            "A value of the source cannot be converted as the mapping asks (see the example). "
            "Convert it in the mapping, e.g. strptime(your_column, '%d/%m/%Y %H:%M') for dates "
            "written day first, or try_cast(your_column as double) to leave bad numbers empty."
        )
    else:
        hint = "Check `where` and `group_by`: every column outside an aggregate must be grouped."
    return problems or [
        Problem(table.name, "", "invalid expression", 0, (_first_line(error),), hint)
    ]


def _dates_hint(
    connection: duckdb.DuckDBPyConnection, spec: TableMapping, error: duckdb.Error
) -> str | None:
    """For a conversion that failed on a text column of dates only the mapping can decide
    (month names of another language, or day and month in either order): the source's
    `dates:` setting that reads them, since strptime in an expression reads English only."""
    found = re.search(r'from source column "?([^"\n]+?)"?\.?$', _first_line(error))
    if found is None:
        return None
    column = found.group(1)
    for source in spec.sources:
        if column not in connection.table(q(_view(source))).columns:
            continue
        reading = exports.date_readings(connection, _view(source), column)
        if reading.language is None and len(reading.formats) < 2:
            return None
        example = reading.formats[0] if reading.formats else "%d. %b %y %H:%M"
        why = (
            f"names months in {month_names.language_name(reading.language)}"
            if reading.language is not None
            else "reads more than one way"
        )
        return (
            f"{column} {why}: give its format in the source's settings, e.g. `dates: "
            f"{{{column}: '{example}'}}` under sources.{source} (strptime codes: %d day, %m "
            "month, %b month name, %y two-digit year, %H:%M time); it is then a date."
        )
    return None


def _check_join_keys(
    table: Table, spec: TableMapping, source_columns: dict[str, list[str]]
) -> list[Problem]:
    """Columns a join matches on by name that its source, or what it joins to, lacks."""
    problems = []
    for index, join in enumerate(spec.joins):
        before = spec.sources[: index + 1]
        left = [c for source in before for c in source_columns[source]]
        keys: list[tuple[str, ...]] = [(c,) for c in join.using]
        # Sources listed after this join that hold its keys: joins apply in the order written.
        later = [
            source
            for source in spec.sources[index + 2 :]
            if {c.lower() for c in join.using} <= {c.lower() for c in source_columns[source]}
        ]
        sides = ((source_columns[join.source], join.source), (left, " or ".join(before)))
        for names, label in sides:
            missing = validation.check_columns(
                table.name, f"join {join.source}", keys, names, label
            )
            if missing and later and names is left:
                advice = f" List {later[0]} before {join.source} under `join:`."
                missing = [replace(found, hint=found.hint + advice) for found in missing]
            problems += missing
    return problems


def _check_join_matches(
    connection: duckdb.DuckDBPyConnection, table: Table, spec: TableMapping
) -> list[Problem]:
    """A join that matches a row of `from` with several rows of its source (an order's
    customer looked up in a table of orders): each match would count the row again."""
    rows = _count(connection, _joined(spec, ()))
    for index, join in enumerate(spec.joins):
        joined = _count(connection, _joined(spec, spec.joins[: index + 1]))
        if joined == rows:
            continue
        examples: tuple[str, ...] = ()
        if join.using:
            keys = ", ".join(q(c) for c in join.using)
            repeated = connection.execute(
                f"select {keys}, count(*) from {q(_view(join.source))} where "
                + " and ".join(f"{q(c)} is not null" for c in join.using)
                + f" group by all having count(*) > 1 limit {validation.EXAMPLES}"
            ).fetchall()
            examples = tuple(
                ", ".join(f"{c}={v!r}" for c, v in zip(join.using, row[:-1], strict=True))
                + f" ({row[-1]} rows)"
                for row in repeated
            )
        return [
            Problem(
                table.name,
                f"join {join.source}",
                "join matches several rows",
                joined - rows,
                examples or (f"{rows:,} rows of {spec.source} became {joined:,}",),
                f"Each row of {spec.source} may match one row of {join.source}, else it counts "
                "once per match: join on a key that is unique there (e.g. the order's id, not "
                "the customer's, in a table of orders), or join a source with one row per key.",
            )
        ]
    return []


def _count(connection: duckdb.DuckDBPyConnection, clause: str) -> int:
    return int(connection.execute(f"select count(*) from {clause}").fetchall()[0][0])


def _stage_table(
    connection: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    table: Table,
    spec: TableMapping,
    source_columns: dict[str, list[str]],
) -> tuple[list[Problem], str | None]:
    """Compute one contract table's raw values into `_staged_<table>`; (problems, name)."""
    columns = _expressions(mapping, table, spec)
    available = [c for source in spec.sources for c in source_columns[source]]
    problems = _check_join_keys(table, spec, source_columns)
    for name, expression in {
        **columns,
        **({"where": spec.where} if spec.where else {}),
        **{f"group_by {i + 1}": g for i, g in enumerate(spec.group_by)},
        **{f"join {join.source}": join.on for join in spec.joins if join.on},
    }.items():
        problems += validation.check_columns(
            table.name, name, column_references(expression), available, " or ".join(spec.sources)
        )
    if problems:
        return problems, None
    try:
        problems = _check_join_matches(connection, table, spec)
    except limits.LIMIT_ERRORS:
        raise
    except duckdb.Error as error:  # a condition that does not compute
        return _diagnose(connection, table, spec, columns, error), None
    if problems:
        return problems, None
    staged = f"_staged_{table.name}"
    try:
        connection.execute(f"create table {q(staged)} as {_select(columns, spec)}")
    except limits.LIMIT_ERRORS:
        raise  # time or memory ran out: not a problem of one expression (limits.py)
    except duckdb.Error as error:
        return _diagnose(connection, table, spec, columns, error), None
    return [], staged


def stage(
    mapping: Mapping, settings: Settings, target: Path
) -> tuple[list[Problem], dict[str, int]]:
    """Compute, validate and (only if all is well) type every table into `target`, on a
    connection bounded in memory, spill and time (pipeline/ingest/limits.py)."""
    with limits.bounded_connection(target) as (connection, fired):
        try:
            staged = _stage(connection, mapping, settings, target)
        except duckdb.Error as error:
            problem = limits.limit_problem(error, fired)
            if problem is None:
                raise
            return [problem], {}
    timeout = limits.limit_problem(duckdb.InterruptException("timeout"), fired) if fired else None
    return ([timeout], {}) if timeout else staged


def _stage(
    connection: duckdb.DuckDBPyConnection, mapping: Mapping, settings: Settings, target: Path
) -> tuple[list[Problem], dict[str, int]]:
    problems = list(mapping.problems)
    counts: dict[str, int] = {}
    lock_down(connection, [*settings.allowed_roots, target.parent])
    columns: dict[str, list[str]] = {}
    referenced = _references(mapping)
    for name, source in mapping.sources.items():
        found, available = _open_source(
            connection, name, source, settings, target.parent, referenced.get(name, 0)
        )
        problems += found
        if available is not None:
            columns[name] = available
    contract = {table.name: table for table in mapping.contract()}
    staged: dict[str, str] = {}
    for table_name, spec in mapping.tables.items():
        if any(source not in columns for source in spec.sources):
            continue  # the source's own problem is already reported
        found, staged_name = _stage_table(connection, mapping, contract[table_name], spec, columns)
        problems += found
        if staged_name is not None:
            staged[table_name] = staged_name
    problems += _check_staged(connection, mapping, contract, staged)
    if problems:
        return problems, {}
    for table in contract.values():
        counts[table.name] = _create_final(connection, mapping, table, staged.get(table.name))
    problems += _bounds_problems(connection, mapping)
    if problems:
        return problems, {}
    for name in [*staged.values()]:
        connection.execute(f"drop table {q(name)}")
    for name in mapping.sources:
        _drop(connection, _view(name))
    connection.execute("checkpoint")
    return [], counts


def _bounds_problems(connection: duckdb.DuckDBPyConnection, mapping: Mapping) -> list[Problem]:
    """Settings the imported data rules out: `as_of` outside its dates, a snapshot grid
    (months x customers) too large to build (pipeline/ingest/bounds.py)."""
    build_vars = mapping.build_vars()
    facts = bounds.data_facts(connection, str(build_vars.get("dataset_kind", "events")))
    return [
        Problem(MAPPING, f"vars.{name}" if name != "data" else "", "invalid setting", 0, (), why)
        for name, why in bounds.data_problems(build_vars, facts)
    ]


def _check_staged(
    connection: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    contract: dict[str, Table],
    staged: dict[str, str],
) -> list[Problem]:
    """Every data rule on every computed table (validation.py)."""
    problems: list[Problem] = []
    required = required_tables(mapping.kind, mapping.dbt_vars)
    for table_name, name in staged.items():
        table = contract[table_name]
        empty = validation.check_not_empty_table(connection, table, name)
        if empty:
            problems += empty if table_name in required else []
            continue
        problems += validation.check_values(connection, table, name, _types(mapping, table))
        problems += validation.check_key(connection, table, name)
        if "accounts" in staged and table_name != "accounts" and "account_id" in table.column_names:
            problems += validation.check_customers(connection, table, name, staged["accounts"])
    return problems


def _create_final(
    connection: duckdb.DuckDBPyConnection, mapping: Mapping, table: Table, staged: str | None
) -> int:
    """The contract table with contract types (empty when the mapping leaves it out)."""
    types = _types(mapping, table)
    if staged is None:
        columns = ", ".join(f"{q(name)} {sql_type}" for name, sql_type in types.items())
        connection.execute(f"create table {q(table.name)} ({columns})")
        return 0
    staged_types = {
        str(name): str(kind)
        for name, kind in connection.execute(
            f"select column_name, column_type from (describe {q(staged)})"
        ).fetchall()
    }
    select = ", ".join(
        f"{_as_type(q(name), staged_types.get(name, ''), sql_type)} as {q(name)}"
        for name, sql_type in types.items()
    )
    connection.execute(f"create table {q(table.name)} as select {select} from {q(staged)}")
    row = connection.execute(f"select count(*) from {q(table.name)}").fetchone()
    return int(row[0]) if row else 0


def _as_type(column: str, staged_type: str, sql_type: str) -> str:
    """`column` cast to its contract type. DuckDB's CSV sniffer reads Yes/No columns as
    booleans; as text (a categorical feature, an attribute) they read Yes and No again, not
    true and false, so reasons say "Works overtime: Yes"."""
    if staged_type == "BOOLEAN" and sql_type.upper() in ("VARCHAR", "TEXT", "STRING"):
        return f"case when {column} then 'Yes' when not {column} then 'No' end"
    return f"cast({column} as {sql_type})"


def _scratch(settings: Settings) -> Path:
    settings.ensure()
    tmp = settings.raw_path.with_name(f".raw-import-{os.getpid()}.duckdb")
    tmp.unlink(missing_ok=True)
    return tmp


def validate_mapping(mapping: Mapping, settings: Settings) -> list[Problem]:
    """Every problem of the mapping and its data, without changing anything."""
    tmp = _scratch(settings)
    try:
        problems, _ = stage(mapping, settings, tmp)
    finally:
        _remove_scratch(tmp)
    return problems


def _remove_scratch(tmp: Path) -> None:
    """The scratch file of an import, its write-ahead log and its spill folder."""
    tmp.unlink(missing_ok=True)
    tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(limits.spill_dir(tmp), ignore_errors=True)


def import_mapping(mapping: Mapping, settings: Settings, by: Actor | None = None) -> dict[str, int]:
    """Build a new raw.duckdb from the mapping, validate it, and swap it in; rows per table.

    On any problem nothing changes (MappingError lists them all). The swap happens under the
    build lock, so a running build never sees raw data change under it. `by` is who asks
    (None: this process's OS user); a viewer gets AccessDeniedError before anything is read.
    """
    actor = require_operator(by, "importing data")
    tmp = _scratch(settings)
    try:
        problems, counts = stage(mapping, settings, tmp)
        if problems:
            raise MappingError(problems)
        holder = {"trigger": "import", "by": actor.name, "started_at": _now()}
        with build_lock(settings.lock_path, holder):
            os.replace(tmp, settings.raw_path)
            dataset.save(settings, mapping.name, mapping.build_vars())
            rows = ", ".join(f"{table}: {count}" for table, count in counts.items())
            history.record_action(settings, actor.name, "import", f"{mapping.name} ({rows})")
    finally:
        _remove_scratch(tmp)
    return counts


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
