"""Robust, safe file input and output.

Reading (:func:`read_table`) copes with what reviewers' spreadsheets really export:

* UTF-8 with or without a byte-order mark, UTF-16 with a BOM (Excel "Unicode text"),
  Windows-1252 / Latin-1 (detected: UTF-8 is tried first; the note says which was used);
* comma, semicolon or tab delimiters (detected from the header row), decimal commas in
  semicolon/tab files (European Excel, RevMan exports), unambiguous thousands separators
  (``1,234.5``; ``1.234,5``), the Unicode minus sign, surrounding spaces (also no-break spaces);
* blank rows (skipped; the row numbers of the rows after them stay as a spreadsheet shows them),
  quoted fields with embedded newlines (one spreadsheet row), empty trailing columns.

Anything it cannot read is a :class:`~trialsynth.errors.TrialDataError` naming file, row and
column; never a Python traceback.

Writing: :func:`atomic_write_text`, :func:`atomic_write_bytes` and :func:`write_csv_safely`
write a temporary file in the target's folder, ``fsync`` it and ``os.replace`` it over the
target, so a crash leaves either the old or the new file, never half of one.  :func:`file_lock`
serialises writers across processes; :func:`backup_file` keeps timestamped copies.

Security: exported CSV cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return) get a leading apostrophe (:func:`neutralise_cell`);
HTML cells are escaped (:func:`html_table`); :func:`safe_filename` turns a study id into a file
name that cannot leave its folder; YAML is read only with ``yaml.safe_load`` (:func:`load_yaml`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import html
import io
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from trialsynth.errors import Problem, TrialDataError

__all__ = [
    "RawTable",
    "read_table",
    "parse_number",
    "atomic_write_text",
    "atomic_write_bytes",
    "write_csv_safely",
    "neutralise_cell",
    "html_table",
    "safe_filename",
    "safe_path",
    "load_yaml",
    "file_lock",
    "backup_file",
]

# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------

_SPACES = " \t\r\n\u00a0\u2007\u202f\ufeff"
_MINUS_SIGNS = "\u2212\u2013"  # minus sign, en dash (PDF copy-paste)


@dataclass
class RawTable:
    """A delimited text file read into strings, before any typing.

    Attributes
    ----------
    path : str
        The file as the user named it.
    header : list of str
        Column names (stripped).
    rows : list of (int, list of str)
        Spreadsheet row number (header = 1) and the stripped cells of every non-blank row.
    encoding, delimiter, decimal : str
        What was detected (``decimal`` is ``"."`` or ``","``).
    notes : list of str
        What the reader did that the user may want to know (encoding, delimiter, skipped rows).
    problems : list of Problem
        Structural problems (ragged rows, duplicate or empty column names).
    """

    path: str
    header: list[str]
    rows: list[tuple[int, list[str]]]
    encoding: str
    delimiter: str
    decimal: str = "."
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    header_row: int = 1
    preamble: str = ""  # an Excel "sep=;" line, kept so that rewrites can keep it

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number, {column: cell}) for every row that has as many cells as the header."""
        width = len(self.header)
        for rownum, cells in self.rows:
            if len(cells) == width:
                yield rownum, dict(zip(self.header, cells))


def _looks_utf16(sample: bytes) -> bool:
    """ASCII-range text stored as UTF-16 without a BOM: every other byte NUL, the rest printable."""
    if len(sample) < 16:
        return False
    printable = set(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
    for zeros, chars in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
        if zeros.count(0) > 0.9 * len(zeros) and sum(b in printable for b in chars) > 0.9 * len(chars):
            return True
    return False


def _decode(data: bytes, path: str) -> tuple[str, str, list[str]]:
    """Decode bytes: BOMs first, then UTF-8, then cp1252, then Latin-1."""
    notes: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig", ["read as UTF-8 (with byte-order mark)"]
        except UnicodeDecodeError as exc:
            raise TrialDataError([Problem(path, None, None, None,
                                          f"starts with a UTF-8 byte-order mark but byte {exc.start} "
                                          "is not UTF-8; save the file again as UTF-8")]) from None
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc, ["read as UTF-16 (Excel Unicode text)"]
            except UnicodeDecodeError:
                raise TrialDataError([Problem(path, None, None, None,
                                              "starts with a UTF-16 byte-order mark but is not valid "
                                              "UTF-16; save the file again as UTF-8 CSV")]) from None
    if b"\x00" in data:
        offset = data.index(b"\x00")
        sample = data[:4096]
        if _looks_utf16(sample):
            raise TrialDataError([Problem(path, None, None, None,
                                          "looks like UTF-16 text without a byte-order mark; "
                                          "save it as CSV UTF-8")])
        line = data[:offset].count(b"\n") + 1
        raise TrialDataError([Problem(path, line, None, None,
                                      f"contains a NUL byte at offset {offset}: this is not a text CSV "
                                      "file (a spreadsheet workbook? export it as CSV)")])
    try:
        return data.decode("utf-8"), "utf-8", notes
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
        return text, "cp1252", ["not valid UTF-8: read as Windows-1252 (Latin-1); "
                                "save as UTF-8 to be sure of accented characters"]
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        return text, "latin-1", ["not valid UTF-8: read as ISO-8859-1 (Latin-1); "
                                 "save as UTF-8 to be sure of accented characters"]


def _detect_delimiter(text: str) -> str:
    """The delimiter of the first non-blank line (outside quotes): comma, semicolon or tab."""
    first = ""
    for line in text.splitlines():
        if line.strip(_SPACES):
            first = line
            break
    counts = {",": 0, ";": 0, "\t": 0}
    quoted = False
    for ch in first:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _strip(cell: str) -> str:
    return cell.strip(_SPACES)


_INT_RE = r"\d+"
_NUM_POINT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NUM_COMMA = re.compile(r"[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?")
_GROUPED_COMMA = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?")  # 1,234.5 (point decimal)
_GROUPED_POINT = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+(,\d+)?")  # 1.234,5 (comma decimal)
_GROUPED_SPACE = re.compile(r"[+-]?[1-9]\d{0,2}([ \u00a0\u202f]\d{3})+([.,]\d+)?")
_DECIMAL_COMMA_CELL = re.compile(r"[+-]?\d*,\d+")
_POINT_AMBIGUOUS = re.compile(r"[+-]?[1-9]\d{0,2}\.\d{3}")  # 1.234: 1.234 or 1234?


def parse_number(text: str, decimal: str = ".") -> float:
    """Parse one number as a reviewer's spreadsheet writes it.

    Parameters
    ----------
    text : str
        The cell, already stripped of surrounding spaces.
    decimal : {".", ","}
        The file's decimal mark.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        With a message saying what was expected, for text that is not a finite number or is
        ambiguous (``1.234`` in a decimal-comma file: one point two three four or 1234?).
    """
    s = text.strip(_SPACES)
    for minus in _MINUS_SIGNS:
        if s.startswith(minus):
            s = "-" + s[1:]
    if not s:
        raise ValueError("expected a number, found an empty cell")
    if _GROUPED_SPACE.fullmatch(s):
        s = re.sub(r"[ \u00a0\u202f]", "", s)
        if decimal == ",":
            s = s.replace(",", ".")
        elif "," in s:
            raise ValueError("expected a number with a decimal point (this file uses '.' as the "
                             "decimal mark)")
        return _finite(float(s), text)
    if decimal == ".":
        if _NUM_POINT.fullmatch(s):
            return _finite(float(s), text)
        if _GROUPED_COMMA.fullmatch(s):
            return _finite(float(s.replace(",", "")), text)
        if _NUM_COMMA.fullmatch(s) or _GROUPED_POINT.fullmatch(s):
            raise ValueError("expected a number with a decimal point (this file uses '.' as the "
                             "decimal mark; ',' only between thousands as in 1,234; or save the file "
                             "as semicolon-separated, where decimal commas are read)")
    else:
        if _GROUPED_POINT.fullmatch(s) and "," in s:
            return _finite(float(s.replace(".", "").replace(",", ".")), text)
        if _NUM_COMMA.fullmatch(s):
            return _finite(float(s.replace(",", ".")), text)
        if _POINT_AMBIGUOUS.fullmatch(s):
            raise ValueError("ambiguous number: this file uses ',' as the decimal mark, so "
                             f"{s!r} could mean {s.replace('.', '')} or {s}; write it without "
                             "the point or with a decimal comma")
        if _NUM_POINT.fullmatch(s):
            return _finite(float(s), text)
        if _GROUPED_POINT.fullmatch(s):
            return _finite(float(s.replace(".", "")), text)
    raise ValueError("expected a number")


def _finite(value: float, text: str) -> float:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("expected a finite number")
    return value


def _decimal_comma_hint(cells: list[str], extra: int, delimiter: str) -> str:
    """For a comma-separated row with ``extra`` cells too many: a hint when as many pairs of
    neighbouring cells are digits that read as one number with a decimal comma (9,4 -> '9' '4')."""
    if delimiter != "," or extra <= 0:
        return ""
    pairs, i = [], 0
    while i + 1 < len(cells):
        if re.fullmatch(r"[+-]?\d+", cells[i]) and re.fullmatch(r"\d+", cells[i + 1]):
            pairs.append(f"{cells[i]},{cells[i + 1]}")
            i += 2
        else:
            i += 1
    if len(pairs) < extra:
        return ""
    shown = ", ".join(pairs[:3]) + (", ..." if len(pairs) > 3 else "")
    return (f"; decimal commas? cells such as {shown} look like numbers split at a decimal comma: write "
            "them with a decimal point, or save the file as semicolon-separated, where decimal commas are read")


def read_table(path: str | os.PathLike, *, numeric_columns: Iterable[str] = (),
               max_bytes: int = 200_000_000) -> RawTable:
    """Read a delimited text file into a :class:`RawTable` of stripped strings.

    Parameters
    ----------
    path : path-like
        The CSV file.
    numeric_columns : iterable of str
        Columns holding numbers; their cells decide whether a semicolon/tab file uses decimal
        commas.
    max_bytes : int
        Refuse larger files (a clear error rather than exhausting memory).

    Raises
    ------
    TrialDataError
        When the file cannot be read at all (missing, a folder, binary, an unterminated quote,
        no header).  Ragged rows and bad column names are collected in ``RawTable.problems``.
    """
    name = os.fspath(path)
    p = Path(name)
    try:
        size = p.stat().st_size
        if p.is_dir():
            raise IsADirectoryError(name)
        if not p.is_file():
            raise TrialDataError([Problem(name, None, None, None,
                                          "is not a regular file (a device or a pipe?)")])
        if size > max_bytes:
            raise TrialDataError([Problem(name, None, None, None,
                                          f"file is {size} bytes, more than the {max_bytes} a "
                                          "trial table can reasonably be")])
        data = p.read_bytes()
    except TrialDataError:
        raise
    except FileNotFoundError:
        raise TrialDataError([Problem(name, None, None, None, "file not found")]) from None
    except IsADirectoryError:
        raise TrialDataError([Problem(name, None, None, None,
                                      "is a folder, expected a CSV file")]) from None
    except OSError as exc:
        raise TrialDataError([Problem(name, None, None, None,
                                      f"cannot be read: {exc.strerror or exc}")]) from None
    text, encoding, notes = _decode(data, name)
    declared = re.match(r"\A\ufeff?sep=([,;\t|])[ \t]*(\r\n|\n|\r)", text)
    preamble = declared.group(0).lstrip("\ufeff") if declared else ""
    if declared:  # Excel's "sep=;" first line: Excel hides it, so rows are numbered without it
        delimiter = declared.group(1)
        text = text[declared.end():]
        notes.append(f"delimiter {delimiter!r} declared by a 'sep=' first line")
    else:
        delimiter = _detect_delimiter(text)
    if delimiter != "," and not declared:
        notes.append({";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter] + "-separated")

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        doublequote=True, strict=True, skipinitialspace=False)
    records: list[tuple[int, list[str]]] = []
    rownum = 0
    try:
        for record in reader:
            rownum += 1
            records.append((rownum, [_strip(c) for c in record]))
    except csv.Error as exc:
        msg = str(exc)
        if "field larger than field limit" in msg:
            msg = "a cell is longer than the CSV reader allows (an unclosed quote?)"
        elif "unexpected end of data" in msg or "EOF" in msg:
            msg = "a quoted cell is never closed (an odd number of '\"')"
        elif "expected" in msg and "after" in msg:
            msg = "text follows a closing quote inside a cell; double a quote inside a quoted cell as \"\""
        raise TrialDataError([Problem(name, rownum + 1, None, None,
                                      f"cannot be read as CSV: {msg}")]) from None

    problems: list[Problem] = []
    blank = [r for r, cells in records if not any(cells)]
    body = [(r, cells) for r, cells in records if any(cells)]
    if not body:
        raise TrialDataError([Problem(name, None, None, None, "is empty: expected a header row")])
    header_row, header = body[0]
    if header_row != 1:
        notes.append(f"header found on row {header_row} (rows above it are blank)")
    rows = body[1:]
    skipped = [r for r in blank if r > header_row]
    if skipped:
        notes.append(f"skipped {len(skipped)} blank row(s): " + ", ".join(map(str, skipped[:10]))
                     + (" ..." if len(skipped) > 10 else ""))

    # empty trailing header cells (Excel's ";;;" padding): drop when their columns are empty too
    while header and header[-1] == "" and all(len(c) < len(header) or c[len(header) - 1] == ""
                                              for _, c in rows):
        header = header[:-1]
        rows = [(r, c[:len(header)] if len(c) > len(header) and not any(c[len(header):]) else c)
                for r, c in rows]
    width = len(header)
    seen: dict[str, int] = {}
    for i, col in enumerate(header):
        if col == "":
            problems.append(Problem(name, header_row, None, None,
                                    f"column {i + 1} has no name in the header row"))
        elif col in seen:
            problems.append(Problem(name, header_row, col, col,
                                    f"column name appears twice (columns {seen[col] + 1} and {i + 1})"))
        else:
            seen[col] = i
    fixed_rows = []
    for r, cells in rows:
        if len(cells) > width and not any(cells[width:]):
            cells = cells[:width]  # trailing empty cells
        if len(cells) != width:
            problems.append(Problem(name, r, None, None,
                                    f"row has {len(cells)} cells but the header has {width} "
                                    "(a stray delimiter, or a cell with a delimiter not in quotes?)"
                                    + _decimal_comma_hint(cells, len(cells) - width, delimiter)))
        fixed_rows.append((r, cells))

    decimal = "."
    if delimiter != ",":
        numeric = [seen[c] for c in numeric_columns if c in seen]
        if any(_DECIMAL_COMMA_CELL.fullmatch(cells[i]) or _GROUPED_POINT.fullmatch(cells[i])
               and "," in cells[i]
               for _, cells in fixed_rows if len(cells) == width for i in numeric):
            decimal = ","
            notes.append("decimal commas")
    return RawTable(name, header, fixed_rows, encoding, delimiter, decimal, notes, problems, header_row,
                    preamble)


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------

def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, ``fsync``,
    then ``os.replace``.  A crash at any point leaves the previous file (or none) intact.

    The new file keeps the permission bits of the file it replaces (else ``mode``, else 0o644
    minus the umask).  Returns the path written.
    """
    target = Path(os.fspath(path))
    folder = target.parent if str(target.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)
    return target


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8",
                      newline: str | None = None) -> Path:
    """Write ``text`` atomically (see :func:`atomic_write_bytes`).

    ``newline``: when given, every ``\\n`` in ``text`` is written as it (e.g. ``"\\r\\n"``).
    """
    if newline is not None and newline != "\n":
        text = text.replace("\n", newline)
    return atomic_write_bytes(path, text.encode(encoding))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """Stop a spreadsheet from running a text cell as a formula (OWASP "CSV injection").

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    apostrophe, which spreadsheets show as text.  Numbers, and text that is just a number
    (``-1.5``), are returned unchanged.
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _rows_of(table: Any, columns: Sequence[str] | None) -> tuple[list[str], list[list[Any]]]:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(table, pd.DataFrame):
        header = [str(c) for c in table.columns]
        rows = []
        for rec in table.itertuples(index=False, name=None):
            rows.append(["" if (v is None or (not isinstance(v, str) and pd.isna(v))) else v
                         for v in rec])
        return header, rows
    rows_in = list(table)
    if rows_in and isinstance(rows_in[0], dict):
        header = list(columns) if columns is not None else list(rows_in[0].keys())
        return header, [[r.get(c, "") for c in header] for r in rows_in]
    if columns is None:
        if not rows_in:
            return [], []
        return [str(c) for c in rows_in[0]], [list(r) for r in rows_in[1:]]
    return list(columns), [list(r) for r in rows_in]


def write_csv_safely(table: Any, path: str | os.PathLike, *, columns: Sequence[str] | None = None,
                     neutralise: bool = True, encoding: str = "utf-8",
                     float_format: str = "{!r}") -> Path:
    """Write a table as CSV atomically, neutralising formula injection.

    Parameters
    ----------
    table : DataFrame, list of dict, or list of rows
        With a list of rows and no ``columns``, the first row is the header.
    path : path-like
        Target file (written via a temporary file and ``os.replace``).
    columns : sequence of str, optional
        The header (and column order for a list of dicts).
    neutralise : bool
        Prefix formula-like text cells with an apostrophe (:func:`neutralise_cell`).  Keep it on
        for every file meant for a spreadsheet; turn it off only for data files that the toolkit
        itself reads back verbatim.
    float_format : str
        ``str.format`` pattern for floats (default: shortest round-trip ``repr``).
    """
    header, rows = _rows_of(table, columns)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    fix = neutralise_cell if neutralise else (lambda v: v)
    writer.writerow([fix(str(h)) for h in header])
    for row in rows:
        out = []
        for v in row:
            if isinstance(v, bool):
                out.append("true" if v else "false")
            elif isinstance(v, float):
                out.append(float_format.format(v) if v == v else "")
            else:
                out.append(fix(v if isinstance(v, str) else str(v)))
        writer.writerow(out)
    return atomic_write_bytes(path, buf.getvalue().encode(encoding))


def html_table(table: Any, *, columns: Sequence[str] | None = None, classes: str = "trialsynth",
               index: bool = False) -> str:
    """An HTML ``<table>`` of ``table`` with every cell escaped (no markup from the data runs)."""
    header, rows = _rows_of(table, columns)
    esc = lambda v: html.escape("" if v is None else str(v), quote=True)  # noqa: E731
    parts = [f'<table class="{esc(classes)}">', "<thead><tr>"]
    parts += [f"<th>{esc(h)}</th>" for h in header]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}


def safe_filename(name: str, *, suffix: str = "", max_length: int = 120) -> str:
    """A file name made from ``name`` (e.g. a study id) that cannot leave its folder.

    Keeps letters, digits, ``_``, ``-`` and inner ``.``; replaces anything else (path
    separators, ``..``, control characters, spaces) with ``_``; never empty, never a dot file,
    never a Windows device name.  When anything had to change, a short hash of the original is
    appended, so that two different ids never map to one file name.

    >>> safe_filename("Brinkhaus2006", suffix=".svg")
    'Brinkhaus2006.svg'
    """
    original = str(name)
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", original)
    cleaned = re.sub(r"\.{2,}", "_", cleaned).strip(".")
    if not cleaned:
        cleaned = "unnamed"
    if cleaned.split(".")[0].upper() in _WINDOWS_RESERVED:
        cleaned = "_" + cleaned
    if cleaned != original or len(cleaned) > max_length:
        digest = hashlib.sha256(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        cleaned = cleaned[: max_length - 9] + "-" + digest
    safe_suffix = re.sub(r"[^A-Za-z0-9_.-]", "", suffix)
    if safe_suffix and not safe_suffix.startswith("."):
        safe_suffix = "." + safe_suffix
    return cleaned + safe_suffix


def safe_path(folder: str | os.PathLike, name: str, *, suffix: str = "") -> Path:
    """``folder / safe_filename(name, suffix=suffix)``, checked to lie inside ``folder``."""
    base = Path(os.fspath(folder)).resolve()
    candidate = (base / safe_filename(name, suffix=suffix)).resolve()
    if candidate.parent != base:  # pragma: no cover - safe_filename guarantees this
        raise ValueError(f"{name!r} would leave the folder {base}")
    return candidate


def load_yaml(source: str | os.PathLike, *, max_bytes: int = 10_000_000) -> Any:
    """Read a YAML file with ``yaml.safe_load`` (never ``yaml.load``: no object construction).

    Raises
    ------
    TrialDataError
        Naming the file and line when it cannot be read or parsed.
    """
    import yaml

    name = os.fspath(source)
    if Path(name).exists() and not Path(name).is_file():
        raise TrialDataError([Problem(name, None, None, None, "is not a regular file")])
    try:
        data = Path(name).read_bytes()
    except FileNotFoundError:
        raise TrialDataError([Problem(name, None, None, None, "file not found")]) from None
    except OSError as exc:
        raise TrialDataError([Problem(name, None, None, None,
                                      f"cannot be read: {exc.strerror or exc}")]) from None
    if len(data) > max_bytes:
        raise TrialDataError([Problem(name, None, None, None,
                                      f"is larger than {max_bytes} bytes")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrialDataError([Problem(name, None, None, None,
                                      f"is not UTF-8 (byte {exc.start}); save it as UTF-8")]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TrialDataError([Problem(name, line, None, None,
                                      f"is not valid YAML: {problem}")]) from None
    except RecursionError:
        raise TrialDataError([Problem(name, None, None, None,
                                      "is not valid YAML: nested too deeply")]) from None


# ---------------------------------------------------------------------------------------------
# locking and backups
# ---------------------------------------------------------------------------------------------

class LockTimeout(TrialDataError):
    """Another process held the lock for longer than the timeout."""


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, *, timeout: float = 60.0, poll: float = 0.05):
    """Hold an exclusive inter-process lock on ``path`` (via a hidden ``.<name>.lock`` beside it).

    Uses ``fcntl.flock`` on POSIX and ``msvcrt.locking`` on Windows; the lock is released when
    the block ends or the process dies.  Raises :class:`LockTimeout` (a
    :class:`~trialsynth.errors.TrialDataError`) after ``timeout`` seconds.
    """
    target = Path(os.fspath(path))
    lock_path = target.with_name("." + target.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise TrialDataError([Problem(str(target), None, None, None,
                                      f"cannot create the lock file {lock_path}: "
                                      f"{exc.strerror or exc}")]) from None
    deadline = time.monotonic() + timeout
    try:
        if os.name == "nt":  # pragma: no cover
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise LockTimeout([Problem(str(target), None, None, None,
                                                   f"is locked by another process (waited {timeout:g} s)")]) from None
                    time.sleep(poll)
            try:
                yield lock_path
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LockTimeout([Problem(str(target), None, None, None,
                                                   f"is locked by another process (waited {timeout:g} s)")]) from None
                    time.sleep(poll)
            try:
                yield lock_path
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def backup_file(path: str | os.PathLike, *, backup_dir: str | os.PathLike | None = None,
                keep: int = 50) -> Path | None:
    """Copy ``path`` to ``<folder>/backups/<name>.<UTC timestamp>.bak`` and return the copy.

    Returns ``None`` when ``path`` does not exist.  Keeps the newest ``keep`` backups of that
    file.  The backup folder gets a ``.gitignore`` so backups are never committed by accident.
    """
    source = Path(os.fspath(path))
    if not source.exists():
        return None
    folder = Path(os.fspath(backup_dir)) if backup_dir is not None else source.parent / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(OSError):
            atomic_write_text(ignore, "*\n")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{source.name}.{stamp}.bak"
    n = 1
    while target.exists():
        target = folder / f"{source.name}.{stamp}-{n}.bak"
        n += 1
    atomic_write_bytes(target, source.read_bytes())
    with contextlib.suppress(OSError):
        shutil.copymode(source, target)
    if keep > 0:
        old = sorted(folder.glob(f"{source.name}.*.bak"))
        for stale in old[:-keep]:
            with contextlib.suppress(OSError):
                stale.unlink()
    return target
