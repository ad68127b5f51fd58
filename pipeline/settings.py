"""Every path and default of Baton, resolved from one root and the BATON_HOME variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = ROOT / "dbt_project"
# Where mapping files may read data from besides BATON_HOME (BATON_DATA_DIR overrides):
# `data/` in the project and the team's shared datasets folder next to it.
DEFAULT_DATA_DIRS = (ROOT / "data", ROOT.parent / "shared" / "datasets")
DEFAULT_MAX_FILE_MB = 500.0
# DuckDB's own memory (buffer pool) in a build and in demo generation; beyond it DuckDB spills
# to disk. DuckDB's default (80% of RAM) would alone exceed the 12 GiB budget at 1M customers,
# and the Python models' pandas/XGBoost memory comes on top. dbt_project/profiles.yml repeats it.
DEFAULT_DUCKDB_MEMORY_LIMIT = "4GiB"
# A build that runs longer than this is stopped and recorded as failed (BATON_BUILD_TIMEOUT,
# seconds): the 1M-customer benchmark builds in about 13 minutes on 2 cores.
DEFAULT_BUILD_TIMEOUT_SECONDS = 3600.0
# Most a build's DuckDB may spill to BATON_HOME/build/tmp (BATON_BUILD_MAX_SPILL), and the
# free disk a build keeps (BATON_MIN_FREE_DISK_GB): below it a build does not start, and a
# running build is stopped.
DEFAULT_BUILD_MAX_SPILL = "20GiB"
DEFAULT_MIN_FREE_DISK_GB = 1.0
# dbt nodes a DuckDB build runs at once (BATON_BUILD_THREADS): SQL models and data tests run
# beside one another and beside a Python model, whose rows wait on the database and whose
# fits leave a core idle part of the time; Python models that hold a feature mart take turns
# (ml.relations.one_at_a_time), so memory stays that of one. 4 threads halved a daily build's
# wall time on 2 cores against 1 (docs/speed.md).
DEFAULT_BUILD_THREADS = 4
# An import that computes and checks its tables longer than this is stopped
# (BATON_IMPORT_TIMEOUT, seconds).
DEFAULT_IMPORT_TIMEOUT_SECONDS = 900.0
# Uploads kept in BATON_HOME/uploads, in total (BATON_MAX_UPLOADS_MB) and in number
# (BATON_MAX_UPLOADS).
DEFAULT_MAX_UPLOADS_MB = 2000.0
DEFAULT_MAX_UPLOADS = 50


def _positive(name: str, default: float) -> float:
    """A positive number from the environment variable `name`, else the default."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


# The engines a build can run on (BATON_ENGINE): DuckDB in-process (the default), or Apache
# Spark in a local session (dbt-spark's `session` method; docs/spark.md). Either way the app
# reads a DuckDB file: a Spark build publishes its tables into one (pipeline/build/spark.py).
ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
# The Spark driver's memory (BATON_SPARK_MEMORY), fixed when the local session starts; with
# `local[*]` the executors run inside the driver, so this bounds the whole Spark build.
DEFAULT_SPARK_MEMORY = "4g"


def _data_dirs() -> tuple[Path, ...]:
    """BATON_DATA_DIR (folders separated by `:`), else the defaults; resolved."""
    configured = os.environ.get("BATON_DATA_DIR", "")
    folders = [Path(p) for p in configured.split(os.pathsep) if p.strip()] or DEFAULT_DATA_DIRS
    return tuple(Path(folder).expanduser().resolve() for folder in folders)


def _max_file_mb() -> float:
    """BATON_MAX_FILE_MB, else the default; a bad value falls back to the default."""
    try:
        return float(os.environ.get("BATON_MAX_FILE_MB", DEFAULT_MAX_FILE_MB))
    except ValueError:
        return DEFAULT_MAX_FILE_MB


def _ml_cache_on() -> bool:
    """BATON_ML_CACHE=off computes every ML result afresh (e.g. to time a cold build)."""
    return os.environ.get("BATON_ML_CACHE", "").strip().lower() not in ("off", "0", "false")


def _project_dir() -> Path:
    """BATON_PROJECT_DIR (a checkout of the dbt project elsewhere, e.g. to preview a branch),
    else the project's own dbt_project/."""
    configured = os.environ.get("BATON_PROJECT_DIR", "").strip()
    return Path(configured).expanduser().resolve() if configured else DBT_PROJECT_DIR


def build_timeout_seconds() -> float:
    """BATON_BUILD_TIMEOUT (seconds a build may run), else the default."""
    return _positive("BATON_BUILD_TIMEOUT", DEFAULT_BUILD_TIMEOUT_SECONDS)


def build_max_spill() -> str:
    """BATON_BUILD_MAX_SPILL (a DuckDB size such as 20GiB), else the default."""
    return os.environ.get("BATON_BUILD_MAX_SPILL", "").strip() or DEFAULT_BUILD_MAX_SPILL


def build_threads() -> int:
    """BATON_BUILD_THREADS (dbt threads of a DuckDB build, at least 1), else the default."""
    return max(1, int(_positive("BATON_BUILD_THREADS", DEFAULT_BUILD_THREADS)))


def min_free_disk_gb() -> float:
    """BATON_MIN_FREE_DISK_GB (free disk a build keeps, in GB), else the default."""
    return _positive("BATON_MIN_FREE_DISK_GB", DEFAULT_MIN_FREE_DISK_GB)


def import_timeout_seconds() -> float:
    """BATON_IMPORT_TIMEOUT (seconds an import may compute and check), else the default."""
    return _positive("BATON_IMPORT_TIMEOUT", DEFAULT_IMPORT_TIMEOUT_SECONDS)


def _engine() -> str:
    """BATON_ENGINE (duckdb or spark, any case), else duckdb; anything else is kept as given
    so the build can refuse it with a message (pipeline.build.rebuild.check_engine)."""
    return os.environ.get("BATON_ENGINE", "").strip().lower() or DEFAULT_ENGINE


def spark_memory() -> str:
    """BATON_SPARK_MEMORY (a JVM size such as 4g or 2048m), else the default."""
    return os.environ.get("BATON_SPARK_MEMORY", "").strip() or DEFAULT_SPARK_MEMORY


def duckdb_memory_limit() -> str:
    """BATON_DUCKDB_MEMORY_LIMIT (a DuckDB size such as 4GiB or 800MB), else the default."""
    return os.environ.get("BATON_DUCKDB_MEMORY_LIMIT", "").strip() or DEFAULT_DUCKDB_MEMORY_LIMIT


@dataclass(frozen=True)
class Settings:
    """Where Baton keeps raw data, warehouses, run history and the build lock."""

    home: Path
    # Folders besides `home` that mapping files and uploads may read (BATON_DATA_DIR).
    data_dirs: tuple[Path, ...] = field(default_factory=_data_dirs)
    # Source files larger than this are refused before they are read (BATON_MAX_FILE_MB).
    max_file_mb: float = field(default_factory=_max_file_mb)
    # Reuse backtest months and candidates whose inputs did not change (BATON_ML_CACHE).
    ml_cache: bool = field(default_factory=_ml_cache_on)
    # The dbt project a build runs (BATON_PROJECT_DIR).
    project_dir: Path = field(default_factory=_project_dir)

    # Uploads kept at once: total size (BATON_MAX_UPLOADS_MB) and count (BATON_MAX_UPLOADS).
    max_uploads_mb: float = field(
        default_factory=lambda: _positive("BATON_MAX_UPLOADS_MB", DEFAULT_MAX_UPLOADS_MB)
    )
    max_uploads: int = field(
        default_factory=lambda: int(_positive("BATON_MAX_UPLOADS", DEFAULT_MAX_UPLOADS))
    )

    # What dbt builds on: duckdb (default) or spark (BATON_ENGINE).
    engine: str = field(default_factory=_engine)

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        """The only folders a mapping's source paths may resolve into."""
        return (self.home.resolve(), *self.data_dirs)

    @property
    def uploads_dir(self) -> Path:
        """Files uploaded on the Data page, under sanitized names."""
        return self.home / "uploads"

    @property
    def mappings_dir(self) -> Path:
        """Mapping files saved by the Data page."""
        return self.home / "mappings"

    @property
    def history_path(self) -> Path:
        """dbt snapshots of flat customer exports, accumulated build after build."""
        return self.home / "history.duckdb"

    @property
    def raw_path(self) -> Path:
        """The raw-data DuckDB file the dbt sources read (attached read-only)."""
        return self.home / "raw.duckdb"

    @property
    def dataset_path(self) -> Path:
        """JSON naming the dataset in raw.duckdb and the dbt vars its builds use."""
        return self.home / "dataset.json"

    @property
    def registry_path(self) -> Path:
        """Model versions and the one in service, kept across builds."""
        return self.home / "registry.duckdb"

    @property
    def build_dir(self) -> Path:
        """Scratch folder of the build in progress; wiped at the start of every build."""
        return self.home / "build"

    @property
    def build_warehouse_path(self) -> Path:
        """The DuckDB file dbt writes to; a constant path so partial parsing is reused."""
        return self.build_dir / "warehouse.duckdb"

    @property
    def context_path(self) -> Path:
        """Per-build facts dbt reads as the `context` source (pipeline/build/context.py)."""
        return self.build_dir / "context.duckdb"

    @property
    def spark_dir(self) -> Path:
        """A Spark build's scratch: its tables, the raw data as Parquet, spill (build_dir)."""
        return self.build_dir / "spark"

    @property
    def ml_cache_dir(self) -> Path | None:
        """Where the ML layer keeps results it can reuse (None when BATON_ML_CACHE is off)."""
        return self.home / "cache" if self.ml_cache else None

    @property
    def warehouses_dir(self) -> Path:
        """Published warehouses, one immutable file per successful build."""
        return self.home / "warehouses"

    @property
    def current_pointer(self) -> Path:
        """JSON file naming the warehouse in service; replaced atomically on publish."""
        return self.home / "current.json"

    @property
    def runs_dir(self) -> Path:
        """Run history: one JSON record per build."""
        return self.home / "runs"

    @property
    def actions_path(self) -> Path:
        """Who imported data or chose the model, one JSON line each (builds are in runs/)."""
        return self.home / "actions.jsonl"

    @property
    def previews_dir(self) -> Path:
        """Previews: builds of a changed project, compared with the serving one, never published."""
        return self.home / "previews"

    @property
    def lock_path(self) -> Path:
        """The cross-process build lock."""
        return self.home / "build.lock"

    @property
    def dbt_target_dir(self) -> Path:
        """dbt's target folder (manifest, partial-parse state), kept between builds."""
        return self.home / "dbt_target"

    @property
    def dbt_log_dir(self) -> Path:
        """dbt's log folder."""
        return self.home / "dbt_logs"

    def ensure(self) -> Settings:
        """Create the folders Baton writes to and return self."""
        for folder in (self.home, self.build_dir, self.warehouses_dir, self.runs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def ensure_if_writable(self) -> Settings:
        """ensure() where the home is writable; serving needs read access only, so a
        read-only BATON_HOME (a read-only mount, an app user without write access) is fine."""
        try:
            return self.ensure()
        except OSError:
            return self


def project_vars(project_dir: Path = DBT_PROJECT_DIR) -> dict[str, Any]:
    """The dbt vars' defaults, from their one home (dbt_project/dbt_project.yml)."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(project.get("vars") or {})


def get_settings() -> Settings:
    """Settings for the current environment (BATON_HOME, default `.baton/` in the project)."""
    home = Path(os.environ.get("BATON_HOME", ROOT / ".baton")).expanduser().resolve()
    return Settings(home=home)
