"""Journal lines as the exporters read them from the ledger: one period of one entity."""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class JournalLine:
    journal_entry_id: str
    external_id: str
    entity_id: str
    accounting_date: date
    currency: str
    account_code: str
    account_name: str
    netsuite_account: str
    sap_gl_account: str
    amount_minor: int
    memo: str

    @property
    def debit_minor(self) -> int:
        return self.amount_minor if self.amount_minor > 0 else 0

    @property
    def credit_minor(self) -> int:
        return -self.amount_minor if self.amount_minor < 0 else 0


@dataclass(frozen=True)
class CurrencyTotals:
    debit_minor: int
    credit_minor: int


def totals_by_currency(lines: Iterable[JournalLine]) -> dict[str, CurrencyTotals]:
    debit: dict[str, int] = defaultdict(int)
    credit: dict[str, int] = defaultdict(int)
    for line in lines:
        debit[line.currency] += line.debit_minor
        credit[line.currency] += line.credit_minor
    return {currency: CurrencyTotals(debit[currency], credit[currency]) for currency in sorted(debit)}


def periods(connection: duckdb.DuckDBPyConnection, entity_id: str) -> list[str]:
    rows = connection.execute(
        "select distinct period from main.fct_journal_lines where entity_id = ? order by period", [entity_id]
    ).fetchall()
    return [period for (period,) in rows]


def load_journal_lines(connection: duckdb.DuckDBPyConnection, entity_id: str, period: str) -> list[JournalLine]:
    """The period's lines in a stable order: by entry, then account."""
    rows = connection.execute(
        """
        select
            lines.journal_entry_id, lines.external_id, lines.entity_id, lines.accounting_date, lines.currency,
            lines.account_code, lines.account_name, accounts.netsuite_account, accounts.sap_gl_account,
            lines.amount_minor, lines.memo
        from main.fct_journal_lines as lines
        left join accounting.gl_accounts as accounts
            on lines.account_code = accounts.account_code
        where lines.entity_id = ? and lines.period = ?
        order by lines.journal_entry_id, lines.account_code
        """,
        [entity_id, period],
    ).fetchall()
    return [JournalLine(*row) for row in rows]


@contextmanager
def atomic_write(path: Path, newline: str | None = "") -> Iterator:
    """Write to a temporary file beside `path` and rename it into place: never a half-written export."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
