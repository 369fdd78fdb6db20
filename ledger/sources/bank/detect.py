"""Tell a statement file's format from its first bytes.

Content, not the file name: banks name files `.txt`, `.dat` or `.sta` whatever they hold.
"""

from __future__ import annotations

import re
from typing import Literal

from ledger.sources.bank.model import BankStatementError
from ledger.sources.bank.source_file import SourceFile

FileFormat = Literal["bai2", "camt", "mt940", "ofx", "csv"]
FILE_FORMATS: tuple[FileFormat, ...] = ("bai2", "camt", "mt940", "ofx", "csv")

_MT940_TAG = re.compile(r"^\s*(\{1:|:(20|25|28C?|60[FM]|61):)", re.MULTILINE)
# OFX 1.x opens with its SGML header (sometimes all on one line), 2.x with <?OFX ...?> after <?xml?>.
_OFX = re.compile(r"^OFXHEADER\s*:|<\?OFX\s|^<OFX>", re.IGNORECASE)


def detect_format(source: SourceFile) -> FileFormat:
    head = source.head().lstrip("\x01 \t\r\n")
    if head.startswith("01,"):
        return "bai2"
    if _OFX.search(head[:512]):
        return "ofx"
    if head.startswith("<"):
        return "camt"
    if _MT940_TAG.search(head):
        return "mt940"
    raise BankStatementError(
        source.name,
        1,
        "cannot tell the format: not BAI2 (starts with '01,'), OFX (OFXHEADER), camt XML, or MT940 (':20:' tags)."
        " For a CSV export pass a column mapping (csv_config, CLI: --csv-config FILE.json)",
    )
