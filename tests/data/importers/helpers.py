"""Paths of the hand-built review files and small builders of crafted ones."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

FILES = Path(__file__).resolve().parent / "files"
ROOT = Path(__file__).resolve().parents[3]
FURLAN_RM5 = FILES / "CD001351-analysis-5.1.rm5"
FURLAN_PACKAGE = FILES / "CD001351-package"
FURLAN_MAPPING = FILES / "CD001351-mapping.yaml"
METADAT_RM5 = FILES / "metadat-bcg-normand.rm5"


def zip_folder(folder: Path, target: Path) -> Path:
    """Zip ``folder``'s files (paths relative to it), as a downloaded package is."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(folder).as_posix())
    return target


def minimal_rm5(analyses: str, *, studies: str = "", extra: str = "", encoding: str = "UTF-8") -> str:
    """A small RevMan 5 document around ``analyses`` (COMPARISON elements)."""
    return (f'<?xml version="1.0" encoding="{encoding}"?>\n<COCHRANE_REVIEW REVMAN_VERSION="5">'
            "<COVER_SHEET><TITLE>Crafted test review</TITLE></COVER_SHEET>"
            f"<STUDIES_AND_REFERENCES><STUDIES><INCLUDED_STUDIES>{studies}</INCLUDED_STUDIES></STUDIES>"
            f"</STUDIES_AND_REFERENCES>{extra}<ANALYSES_AND_DATA>{analyses}</ANALYSES_AND_DATA></COCHRANE_REVIEW>\n")


def zip_bytes(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()
