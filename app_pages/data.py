"""Your data: upload files, map their columns onto the data contract, validate, import."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from pipeline.access import AccessDeniedError
from pipeline.build.lock import BuildRefusedError
from pipeline.contract import CONTRACT, FLAT_TABLE, Column, Table
from pipeline.ingest import importer, mapping, uploads, validation
from pipeline.ingest.archives import ArchiveError
from pipeline.ingest.safety import UPLOAD_SUFFIXES, UnsafePathError, quote_identifier
from pipeline.ingest.spreadsheets import SheetError
from ui import auth, data
from ui.text import md

NOT_MAPPED = "— not mapped —"
EXPRESSION = "(expression)"
LEAVE_OUT = "— leave out —"
# Files one table may take columns from besides its own (a chain: payments, orders, people).
MAX_JOINS = 2
KINDS = {
    "flat": "One row per customer, with a churn flag (e.g. a CRM export)",
    "events": "Customers plus dated events: orders, usage, subscriptions, payments",
}


def upload_files() -> None:
    """Store what the user uploads (sanitized names under BATON_HOME/uploads)."""
    files = st.file_uploader(
        "Text (CSV, TSV, TXT, DAT), spreadsheet (XLSX, XLS, ODS), JSON, Parquet or ZIP files",
        type=[suffix.lstrip(".") for suffix in UPLOAD_SUFFIXES],
        accept_multiple_files=True,
        help="Delimiters are detected: commas, semicolons, tabs, pipes or runs of spaces.",
    )
    for file in files or []:
        try:
            saved = uploads.save_uploads(
                data.settings(), file.name, file.getvalue(), by=auth.acting_user()
            )
        except (UnsafePathError, OSError, AccessDeniedError, ArchiveError) as error:
            st.error(md(f"{file.name} was not stored: {error}"))
        else:
            st.caption(f"Stored as {', '.join(path.name for path in saved)}.")
    stored = uploads.list_uploads(data.settings())
    if stored:
        with st.expander(f"Stored uploads ({len(stored)})"):
            names = st.multiselect("Remove", [path.name for path in stored], key="remove-uploads")
            if names and st.button("Remove these uploads", icon=":material/delete:"):
                for stored_name in names:
                    uploads.remove_upload(data.settings(), stored_name, by=auth.acting_user())
                st.rerun()


def column_choice(column: Column, columns: list[str], key: str) -> str:
    """A dropdown of the file's columns (or an expression) for one contract column: a guess
    only when a file column's name matches; a required column without one waits for a choice
    rather than silently taking the first column."""
    options = [*([] if column.required else [NOT_MAPPED]), *columns, EXPRESSION]
    guess = uploads.guess_column(column.name, columns)
    index = options.index(guess) if guess in options else (None if column.required else 0)
    chosen = st.selectbox(
        f"{column.name}{' *' if column.required else ''}",
        options,
        index=index,
        key=key,
        help=column.description,
        placeholder="Choose a column",
    )
    if chosen is None:
        return ""
    if chosen == EXPRESSION:
        return st.text_input(
            f"Expression for {column.name}",
            key=f"{key}-expression",
            placeholder="e.g. Quantity * UnitPrice",
            help="One SQL expression over the file's columns (DuckDB syntax).",
        )
    if chosen == NOT_MAPPED:
        return ""
    return quote_identifier(chosen)


def map_columns(table: Table, columns: list[str], key: str) -> dict[str, str]:
    """Dropdowns for every column of a contract table; the mapped expressions."""
    mapped = {}
    grid = st.columns(3)
    for position, column in enumerate(table.columns):
        with grid[position % 3]:
            expression = column_choice(column, columns, f"{key}-{column.name}")
        if expression:
            mapped[column.name] = expression
    return mapped


def choose_features(columns: list[str], types: dict[str, str], used: set[str]) -> dict[str, Any]:
    """The columns to learn from, with plain labels and kinds the user can edit."""
    candidates = [c for c in columns if c not in used]
    chosen = st.multiselect(
        "Columns the model learns from",
        candidates,
        default=candidates,
        key="flat-features",
        help="Leave out identifiers and anything known only after a customer left.",
    )
    table = pd.DataFrame(
        {
            "column": chosen,
            "label": [uploads.feature_label(c) for c in chosen],
            "kind": [uploads.guess_kind(types.get(c, "")) for c in chosen],
            "unit": [""] * len(chosen),
        }
    )
    edited = st.data_editor(
        table,
        key="flat-feature-labels",
        hide_index=True,
        disabled=["column"],
        column_config={
            "label": st.column_config.TextColumn("Plain label", required=True),
            "kind": st.column_config.SelectboxColumn(
                "Kind", options=["numeric", "categorical"], required=True
            ),
            "unit": st.column_config.SelectboxColumn(
                "Unit", options=["", "money", "days", "months", "count", "share", "ratio", "times"]
            ),
        },
    )
    features: dict[str, Any] = {}
    for row in edited.itertuples(index=False):
        features[uploads.feature_name(str(row.column))] = {
            "expression": quote_identifier(str(row.column)),
            "label": str(row.label),
            "kind": str(row.kind),
            **({"unit": str(row.unit)} if row.unit else {}),
        }
    return features


def flat_mapping(files: list[Path]) -> dict[str, Any] | None:
    """The mapping document of a flat customer file, from the widgets."""
    upload = st.selectbox("File", files, format_func=lambda p: p.name, key="flat-file")
    columns, types, undecided = show_preview(upload)
    if columns is None:
        return None
    source = source_for(upload, undecided, "flat")
    st.subheader("Map the columns")
    st.caption("Columns marked * are required. Pick a column of the file, or write an expression.")
    mapped = map_columns(FLAT_TABLE, columns, "flat")
    # Identifiers, the flag and the date are not features; segment, plan and MRR may be.
    used = {
        expression.strip('"').replace('""', '"')
        for column, expression in mapped.items()
        if column in ("account_id", "churned", "exported_on", "account_name")
    }
    st.subheader("Features")
    return {
        "kind": "flat",
        "sources": {"customers": source},
        "tables": {FLAT_TABLE.name: {"from": "customers", "columns": mapped}},
        "features": choose_features(columns, types, used),
    }


def events_mapping(files: list[Path]) -> dict[str, Any]:
    """The mapping document of an event dataset: a file and column dropdowns per table."""
    sources: dict[str, str | dict[str, Any]] = {}
    tables: dict[str, Any] = {}
    needed = {
        definition: mapping.required_tables("events", {"churn_definition": definition})
        for definition in ("contractual", "non_contractual")
    }
    for table in CONTRACT:
        when = [definition for definition, tables in needed.items() if table.name in tables]
        always = len(when) == len(needed)
        note = " (required)" if always else ""
        if when and not always:
            note = f" (required for {when[0].replace('_', '-')} churn)"
        with st.expander(f"{table.name}{note}: {table.description}"):
            options: list[str | Path] = [*([] if always else [LEAVE_OUT]), *files]
            upload = st.selectbox(
                "File",
                options,
                format_func=lambda p: p if isinstance(p, str) else p.name,
                key=f"{table.name}-file",
            )
            if isinstance(upload, str):
                continue
            more = st.multiselect(
                "and the rows of",
                [f for f in files if f != upload],
                format_func=lambda p: p.name,
                key=f"{table.name}-more",
                help="Other files of the same export (other months, say), stacked under this "
                "one's rows by column name.",
            )
            columns, _, undecided = show_preview(upload)
            if columns is None:
                continue
            source = uploads.feature_name(upload.stem)
            sources[source] = source_for(upload, undecided, table.name, more)
            joins, columns = join_files(table.name, source, columns, files, sources)
            spec: dict[str, Any] = {
                "from": source,
                **({"join": joins} if joins else {}),
                "columns": map_columns(table, columns, table.name),
            }
            where = st.text_input("Keep only rows where (optional)", key=f"{table.name}-where")
            group_by = st.text_input(
                "Group by (optional, comma-separated expressions)", key=f"{table.name}-group"
            )
            if where:
                spec["where"] = where
            if group_by:
                spec["group_by"] = [g.strip() for g in group_by.split(",") if g.strip()]
            tables[table.name] = spec
    return {"kind": "events", "sources": sources, "tables": tables}


def join_files(
    table: str,
    source: str,
    columns: list[str],
    files: list[Path],
    sources: dict[str, str | dict[str, Any]],
) -> tuple[dict[str, list[str]], list[str]]:
    """Other uploads whose columns a table's rows take, in a chain (payments to their
    orders, then orders to the customer behind them), each matched on columns of the same
    name: the mapping's `join` and every column the table can then map."""
    joins: dict[str, list[str]] = {}
    available = list(columns)
    for step in range(MAX_JOINS):
        others = [f for f in files if uploads.feature_name(f.stem) not in {source, *joins}]
        choices: list[str | Path] = [LEAVE_OUT, *others]
        other = st.selectbox(
            "Also take columns from" if step == 0 else "and from",
            choices,
            format_func=lambda p: p if isinstance(p, str) else p.name,
            key=f"{table}-join-{step}",
            help="Another file whose rows match these (e.g. the orders a payment names).",
        )
        if not isinstance(other, Path):
            break
        try:
            _, types, undecided = uploads.preview(data.settings(), other)
        except (duckdb.Error, UnsafePathError, OSError, SheetError) as error:
            st.error(md(f"{other.name} could not be read: {str(error).splitlines()[0]}"))
            break
        shared = [c for c in types if c in available]
        keys = st.multiselect(
            "matched on",
            shared,
            default=[c for c in shared if c.lower().endswith("id")][:1] or shared[:1],
            key=f"{table}-join-{step}-on",
            help="Columns of the same name in both; each row must match at most one.",
        )
        if not keys:
            st.warning(md(f"Choose the columns {other.name} shares with these rows."))
            break
        name = uploads.feature_name(other.stem)
        sources[name] = source_for(other, undecided, f"{table}-join-{step}")
        joins[name] = keys
        available += [c for c in types if c not in available]
    return joins, available


def show_preview(upload: Path) -> tuple[list[str] | None, dict[str, str], dict[str, str]]:
    """The first rows of a file; its columns (None when it cannot be read), their types, and
    its dates the mapping must decide (uploads.Preview)."""
    try:
        frame, types, undecided = uploads.preview(data.settings(), upload)
    except (duckdb.Error, UnsafePathError, OSError, SheetError) as error:
        st.error(
            md(
                f"{upload.name} could not be read: {str(error).splitlines()[0]} Check that it is "
                "a delimited text file, a spreadsheet, JSON or a Parquet file, or upload it again."
            )
        )
        return None, {}, {}
    st.dataframe(frame, hide_index=True, height=220)
    return list(types), types, undecided


def source_for(
    upload: Path, undecided: dict[str, str], key: str, more: Sequence[Path] = ()
) -> str | dict[str, Any]:
    """The mapping's source of an upload (and of `more` uploads whose rows it stacks: other
    months of the same export); for date columns the import cannot read alone (written two
    ways, or with month names of another language), the format asked for here (`dates:`)."""
    paths = [uploads.source_entry(path) for path in (upload, *more)]
    entry: str | list[str] = paths if more else paths[0]
    formats = {}
    for column, reads in undecided.items():
        # Not prefilled: the preview reads a few rows, the import every row.
        written = st.text_input(
            f"How {column} is written",
            placeholder=f"e.g. {reads or '%d. %b %y'}",
            key=f"{key}-dates-{column}",
            help=(
                "These dates read more than one way, or name months in another language. "
                "strptime codes: %d day, %m month, %b or %B month name (in the file's "
                "language), %Y year, %y two-digit year, %H:%M time."
            ),
        ).strip()
        if written:
            formats[column] = written
    return {"path": entry, "dates": formats} if formats else entry


def words_for(kind: str) -> dict[str, Any]:
    """An event dataset's noun for one event (`labels: {event: ...}`), so every event count
    reads in the business's words ("12 orders in the last 30 days")."""
    if kind != "events":
        return {}
    noun = st.text_input(
        "What is one event here? (a singular noun: order, visit, unit; empty: event)",
        key="event-noun",
    ).strip()
    return {"labels": {"event": noun}} if noun else {}


def settings_for(kind: str) -> dict[str, Any]:
    """Churn definition, horizon and capacity, as mapping vars."""
    left, middle, right = st.columns(3)
    horizon = left.number_input(
        "Churn horizon (days)",
        min_value=7,
        max_value=365,
        value=30,
        help="Flat files: the period the churn flag covers. Events: how far ahead to predict.",
    )
    capacity = middle.number_input(
        "Customers you can contact per cycle", min_value=1, max_value=100_000, value=100
    )
    values: dict[str, Any] = {"horizon_days": int(horizon), "capacity_k": int(capacity)}
    if kind == "events":
        definition = right.radio(
            "Churn means",
            ["contractual", "non_contractual"],
            format_func=lambda d: {
                "contractual": "a subscription ends (contractual)",
                "non_contractual": "no activity for a while (non-contractual)",
            }[d],
            key="churn-definition",
        )
        values["churn_definition"] = definition
        if definition == "non_contractual":
            values["inactivity_days"] = int(
                right.number_input("Active means activity in the last (days)", 7, 730, 90)
            )
    return values


def show_problems(problems: list[validation.Problem]) -> None:
    """The same report as the CLI, as a table."""
    st.error(
        f"{len(problems)} problem(s) found; nothing was imported and the dashboard keeps "
        "serving the last good build."
    )
    st.table(validation.as_frame(problems).style.hide(axis="index"))


def validate_and_import(document: dict[str, Any], do_import: bool) -> None:
    """Save the mapping, validate it, and import it when asked and clean."""
    settings = data.settings()
    try:
        path = uploads.write_mapping(settings, document, by=auth.acting_user())
        parsed = mapping.read_mapping(path, settings)
        if not do_import:
            problems = importer.validate_mapping(parsed, settings)
            if problems:
                show_problems(problems)
            else:
                st.success(f"No problems found. Mapping saved as {path.name}.")
            return
        counts = importer.import_mapping(parsed, settings, by=auth.acting_user())
    except mapping.MappingError as error:
        show_problems(error.problems)
    except (BuildRefusedError, AccessDeniedError) as error:
        st.warning(md(f"Not imported: {error}"))
    except (OSError, duckdb.Error) as error:
        st.error(md(f"The import could not run: {str(error).splitlines()[0]} Try again."))
    else:
        rows = ", ".join(f"{table}: {count:,}" for table, count in counts.items() if count)
        st.success(
            f"Imported ({rows}); mapping saved as {path.name}. Rebuild on the Pipeline page to "
            "train, score and explain on your data."
        )
        st.page_link(
            "app_pages/pipeline_runs.py", label="Go to Pipeline", icon=":material/settings:"
        )


st.title("Your data")
st.caption(
    "Upload your files, map their columns onto Baton's data contract (docs/data-contract.md), "
    "validate, and import. Nothing reaches the dashboard until a rebuild succeeds."
)
actor = auth.acting_user()
if not actor.can_change:
    auth.operators_only(actor, "Uploading and importing data")
    st.stop()
upload_files()
available = uploads.list_uploads(data.settings())
if not available:
    st.info(
        "Upload a text (CSV, TSV, TXT, DAT), spreadsheet (XLSX, XLS, ODS), JSON (one object per "
        "line, or an array) or Parquet file to start."
    )
else:
    kind = st.radio(
        "What does your data look like?", list(KINDS), format_func=KINDS.get, key="kind"
    )
    name = st.text_input("Dataset name", value="My data", key="dataset-name").strip() or "My data"
    document = flat_mapping(available) if kind == "flat" else events_mapping(available)
    if document is not None:
        st.subheader("Settings")
        document = {"name": name, **document, **words_for(kind), "vars": settings_for(kind)}
        validate, do_import = st.columns([1, 1])
        if validate.button("Validate", icon=":material/rule:"):
            validate_and_import(document, do_import=False)
        if do_import.button("Import", type="primary", icon=":material/upload:"):
            validate_and_import(document, do_import=True)
        with st.expander("Mapping file"):
            st.code(uploads.yaml_text(document), language="yaml")
