"""What produced a build, and what changed between two builds, with who owns each change.

A fingerprint holds every dbt node's checksum (from the manifest) and the macros it uses,
the dbt vars, a hash per module of the code the Python models run (`ml/`, `monitoring/`),
library versions, the git commit when there is one, and per raw source its rows, newest date
and an order-independent content digest. It is taken before dbt builds (after a `dbt parse`),
so the build itself can tell a change in the pipeline from a change in the world.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from ml.cache import installed_version
from pipeline.settings import ROOT, Settings

CODE_PACKAGES = ("ml", "monitoring")
LIBRARIES = (
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "xgboost",
    "scikit-learn",
    "pandas",
    "numpy",
    "scipy",
)
# Change kinds, and who acts on each (the hand-off Baton is for).
CODE, CONFIG, DATA, ENVIRONMENT = "code", "config", "data", "environment"
ANALYTICS, ML, DATA_OWNER = "analytics engineer", "ML engineer", "data engineer (source owner)"
# dbt vars that steer the model rather than the transformations.
ML_VARS = frozenset(
    {
        "capacity_k", "backtest_months", "min_train_months", "include_features",
        "exclude_features", "xgboost_params", "promotion_tolerance",
    }
)  # fmt: skip
# dbt vars that change what the feature mart computes (the others change words, monitors or
# the model's settings).
FEATURE_VARS = frozenset(
    {
        "churn_definition",
        "horizon_days",
        "inactivity_days",
        "as_of",
        "dataset_kind",
        "flat_features",
    }
)
# Vars that describe where a build reads and writes, not what it computes.
CONTEXT_VARS = frozenset({"baton"})
# A raw table's newest date is read from its first date or timestamp column.
DATE_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")


@dataclass(frozen=True)
class Change:
    """One difference between two builds: what kind, which thing, who owns it, and why."""

    kind: str
    name: str
    owner: str
    detail: str
    # Model layer of a dbt node (staging, intermediate, marts, ml, monitoring), else "".
    layer: str = ""
    # True when the feature mart (and so the model's inputs) is downstream of it.
    feeds_features: bool = False


@dataclass
class Fingerprint:
    """Everything a build was made from (plain data, kept in the run record)."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    macros: dict[str, str] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict)
    code: dict[str, str] = field(default_factory=dict)
    libraries: dict[str, str] = field(default_factory=dict)
    git: dict[str, Any] | None = None
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the run record."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Fingerprint | None:
        """The fingerprint a run record kept (None for builds made before fingerprints)."""
        return cls(**data) if data else None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def dbt_nodes(manifest: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(models and snapshots: checksum, file, layer, macros, parents; project macros: hash)."""
    nodes = {}
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in ("model", "snapshot", "seed"):
            continue
        fqn = node.get("fqn") or []
        nodes[unique_id] = {
            "checksum": (node.get("checksum") or {}).get("checksum", ""),
            "path": node.get("original_file_path", ""),
            "layer": fqn[1] if len(fqn) > 2 else "",
            "macros": sorted(node.get("depends_on", {}).get("macros", [])),
            "parents": sorted(node.get("depends_on", {}).get("nodes", [])),
        }
    macros = {
        unique_id: _sha(macro.get("macro_sql", "").encode())
        for unique_id, macro in manifest.get("macros", {}).items()
        if macro.get("package_name") == manifest.get("metadata", {}).get("project_name", "baton")
    }
    return nodes, macros


def code_hashes() -> dict[str, str]:
    """A hash per module of the code the dbt Python models run: the packages as imported
    (so a checkout on PYTHONPATH is the code hashed, not the files beside this one)."""
    hashes = {}
    for package in CODE_PACKAGES:
        folder = Path(next(iter(importlib.import_module(package).__path__)))
        for path in sorted(folder.glob("*.py")):
            hashes[f"{package}/{path.name}"] = _sha(path.read_bytes())
    return hashes


def library_versions() -> dict[str, str]:
    """Versions of the libraries that compute a build."""
    found = {library: installed_version(library) for library in LIBRARIES}
    return {library: version for library, version in found.items() if version is not None}


def git_state() -> dict[str, Any] | None:
    """The commit the project is at and whether its files differ from it (None without git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if commit.returncode != 0:
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def raw_schema(connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """Per raw table, its columns and types in order."""
    rows = connection.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'main' order by table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(str(table), []).append((str(column), str(data_type)))
    return tables


def data_fingerprints(raw_path: Path) -> dict[str, dict[str, Any]]:
    """Per raw table: rows, newest date and an order-independent digest of every row."""
    found: dict[str, dict[str, Any]] = {}
    if not raw_path.exists():
        return found
    with duckdb.connect(str(raw_path), read_only=True) as connection:
        for table, typed in raw_schema(connection).items():
            dated = next((c for c, t in typed if t.upper() in DATE_TYPES), None)
            newest = f'max("{dated}")' if dated else "null"
            rows, digest, latest = connection.execute(
                f'select count(*), bit_xor(hash(t)), {newest} from "{table}" as t'
            ).fetchall()[0]
            found[table] = {
                "rows": int(rows),
                "digest": str(digest),
                "newest": str(latest) if latest is not None else None,
            }
    return found


def take(
    settings: Settings, manifest_path: Path, dbt_vars: dict[str, Any], defaults: dict[str, Any]
) -> Fingerprint:
    """The fingerprint of the build about to run (the manifest of its `dbt parse`)."""
    import time

    started = time.time()
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    nodes, macros = dbt_nodes(manifest)
    effective = {
        name: value for name, value in {**defaults, **dbt_vars}.items() if name not in CONTEXT_VARS
    }
    fingerprint = Fingerprint(
        nodes=nodes,
        macros=macros,
        vars=effective,
        code=code_hashes(),
        libraries=library_versions(),
        git=git_state(),
        data=data_fingerprints(settings.raw_path),
    )
    fingerprint.seconds = round(time.time() - started, 3)
    return fingerprint


def _feeds_features(unique_id: str, nodes: dict[str, dict[str, Any]]) -> bool:
    """True when the feature mart the model reads is `unique_id` or downstream of it."""
    marts = [n for n in nodes if n.endswith((".customer_snapshots", ".flat_customer_snapshots"))]
    seen, todo = set(), list(marts)
    while todo:
        current = todo.pop()
        if current == unique_id:
            return True
        if current in seen:
            continue
        seen.add(current)
        todo.extend(nodes.get(current, {}).get("parents", []))
    return False


def _node_owner(layer: str) -> str:
    return ML if layer == "ml" else ANALYTICS


def compare(before: Fingerprint, after: Fingerprint) -> list[Change]:
    """Every difference from `before` to `after`, with its kind, owner and detail."""
    changes: list[Change] = []
    macro_users: dict[str, list[str]] = {}
    for unique_id, node in after.nodes.items():
        for macro in node["macros"]:
            macro_users.setdefault(macro, []).append(unique_id)
    for unique_id in sorted(set(before.nodes) | set(after.nodes)):
        old, new = before.nodes.get(unique_id), after.nodes.get(unique_id)
        if old is not None and new is not None and old["checksum"] == new["checksum"]:
            continue
        node = new or old or {}
        layer = node.get("layer", "")
        what = "added" if old is None else "removed" if new is None else "changed"
        changes.append(
            Change(
                CODE,
                unique_id.split(".")[-1],
                _node_owner(layer),
                f"dbt {layer or 'node'} {what} ({node.get('path', '')})",
                layer,
                new is not None and _feeds_features(unique_id, after.nodes),
            )
        )
    for macro in sorted(set(before.macros) | set(after.macros)):
        if before.macros.get(macro) == after.macros.get(macro):
            continue
        users = macro_users.get(macro, [])
        used_by = ", ".join(user.split(".")[-1] for user in users) or "no model"
        changes.append(
            Change(
                CODE,
                macro.split(".")[-1],
                ANALYTICS,
                f"dbt macro changed, used by {used_by}",
                "macros",
                any(_feeds_features(user, after.nodes) for user in users),
            )
        )
    for module in sorted(set(before.code) | set(after.code)):
        if before.code.get(module) != after.code.get(module):
            owner = ANALYTICS if module.startswith("monitoring/") else ML
            changes.append(Change(CODE, module, owner, "Python module the dbt models run changed"))
    for name in sorted(set(before.vars) | set(after.vars)):
        if before.vars.get(name) != after.vars.get(name):
            owner = ML if name in ML_VARS else ANALYTICS
            detail = f"dbt var {before.vars.get(name)!r} -> {after.vars.get(name)!r}"
            changes.append(Change(CONFIG, name, owner, detail, "", name in FEATURE_VARS))
    for library in sorted(set(before.libraries) | set(after.libraries)):
        if before.libraries.get(library) != after.libraries.get(library):
            detail = f"{before.libraries.get(library)} -> {after.libraries.get(library)}"
            changes.append(Change(ENVIRONMENT, library, ML, f"library version {detail}"))
    for table in sorted(set(before.data) | set(after.data)):
        old_data, new_data = before.data.get(table) or {}, after.data.get(table) or {}
        if old_data.get("digest") != new_data.get("digest"):
            detail = (
                f"{old_data.get('rows', 0):,} -> {new_data.get('rows', 0):,} rows, newest "
                f"{old_data.get('newest')} -> {new_data.get('newest')}"
            )
            changes.append(Change(DATA, table, DATA_OWNER, detail, "", True))
    return changes
