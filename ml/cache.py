"""Reuse of ML work whose inputs did not change: Parquet files keyed by a fingerprint.

A key hashes everything a result depends on: the rows it learned from and scored (as
order-independent digests), the model configuration, and the code and library versions
that computed it. Same key, same result; any change gives a new key, so nothing is ever
invalidated by hand. Files are written atomically and the folder is pruned to the
entries the last runs used.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from ml.config import ModelConfig

LIBRARIES = ("xgboost", "scikit-learn", "numpy", "pandas")
# Distributions that install the same import package: the CPU-only wheel of XGBoost (the one
# requirements.txt pins) and the full one.
DISTRIBUTIONS = {"xgboost": ("xgboost-cpu", "xgboost")}
# Config fields that do not change what is computed for one month or one model.
NOT_IN_KEY = ("backtest_months", "capacity_k")


def folder(root: str | None, name: str) -> Path | None:
    """`root`/<name>, or None when there is no cache (the build passes its root, or None)."""
    return Path(root) / name if root else None


def installed_version(library: str) -> str | None:
    """The installed version of a library, whichever distribution installed it (None: absent)."""
    for name in DISTRIBUTIONS.get(library, (library,)):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


# The modules every fitted result depends on, backtest months and candidates alike: a change
# to any of them refits. Named here, imported when hashed (they import this module's users).
FITTING_CODE = (
    "ml.baselines",
    "ml.blend",
    "ml.calibration",
    "ml.config",
    "ml.frame",
    "ml.linear",
    "ml.train",
)


def code_version(*modules: str) -> str:
    """A hash of the source of FITTING_CODE and `modules` (dotted names), and of the numerical
    libraries' versions. Called once at import by each cache user: a long-running process
    (the app) keeps running the code it loaded."""
    digest = hashlib.sha256()
    for name in (*FITTING_CODE, *modules):
        digest.update(Path(str(importlib.import_module(name).__file__)).read_bytes())
    for library in LIBRARIES:
        digest.update(f"{library}={installed_version(library)}".encode())
    return digest.hexdigest()


def config_text(config: ModelConfig) -> str:
    """The config as canonical JSON, without fields that do not change a result."""
    fields = {k: v for k, v in asdict(config).items() if k not in NOT_IN_KEY}
    return json.dumps(fields, sort_keys=True, default=list)


def key(*parts: str) -> str:
    """One fingerprint of several parts."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def load(folder: Path | None, name: str) -> pd.DataFrame | None:
    """The stored frame, or None when it is absent or unreadable; marks it as used."""
    if folder is None:
        return None
    path = folder / f"{name}.parquet"
    try:
        frame = pd.read_parquet(path)
        os.utime(path)
    except (OSError, ValueError):
        return None
    return frame


def save(folder: Path | None, name: str, frame: pd.DataFrame, **options: Any) -> None:
    """Store a frame atomically (write a temporary file, then rename)."""
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}.{os.getpid()}.tmp"
    frame.to_parquet(temporary, index=False, **options)
    temporary.replace(folder / f"{name}.parquet")


def prune(folder: Path | None, used: Iterable[str], spare: int) -> None:
    """Keep the entries just used plus the `spare` most recently used others; drop the rest."""
    if folder is None or not folder.exists():
        return
    keep = set(used)
    others = sorted(
        (p for p in folder.glob("*.parquet") if p.stem not in keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in others[spare:]:
        if path.is_dir():  # a Parquet folder written by Spark (ml.distributed_backtest)
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
