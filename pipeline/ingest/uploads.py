"""The Data page's service: store uploads safely, preview them, guess a mapping, save it.

Uploads land in BATON_HOME/uploads under sanitized names; mapping files the page writes go
to BATON_HOME/mappings and point at uploads with relative paths, so the CLI imports the
same file (`python -m pipeline import BATON_HOME/mappings/NAME.yml`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd
import yaml

from pipeline.access import Actor, require_operator
from pipeline.ingest import archives, exports, json_files, spreadsheets, text
from pipeline.ingest.safety import UnsafePathError, lock_down, resolve_inside, sanitize_upload_name
from pipeline.settings import Settings

# Column names (lowercase, without _ - or spaces) a contract column is often called.
SYNONYMS = {
    "account_id": ("accountid", "customerid", "customer", "clientid", "userid", "id"),
    "churned": ("churned", "churn", "ischurned", "exited", "left", "attrition", "cancelled"),
    "exported_on": ("exportedon", "snapshotdate", "asof", "asofdate", "exportdate"),
    "account_name": ("accountname", "customername", "name", "company", "companyname"),
    "segment": ("segment", "customersegment", "contract"),
    "plan": ("plan", "tier", "product", "internetservice"),
    "region": ("region", "country", "state", "geography"),
    "mrr": ("mrr", "monthlycharges", "monthlyrevenue", "monthlyfee", "revenue"),
    "days_since_last_activity": ("dayssincelastactivity", "recency", "dayssincelastlogin"),
    "signup_date": ("signupdate", "createdat", "startdate", "joined"),
    "usage_date": ("usagedate", "date", "day", "activitydate"),
    "invoice_date": ("invoicedate", "date"),
    "attempted_at": ("attemptedat", "paidat", "paymentdate", "date"),
    "created_at": ("createdat", "openedat", "date"),
    "amount": ("amount", "total", "value"),
}
# Rows DuckDB's sniffer reads for a preview's types (its own default).
PREVIEW_SAMPLE_ROWS = 20_480
NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)


def save_upload(settings: Settings, name: str, content: bytes, by: Actor | None = None) -> Path:
    """Store an uploaded file under uploads/ with a safe name; refuse it if too large, or if
    the uploads kept would exceed their total size or count (BATON_MAX_UPLOADS_MB,
    BATON_MAX_UPLOADS), so uploads cannot fill the disk.

    Only an operator uploads (`by` None: this process's OS user); a viewer gets
    AccessDeniedError.
    """
    require_operator(by, "uploading data")
    safe = sanitize_upload_name(name)
    if len(content) > settings.max_file_mb * 1_000_000:
        raise UnsafePathError(
            f"{safe} is {len(content) / 1_000_000:,.1f} MB, over the {settings.max_file_mb:,.0f} "
            "MB limit (BATON_MAX_FILE_MB)."
        )
    others = [path for path in list_uploads(settings) if path.name != safe]
    if len(others) + 1 > settings.max_uploads:
        raise UnsafePathError(
            f"{safe} was not stored: {len(others)} uploads are kept already, the most allowed "
            f"(BATON_MAX_UPLOADS={settings.max_uploads}). Remove uploads you no longer need."
        )
    kept_mb = sum(path.stat().st_size for path in others) / 1_000_000
    if kept_mb + len(content) / 1_000_000 > settings.max_uploads_mb:
        raise UnsafePathError(
            f"{safe} was not stored: with it, uploads would take "
            f"{kept_mb + len(content) / 1_000_000:,.1f} MB, over the {settings.max_uploads_mb:,.0f}"
            " MB they may use together (BATON_MAX_UPLOADS_MB). Remove uploads you no longer "
            "need."
        )
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    target = resolve_inside(settings.uploads_dir, safe, [settings.uploads_dir])
    tmp = target.with_name(f".{safe}.{os.getpid()}.part")
    tmp.write_bytes(content)
    os.replace(tmp, target)
    return target


def save_uploads(
    settings: Settings, name: str, content: bytes, by: Actor | None = None
) -> list[Path]:
    """save_upload, with a zip unpacked: each data file it holds (of a kind an upload may be,
    zips aside) is stored as an upload of its own, so the Data page offers each one; other
    files (a README.pdf beside the data) are skipped."""
    if not archives.is_archive(Path(name)):
        return [save_upload(settings, name, content, by)]
    require_operator(by, "uploading data")
    files = [
        (member, data)
        for member, data in archives.unpack(content, name, settings.max_file_mb)
        if _uploadable(member) and not archives.is_archive(Path(member))
    ]
    if not files:
        raise archives.ArchiveError(f"{name} holds no file of a kind Baton reads.")
    return [save_upload(settings, member, data, by) for member, data in files]


def _uploadable(name: str) -> bool:
    try:
        sanitize_upload_name(name)
    except UnsafePathError:
        return False
    return True


def remove_upload(settings: Settings, name: str, by: Actor | None = None) -> None:
    """Delete one stored upload (by its stored name; nothing outside uploads/); operators only."""
    require_operator(by, "removing uploads")
    resolve_inside(settings.uploads_dir, sanitize_upload_name(name), [settings.uploads_dir]).unlink(
        missing_ok=True
    )


def list_uploads(settings: Settings) -> list[Path]:
    """Uploaded files, by name."""
    if not settings.uploads_dir.is_dir():
        return []
    return sorted(
        p for p in settings.uploads_dir.iterdir() if p.is_file() and not p.name.startswith(".")
    )


class Preview(NamedTuple):
    """The first rows of an upload, the type DuckDB reads each column as, and the text columns
    whose dates the mapping must decide ({column: a format that reads them, or ""}; the
    source's `dates:`)."""

    frame: pd.DataFrame
    types: dict[str, str]
    undecided_dates: dict[str, str]


def preview(settings: Settings, path: Path, rows: int = 20) -> Preview:
    """The first rows of an upload, how its columns read, and its dates to decide (Preview)."""
    path = resolve_inside(settings.uploads_dir, path.name, settings.allowed_roots)
    with duckdb.connect() as connection:
        lock_down(connection, settings.allowed_roots)
        holds = text.kind_suffix(path)
        undecided: dict[str, str] = {}
        if holds in text.TEXT_SUFFIXES:
            # The importer's reader (delimiter detected, whitespace split), on a sample.
            text.load(
                connection,
                "preview",
                path,
                delimiter=None,
                header=True,
                encoding="utf-8",
                scratch=settings.home,
                sample_size=PREVIEW_SAMPLE_ROWS,
                limit=rows,
            )
        elif holds in spreadsheets.SUFFIXES:
            spreadsheets.load(
                connection,
                "preview",
                path,
                sheet=None,
                header=True,
                max_mb=settings.max_file_mb,
                limit=rows,
            )
        elif holds in json_files.SUFFIXES:
            json_files.load(connection, "preview", path, limit=PREVIEW_SAMPLE_ROWS)
        if holds in (*text.TEXT_SUFFIXES, *spreadsheets.SUFFIXES, *json_files.SUFFIXES):
            exports.parse(connection, "preview")  # dates and amounts as the import reads them
            undecided = exports.undecided_dates(connection, "preview")
            relation = connection.table("preview")
        else:
            relation = connection.sql(
                "select * from read_parquet($path)", params={"path": str(path)}
            )
        types = {
            name: str(kind) for name, kind in zip(relation.columns, relation.types, strict=True)
        }
        frame = relation.limit(rows).df()
    return Preview(frame, types, undecided)


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


def guess_column(contract_column: str, columns: list[str]) -> str | None:
    """The file column most likely meant for a contract column, or None."""
    by_name = {_squash(c): c for c in columns}
    for candidate in (_squash(contract_column), *SYNONYMS.get(contract_column, ())):
        if candidate in by_name:
            return by_name[candidate]
    return None


def feature_name(column: str) -> str:
    """A snake_case feature name for a file column (MonthlyCharges -> monthly_charges)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", column.strip())
    name = re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"f_{name}"
    return name[:60]


def feature_label(column: str) -> str:
    """A plain label for a file column (MonthlyCharges -> Monthly charges)."""
    words = feature_name(column).removeprefix("f_").replace("_", " ")
    return words[:1].upper() + words[1:]


def guess_kind(duckdb_type: str) -> str:
    """numeric for number columns, categorical for everything else."""
    return "numeric" if duckdb_type.upper().startswith(NUMERIC_TYPES) else "categorical"


def mapping_path(settings: Settings, name: str) -> Path:
    """Where the Data page saves the mapping of a dataset called `name`."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60] or "my_data"
    return settings.mappings_dir / f"{slug}.yml"


def source_entry(upload: Path) -> str:
    """A mapping's path to an upload, relative to the mappings folder."""
    return f"../uploads/{upload.name}"


def yaml_text(document: dict[str, Any]) -> str:
    """A mapping document as the YAML the page saves."""
    header = "# Written by the Data page. Import again with: python -m pipeline import THIS_FILE\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def write_mapping(settings: Settings, document: dict[str, Any], by: Actor | None = None) -> Path:
    """Save a mapping document as YAML under BATON_HOME/mappings; returns its path.

    Only an operator saves one (`by` None: this process's OS user); a viewer gets
    AccessDeniedError.
    """
    require_operator(by, "saving a mapping")
    path = mapping_path(settings, str(document.get("name", "")))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(yaml_text(document))
    os.replace(tmp, path)
    return path
