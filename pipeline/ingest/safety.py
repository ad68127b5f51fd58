"""Guards for user input: file paths stay in allowed folders, SQL stays a single expression.

A mapping file and the Data page hand Baton paths, column names and small SQL expressions
(`amount: Quantity * UnitPrice`). Paths must resolve (symlinks followed) inside BATON_HOME or
a configured data folder; identifiers are quoted; expressions are parsed by DuckDB's own
parser and accepted only as one scalar expression that reads no file, runs no statement and
holds no subquery. Imports additionally run on a DuckDB connection locked to those folders.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipeline.ingest.json_files import SUFFIXES as JSON_SUFFIXES
from pipeline.ingest.spreadsheets import SUFFIXES as SPREADSHEET_SUFFIXES
from pipeline.ingest.text import GZIP, TEXT_SUFFIXES

# Text and JSON may come gzip-compressed (pipeline.ingest.text GZIP): `orders.csv.gz`.
COMPRESSED_SUFFIXES = tuple(f"{suffix}{GZIP}" for suffix in (*TEXT_SUFFIXES, *JSON_SUFFIXES))
UPLOAD_SUFFIXES = (
    *TEXT_SUFFIXES,
    *SPREADSHEET_SUFFIXES,
    *JSON_SUFFIXES,
    ".parquet",
    ".pq",
    *COMPRESSED_SUFFIXES,
    ".zip",  # unpacked on upload into the data files it holds (uploads.save_uploads)
)
MAX_EXPRESSION_CHARS = 2_000
# Functions that read files, the network or the environment, or change the session. Table
# functions cannot run inside one expression anyway; this is defense in depth.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        "glob",
        "query",
        "query_table",
        "getenv",
        "current_setting",
        "sniff_csv",
        "load_extension",
        "install",
        "load",
        "attach",
        "detach",
        "copy",
        "export_database",
        "import_database",
        "checkpoint",
        "force_checkpoint",
        "set_variable",
        "getvariable",
        "st_read",
        "read_text",
        "read_blob",
    }
)
FORBIDDEN_PREFIXES = (
    "read_",
    "parquet_",
    "scan_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "iceberg_",
    "delta_",
    "pragma_",
    "duckdb_",
    "http",
    "s3",
)
# The functions (and operators, which DuckDB's parser names like functions) an expression may
# call: casts, conditionals, text, dates, math and aggregates, built from what the examples/
# mappings, the docs and the tests use plus what cleaning a column reasonably needs. Anything
# else (sleep_ms, repeat, range, random, list lambdas, extensions' functions) is refused by
# name; docs/security.md lists them.
ALLOWED_FUNCTIONS = frozenset(
    {
        # operators
        *("+", "-", "*", "/", "//", "%", "^", "**", "||", "@", "&", "|", "<<", ">>", "~"),
        *("~~", "!~~", "~~*", "!~~*", "~~~", "!~~~", "->", "->>", "list_value", "struct_pack"),
        # conditionals and types
        *("nullif", "ifnull", "coalesce", "greatest", "least", "if", "typeof", "isnan"),
        *("isinf", "isfinite", "try"),
        # text
        *("lower", "upper", "lcase", "ucase", "trim", "ltrim", "rtrim", "length", "len"),
        *("strlen", "char_length", "character_length", "substring", "substr", "left"),
        *("right", "replace", "concat", "concat_ws", "split_part", "starts_with"),
        *("ends_with", "prefix", "suffix", "contains", "position", "strpos", "instr"),
        *("lpad", "rpad", "reverse", "regexp_replace", "regexp_matches", "regexp_extract"),
        *("regexp_full_match", "strip_accents", "nfc_normalize", "translate", "ascii"),
        *("chr", "format", "printf", "md5", "hash", "string_split", "split", "array_extract"),
        *("list_extract", "json_extract", "json_extract_string"),
        # dates and times
        *("strptime", "try_strptime", "strftime", "date_trunc", "datetrunc", "date_part"),
        *("datepart", "date_diff", "datediff", "date_sub", "datesub", "date_add", "make_date"),
        *("make_timestamp", "year", "month", "day", "dayofweek", "dayofmonth", "dayofyear"),
        *("week", "weekofyear", "quarter", "hour", "minute", "second", "epoch", "epoch_ms"),
        *("to_timestamp", "last_day", "today", "age", "monthname", "dayname", "isodow"),
        *("isoyear", "yearweek", "time_bucket", "to_days", "to_hours", "to_minutes"),
        *("to_seconds", "to_months", "to_years", "to_weeks", "trunc", "timezone"),
        # math
        *("abs", "round", "floor", "ceil", "ceiling", "sqrt", "cbrt", "ln", "log", "log10"),
        *("log2", "exp", "pow", "power", "sign", "even", "round_even", "mod"),
        # aggregates
        *("sum", "min", "max", "avg", "mean", "count", "count_star", "median", "mode"),
        *("first", "last", "any_value", "arg_min", "arg_max", "argmin", "argmax", "min_by"),
        *("max_by", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp"),
        *("var_pop", "quantile", "quantile_cont", "quantile_disc", "bool_and", "bool_or"),
        *("string_agg", "group_concat", "fsum", "favg", "product", "approx_count_distinct"),
        # window functions
        *("row_number", "rank", "dense_rank", "lag", "lead", "first_value", "last_value"),
        "ntile",
    }
)
_NOT_ONE_EXPRESSION = {
    "where_clause": "a WHERE clause",
    "having": "a HAVING clause",
    "qualify": "a QUALIFY clause",
    "sample": "a SAMPLE clause",
}


# A mapping file is a few kilobytes; YAML aliases let a small file expand exponentially (a
# "billion laughs"), so a mapping may hold a few of them and no more.
MAX_MAPPING_BYTES = 1_000_000
MAX_YAML_ALIASES = 32


class UnsafeYamlError(ValueError):
    """A mapping file too large, or with more aliases than a mapping needs."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader that refuses more than MAX_YAML_ALIASES aliases (*name)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                mark = self.peek_event().start_mark
                raise UnsafeYamlError(
                    f"more than {MAX_YAML_ALIASES} aliases (*name), at line {mark.line + 1}: "
                    "a mapping needs few or none, and many can expand a small file into "
                    "gigabytes. Write the values out."
                )
        return super().compose_node(parent, index)


def load_yaml(text: str) -> Any:
    """Parse a mapping's YAML safely: plain data only, bounded in size and aliases."""
    if len(text.encode("utf-8")) > MAX_MAPPING_BYTES:
        raise UnsafeYamlError(
            f"the file is over {MAX_MAPPING_BYTES // 1_000_000} MB; a mapping is a few kilobytes."
        )
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise UnsafeYamlError("it is nested too deeply to be a mapping.") from None
    finally:
        loader.dispose()


class UnsafePathError(ValueError):
    """A path resolves outside the folders Baton may read."""


class UnsafeExpressionError(ValueError):
    """A mapping expression is not one plain SQL expression."""


def resolve_inside(base: Path, spec: str, roots: Iterable[Path]) -> Path:
    """Resolve `spec` against `base`, following symlinks; refuse anything outside `roots`."""
    text = str(spec).strip()
    if not text or "\x00" in text:
        raise UnsafePathError(f"{spec!r} is not a file path.")
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = base / candidate
    resolved = candidate.resolve()
    allowed = [Path(root).resolve() for root in roots]
    if not any(resolved.is_relative_to(root) for root in allowed):
        folders = ", ".join(str(root) for root in allowed)
        raise UnsafePathError(
            f"{text!r} resolves to {resolved}, outside the folders Baton may read ({folders}). "
            "Move the file into one of them, or add its folder to BATON_DATA_DIR."
        )
    return resolved


def sanitize_upload_name(name: str) -> str:
    """A safe file name for an upload: no folders, plain characters, a known extension."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", str(name)))[-1]
    compressed = base.lower().endswith(GZIP)
    stem, dot, suffix = base[: -len(GZIP)].rpartition(".") if compressed else base.rpartition(".")
    suffix = f".{suffix.lower()}" + (GZIP if compressed else "")
    if not dot or suffix not in UPLOAD_SUFFIXES:
        raise UnsafePathError(f"{name!r}: only {', '.join(UPLOAD_SUFFIXES)} files can be uploaded.")
    clean = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_.")[:100] or "upload"
    return f"{clean}{suffix}"


def quote_identifier(name: str) -> str:
    """A DuckDB identifier in double quotes, embedded quotes doubled."""
    if "\x00" in name:
        raise UnsafeExpressionError("A column name cannot contain a NUL character.")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal of `value`, embedded quotes doubled (where parameters cannot go:
    ALTER statements, and SQL shown to people)."""
    return "'" + value.replace("'", "''") + "'"


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every dict in a parsed-SQL JSON tree, depth first."""
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def _parse(expression: str) -> dict[str, Any]:
    """DuckDB's parse tree of `SELECT <expression>` (no catalog, nothing executed)."""
    with duckdb.connect(":memory:") as connection:
        row = connection.execute(
            "select json_serialize_sql(?)", ["select " + expression]
        ).fetchone()
    tree = json.loads(row[0]) if row else {"error": True, "error_message": "no result"}
    if tree.get("error"):
        message = str(tree.get("error_message", "")).splitlines()[0]
        if "Only SELECT" in message:
            message = "it contains a statement (only one expression is allowed)"
        raise UnsafeExpressionError(f"{expression!r} is not a SQL expression: {message}")
    return dict(tree)


def _forbidden(function: str) -> bool:
    name = function.lower()
    return name in FORBIDDEN_FUNCTIONS or name.startswith(FORBIDDEN_PREFIXES)


def check_expression(expression: Any) -> str:
    """One scalar SQL expression, re-printed by DuckDB's parser; raise UnsafeExpressionError.

    Refused: several statements (`;`), subqueries, FROM/WHERE/aliases, `*`, parameters, and
    functions that read files or the environment (read_csv, glob, getenv, ...). The text
    returned is DuckDB's own rendering of the parse tree, so comments cannot hide anything.
    """
    if isinstance(expression, bool) or not isinstance(expression, str | int | float):
        raise UnsafeExpressionError(f"{expression!r} is not a SQL expression.")
    text = str(expression).strip()
    if not text:
        raise UnsafeExpressionError("An expression is empty.")
    if len(text) > MAX_EXPRESSION_CHARS or "\x00" in text:
        raise UnsafeExpressionError(f"{text[:60]!r}... is too long for one expression.")
    tree = _parse(text)
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise UnsafeExpressionError(f"{text!r} holds {len(statements)} statements, not one.")
    node = statements[0]["node"]
    problems = [label for key, label in _NOT_ONE_EXPRESSION.items() if node.get(key)]
    if (node.get("from_table") or {}).get("type") != "EMPTY":
        problems.append("a FROM clause")
    if (
        node.get("group_expressions")
        or node.get("modifiers")
        or (node.get("cte_map") or {}).get("map")
    ):
        problems.append("GROUP BY, ORDER BY, LIMIT, DISTINCT or WITH")
    select_list = node.get("select_list") or []
    if len(select_list) != 1:
        problems.append(f"{len(select_list)} expressions separated by commas")
    elif select_list[0].get("alias"):
        problems.append("an alias (AS ...)")
    for item in _nodes(select_list):
        kind = item.get("class")
        if kind == "SUBQUERY":
            problems.append("a subquery")
        elif kind == "STAR":
            problems.append("a * column list")
        elif kind == "PARAMETER":
            problems.append("a query parameter")
        function = item.get("function_name")
        if isinstance(function, str) and _forbidden(function):
            problems.append(f"the function {function}() (it reads files or settings)")
        elif isinstance(function, str) and function.lower() not in ALLOWED_FUNCTIONS:
            problems.append(
                f"the function {function}(), which mappings may not call (allowed: casts and "
                "common text, date, math and aggregate functions; docs/security.md lists them)"
            )
        elif kind == "LAMBDA":
            problems.append("a lambda (x -> ...)")
    if problems:
        raise UnsafeExpressionError(
            f"{text!r} is not a single plain expression: it has {', '.join(sorted(set(problems)))}."
        )
    with duckdb.connect(":memory:") as connection:
        row = connection.execute("select json_deserialize_sql(?)", [json.dumps(tree)]).fetchone()
    rendered = str(row[0]) if row else ""
    if not rendered.upper().startswith("SELECT "):
        raise UnsafeExpressionError(f"{text!r} could not be re-printed as an expression.")
    return rendered[len("SELECT ") :]


# Bare words DuckDB parses as column references but binds to functions when no column has
# that name.
SPECIAL_NAMES = frozenset(
    {"current_date", "current_time", "current_timestamp", "localtime", "localtimestamp"}
)


def column_references(expression: str) -> list[tuple[str, ...]]:
    """The (possibly dotted) column references an expression reads, e.g. ("Quantity",)."""
    tree = _parse(expression)
    return [
        tuple(str(part) for part in item["column_names"])
        for item in _nodes(tree.get("statements") or [])
        if item.get("class") == "COLUMN_REF"
        and item.get("column_names")
        and not (
            len(item["column_names"]) == 1 and item["column_names"][0].lower() in SPECIAL_NAMES
        )
    ]


def lock_down(connection: duckdb.DuckDBPyConnection, roots: Iterable[Path]) -> None:
    """Let this connection touch only files under `roots`, for good (no attach, no install).

    Also, before the configuration is locked: timestamps written with an offset
    (`2011-01-04T10:00:00+02:00`) are read in UTC, so the same file imports to the same
    days on every machine (DuckDB would use the machine's time zone)."""
    connection.execute("set TimeZone = 'UTC'")
    folders = [str(Path(root).resolve()) + "/" for root in roots]
    connection.execute("set allowed_directories = ?", [folders])
    connection.execute("set enable_external_access = false")
    connection.execute("set lock_configuration = true")
