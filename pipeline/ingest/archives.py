"""Zip archives as sources: a download of one export (`archive.zip` holding `data.csv`), as
Kaggle and many portals serve them. The data file inside is read like the same file
outside, from a copy in the import's scratch folder, deleted once it is loaded.

Only one member is ever read, by name, never extracted by the archive's own paths (so no
member can write outside the scratch folder), and its size is counted while it is copied,
stopped at the size limit (a zip bomb's declared sizes can lie).
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

ZIP = ".zip"
# Folders and files that archivers add beside the data (macOS resource forks, hidden files).
NOT_DATA = ("__MACOSX/", ".")
CHUNK = 1 << 20


class ArchiveError(ValueError):
    """A zip that is not one, holds no data file, or holds several and names none."""


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ZIP)


def data_members(path: Path | BinaryIO, name: str | None = None) -> list[str]:
    """The names of the data files in a zip (a path, or its bytes as a file with `name`),
    folders and archivers' extras left out."""
    shown = name or getattr(path, "name", "the archive")
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        message = f"{shown} could not be opened as a zip archive ({error})."
        raise ArchiveError(message) from error
    return [
        name
        for name in names
        if not name.startswith(NOT_DATA[0]) and not Path(name).name.startswith(NOT_DATA[1])
    ]


def choose_member(path: Path, member: str | None) -> str:
    """`member` if the zip holds it, else its one data file; ArchiveError says what it holds."""
    names = data_members(path)
    if member is not None:
        if member not in names:
            raise ArchiveError(f"{path.name} has no {member!r}; it holds {', '.join(names)}.")
        return member
    if len(names) != 1:
        held = ", ".join(names) if names else "no data file"
        raise ArchiveError(f"{path.name} holds {held}: name the one to read with `member:`.")
    return names[0]


def too_large(archive: str, member: str, max_mb: float) -> ArchiveError:
    """The error of a member that holds more than the size limit once decompressed."""
    return ArchiveError(
        f"{archive}: {member} holds more than {max_mb:,.0f} MB once decompressed "
        "(BATON_MAX_FILE_MB)."
    )


def extract(path: Path, member: str, folder: Path, max_mb: float) -> Path:
    """Copy `member` of the zip into `folder` (under a plain name that keeps its suffixes);
    ArchiveError when it holds more than `max_mb` MB, counted while copying."""
    suffixes = "".join(Path(member).suffixes[-2:]).lower()
    handle, name = tempfile.mkstemp(prefix=".unzipped-", suffix=suffixes, dir=folder)
    target, limit, copied = Path(name), max_mb * 1_000_000, 0
    try:
        with (
            os.fdopen(handle, "wb") as out,
            zipfile.ZipFile(path) as archive,
            archive.open(member) as source,
        ):
            while chunk := source.read(CHUNK):
                copied += len(chunk)
                if copied > limit:
                    raise too_large(path.name, member, max_mb)
                out.write(chunk)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as error:
        target.unlink(missing_ok=True)  # damaged, encrypted or in a method zipfile lacks
        raise ArchiveError(f"{path.name}: {member} could not be read ({error}).") from error
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def unpack(content: bytes, name: str, max_mb: float) -> list[tuple[str, bytes]]:
    """(file name, bytes) of every data file of an uploaded zip, each read only up to
    `max_mb` MB (ArchiveError past it, or when the zip holds no data file)."""
    members = data_members(io.BytesIO(content), name)
    if not members:
        raise ArchiveError(f"{name} holds no data file.")
    files, limit = [], int(max_mb * 1_000_000)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for member in members:
                with archive.open(member) as source:
                    data = source.read(limit + 1)
                if len(data) > limit:
                    raise too_large(name, member, max_mb)
                files.append((Path(member).name, data))
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as error:
        raise ArchiveError(f"{name} could not be read ({error}).") from error
    return files
