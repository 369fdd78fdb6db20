"""The raw bytes of one statement file, its fingerprint, and its text lines."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
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
        return cls(name=path.name, data=data, sha256=hashlib.sha256(data).hexdigest())

    def text(self) -> str:
        # Bank text formats are ASCII in principle; European MT940 files come in UTF-8 or Latin-1,
        # and Latin-1 decodes any byte, so a wrong guess garbles an umlaut but never an amount.
        try:
            return self.data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return self.data.decode("latin-1")

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

    def numbered_lines(self) -> list[tuple[int, str]]:
        """(1-based line number, line without its terminator); CRLF, LF and CR all end a line."""
        # Not str.splitlines(): it also breaks on form feeds and U+0085, which are data here.
        return list(enumerate(_LINE_BREAK.split(self.text()), start=1))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
