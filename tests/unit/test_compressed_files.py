"""Gzip-compressed text and JSON (`orders.csv.gz`, `events.jsonl.gz`), as warehouses and
trackers export them: read like their plain twins, measured decompressed against the size
limit, refused for formats that do not come compressed."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from pipeline.ingest import text, validation
from pipeline.ingest.archives import ArchiveError
from pipeline.ingest.importer import import_mapping, validate_mapping
from pipeline.ingest.mapping import read_mapping
from pipeline.ingest.safety import UnsafePathError, sanitize_upload_name
from pipeline.ingest.uploads import preview, save_uploads
from pipeline.settings import Settings
from tests.unit.test_text_files import CDNOW_EXAMPLE, CDNOW_SAMPLE, rows, settings, shop

__all__ = ["settings"]  # the fixture, shared with the text-file tests

SHOP_CSV = b"customer,day,orders\r\na1,2024-01-02,3\r\nb2,2024-01-05,1\r\nc3,2024-02-01,7\r\n"


def write_mapping(settings: Settings, mapping: dict[str, object]) -> Path:
    path = settings.data_dirs[0] / "mapping.yml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def imported(settings: Settings, name: str, content: bytes) -> list[tuple[object, ...]]:
    (settings.data_dirs[0] / name).write_bytes(content)
    import_mapping(read_mapping(write_mapping(settings, shop(name)), settings), settings)
    return rows(settings, "select * from usage_daily order by all")


def test_a_gzip_csv_imports_exactly_as_the_plain_csv(settings: Settings) -> None:
    plain = imported(settings, "shop.csv", SHOP_CSV)
    assert imported(settings, "shop.csv.gz", gzip.compress(SHOP_CSV)) == plain
    assert len(plain) == 3


def test_a_gzip_whitespace_export_is_split_like_the_plain_one(settings: Settings) -> None:
    # CDNOW's padded text, compressed: the whitespace detection reads through the gzip.
    mapping = yaml.safe_load(CDNOW_EXAMPLE.read_text())
    mapping["sources"]["cdnow"] = "CDNOW_master.txt.gz"
    (settings.data_dirs[0] / "CDNOW_master.txt.gz").write_bytes(gzip.compress(CDNOW_SAMPLE))
    counts = import_mapping(read_mapping(write_mapping(settings, mapping), settings), settings)
    assert (counts["accounts"], counts["usage_daily"], counts["payments"]) == (3, 4, 4)
    assert rows(settings, "select events from usage_daily where account_id = '00002'") == [(6,)]


def test_gzip_json_lines_import(settings: Settings) -> None:
    objects = [
        {"customer": c, "day": d, "orders": n}
        for c, d, n in (("a1", "2024-01-02", 3), ("b2", "2024-01-05", 1), ("c3", "2024-02-01", 7))
    ]
    content = "".join(json.dumps(o) + "\n" for o in objects).encode()
    assert imported(settings, "shop.jsonl.gz", gzip.compress(content)) == imported(
        settings, "shop.csv", SHOP_CSV
    )


def test_a_gzip_file_that_expands_past_the_limit_is_refused_before_it_is_read(
    tmp_path: Path,
) -> None:
    # 30 MB of zeros compress to a few dozen KB: the limit applies to what it holds.
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"customer,day,orders\n" + b"0" * 30_000_000))
    assert bomb.stat().st_size < 1_000_000
    problems = validation.check_size("shop", bomb, max_mb=10)
    assert [(p.rule, p.examples) for p in problems] == [
        ("file too large", ("bomb.csv.gz holds more than 10 MB once decompressed",))
    ]
    assert validation.check_size("shop", bomb, max_mb=50) == []


def test_a_gzip_spreadsheet_is_refused_as_unsupported(settings: Settings) -> None:
    (settings.data_dirs[0] / "orders.xlsx.gz").write_bytes(gzip.compress(b"not read"))
    mapping = read_mapping(write_mapping(settings, shop("orders.xlsx.gz")), settings)
    assert [p.rule for p in mapping.problems] == ["unsupported file"]
    assert "gzip-compressed (.gz) or not" in mapping.problems[0].hint
    assert validate_mapping(mapping, settings)  # still refused when validated


@pytest.mark.parametrize(
    ("name", "stored"),
    [("Orders 2024.CSV.GZ", "Orders_2024.csv.gz"), ("events.jsonl.gz", "events.jsonl.gz")],
)
def test_gzip_uploads_are_accepted_and_previewed(
    settings: Settings, name: str, stored: str
) -> None:
    assert sanitize_upload_name(name) == stored
    settings.uploads_dir.mkdir(parents=True)
    content = SHOP_CSV if ".csv" in stored else b'{"customer": "a1", "day": "2024-01-02"}\n'
    (settings.uploads_dir / stored).write_bytes(gzip.compress(content))
    frame, types, _ = preview(settings, settings.uploads_dir / stored)
    assert types["day"] == "DATE" and frame["customer"].tolist()[0] == "a1"


@pytest.mark.parametrize("name", ["orders.gz", "orders.xlsx.gz", "orders.parquet.gz"])
def test_other_gzip_uploads_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        sanitize_upload_name(name)


def test_kind_suffix_looks_past_gz() -> None:
    assert text.kind_suffix(Path("a/Orders.CSV.gz")) == ".csv"
    assert text.kind_suffix(Path("orders.csv")) == ".csv"
    assert text.kind_suffix(Path("orders.gz")) == ""


def zipped(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_a_zip_of_one_csv_imports_exactly_as_the_csv(settings: Settings) -> None:
    plain = imported(settings, "shop.csv", SHOP_CSV)
    # As portals serve downloads: a folder inside, and an archiver's extras beside the data.
    archive = {"export/shop.csv": SHOP_CSV, "__MACOSX/export/._shop.csv": b"\0\1"}
    zipped(settings.data_dirs[0] / "archive.zip", archive)
    import_mapping(read_mapping(write_mapping(settings, shop("archive.zip")), settings), settings)
    assert rows(settings, "select * from usage_daily order by all") == plain
    # The copy it was read from is gone.
    assert not list(settings.home.glob(".unzipped-*"))


def test_a_zip_of_several_files_names_them_and_member_chooses_one(settings: Settings) -> None:
    other = SHOP_CSV.replace(b"a1", b"z9")
    zipped(settings.data_dirs[0] / "two.zip", {"shop.csv": SHOP_CSV, "old.csv": other})
    mapping = read_mapping(write_mapping(settings, shop("two.zip")), settings)
    assert [p.rule for p in mapping.problems] == ["unreadable file"]
    assert "holds shop.csv, old.csv: name the one to read with `member:`" in (
        mapping.problems[0].hint
    )
    chosen = shop({"path": "two.zip", "member": "old.csv"})
    import_mapping(read_mapping(write_mapping(settings, chosen), settings), settings)
    assert ("z9",) in rows(settings, "select account_id from accounts")


def test_member_is_refused_outside_a_zip_and_parquet_inside_one(settings: Settings) -> None:
    (settings.data_dirs[0] / "shop.csv").write_bytes(SHOP_CSV)
    mapping = read_mapping(
        write_mapping(settings, shop({"path": "shop.csv", "member": "x.csv"})), settings
    )
    assert [p.rule for p in mapping.problems] == ["invalid setting"]
    zipped(settings.data_dirs[0] / "pq.zip", {"shop.parquet": b"PAR1"})
    mapping = read_mapping(write_mapping(settings, shop("pq.zip")), settings)
    assert [p.rule for p in mapping.problems] == ["unsupported file"]


def test_a_zip_member_that_expands_past_the_limit_is_refused_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    settings = Settings(home=tmp_path / "home", data_dirs=(data,), max_file_mb=5).ensure()
    zipped(data / "bomb.zip", {"shop.csv": b"customer,day,orders\n" + b"0" * 20_000_000})
    assert (data / "bomb.zip").stat().st_size < 1_000_000
    problems = validate_mapping(
        read_mapping(write_mapping(settings, shop("bomb.zip")), settings), settings
    )
    assert [p.rule for p in problems] == ["unreadable file"]
    assert "holds more than 5 MB once decompressed" in problems[0].examples[0]
    assert not list(settings.home.glob(".unzipped-*"))


def test_a_member_named_to_climb_out_is_read_into_the_scratch_folder_only(
    settings: Settings, tmp_path: Path
) -> None:
    # A "zip slip" name: the member is copied by name into a temporary file, never to its path.
    zipped(settings.data_dirs[0] / "slip.zip", {"../../escaped.csv": SHOP_CSV})
    import_mapping(read_mapping(write_mapping(settings, shop("slip.zip")), settings), settings)
    assert len(rows(settings, "select * from usage_daily")) == 3
    assert not list(tmp_path.rglob("escaped.csv"))


def test_a_zip_upload_is_unpacked_into_the_data_files_it_holds(settings: Settings) -> None:
    assert sanitize_upload_name("Kaggle download.ZIP") == "Kaggle_download.zip"
    archive = settings.home / "download.zip"
    zipped(archive, {"data/shop.csv": SHOP_CSV, "data/old shop.csv": SHOP_CSV, "__MACOSX/x": b""})
    saved = save_uploads(settings, "Kaggle download.zip", archive.read_bytes())
    assert sorted(path.name for path in saved) == ["old_shop.csv", "shop.csv"]
    assert sorted(p.name for p in settings.uploads_dir.iterdir()) == ["old_shop.csv", "shop.csv"]
    frame, types, _ = preview(settings, settings.uploads_dir / "shop.csv")
    assert types["day"] == "DATE" and frame["customer"].tolist() == ["a1", "b2", "c3"]


def test_a_zip_upload_skips_other_files_and_refuses_a_bomb_storing_nothing(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home", max_file_mb=5).ensure()
    mixed = zipped(tmp_path / "mixed.zip", {"shop.csv": SHOP_CSV, "README.pdf": b"%PDF"})
    assert [p.name for p in save_uploads(settings, "mixed.zip", mixed.read_bytes())] == ["shop.csv"]
    other = zipped(tmp_path / "other.zip", {"tool.exe": b"MZ", "inner.zip": mixed.read_bytes()})
    with pytest.raises(ArchiveError, match="holds no file of a kind Baton reads"):
        save_uploads(settings, "other.zip", other.read_bytes())
    bomb = zipped(tmp_path / "bomb.zip", {"big.csv": b"0" * 20_000_000})
    with pytest.raises(ArchiveError, match="more than 5 MB once decompressed"):
        save_uploads(settings, "bomb.zip", bomb.read_bytes())
    assert [p.name for p in settings.uploads_dir.iterdir()] == ["shop.csv"]
