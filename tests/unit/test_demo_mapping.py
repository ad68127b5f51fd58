"""examples/demo.yml: the demo data imported through a mapping lands exactly as generated."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.contract import CONTRACT
from pipeline.settings import ROOT
from tests.support import run_pipeline


def test_demo_mapping_imports_every_contract_table_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, examples, home = tmp_path / "data", tmp_path / "examples", tmp_path / "home"
    examples.mkdir()
    shutil.copy(ROOT / "examples" / "demo.yml", examples / "demo.yml")
    monkeypatch.setenv("BATON_DATA_DIR", f"{data}:{examples}")
    demo_file = data / "demo.duckdb"

    run_pipeline(home, "demo", "--customers", "200", "--months", "8", "--out", str(demo_file))
    assert not (home / "raw.duckdb").exists(), "--out must leave BATON_HOME alone"
    run_pipeline(home, "import", str(examples / "demo.yml"))

    with duckdb.connect(str(home / "raw.duckdb"), read_only=True) as raw:
        raw.execute("attach ? as generated (read_only)", [str(demo_file)])
        for table in CONTRACT:
            columns = ", ".join(f'"{column.name}"' for column in table.columns)
            only_one_side = raw.execute(
                f"select count(*) from ((select {columns} from main.{table.name} "
                f"except all select {columns} from generated.{table.name}) union all "
                f"(select {columns} from generated.{table.name} "
                f"except all select {columns} from main.{table.name}))"
            ).fetchall()[0][0]
            count = raw.execute(f"select count(*) from main.{table.name}").fetchall()[0][0]
            assert only_one_side == 0, table.name
            assert count > 0 or table.name == "tickets", table.name
