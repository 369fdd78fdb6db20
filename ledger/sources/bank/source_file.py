"""The raw bytes of one statement file, its fingerprint, its encoding and its text lines.

Encoding, in this order: a byte-order mark (UTF-8, UTF-16, UTF-32), else the encoding an XML
declaration names, else UTF-8, else (text formats only) Latin-1. Bank text formats are ASCII in
principle; European MT940 and CSV files come in UTF-8 or Latin-1, and Latin-1 decodes any byte,
so a wrong guess garbles an umlaut but never an amount. XML without a declaration must be UTF-8
(XML 1.0, 4.3.3), so a camt file in Latin-1 that does not say so is refused, naming the byte.
Bytes that do not decode in the encoding the file declares, an encoding Python does not know,
and UTF-16 or UTF-32 without a byte-order mark (NUL bytes) are refused naming the encoding.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ledger.sources.bank.model import (
    Balance,
    BankStatementError,
    ControlCheck,
    FormatName,
    ParsedStatement,
    StatementLine,
)


@dataclass(frozen=True)
class SourceFile:
    name: str
    data: bytes
    sha256: str

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise BankStatementError(path.name, None, f"cannot read the file: {error.strerror}") from error
        if not data or data.isspace():  # isspace, not strip: no copy of a large file
            raise BankStatementError(path.name, None, "file is empty" + (" (only white space)" if data else ""))
        return cls(name=path.name, data=data, sha256=hashlib.sha256(data).hexdigest())

    @cached_property
    def declared_encoding(self) -> str | None:
        """The Python codec named by a byte-order mark or an XML declaration; None when the file names none."""
        for mark, codec in _BYTE_ORDER_MARKS:
            if self.data.startswith(mark):
                return codec
        declaration = _XML_ENCODING.match(self.data)
        if declaration is None:
            if b"\x00" in self.data[:4096]:
                raise BankStatementError(
                    self.name, 1, "the file holds NUL bytes: UTF-16 or UTF-32 without a byte-order mark?"
                    " Save it as UTF-8, or with a byte-order mark"
                )
            return None
        name = declaration.group(1).decode("ascii")
        try:
            return codecs.lookup(name).name
        except LookupError:
            raise BankStatementError(
                self.name, 1, f"the XML declaration names the encoding {name!r}, which is unknown"
            ) from None

    def text(self) -> str:
        if self.declared_encoding:
            self._require_decodable(self.declared_encoding, _DECLARED)
            return self.data.decode(self.declared_encoding)
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            return self.data.decode("latin-1")

    def head(self, size: int = 4096) -> str:
        """The first `size` bytes as text, undecodable bytes replaced: enough to tell the format."""
        return self.data[:size].decode(self.declared_encoding or "utf-8", errors="replace").lstrip("\ufeff")

    def require_xml_encoding(self) -> None:
        """Refuse XML whose bytes are not in its declared encoding, or not UTF-8 when it declares none."""
        if self.declared_encoding:
            self._require_decodable(self.declared_encoding, _DECLARED)
        else:
            self._require_decodable(
                "utf-8", "in UTF-8, and the file declares no other encoding (add encoding=\"...\" to its XML declaration)"
            )

    def _require_decodable(self, encoding: str, expectation: str) -> None:
        """Refuse at the first byte that is not text in `encoding`; `expectation` says why it should be."""
        # In slices, so that checking a 50 MB file never holds a second copy of it as text.
        decoder = codecs.getincrementaldecoder(encoding)()
        for start in range(0, len(self.data), _DECODE_SLICE):
            end = start + _DECODE_SLICE
            try:
                decoder.decode(self.data[start:end], final=end >= len(self.data))
            except UnicodeDecodeError as error:
                offset = start + error.start
                line = self.data.count(b"\n", 0, offset) + 1
                reason = f"byte 0x{self.data[offset]:02X} at offset {offset} is not text {expectation.format(encoding)}"
                raise BankStatementError(self.name, line, reason) from None

    def parsed(
        self,
        format: FormatName,
        entries: Iterable[StatementLine],
        balances: Iterable[Balance] = (),
        checks: Iterable[ControlCheck] = (),
        warnings: Iterable[str] = (),
    ) -> ParsedStatement:
        """The parse result, stamped with this file's name and fingerprint."""
        return ParsedStatement(
            file_name=self.name,
            file_sha256=self.sha256,
            format=format,
            entries=tuple(entries),
            balances=tuple(balances),
            checks=tuple(checks),
            warnings=tuple(warnings),
        )


_BYTE_ORDER_MARKS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")
_DECODE_SLICE = 1 << 20
_DECLARED = "in {}, the encoding the file declares"
