"""Safe reading of untrusted review files: XML without entities, zip files without traversal.

A review file comes from outside (a colleague, a download); it is read as untrusted input:

* **XML** is parsed with :mod:`defusedxml` and ``forbid_dtd=True``: a document type declaration
  is refused outright, so neither entity expansion ("billion laughs", a few hundred bytes that
  expand to gigabytes) nor external entities (``<!ENTITY x SYSTEM "file:///etc/passwd">``, which
  would read another file into the data) can happen. The file's size is checked before it is
  read (:data:`MAX_XML_BYTES`).
* **Encodings**: a byte-order mark, then the XML declaration's ``encoding``, then UTF-8; a file
  that is not what it declares (RevMan 5 writes ``ISO-8859-1``; hand edits add UTF-8 bytes or
  the reverse) is read as Windows-1252 with a note, never guessed silently.
* **Not XML-escaped files**: a bare ``&`` (``Smith & Jones``), an HTML entity that XML does not
  define (``&nbsp;``) or a bare ``<`` before a space or digit (``p < 0.05``) make a file
  that is not well-formed; they are repaired (``&amp;``, the character, ``&lt;``) and counted in
  a note. Anything else that does not parse is an error naming the line and column.
* **Zip files** (:func:`read_zip_members`) are read in memory, never extracted: a member whose
  name is absolute, contains ``..`` or a drive letter, is a symbolic link or is encrypted is
  refused, as is an archive with more than :data:`MAX_ZIP_MEMBERS` members, a member larger
  than :data:`MAX_MEMBER_BYTES`, more than :data:`MAX_ZIP_TOTAL_BYTES` in all, or a member that
  expands more than :data:`MAX_COMPRESSION_RATIO` times (a zip bomb). Sizes are enforced while
  reading, not only as the archive declares them.

Every refusal is a :class:`~trialsynth.errors.TrialDataError` naming the file (and member).
"""

from __future__ import annotations

import codecs
import html.entities
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from trialsynth.errors import Problem, TrialDataError

#: largest XML file read (RevMan 5 files of large reviews are a few tens of megabytes)
MAX_XML_BYTES = 64 * 1024 * 1024
#: most members a data package zip may have
MAX_ZIP_MEMBERS = 2000
#: largest uncompressed member
MAX_MEMBER_BYTES = 64 * 1024 * 1024
#: largest uncompressed total of the members read
MAX_ZIP_TOTAL_BYTES = 256 * 1024 * 1024
#: largest uncompressed/compressed ratio of a member (text compresses ~5-20 times)
MAX_COMPRESSION_RATIO = 200
#: members smaller than this are not held to the ratio (tiny files compress oddly)
_RATIO_FLOOR_BYTES = 1024 * 1024


def _fail(file: str, message: str, row: int | None = None, column: str | None = None,
          value: str | None = None) -> TrialDataError:
    return TrialDataError([Problem(file, row, column, value, message)])


def read_bytes_limited(path: str | os.PathLike, *, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of ``path``, refusing a non-regular or oversized file before reading it."""
    name = os.fspath(path)
    p = Path(name)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise _fail(name, "file not found") from None
    except OSError as exc:
        raise _fail(name, f"cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _fail(name, "is not a regular file")
    if info.st_size > max_bytes:
        raise _fail(name, f"is {info.st_size} bytes, larger than the {max_bytes} bytes a {what} may be")
    with p.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew while we read it
        raise _fail(name, f"is larger than the {max_bytes} bytes a {what} may be")
    return data


# ---------------------------------------------------------------------------------------- text

_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


@dataclass
class DecodedText:
    """Text with the encoding it was read in and what the reader had to do."""

    text: str
    encoding: str
    notes: list[str] = field(default_factory=list)


def decode_text(data: bytes, file: str, *, declared: str | None = None) -> DecodedText:
    """Decode ``data``: a byte-order mark first, then ``declared`` (or UTF-8), then Windows-1252.

    A CSV's or XML file's byte-order mark is removed. A file that is not valid in the encoding
    it declares is read as Windows-1252 (every byte maps to a character) with a note saying so.
    """
    notes: list[str] = []
    if data.startswith(codecs.BOM_UTF8):
        try:
            return DecodedText(data[3:].decode("utf-8"), "utf-8", ["byte-order mark removed (UTF-8)"])
        except UnicodeDecodeError as exc:
            raise _fail(file, f"starts with a UTF-8 byte-order mark but byte {exc.start + 3} is not "
                              "UTF-8; save the file again as UTF-8") from None
    for bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            try:
                return DecodedText(data.decode("utf-16"), "utf-16", ["read as UTF-16 (byte-order mark)"])
            except UnicodeDecodeError:
                raise _fail(file, "starts with a UTF-16 byte-order mark but is not valid UTF-16") from None
    if b"\x00" in data[:65536]:
        offset = data.index(b"\x00")
        raise _fail(file, f"contains a NUL byte at offset {offset}: not a text file")
    encoding = (declared or "utf-8").lower()
    try:
        codecs.lookup(encoding)
    except LookupError:
        notes.append(f"declares the unknown encoding {declared!r}; read as UTF-8")
        encoding = "utf-8"
    try:
        return DecodedText(data.decode(encoding), encoding, notes)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        notes.append(f"not valid {declared or 'UTF-8'} (first bad byte on line {line}): "
                     "read as Windows-1252; check accented characters")
        return DecodedText(data.decode("cp1252", errors="replace"), "cp1252", notes)


# ----------------------------------------------------------------------------------------- XML

_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_AMP = re.compile(r"&(?!#[0-9]+;|#x[0-9A-Fa-f]+;)([A-Za-z][A-Za-z0-9]*;)?")
_BARE_LT = re.compile(r"<(?=[\s0-9=<])")


def _repair_escapes(text: str) -> tuple[str, dict[str, int]]:
    """Escape what a hand-edited file leaves unescaped: bare ``&``, HTML entities, bare ``<``."""
    counts = {"bare &": 0, "HTML entity": 0, "bare <": 0}

    def amp(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            counts["bare &"] += 1
            return "&amp;"
        bare = name[:-1]
        if bare in _XML_ENTITIES:
            return match.group(0)
        char = html.entities.html5.get(name)
        if char is not None:
            counts["HTML entity"] += 1
            return char.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        counts["bare &"] += 1
        return "&amp;" + name

    text = _AMP.sub(amp, text)

    def lt(match: re.Match) -> str:
        counts["bare <"] += 1
        return "&lt;"

    text = _BARE_LT.sub(lt, text)
    return text, counts


def parse_xml(data: bytes, file: str):
    """Parse untrusted XML bytes into an :class:`xml.etree.ElementTree.Element`.

    Returns ``(root, encoding, notes)``. Raises :class:`TrialDataError` for a document type
    declaration (entities: billion laughs, external entities), for a file that is not XML, and
    for one that is not well-formed after the escape repairs described in the module notes.
    """
    import defusedxml
    import defusedxml.ElementTree as DET
    from xml.etree.ElementTree import ParseError

    if len(data) > MAX_XML_BYTES:
        raise _fail(file, f"is {len(data)} bytes, larger than the {MAX_XML_BYTES} bytes an XML file may be")
    head = data[:200].lstrip(codecs.BOM_UTF8)
    match = _XML_DECL.match(head)
    decoded = decode_text(data, file, declared=match.group(1).decode("ascii") if match else None)
    text = decoded.text
    notes = list(decoded.notes)
    # the text is decoded already: the declaration's encoding no longer applies
    text = re.sub(r"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']", r"\1", text, count=1)
    if not text.lstrip().startswith("<"):
        raise _fail(file, "is not an XML file (it does not start with '<')")

    def _parse(source: str):
        return DET.fromstring(source, forbid_dtd=True, forbid_entities=True, forbid_external=True)

    try:
        return _parse(text), decoded.encoding, notes
    except defusedxml.DefusedXmlException as exc:
        raise _fail(file, _defused_message(exc)) from None
    except ParseError as first:
        repaired, counts = _repair_escapes(text)
        if not any(counts.values()):
            raise _fail(file, f"is not well-formed XML: {_parse_error_text(first)}") from None
        try:
            root = _parse(repaired)
        except defusedxml.DefusedXmlException as exc:
            raise _fail(file, _defused_message(exc)) from None
        except ParseError as second:
            raise _fail(file, f"is not well-formed XML: {_parse_error_text(second)}") from None
        done = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
        notes.append(f"not XML-escaped: repaired {done} (first problem was {_parse_error_text(first)})")
        return root, decoded.encoding, notes


def _parse_error_text(exc) -> str:
    line, column = getattr(exc, "position", (None, None))
    reason = str(exc).split(":")[0]
    return f"{reason} at line {line}, column {column}" if line is not None else reason


def _defused_message(exc) -> str:
    kind = type(exc).__name__
    if kind == "DTDForbidden":
        what = "a document type declaration (DTD)"
    elif kind == "EntitiesForbidden":
        what = f"an entity declaration ({getattr(exc, 'name', '')})"
    elif kind == "ExternalReferenceForbidden":
        what = "a reference to an external resource"
    else:
        what = "a construct defusedxml forbids"
    return (f"refused: the XML contains {what}. Review files never need one; entities can expand "
            "to gigabytes (billion laughs) or read other files (external entities)")


# ----------------------------------------------------------------------------------------- zip


def _unsafe_member_name(name: str) -> str | None:
    """Why a member name is unsafe, or None."""
    if not name or "\x00" in name:
        return "has an empty name or a NUL character"
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or re.match(r"^[A-Za-z]:", normalised):
        return "is an absolute path"
    if any(part == ".." for part in PurePosixPath(normalised).parts):
        return "contains '..' (it would be written outside the folder)"
    return None


def read_zip_members(path: str | os.PathLike, *, want=None, max_members: int = MAX_ZIP_MEMBERS,
                     max_member_bytes: int = MAX_MEMBER_BYTES, max_total_bytes: int = MAX_ZIP_TOTAL_BYTES,
                     max_ratio: float = MAX_COMPRESSION_RATIO) -> dict[str, bytes]:
    """Read the members of a zip file into memory, safely (see the module notes).

    Parameters
    ----------
    path : path-like
        The zip file.
    want : callable, optional
        ``want(member_name) -> bool``: only these members are read (every member's name and
        declared size is still checked). Default: every file member.

    Returns
    -------
    dict
        Member name (with ``/`` separators) -> its bytes.
    """
    name = os.fspath(path)
    try:
        info = Path(name).stat()
    except FileNotFoundError:
        raise _fail(name, "file not found") from None
    if not stat.S_ISREG(info.st_mode):
        raise _fail(name, "is not a regular file")
    if info.st_size > max_total_bytes:
        raise _fail(name, f"is {info.st_size} bytes, larger than the {max_total_bytes} bytes a zip file may be")
    try:
        archive = zipfile.ZipFile(name)
    except FileNotFoundError:
        raise _fail(name, "file not found") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(name, f"is not a readable zip file ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise _fail(name, f"has {len(infos)} members, more than the {max_members} a data package may have")
        out: dict[str, bytes] = {}
        total = 0
        for info in infos:
            member = info.filename
            reason = _unsafe_member_name(member)
            if reason:
                raise _fail(f"{name}: {member}", f"refused: the member name {reason}")
            mode = (info.external_attr >> 16) & 0xFFFF
            if stat.S_ISLNK(mode):
                raise _fail(f"{name}: {member}", "refused: the member is a symbolic link")
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise _fail(f"{name}: {member}", "refused: the member is encrypted")
            if info.file_size > max_member_bytes:
                raise _fail(f"{name}: {member}", f"refused: {info.file_size} bytes uncompressed, more than "
                                                  f"the {max_member_bytes} a member may have")
            if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
                raise _fail(f"{name}: {member}", f"refused: it expands {info.file_size / max(info.compress_size, 1):.0f} "
                                                  f"times (more than {max_ratio:g}): a zip bomb?")
            if want is not None and not want(member.replace("\\", "/")):
                continue
            budget = min(max_member_bytes, max_total_bytes - total)
            try:
                with archive.open(info) as handle:
                    data = handle.read(budget + 1)
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, NotImplementedError) as exc:
                raise _fail(f"{name}: {member}", f"cannot be read ({exc})") from None
            if len(data) > budget:
                raise _fail(f"{name}: {member}", "refused: it is larger than its declared size or than the "
                                                  f"{max_total_bytes} bytes the archive may hold in all")
            total += len(data)
            out[member.replace("\\", "/")] = data
        return out
