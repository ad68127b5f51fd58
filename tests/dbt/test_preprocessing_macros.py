"""The SQL preprocessing macros match scikit-learn, keep every row, and never re-fit at scoring.

A throwaway dbt project in tmp_path runs the real macro files (dbt_project/macros/preprocessing)
through `dbt run` on numpy-generated tables: the models in tests/dbt/preprocessing/models fit on
`train` and apply to `score`, and the results are compared with scikit-learn fitted on the same
training rows and applied to the same scoring rows.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
MACRO_DIR = REPO_ROOT / "dbt_project" / "macros" / "preprocessing"
MODEL_DIR = Path(__file__).parent / "preprocessing" / "models"
DBT = Path(sys.executable).with_name("dbt")

TOLERANCE = 1e-9
SEED = 20240601
N_TRAIN = 400
N_SCORE = 160
NUMERIC = ["amount", "balance", "tenure", "constant_value"]
SCHEMA = pa.schema(
    [
        ("id", pa.int32()),
        ("amount", pa.float64()),
        ("balance", pa.float64()),
        ("tenure", pa.int32()),
        ("constant_value", pa.float64()),
        ("tie_value", pa.int32()),
        ("segment", pa.string()),
        ("region", pa.string()),
        ("plan_code", pa.int32()),
    ]
)
SEGMENT_WEIGHTS = {
    "basic": 0.26,
    "O'Brien & Co": 0.14,
    "a b": 0.11,
    "a-b": 0.09,
    "Other": 0.07,
    "Premium": 0.07,
    "premium": 0.06,
    "NULL": 0.05,
    "café": 0.04,
    "": 0.03,
    "rare one": 0.012,
    "rare 'two'": 0.008,
    None: 0.04,
}
# Exact counts: a most-frequent tie (north/south) and a max_categories tie (east/west).
REGION_COUNTS = {
    "north": 110,
    "south": 110,
    "east": 65,
    "west": 65,
    "north east": 40,
    "far-away": 7,
    None: 3,
}
TIE_COUNTS = {-3: 100, 4: 100, 8: 80, 12: 80, None: 40}
SCALERS: dict[str, type[StandardScaler] | type[MinMaxScaler]] = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
}
FIRST_CUTOFF = date(2024, 1, 1)
SECOND_CUTOFF = date(2024, 2, 1)
UNFITTED_CUTOFF = date(2024, 3, 1)
FIRST_WINDOW_MAX_ID = 250

Columns = dict[str, list[Any]]

PROJECT_YML = """\
name: preprocessing_check
version: "1.0"
config-version: 2
profile: preprocessing_check
model-paths: ["models"]
macro-paths: [{macros}]
flags:
  send_anonymous_usage_stats: false
  # The macros' yml must document their real arguments with valid types.
  validate_macro_args: true
  warn_error_options:
    error: [InvalidMacroAnnotation]
models:
  preprocessing_check:
    +materialized: table
"""
PROFILES_YML = """\
preprocessing_check:
  target: base
  outputs:
    base:
      type: duckdb
      path: {base}
      threads: 1
    shifted:
      type: duckdb
      path: {shifted}
      threads: 1
"""


@dataclass(frozen=True)
class Inputs:
    """The generated tables, column by column (None is SQL null)."""

    train: Columns
    score: Columns
    shifted_score: Columns
    train_windows: Columns
    score_windows: Columns


@dataclass(frozen=True)
class Table:
    """A table read back from a warehouse: column names in order and rows in order."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def column(self, name: str) -> list[Any]:
        """The values of one column, in row order."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        """Numeric columns as a float matrix, null as NaN."""
        return numeric_matrix({name: self.column(name) for name in names}, names)


def with_nulls(values: list[object], count: int, rng: np.random.Generator) -> list[object]:
    """`values` with `count` of them, at random positions, replaced by None."""
    out = list(values)
    for index in rng.choice(len(out), size=count, replace=False):
        out[int(index)] = None
    return out


def shuffled_counts(counts: dict[Any, int], rng: np.random.Generator) -> list[object]:
    """Each key repeated its count of times, in random order."""
    values = [key for key, count in counts.items() for _ in range(count)]
    return [values[int(i)] for i in rng.permutation(len(values))]


def choices(options: dict[Any, float], size: int, rng: np.random.Generator) -> list[object]:
    """`size` draws from `options` (value -> weight); values may be None."""
    values = list(options)
    weights = np.array(list(options.values()))
    return [values[int(i)] for i in rng.choice(len(values), size=size, p=weights / weights.sum())]


def generate_inputs(seed: int = SEED) -> Inputs:
    """Training and scoring rows with negatives, nulls, awkward and unseen categories."""
    rng = np.random.default_rng(seed)
    train: Columns = {
        "id": list(range(1, N_TRAIN + 1)),
        "amount": with_nulls(list(rng.normal(-20, 60, N_TRAIN)), 40, rng),  # 360 values: even
        "balance": with_nulls(list(rng.lognormal(3, 1, N_TRAIN) - 30), 41, rng),  # 359: odd
        "tenure": with_nulls([int(v) for v in rng.integers(0, 121, N_TRAIN)], 25, rng),
        "constant_value": with_nulls([3.7] * N_TRAIN, 12, rng),
        "tie_value": shuffled_counts(TIE_COUNTS, rng),
        "segment": choices(SEGMENT_WEIGHTS, N_TRAIN, rng),
        "region": shuffled_counts(REGION_COUNTS, rng),
        "plan_code": choices({-3: 30, 1: 28, 2: 20, 10: 15, 7: 1.5, None: 5.5}, N_TRAIN, rng),
    }
    amount = list(rng.normal(0, 150, N_SCORE))
    amount[:2] = [1e4, -1e4]
    unseen_segments = {"brand new": 0.1, "Zeta 'quoted'": 0.05}
    score: Columns = {
        "id": [int(v) for v in rng.permutation(N_SCORE) + 1001],
        "amount": with_nulls(amount, 15, rng),
        "balance": with_nulls(list(rng.lognormal(3, 1.5, N_SCORE) - 60), 10, rng),
        "tenure": with_nulls([int(v) for v in rng.integers(-20, 400, N_SCORE)], 8, rng),
        "constant_value": with_nulls(choices({3.7: 1, 0.0: 1, -5.0: 1}, N_SCORE, rng), 5, rng),
        "tie_value": with_nulls(choices({-3: 1, 4: 1, 8: 1, 12: 1, 50: 1}, N_SCORE, rng), 10, rng),
        "segment": choices(SEGMENT_WEIGHTS | unseen_segments, N_SCORE, rng),
        "region": choices(dict.fromkeys([*REGION_COUNTS, "atlantis"], 1.0), N_SCORE, rng),
        "plan_code": choices({-3: 1, 1: 1, 2: 1, 10: 1, 7: 1, 99: 1, None: 1}, N_SCORE, rng),
    }
    return Inputs(
        train=train,
        score=score,
        shifted_score=shift(score),
        train_windows=windowed_training(train),
        score_windows=windowed_scoring(score),
    )


def shift(score: Columns) -> Columns:
    """The scoring rows with a drastically different distribution and only unseen categories."""

    def moved(name: str, scale: float, offset: float) -> list[object]:
        return [None if v is None else v * scale + offset for v in score[name]]

    return score | {
        "amount": moved("amount", 100, 1e4),
        "balance": moved("balance", 50, -1e3),
        "tenure": [None if v is None else int(v) + 1000 for v in score["tenure"]],
        "constant_value": moved("constant_value", 1, 1e6),
        "segment": [f"unseen {i % 3}" for i in range(N_SCORE)],
        "region": ["atlantis"] * N_SCORE,
        "plan_code": [99 + i % 2 for i in range(N_SCORE)],
    }


def windowed_training(train: Columns) -> Columns:
    """Walk-forward training sets in one table: rows known at each cutoff, tagged with it."""
    first = [i for i, row_id in enumerate(train["id"]) if int(row_id) <= FIRST_WINDOW_MAX_ID]
    rows = first + list(range(N_TRAIN))
    out = {name: [values[i] for i in rows] for name, values in train.items()}
    out["fit_cutoff"] = [FIRST_CUTOFF] * len(first) + [SECOND_CUTOFF] * N_TRAIN
    return out


def windowed_scoring(score: Columns) -> Columns:
    """Scoring rows of two fitted windows and of one window that was never fitted."""
    cutoffs = [FIRST_CUTOFF] * 70 + [SECOND_CUTOFF] * 70
    return score | {"fit_cutoff": cutoffs + [UNFITTED_CUTOFF] * (N_SCORE - len(cutoffs))}


def write_table(con: duckdb.DuckDBPyConnection, name: str, columns: Columns) -> None:
    """Create (or replace) table `name` with exact types and real SQL nulls."""
    schema = (
        SCHEMA.append(pa.field("fit_cutoff", pa.date32())) if "fit_cutoff" in columns else SCHEMA
    )
    data = pa.table({field.name: pa.array(columns[field.name], field.type) for field in schema})
    con.register("incoming", data)
    con.execute(f'create or replace table main."{name}" as select * from incoming')
    con.unregister("incoming")


def run_dbt(project: Path, *args: str) -> None:
    """Run the dbt CLI on the throwaway project; fail the test with dbt's output.

    A subprocess, not dbtRunner: dbt-duckdb keeps the warehouse open in the process that ran
    it, and one in-process invocation at a time would also collide with other test modules.
    """
    command = [
        str(DBT),
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(project / "target"),
        "--log-path",
        str(project / "logs"),
        "--no-use-colors",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.fail(f"dbt {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}")


def read(warehouse: Path, table: str) -> Table:
    """Every row of `table` in the order DuckDB stores them."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relation = con.sql(f'select * from main."{table}"')
        return Table(columns=list(relation.columns), rows=relation.fetchall())


def numeric_matrix(columns: Columns, names: Sequence[str]) -> np.ndarray:
    """Numeric columns as a float matrix, None as NaN (scikit-learn's missing value)."""
    return np.array(
        [[np.nan if v is None else float(v) for v in columns[name]] for name in names],
        dtype=float,
    ).T


def object_matrix(columns: Columns, names: Sequence[str]) -> np.ndarray:
    """Text columns as an object matrix, None kept (scikit-learn's missing category)."""
    matrix = np.empty((len(columns[names[0]]), len(names)), dtype=object)
    for j, name in enumerate(names):
        matrix[:, j] = columns[name]
    return matrix


def encoder_input(columns: Columns, name: str) -> np.ndarray:
    """One categorical column as scikit-learn sees it: floats with NaN, or objects with None."""
    if SCHEMA.field(name).type == pa.string():
        return object_matrix(columns, [name])
    return numeric_matrix(columns, [name])


def category_key(name: str, value: Any) -> Any:
    """One spelling of a category for sklearn's and the macros' values: None, float or str."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return str(value) if SCHEMA.field(name).type == pa.string() else float(value)


def select_rows(columns: Columns, indices: Sequence[int]) -> Columns:
    """The rows at `indices`, in that order."""
    return {name: [values[i] for i in indices] for name, values in columns.items()}


def scaler_training(model: str, train: Columns) -> Columns:
    """The rows each scaler fit reads: all of them, or those its `where` keeps (minmax)."""
    if model == "standard":
        return train
    return select_rows(train, [i for i, row_id in enumerate(train["id"]) if row_id % 4 != 0])


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Same shape, same null positions, absolute difference at most TOLERANCE."""
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE)


def assert_same_rows_and_passthrough(table: Table, source: Columns, transformed: list[str]) -> None:
    """Every source row, in order, with the columns that were not transformed unchanged."""
    assert table.column("id") == source["id"]
    for name in source:
        if name in table.columns and name not in transformed:
            assert table.column(name) == source[name], name


@dataclass(frozen=True)
class Encoding:
    """What scikit-learn's encoder gives for one column, named with the macros' columns."""

    output_columns: list[str]
    values: np.ndarray
    infrequent: set[object]


def sklearn_encoding(
    fitted: Table, train: Columns, score: Columns, name: str, options: dict[str, object]
) -> Encoding:
    """Fit OneHotEncoder on `train`, transform `score`, name its outputs from the fit table."""
    encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False, **options)
    encoder.fit(encoder_input(train, name))
    # infrequent_categories_ exists only with min_frequency/max_categories; None: none rare.
    rare = encoder.infrequent_categories_[0] if options else None
    infrequent = set() if rare is None else {category_key(name, v) for v in rare}
    output_of = {
        category_key(name, category): output
        for column, category, output in zip(
            fitted.column("column_name"),
            fitted.column("category"),
            fitted.column("output_column"),
            strict=True,
        )
        if column == name
    }
    outputs = [
        output_of[category_key(name, category)]
        for category in encoder.categories_[0]
        if category_key(name, category) not in infrequent
    ]
    if infrequent:
        outputs.append(f"{name}__other")
    return Encoding(outputs, encoder.transform(encoder_input(score, name)), infrequent)


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    """The generated tables (seeded)."""
    return generate_inputs()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dbt project in tmp whose macros are the repository's preprocessing macro files."""
    root = tmp_path_factory.mktemp("preprocessing-project")
    shutil.copytree(MODEL_DIR, root / "models")
    (root / "dbt_project.yml").write_text(PROJECT_YML.format(macros=json.dumps(str(MACRO_DIR))))
    (root / "profiles.yml").write_text(
        PROFILES_YML.format(
            base=json.dumps(str(root / "base.duckdb")),
            shifted=json.dumps(str(root / "shifted.duckdb")),
        )
    )
    return root


@pytest.fixture(scope="module")
def base(project: Path, inputs: Inputs) -> Path:
    """The warehouse after `dbt run`: every fit on `train`, every apply on `score`."""
    warehouse = project / "base.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        write_table(con, "train", inputs.train)
        write_table(con, "score", inputs.score)
        write_table(con, "train_windows", inputs.train_windows)
        write_table(con, "score_windows", inputs.score_windows)
    run_dbt(project, "run", "--target", "base")
    return warehouse


@pytest.fixture(scope="module")
def shifted(project: Path, inputs: Inputs, base: Path) -> Path:
    """A copy of `base` whose scoring rows shifted drastically, with only the applies re-run."""
    warehouse = project / "shifted.duckdb"
    shutil.copyfile(base, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        write_table(con, "score", inputs.shifted_score)
    run_dbt(project, "run", "--target", "shifted", "--select", "applied")
    return warehouse


@pytest.mark.parametrize("model", ["standard", "minmax"])
def test_scaled_scoring_rows_match_sklearn_fitted_on_training_rows(
    base: Path, inputs: Inputs, model: str
) -> None:
    training = scaler_training(model, inputs.train)
    fitted = SCALERS[model]().fit(numeric_matrix(training, NUMERIC))
    expected = fitted.transform(numeric_matrix(inputs.score, NUMERIC))

    table = read(base, f"applied_{model}")

    assert table.columns == SCHEMA.names
    assert_same_rows_and_passthrough(table, inputs.score, NUMERIC)
    assert_close(table.matrix(NUMERIC), expected)
    # Scoring values beyond the training range stay beyond it: nothing clips them.
    if model == "minmax":
        assert (table.matrix(["amount"]) > 1).any()
        assert (table.matrix(["amount"]) < 0).any()


def test_single_value_column_scales_by_one_like_sklearn(base: Path) -> None:
    for model in ("fit_standard", "fit_minmax"):
        fitted = read(base, model)
        scale = dict(zip(fitted.column("column_name"), fitted.column("scale"), strict=True))
        assert scale["constant_value"] == 1.0
        assert scale["amount"] > 1.0


@pytest.mark.parametrize(
    ("model", "numeric", "text", "options"),
    [
        ("mean", NUMERIC, [], {"strategy": "mean"}),
        ("median", NUMERIC, [], {"strategy": "median"}),
        (
            "most_frequent",
            ["amount", "tenure", "tie_value"],
            ["segment", "region"],
            {"strategy": "most_frequent"},
        ),
        ("constant", ["amount", "tenure"], [], {"strategy": "constant", "fill_value": -1.5}),
        (
            "constant_text",
            [],
            ["segment", "region"],
            {"strategy": "constant", "fill_value": "n/a 'none'"},
        ),
    ],
)
def test_imputed_scoring_rows_match_sklearn_simple_imputer(
    base: Path,
    inputs: Inputs,
    model: str,
    numeric: list[str],
    text: list[str],
    options: dict[str, object],
) -> None:
    table = read(base, f"applied_impute_{model}")

    assert table.columns == SCHEMA.names
    assert_same_rows_and_passthrough(table, inputs.score, numeric + text)
    if numeric:
        imputer = SimpleImputer(**options).fit(numeric_matrix(inputs.train, numeric))
        expected = imputer.transform(numeric_matrix(inputs.score, numeric))
        assert_close(table.matrix(numeric), expected)
        assert not np.isnan(table.matrix(numeric)).any()
    if text:
        imputer = SimpleImputer(missing_values=None, **options).fit(
            object_matrix(inputs.train, text)
        )
        expected_text = imputer.transform(object_matrix(inputs.score, text))
        assert [list(row) for row in zip(*(table.column(n) for n in text), strict=True)] == [
            list(row) for row in expected_text
        ]


def test_median_of_an_even_count_averages_the_two_middle_values(base: Path, inputs: Inputs) -> None:
    values = sorted(float(v) for v in inputs.train["amount"] if v is not None)
    assert len(values) % 2 == 0
    fitted = read(base, "fit_impute_median")
    fill = dict(zip(fitted.column("column_name"), fitted.column("fill_value"), strict=True))
    middle = len(values) // 2
    assert abs(fill["amount"] - (values[middle - 1] + values[middle]) / 2) <= TOLERANCE


def test_most_frequent_ties_go_to_the_smallest_value(base: Path, inputs: Inputs) -> None:
    assert inputs.train["tie_value"].count(-3) == inputs.train["tie_value"].count(4)
    assert inputs.train["region"].count("north") == inputs.train["region"].count("south")
    fitted = read(base, "fit_impute_most_frequent")
    by_column = {row[fitted.columns.index("column_name")]: row for row in fitted.rows}

    tie = by_column["tie_value"]
    region = by_column["region"]
    assert tie[fitted.columns.index("value_type")] == "numeric"
    assert tie[fitted.columns.index("fill_value")] == -3.0
    assert region[fitted.columns.index("value_type")] == "text"
    assert region[fitted.columns.index("fill_value_text")] == "north"


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ("refused_mean_of_text", "strategy mean needs a numeric column, not segment"),
        ("refused_text_fill_for_numbers", "fill_value unknown is not a number"),
    ],
)
def test_imputer_fit_refuses_a_strategy_the_column_type_cannot_take(
    base: Path, view: str, message: str
) -> None:
    # Views, so `dbt run` succeeds and the refusal shows when the fit is computed.
    with pytest.raises(duckdb.Error, match=re.escape(message)):
        read(base, view)


@pytest.mark.parametrize(
    ("model", "encoded", "options", "keep_original"),
    [
        ("rare", ["segment", "plan_code"], {"min_frequency": 10}, False),
        ("capped", ["segment", "region"], {"max_categories": 4, "min_frequency": 0.02}, False),
        ("plain", ["segment", "region", "plan_code"], {}, True),
        # As many categories as max_categories: sklearn still buckets one, the bucket counts.
        ("boundary", ["region"], {"max_categories": len(REGION_COUNTS)}, False),
    ],
)
def test_one_hot_scoring_rows_match_sklearn_with_infrequent_bucket(
    base: Path,
    inputs: Inputs,
    model: str,
    encoded: list[str],
    options: dict[str, object],
    keep_original: bool,
) -> None:
    fitted = read(base, f"fit_one_hot_{model}")
    encodings = [sklearn_encoding(fitted, inputs.train, inputs.score, n, options) for n in encoded]
    for name, encoding in zip(encoded, encodings, strict=True):
        ours = {
            category_key(name, category)
            for column, category, rare in zip(
                fitted.column("column_name"),
                fitted.column("category"),
                fitted.column("is_infrequent"),
                strict=True,
            )
            if column == name and rare
        }
        assert ours == encoding.infrequent, name
    kept = [n for n in SCHEMA.names if keep_original or n not in encoded]
    indicators = [column for encoding in encodings for column in encoding.output_columns]

    table = read(base, f"applied_one_hot_{model}")

    assert table.columns == kept + indicators
    assert_same_rows_and_passthrough(table, inputs.score, [])
    assert_close(table.matrix(indicators), np.hstack([e.values for e in encodings]))
    if options:
        assert encodings[0].infrequent, "these options should bucket some categories"


def test_unseen_categories_go_to_other_or_to_all_zeros_without_a_bucket(
    base: Path, inputs: Inputs
) -> None:
    unseen = [
        i for i, v in enumerate(inputs.score["segment"]) if v in ("brand new", "Zeta 'quoted'")
    ]
    assert unseen
    rare = read(base, "applied_one_hot_rare")
    plain = read(base, "applied_one_hot_plain")
    plain_segments = [c for c in plain.columns if c.startswith("segment__")]

    assert all(rare.column("segment__other")[i] == 1 for i in unseen)
    assert "segment__other" not in plain.columns
    assert all(plain.column(c)[i] == 0 for c in plain_segments for i in unseen)


def test_one_hot_columns_are_unique_identifiers_for_awkward_categories(base: Path) -> None:
    fitted = read(base, "fit_one_hot_plain")
    segment = {
        category: output
        for column, category, output in zip(
            fitted.column("column_name"),
            fitted.column("category"),
            fitted.column("output_column"),
            strict=True,
        )
        if column == "segment"
    }

    assert segment == {
        "O'Brien & Co": "segment__o_brien_co",
        "a b": "segment__a_b",
        "a-b": "segment__a_b__2",
        "Other": "segment__other__2",
        "Premium": "segment__premium",
        "premium": "segment__premium__2",
        "NULL": "segment__null__2",
        None: "segment__null",
        "café": "segment__caf",
        "": "segment__empty",
        "basic": "segment__basic",
        "rare one": "segment__rare_one",
        "rare 'two'": "segment__rare_two",
    }
    for model in ("rare", "capped", "plain", "boundary"):
        columns = read(base, f"applied_one_hot_{model}").columns
        assert len({c.lower() for c in columns}) == len(columns)
        assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", c) for c in columns)


def test_walk_forward_fits_match_sklearn_fitted_on_each_window(base: Path, inputs: Inputs) -> None:
    scaled = read(base, "applied_windowed_scaler")
    imputed = read(base, "applied_windowed_imputer")
    encoded = read(base, "applied_windowed_one_hot")
    fitted_categories = read(base, "fit_windowed_one_hot")
    for table in (scaled, imputed, encoded):
        assert table.column("id") == inputs.score_windows["id"]
        assert table.column("fit_cutoff") == inputs.score_windows["fit_cutoff"]
    indicators = [c for c in encoded.columns if c.startswith("segment__")]

    for cutoff in (FIRST_CUTOFF, SECOND_CUTOFF):
        window_rows = [i for i, c in enumerate(inputs.train_windows["fit_cutoff"]) if c == cutoff]
        training = select_rows(inputs.train_windows, window_rows)
        rows = [i for i, c in enumerate(inputs.score_windows["fit_cutoff"]) if c == cutoff]
        scoring = select_rows(inputs.score_windows, rows)

        scaler = StandardScaler().fit(numeric_matrix(training, ["amount", "tenure"]))
        assert_close(
            scaled.matrix(["amount", "tenure"])[rows],
            scaler.transform(numeric_matrix(scoring, ["amount", "tenure"])),
        )
        imputer = SimpleImputer(strategy="median").fit(
            numeric_matrix(training, ["amount", "balance"])
        )
        assert_close(
            imputed.matrix(["amount", "balance"])[rows],
            imputer.transform(numeric_matrix(scoring, ["amount", "balance"])),
        )
        window = Table(
            fitted_categories.columns,
            [
                r
                for r in fitted_categories.rows
                if r[fitted_categories.columns.index("fit_cutoff")] == cutoff
            ],
        )
        encoding = sklearn_encoding(window, training, scoring, "segment", {"min_frequency": 10})
        expected = np.zeros((len(rows), len(indicators)))
        for j, column in enumerate(encoding.output_columns):
            expected[:, indicators.index(column)] = encoding.values[:, j]
        assert_close(encoded.matrix(indicators)[rows], expected)


def test_windows_differ_but_share_one_column_per_category(base: Path) -> None:
    fitted = read(base, "fit_windowed_one_hot")
    rare = {
        (cutoff, category)
        for cutoff, category, is_rare in zip(
            fitted.column("fit_cutoff"),
            fitted.column("category"),
            fitted.column("is_infrequent"),
            strict=True,
        )
        if is_rare
    }
    outputs: dict[object, set[object]] = {}
    for category, output, is_rare in zip(
        fitted.column("category"),
        fitted.column("output_column"),
        fitted.column("is_infrequent"),
        strict=True,
    ):
        if not is_rare:
            outputs.setdefault(category, set()).add(output)

    assert {c for cutoff, c in rare if cutoff == FIRST_CUTOFF} != {
        c for cutoff, c in rare if cutoff == SECOND_CUTOFF
    }
    assert all(len(names) == 1 for names in outputs.values())


def test_rows_of_a_window_that_was_never_fitted_are_kept_with_null_outputs(
    base: Path, inputs: Inputs
) -> None:
    unfitted = [i for i, c in enumerate(inputs.score_windows["fit_cutoff"]) if c == UNFITTED_CUTOFF]
    scaled = read(base, "applied_windowed_scaler")
    encoded = read(base, "applied_windowed_one_hot")
    imputed = read(base, "applied_windowed_imputer")

    assert len(scaled.rows) == len(encoded.rows) == len(imputed.rows) == N_SCORE
    assert np.isnan(scaled.matrix(["amount", "tenure"])[unfitted]).all()
    indicators = [c for c in encoded.columns if c.startswith("segment__")]
    assert np.isnan(encoded.matrix(indicators)[unfitted]).all()
    # Nothing to impute with: the values stay as they came, nulls included.
    assert_close(
        imputed.matrix(["amount", "balance"])[unfitted],
        numeric_matrix(inputs.score_windows, ["amount", "balance"])[unfitted],
    )


@pytest.mark.parametrize("model", ["standard", "minmax"])
def test_scaling_shifted_scoring_data_uses_the_stored_training_parameters(
    base: Path, shifted: Path, inputs: Inputs, model: str
) -> None:
    fitted = SCALERS[model]().fit(numeric_matrix(scaler_training(model, inputs.train), NUMERIC))
    scoring = numeric_matrix(inputs.shifted_score, NUMERIC)
    refitted = SCALERS[model]().fit_transform(scoring)

    table = read(shifted, f"applied_{model}")

    assert read(shifted, f"fit_{model}") == read(base, f"fit_{model}")
    assert_close(table.matrix(NUMERIC), fitted.transform(scoring))
    assert np.nanmax(np.abs(table.matrix(NUMERIC) - refitted)) > 10
    assert_same_rows_and_passthrough(table, inputs.shifted_score, NUMERIC)


def test_imputing_shifted_scoring_data_fills_with_the_training_mean(
    shifted: Path, inputs: Inputs
) -> None:
    fitted = SimpleImputer(strategy="mean").fit(numeric_matrix(inputs.train, NUMERIC))
    scoring = numeric_matrix(inputs.shifted_score, NUMERIC)

    table = read(shifted, "applied_impute_mean")

    assert_close(table.matrix(NUMERIC), fitted.transform(scoring))
    assert not np.allclose(fitted.statistics_, np.nanmean(scoring, axis=0))


def test_scoring_only_unseen_categories_adds_no_column_and_fills_other_or_nothing(
    base: Path, shifted: Path, inputs: Inputs
) -> None:
    rare = read(shifted, "applied_one_hot_rare")
    plain = read(shifted, "applied_one_hot_plain")
    plain_indicators = [c for c in plain.columns if "__" in c]

    assert rare.columns == read(base, "applied_one_hot_rare").columns
    assert plain.columns == read(base, "applied_one_hot_plain").columns
    assert rare.column("segment__other") == [1] * N_SCORE
    assert rare.column("plan_code__other") == [1] * N_SCORE
    assert rare.column("id") == inputs.shifted_score["id"]
    assert plain_indicators
    assert not plain.matrix(plain_indicators).any()
