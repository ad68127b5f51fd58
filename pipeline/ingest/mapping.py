"""Bring your own data: a YAML mapping from your files onto the raw-data contract.

A mapping names source files (delimited text, Parquet, or a table of a DuckDB file), then for each
contract table the source, an optional filter and grouping, and one SQL expression per
contract column (`kind: events`, the default), optionally with other words for the
feature mart's features (`features:`, such as "Units bought to date" for events to date);
or, for a flat customer file with a churn flag (`kind: flat`), the customer columns and the
features to learn from. `read_mapping` checks the file itself (paths, expressions,
settings) and lists every problem; the import (pipeline/importer.py) validates the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from pipeline.contract import FEATURE_TYPES, FLAT_TABLE, RESERVED_FEATURE_NAMES, TABLES, Table
from pipeline.ingest import archives, json_files, spreadsheets, text, validation
from pipeline.ingest.safety import (
    MAX_MAPPING_BYTES,
    UnsafeExpressionError,
    UnsafePathError,
    UnsafeYamlError,
    check_expression,
    load_yaml,
    quote_identifier,
    resolve_inside,
)
from pipeline.ingest.validation import Problem
from pipeline.ingest.vars import NAME, read_vars
from pipeline.ingest.wording import (
    EVENT,
    LABEL_HINT,
    MAPPING,
    UNIT_HINT,
    event_wording,
    label_problem,
    read_labels,
    read_wording,
    report,
    unit,
)
from pipeline.settings import Settings, get_settings

KINDS = ("events", "flat")
FILE_SUFFIXES = {
    **dict.fromkeys(text.TEXT_SUFFIXES, "text"),
    **dict.fromkeys(spreadsheets.SUFFIXES, "spreadsheet"),
    **dict.fromkeys(json_files.SUFFIXES, "json"),
    ".parquet": "parquet",
    ".pq": "parquet",
    ".duckdb": "duckdb",
}
# Formats that may come gzip-compressed (`orders.csv.gz`, `events.jsonl.gz`).
COMPRESSIBLE = ("text", "json")
# Formats that may come inside a zip archive (read from a copy, pipeline.ingest.archives).
ARCHIVED = ("text", "spreadsheet", "json")
TOP_LEVEL_KEYS = {"name", "kind", "description", "vars", "sources", "tables", "features", "labels"}
SOURCE_KEYS = {"path", "table", "sheet", "delimiter", "encoding", "header", "member", "dates"}
TABLE_KEYS = {"from", "join", "where", "group_by", "columns"}
# How `join` is written, for its problem.
JOIN_HINT = (
    "Join a source by the columns of the same name in both (`orders: order_id`, or a list) "
    "or by a condition (`orders: {on: payments.order_ref = orders.id}`)."
)
FEATURE_KEYS = {"expression", "label", "kind", "unit", "reason", "reason_if_missing", "description"}
FEATURE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
FLAT_DEFAULT_VARS = {"min_train_months": 1}


class MappingError(ValueError):
    """A mapping or its data cannot be imported; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s):\n{validation.report(problems)}")


@dataclass(frozen=True)
class Source:
    """A source file (or a table of a DuckDB file) and how to read it."""

    path: Path
    table: str | None = None
    # A spreadsheet's sheet by name; None: the first.
    sheet: str | None = None
    # None: detected; text.WHITESPACE: runs of spaces and/or tabs; else one character.
    delimiter: str | None = None
    encoding: str = "utf-8"
    header: bool = True
    # The file read inside a zip archive (pipeline.ingest.archives); None: not an archive.
    member: str | None = None
    # (column, strptime format) of text columns whose dates read more than one way (`dates:`).
    dates: tuple[tuple[str, str], ...] = ()
    # Further files or sheets read the same way, their rows stacked under this one's by
    # column name (`path:` a list or a pattern, `sheet:` a list).
    also: tuple[Source, ...] = ()

    def parts(self) -> tuple[Source, ...]:
        """Every file (or sheet) of the source, this one first, each on its own."""
        return (replace(self, also=()), *self.also)

    @property
    def format(self) -> str:
        """text (delimited: .csv, .tsv, .txt, .dat), spreadsheet, json, parquet or duckdb:
        of the file itself, or of the member read inside a zip."""
        held = Path(self.member) if self.member is not None else self.path
        kind = FILE_SUFFIXES.get(text.kind_suffix(held), "")
        if held.name.lower().endswith(text.GZIP) and kind not in COMPRESSIBLE:
            return ""  # a gzip spreadsheet or Parquet file: not a format DuckDB reads
        if self.member is not None and kind not in ARCHIVED:
            return ""  # Parquet and DuckDB files are read in place, not from a zip
        return kind


@dataclass(frozen=True)
class Join:
    """Another source whose columns a table's rows take: the rows that match on the columns
    of the same name (`using`) or on a condition (`on`). Every row of `from` is kept (a left
    join), and matches at most one row (the importer checks it)."""

    source: str
    using: tuple[str, ...] = ()
    on: str | None = None


@dataclass
class TableMapping:
    """How one contract table is computed from a source (expressions already checked)."""

    source: str
    columns: dict[str, str]
    where: str | None = None
    group_by: list[str] = field(default_factory=list)
    joins: tuple[Join, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        """Every source the table reads: `from`, then the joined ones."""
        return (self.source, *(join.source for join in self.joins))


@dataclass(frozen=True)
class Feature:
    """A feature of a flat customer file: its expression, kind and plain words."""

    name: str
    expression: str
    label: str
    kind: str
    unit: str = ""
    reason: str = ""
    reason_if_missing: str = ""
    description: str = ""

    def declaration(self) -> dict[str, str]:
        """What dbt gets (var `flat_features`): everything but the expression."""
        return {
            "name": self.name,
            "label": self.label,
            "kind": self.kind,
            "unit": self.unit,
            "reason": self.reason,
            "reason_if_missing": self.reason_if_missing,
            "description": self.description or self.label,
        }


@dataclass
class Mapping:
    """A parsed mapping file; `problems` holds what is wrong with the file itself."""

    name: str
    path: Path
    sources: dict[str, Source]
    tables: dict[str, TableMapping]
    dbt_vars: dict[str, Any]
    kind: str = "events"
    features: tuple[Feature, ...] = ()
    wording: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def contract(self) -> tuple[Table, ...]:
        """The contract tables this mapping fills."""
        return (FLAT_TABLE,) if self.kind == "flat" else tuple(TABLES.values())

    def attribute_wording(self) -> dict[str, dict[str, str]]:
        """`features:` wording, over the words `labels:` implies: each attribute it names
        (segment, plan, region) worded by that name as a feature too ("Country: Canada", not
        "Region: Canada"), and with an `event` noun every event count ("3 units in the last
        7 days"). What `features:` says wins."""
        named = event_wording(self.labels[EVENT]) if EVENT in self.labels else {}
        for name, label in self.labels.items():
            if name != EVENT:
                named[name] = {"label": label, "reason": f"{label}: {{value}}"}
        wording = {name: dict(words) for name, words in named.items()}
        for name, words in self.wording.items():
            wording[name] = {**wording.get(name, {}), **words}
        return wording

    def build_vars(self) -> dict[str, Any]:
        """The dbt vars every build of this dataset gets."""
        named = {"attribute_labels": self.labels} if self.labels else {}
        if self.kind != "flat":
            wording = self.attribute_wording()
            worded = {"feature_wording": wording} if wording else {}
            return {**self.dbt_vars, **worded, **named}
        return {
            **FLAT_DEFAULT_VARS,
            **self.dbt_vars,
            **named,
            "dataset_kind": "flat",
            "flat_features": [feature.declaration() for feature in self.features],
        }


def locate(base: Path, spec: str, settings: Settings) -> Path:
    """A source's file: relative to the mapping's folder `base`; a relative path with no file
    there is looked up in each data folder in turn (so an example mapping finds its file in
    whatever BATON_DATA_DIR names). `~` is expanded; the result is always inside the allowed
    folders (raises UnsafePathError); it may not exist."""
    try:
        path: Path | None = resolve_inside(base, spec, settings.allowed_roots)
        refused: UnsafePathError | None = None
    except UnsafePathError as error:
        path, refused = None, error
    if (path is None or not path.is_file()) and not Path(spec.strip()).expanduser().is_absolute():
        for folder in settings.data_dirs:
            try:
                candidate = resolve_inside(folder, spec, settings.allowed_roots)
            except UnsafePathError:
                continue
            if candidate.is_file():
                return candidate
    if path is None:
        raise refused or UnsafePathError(spec)
    return path


def _read_source(
    name: str, spec: Any, base: Path, settings: Settings, problems: list[Problem]
) -> Source | None:
    where = f"sources.{name}"
    if not NAME.match(str(name)):
        report(problems, MAPPING, where, "invalid name", "Source names are letters, digits and _.")
        return None
    options = spec if isinstance(spec, dict) else {"path": spec}
    unknown = sorted(set(options) - SOURCE_KEYS)
    if unknown:
        report(
            problems,
            MAPPING,
            where,
            "unknown setting",
            f"{unknown} (allowed: {sorted(SOURCE_KEYS)}).",
        )
    dates = _date_formats(options.get("dates"), where, problems)
    paths = _path_specs(options.get("path", ""), base, settings)
    sheets = options.get("sheet")
    parts = [
        _read_file(where, path_spec, sheet, options, base, settings, problems)
        for path_spec in paths
        for sheet in (sheets if isinstance(sheets, list) and sheets else [sheets])
    ]
    if not parts:
        report(problems, MAPPING, where, "missing file", "`path:` names no file.")
    if not parts or dates is None or None in parts:
        return None  # each problem is reported: every file of a list is checked
    read = [replace(part, dates=dates) for part in parts if part is not None]
    return replace(read[0], also=tuple(read[1:]))


# Characters that make a source's path a pattern of several files (`orders_2024-*.csv`).
GLOB = re.compile(r"[*?\[]")


def _path_specs(spec: Any, base: Path, settings: Settings) -> list[str]:
    """A source's `path:` as the files it names: a list is taken as written, a pattern
    (`exports/orders_*.csv`) as the files it matches in name order, in the mapping's folder
    or else the first data folder where it matches anything. A pattern matching nothing is
    kept, for the missing-file problem to name it."""
    if isinstance(spec, list):
        return [str(item) for item in spec]
    text = str(spec)
    if not GLOB.search(text):
        return [text]
    pattern = Path(text).expanduser()
    for folder in (base, *settings.data_dirs):
        root = pattern.parent if pattern.is_absolute() else folder / pattern.parent
        found = sorted(p for p in root.glob(pattern.name) if p.is_file())
        if found:
            return [str(p) for p in found]
        if pattern.is_absolute():
            break
    return [text]


def _read_file(
    where: str,
    spec: str,
    sheet: Any,
    options: dict[str, Any],
    base: Path,
    settings: Settings,
    problems: list[Problem],
) -> Source | None:
    """One file (and sheet) of a source, read with the source's settings."""
    try:
        path = locate(base, spec, settings)
    except UnsafePathError as error:
        report(problems, MAPPING, where, "unsafe path", str(error))
        return None
    if not path.is_file():
        folders = ", ".join(str(folder) for folder in settings.data_dirs)
        unexpanded = " $VARIABLES are not expanded in mappings." if "$" in str(path) else ""
        report(
            problems,
            MAPPING,
            where,
            "missing file",
            f"{path} does not exist (nor in the data folders: {folders}).{unexpanded}",
        )
        return None
    try:
        delimiter = text.parse_delimiter(options.get("delimiter"))
    except ValueError as error:
        report(problems, MAPPING, where, "wrong delimiter", str(error))
        return None
    member = str(options["member"]) if options.get("member") is not None else None
    if archives.is_archive(path):
        try:
            member = archives.choose_member(path, member)
        except archives.ArchiveError as error:
            report(problems, MAPPING, where, "unreadable file", str(error))
            return None
    elif member is not None:
        report(problems, MAPPING, where, "invalid setting", "`member:` is for zip archives only.")
        return None
    source = Source(
        path=path,
        table=str(options["table"]) if options.get("table") is not None else None,
        sheet=str(sheet) if sheet is not None else None,
        delimiter=delimiter,
        encoding=str(options.get("encoding", "utf-8")).lower(),
        header=bool(options.get("header", True)),
        member=member,
    )
    if not source.format or (source.format == "duckdb") != (source.table is not None):
        report(
            problems,
            MAPPING,
            where,
            "unsupported file",
            f"{path.name}: use a delimited text file ({', '.join(text.TEXT_SUFFIXES)}) or "
            f"JSON ({', '.join(json_files.SUFFIXES)}), gzip-compressed (.gz) or not, a "
            f"spreadsheet ({', '.join(spreadsheets.SUFFIXES)}), any of these in a .zip, a "
            ".parquet file, or a .duckdb file with `table:`.",
        )
        return None
    if source.sheet is not None and source.format != "spreadsheet":
        report(
            problems,
            MAPPING,
            where,
            "unsupported file",
            f"{path.name}: `sheet:` names a sheet of a spreadsheet "
            f"({', '.join(spreadsheets.SUFFIXES)}); remove it for this file.",
        )
        return None
    if source.encoding not in validation.ENCODINGS:
        report(
            problems,
            MAPPING,
            where,
            "wrong encoding",
            f"Encoding {source.encoding!r} is not supported; use one of "
            f"{sorted(validation.ENCODINGS)} (or save the file as UTF-8).",
        )
        return None
    return source


def _date_formats(
    spec: Any, where: str, problems: list[Problem]
) -> tuple[tuple[str, str], ...] | None:
    """A source's `dates:` ({column: strptime format}) as pairs; None after reporting a problem."""
    if spec is None:
        return ()
    if not isinstance(spec, dict) or not all(
        isinstance(fmt, str) and "%" in fmt for fmt in spec.values()
    ):
        report(
            problems,
            MAPPING,
            where,
            "invalid setting",
            "`dates:` maps a column to the format its dates are written in, e.g. "
            "`dates: {Order Date: '%d/%m/%Y %H:%M'}` (strptime codes: %d day, %m month, "
            "%b month name, %Y year, %y two-digit year, %H:%M time).",
        )
        return None
    return tuple((str(column), fmt) for column, fmt in spec.items())


def _expression(value: Any, table: str, column: str, problems: list[Problem]) -> str | None:
    try:
        return check_expression(value)
    except UnsafeExpressionError as error:
        report(problems, table, column, "unsafe expression", str(error))
        return None


def required_tables(kind: str, dbt_vars: dict[str, Any]) -> dict[str, str]:
    """The tables a mapping of `kind` with `dbt_vars` must fill: {table: the rest of the
    sentence "Required..."}. Event data needs what defines its churn: the subscriptions'
    cancellations (contractual) or the activity (non-contractual)."""
    contract = {FLAT_TABLE.name: FLAT_TABLE} if kind == "flat" else TABLES
    required = {table.name: "." for table in contract.values() if table.required}
    if kind == "events":
        if dbt_vars.get("churn_definition", "contractual") == "contractual":
            required["subscriptions"] = (
                " for contractual churn: cancellations define it (or set vars: "
                "churn_definition: non_contractual)."
            )
        else:
            required["usage_daily"] = " for non-contractual churn: activity defines it."
    return required


def _read_table(
    table: Table, spec: Any, sources: dict[str, Any], problems: list[Problem]
) -> TableMapping | None:
    if not isinstance(spec, dict):
        report(problems, table.name, "", "invalid table", "Expected from/columns.")
        return None
    unknown = sorted(set(spec) - TABLE_KEYS)
    if unknown:
        report(
            problems,
            table.name,
            "",
            "unknown setting",
            f"{unknown} (allowed: from, join, where, group_by, columns).",
        )
    source = str(spec.get("from"))
    if source not in sources:
        report(problems, table.name, "from", "unknown source", f"No source named {source!r}.")
    joins = _read_joins(table.name, source, spec.get("join"), sources, problems)
    raw_columns = spec.get("columns") or {}
    if not isinstance(raw_columns, dict):
        raw_columns = {}
    extra = sorted(str(c) for c in raw_columns if c not in table.column_names)
    for name in extra:
        report(
            problems,
            table.name,
            name,
            "extra column",
            f"Not in the contract; {table.name} has: {', '.join(table.column_names)}.",
        )
    missing = [c.name for c in table.columns if c.required and c.name not in raw_columns]
    for name in missing:
        report(
            problems,
            table.name,
            name,
            "missing column",
            "Required: map it to a column or an expression of the source.",
        )
    before = len(problems)
    columns = {
        str(name): _expression(value, table.name, str(name), problems)
        for name, value in raw_columns.items()
        if name in table.column_names
    }
    where = _expression(spec["where"], table.name, "where", problems) if spec.get("where") else None
    group_by = [
        _expression(item, table.name, "group_by", problems) for item in spec.get("group_by") or []
    ]
    if len(problems) > before or source not in sources or missing or joins is None:
        return None
    return TableMapping(
        source=source,
        columns={k: v for k, v in columns.items() if v is not None},
        where=where,
        group_by=[g for g in group_by if g is not None],
        joins=joins,
    )


def _read_joins(
    table: str, source: str, spec: Any, sources: dict[str, Any], problems: list[Problem]
) -> tuple[Join, ...] | None:
    """A table's `join:` ({source: column(s) of the same name, or {on: condition}}, in the
    order they join); None when it is wrong (reported)."""
    if spec is None:
        return ()
    if not isinstance(spec, dict) or not spec:
        report(problems, table, "join", "invalid join", JOIN_HINT)
        return None
    joins = []
    for name, how in spec.items():
        name = str(name)
        if name not in sources or name == source:
            reason = "is what `from` reads" if name == source else "is not a source"
            report(problems, table, "join", "unknown source", f"{name!r} {reason}. {JOIN_HINT}")
            return None
        if isinstance(how, str) or (
            isinstance(how, list) and how and all(isinstance(c, str) for c in how)
        ):
            joins.append(Join(name, using=(how,) if isinstance(how, str) else tuple(how)))
        elif isinstance(how, dict) and set(how) == {"on"}:
            on = _expression(how["on"], table, "join", problems)
            if on is None:
                return None
            joins.append(Join(name, on=on))
        else:
            report(problems, table, "join", "invalid join", f"{name}: {how!r}. {JOIN_HINT}")
            return None
    return tuple(joins)


def _read_features(spec: Any, problems: list[Problem]) -> tuple[Feature, ...]:
    table = FLAT_TABLE.name
    if not isinstance(spec, dict) or not spec:
        report(
            problems,
            table,
            "features",
            "missing column",
            "A flat mapping declares at "
            "least one feature: name -> {label, kind: numeric|categorical, expression}.",
        )
        return ()
    features = []
    for name, options in spec.items():
        options = options if isinstance(options, dict) else {}
        column = f"features.{name}"
        before = len(problems)
        if not FEATURE_NAME.match(str(name)) or name in RESERVED_FEATURE_NAMES:
            report(
                problems,
                table,
                column,
                "invalid feature",
                "Feature names are lowercase snake_case and not one of the mart's own columns "
                f"({', '.join(sorted(RESERVED_FEATURE_NAMES)[:6])}, ...).",
            )
        unknown = sorted(set(options) - FEATURE_KEYS)
        if unknown:
            report(
                problems,
                table,
                column,
                "unknown setting",
                f"{unknown} (allowed: {sorted(FEATURE_KEYS)}).",
            )
        kind = str(options.get("kind", ""))
        if kind not in FEATURE_TYPES:
            report(
                problems, table, column, "invalid feature", "kind must be numeric or categorical."
            )
        label = options.get("label")
        if label_problem(label):
            report(
                problems,
                table,
                column,
                "invalid feature",
                LABEL_HINT,
            )
        unit_name = unit(options.get("unit"))
        if unit_name is None:
            report(problems, table, column, "invalid feature", UNIT_HINT)
        expression = _expression(
            options.get("expression", quote_identifier(str(name))), table, column, problems
        )
        if len(problems) == before and expression is not None:
            features.append(
                Feature(
                    name=str(name),
                    expression=expression,
                    label=str(label).strip(),
                    kind=kind,
                    unit=unit_name or "",
                    reason=str(options.get("reason", "") or ""),
                    reason_if_missing=str(options.get("reason_if_missing", "") or ""),
                    description=str(options.get("description", "") or ""),
                )
            )
    return tuple(features)


# What a YAML syntax error inside a `[a, b]` list most often is in a mapping.
FLOW_LIST_HINT = (
    "In a list written [a, b], an item holding a comma or quotes (a function call such as "
    "strptime(day, '%d.%m.%y')) must be quoted whole (\"...\"), or the list written one "
    "item per line after `- `."
)


def _unreadable(error: Exception) -> str:
    """Why a mapping file could not be read, in a sentence: for YAML syntax, where (line and
    column, as an editor counts them) and what the parser expected."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
        if error.context and "flow sequence" in error.context:
            return f"{where}. {FLOW_LIST_HINT}"
        return f"{where} ({error.context})" if error.context else where
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def read_mapping(path: Path, settings: Settings | None = None) -> Mapping:
    """Parse a mapping file; everything wrong with it is listed in `mapping.problems`."""
    settings = settings or get_settings()
    path = Path(path)
    empty = Mapping(name=path.stem, path=path, sources={}, tables={}, dbt_vars={})
    try:
        if path.stat().st_size > MAX_MAPPING_BYTES:
            raise UnsafeYamlError(f"{path.name} is over {MAX_MAPPING_BYTES:,} bytes")
        data = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, UnsafeYamlError) as error:
        report(empty.problems, MAPPING, "", "unreadable mapping", f"{path}: {_unreadable(error)}")
        return empty
    if not isinstance(data, dict):
        report(
            empty.problems,
            MAPPING,
            "",
            "unreadable mapping",
            f"{path} is not a YAML mapping with sources and tables.",
        )
        return empty
    problems: list[Problem] = []
    unknown = sorted(str(k) for k in set(data) - TOP_LEVEL_KEYS)
    if unknown:
        report(
            problems,
            MAPPING,
            "",
            "unknown setting",
            f"{unknown} (allowed: {sorted(TOP_LEVEL_KEYS)}).",
        )
    kind = str(data.get("kind", "events"))
    if kind not in KINDS:
        report(problems, MAPPING, "kind", "invalid setting", "kind is events or flat.")
        kind = "events"
    dbt_vars = read_vars(data.get("vars"), problems)
    declared = data.get("sources") or {}
    if not isinstance(declared, dict):
        declared = {}
    sources = {}
    for name, spec in declared.items():
        source = _read_source(str(name), spec, path.parent, settings, problems)
        if source is not None:
            sources[str(name)] = source
    contract = {FLAT_TABLE.name: FLAT_TABLE} if kind == "flat" else TABLES
    specs = data.get("tables") or {}
    if not isinstance(specs, dict):
        specs = {}
    tables: dict[str, TableMapping] = {}
    for table_name, spec in specs.items():
        if table_name not in contract:
            report(
                problems,
                str(table_name),
                "",
                "unknown table",
                f"A {kind} mapping fills: {', '.join(contract)}.",
            )
            continue
        table = _read_table(contract[table_name], spec, declared, problems)
        if table is not None:
            tables[table_name] = table
    for name, why in required_tables(kind, dbt_vars).items():
        if name not in specs:
            report(problems, name, "", "missing table", f"Required{why}")
    features: tuple[Feature, ...] = ()
    wording: dict[str, dict[str, str]] = {}
    if kind == "flat":
        features = _read_features(data.get("features"), problems)
    elif data.get("features") is not None:
        wording = read_wording(data.get("features"), problems)
    labels = read_labels(data.get("labels"), problems)
    return Mapping(
        name=str(data.get("name", path.stem)),
        path=path,
        sources=sources,
        tables=tables,
        dbt_vars=dbt_vars,
        kind=kind,
        features=features,
        wording=wording,
        labels=labels,
        problems=problems,
    )


def load_mapping(path: Path, settings: Settings | None = None) -> Mapping:
    """Parse a mapping file; raise MappingError listing every problem of the file itself."""
    mapping = read_mapping(path, settings)
    if mapping.problems:
        raise MappingError(mapping.problems)
    return mapping
