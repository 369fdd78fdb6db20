"""The numbered lines of a text statement file (MT940, BAI2), read lazily, end-of-file junk set aside.

Lazy because a 50 MB statement has a million lines: a list of them costs more memory than the
statement lines parsed from them. Line breaks are CRLF, LF or CR (not str.splitlines(), which
also breaks on form feeds and U+0085, data in these files).

Control bytes at the very end of a file (DOS's SUB 0x1A end-of-file mark, an EOT 0x04 from a
terminal transfer) are not part of any record: they are cut off and recorded as a deviation. `framing`
names control characters a format expects there (MT940's ETX, which ends a SWIFT envelope) and
that are left for the parser without a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ledger.sources.bank.deviations import Deviations
from ledger.sources.bank.source_file import SourceFile

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CONTROL = "".join(map(chr, range(0x20))) + "\x7f"


def read_lines(source: SourceFile, deviations: Deviations, framing: str = "") -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its terminator), without trailing control bytes."""
    text = source.text()
    end = len(text.rstrip(_CONTROL + " "))
    expected = set(" \t\r\n" + framing)
    first = next((i for i in range(end, len(text)) if text[i] not in expected), None)
    if first is None:
        yield from _numbered(text)
        return
    number = 0
    for number, line in _numbered(text[:first]):
        yield number, line
    shown = " ".join(sorted({f"0x{ord(c):02X}" for c in text[first:] if c not in expected}))
    deviations.add(number, f"control bytes {shown} at the end of the file are not part of any record: ignored")


def _numbered(text: str) -> Iterator[tuple[int, str]]:
    number, start = 0, 0
    for number, match in enumerate(_LINE_BREAK.finditer(text), start=1):
        yield number, text[start : match.start()]
        start = match.end()
    yield number + 1, text[start:]
