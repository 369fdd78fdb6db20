"""Journal lines as the exporters read them from the ledger: one period of one entity at a time.

Also the shapes every target shares: entries grouped by external id, and entries split into
balanced parts when a target limits the lines per entry (NetSuite 1,000, SAP 999).

Every line carries its amount twice: in the transaction (Stripe settlement) currency and in the
entity's functional currency, from `fct_journal_lines_translated`, with the rate between them.
A translated entry's rounding difference is a line with transaction amount 0. Period-end
revaluations (`fct_fx_revaluation_lines`) move functional amounts only, so they are exported as
entries in the functional currency (rate 1): any ERP imports them as an ordinary journal entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from ledger import failpoints


# mkstemp creates 0600 files; exports are for accountants and file servers to read.
EXPORT_FILE_MODE = 0o644


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
    functional_currency: str
    functional_amount_minor: int
    # Units of functional currency per unit of `currency` (NetSuite: base amount / foreign amount).
    exchange_rate: Decimal
    # A period-end revaluation line: no source records behind it (fct_fx_revaluation_lines).
    is_revaluation: bool = False
    # What part of the line's account an ERP line carries: a product or a tax jurisdiction of the
    # sales split (exporters/sales_detail.py); "" for the ledger's own lines.
    detail: str = ""

    @property
    def debit_minor(self) -> int:
        return self.amount_minor if self.amount_minor > 0 else 0

    @property
    def credit_minor(self) -> int:
        return -self.amount_minor if self.amount_minor < 0 else 0

    @property
    def is_debit(self) -> bool:
        """The line's side: its transaction amount's sign, or for a rounding line (transaction amount 0) its functional amount's."""
        return (self.amount_minor or self.functional_amount_minor) > 0


@dataclass(frozen=True)
class LineSource:
    """One source record behind a summarized journal line: the drill-down to balance transactions."""

    journal_line_id: str
    external_id: str
    account_code: str
    source_kind: str
    source_id: str
    line_role: str
    currency: str
    amount_minor: int
    accounting_date: date


@dataclass(frozen=True)
class JournalEntry:
    """The lines of one entry (or one part of a split entry) under the id the ERP keys it by."""

    external_id: str
    lines: tuple[JournalLine, ...]

    @property
    def currency(self) -> str:
        return self.lines[0].currency

    @property
    def accounting_date(self) -> date:
        return self.lines[0].accounting_date

    @property
    def memo(self) -> str:
        return self.lines[0].memo

    @property
    def functional_currency(self) -> str:
        return self.lines[0].functional_currency

    @property
    def exchange_rate(self) -> Decimal:
        return self.lines[0].exchange_rate


class EntrySplitError(ValueError):
    """An entry cannot be split the way the target needs; the message names the entry."""


@dataclass(frozen=True)
class CurrencyTotals:
    debit_minor: int
    credit_minor: int


def format_rate(rate: Decimal) -> str:
    """An exchange rate as plain decimal text without trailing zeros ("1.0871", "1")."""
    return format(rate.normalize(), "f")


def totals_by_currency(lines: Iterable[JournalLine]) -> dict[str, CurrencyTotals]:
    debit: dict[str, int] = defaultdict(int)
    credit: dict[str, int] = defaultdict(int)
    for line in lines:
        debit[line.currency] += line.debit_minor
        credit[line.currency] += line.credit_minor
    return {currency: CurrencyTotals(debit[currency], credit[currency]) for currency in sorted(debit)}


def net_by_currency_and_account(lines: Iterable[JournalLine], functional: bool = False) -> dict[tuple[str, str], int]:
    """Signed total per (currency, account code), in the transaction or the functional currency:
    what every export must reproduce, split or not."""
    net: dict[tuple[str, str], int] = defaultdict(int)
    for line in lines:
        if functional:
            net[line.functional_currency, line.account_code] += line.functional_amount_minor
        else:
            net[line.currency, line.account_code] += line.amount_minor
    return {key: amount for key, amount in sorted(net.items()) if amount != 0}


class ExportTotalsError(RuntimeError):
    """A written file does not add up to the ledger it was written from."""


@dataclass(frozen=True)
class ExportedFile:
    """A written export file and what it holds, as parsed back from the file itself."""

    path: Path
    rows: int
    totals: dict[str, CurrencyTotals]


def parsed_line(
    external_id: str, currency: str, account_code: str, amount_minor: int, functional_currency: str = "", functional_amount_minor: int = 0,
    detail: str = "",
) -> JournalLine:
    """A line as read back from an export file: what the totals proof compares, and the detail its text names."""
    return JournalLine(
        external_id, external_id, "", date.min, currency, account_code, "", "", "", amount_minor, "",
        functional_currency, functional_amount_minor, Decimal(0), detail=detail,
    )


def prove_totals(path: Path, written: list[JournalLine], ledger: list[JournalLine], functional: bool = True) -> ExportedFile:
    """Compare lines parsed back from `path` with the ledger's per currency and account, in the transaction
    currency and (for a file that carries them) in the functional currency; remove the file if they differ."""
    differences = {}
    for kind in (False, True) if functional else (False,):
        written_net, ledger_net = net_by_currency_and_account(written, kind), net_by_currency_and_account(ledger, kind)
        differences |= {
            f"{'functional ' if kind else ''}{currency.upper()} {account}": (written_net.get((currency, account), 0), ledger_net.get((currency, account), 0))
            for currency, account in sorted(set(written_net) | set(ledger_net))
            if written_net.get((currency, account), 0) != ledger_net.get((currency, account), 0)
        }
    if differences:
        path.unlink(missing_ok=True)
        raise ExportTotalsError(f"{path}: (file, ledger) minor units differ for {differences}; the file was removed")
    return ExportedFile(path=path, rows=len(written), totals=totals_by_currency(written))


def group_entries(lines: Iterable[JournalLine]) -> list[JournalEntry]:
    """Lines grouped by external id, in the order of first appearance (the ledger's stable order)."""
    grouped: dict[str, list[JournalLine]] = {}
    for line in lines:
        grouped.setdefault(line.external_id, []).append(line)
    return [JournalEntry(external_id, tuple(entry_lines)) for external_id, entry_lines in grouped.items()]


def split_entry(entry: JournalEntry, max_lines: int, carry_account_code: str) -> list[JournalEntry]:
    """Split an entry longer than `max_lines` into balanced parts, deterministically.

    The entry's line on the carry account is taken out; each part takes the next `max_lines - 1`
    other lines in ledger order plus one carry-account line that balances the part, in the
    transaction and in the functional currency. Because the entry sums to zero in both, the carry
    lines add up to the line taken out, so per account the parts sum to exactly the original entry. Part ids are
    `<external id>-P01`, `-P02`... ; an entry that fits is returned unchanged.
    """
    if len(entry.lines) <= max_lines:
        return [entry]
    if max_lines < 2:
        raise EntrySplitError(f"entry {entry.external_id}: cannot split into parts of {max_lines} line(s)")
    template = next((line for line in entry.lines if line.account_code == carry_account_code), None)
    if template is None:
        raise EntrySplitError(
            f"entry {entry.external_id} has {len(entry.lines)} lines (limit {max_lines}) and no line on the "
            f"carry account {carry_account_code} to balance its parts with; configure a carry account the entry uses"
        )
    body = [line for line in entry.lines if line is not template]
    chunks = [body[start:start + max_lines - 1] for start in range(0, len(body), max_lines - 1)]
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        part_id = f"{entry.external_id}-P{number:02d}"
        carry = dataclass_replace(
            template, external_id=part_id, amount_minor=-sum(line.amount_minor for line in chunk),
            functional_amount_minor=-sum(line.functional_amount_minor for line in chunk),
            memo=f"{template.memo} (part {number} of {len(chunks)})",
        )
        renamed = [dataclass_replace(line, external_id=part_id, memo=carry.memo) for line in chunk]
        parts.append(JournalEntry(part_id, tuple(line for line in [*renamed, carry] if line.amount_minor or line.functional_amount_minor)))
    return parts


# The ledger's own fields: an ERP line's `detail` is how an export presents a ledger line, not the ledger.
_FINGERPRINTED_FIELDS = tuple(field for field in JournalLine.__dataclass_fields__ if field != "detail")


def ledger_fingerprint(lines: Iterable[JournalLine]) -> str:
    """sha256 over the lines' exported fields: equal fingerprints mean an unchanged period."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(repr(tuple(getattr(line, field) for field in _FINGERPRINTED_FIELDS)).encode())
    return digest.hexdigest()


# The functional-currency journal: translated entries, then revaluations as functional-currency entries.
FUNCTIONAL_JOURNAL = """
    select
        journal_line_id, journal_entry_id, external_id, entity_id, accounting_date, period, currency, account_code, account_name,
        amount_minor, memo, functional_currency, functional_amount_minor, fx_rate, false as is_revaluation
    from main.fct_journal_lines_translated
    union all
    select
        journal_line_id, journal_entry_id, external_id, entity_id, accounting_date, period, functional_currency, account_code, account_name,
        functional_amount_minor, memo, functional_currency, functional_amount_minor, 1, true
    from main.fct_fx_revaluation_lines
"""


class MissingRateError(ValueError):
    """A line has no functional amount because no rate covers its currency and date; the message names it."""


def entity_periods(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Every (entity, period) that has journal lines, in order."""
    return connection.execute(f"select distinct entity_id, period from ({FUNCTIONAL_JOURNAL}) as lines order by 1, 2").fetchall()


def load_journal_lines(connection: duckdb.DuckDBPyConnection, entity_id: str, period: str) -> list[JournalLine]:
    """The period's lines in a stable order: by entry, then account."""
    rows = connection.execute(
        f"""
        select
            lines.journal_line_id, lines.journal_entry_id, lines.external_id, lines.entity_id, lines.accounting_date, lines.currency,
            lines.account_code, lines.account_name, accounts.netsuite_account, accounts.sap_gl_account,
            lines.amount_minor, lines.memo, lines.functional_currency, lines.functional_amount_minor, lines.fx_rate, lines.is_revaluation
        from ({FUNCTIONAL_JOURNAL}) as lines
        left join accounting.gl_accounts as accounts
            on lines.account_code = accounts.account_code
        where lines.entity_id = ? and lines.period = ?
        order by lines.journal_entry_id, lines.account_code, lines.journal_line_id
        """,
        [entity_id, period],
    ).fetchall()
    missing = [row for row in rows if row[13] is None]
    if missing:
        described = ", ".join(f"{row[0]} ({row[5].upper()} on {row[4]})" for row in missing[:10])
        raise MissingRateError(
            f"{len(missing)} line(s) of period {period} have no {missing[0][12].upper()} amount because seeds/fx_rates.csv has no rate "
            f"on or before their date: {described}; add the rates and build the ledger again"
        )
    return [JournalLine(*row[1:14], Decimal(row[14]), row[15]) for row in rows]


def load_line_sources(connection: duckdb.DuckDBPyConnection, entity_id: str, period: str) -> list[LineSource]:
    """The drill-down of the period's lines, down to balance transaction ids, in a stable order."""
    rows = connection.execute(
        """
        select
            sources.journal_line_id, sources.journal_entry_id, sources.account_code, sources.source_kind,
            sources.source_id, sources.line_role, sources.currency, sources.amount_minor, sources.accounting_date
        from main.fct_journal_line_sources as sources
        where sources.entity_id = ? and substr(cast(sources.accounting_date as string), 1, 7) = ?
        order by sources.journal_line_id, sources.source_id, sources.line_role
        """,
        [entity_id, period],
    ).fetchall()
    return [LineSource(*row) for row in rows]


@contextmanager
def atomic_write(path: Path, newline: str | None = "", binary: bool = False) -> Iterator:
    """Write to a temporary file beside `path` and rename it into place: never a half-written export."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A writer killed before its rename leaves its temporary file; one writer holds the warehouse
    # at a time (ledger/warehouse_lock.py), so any such file beside `path` is a dead writer's.
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8", newline=newline)) as stream:
            yield stream
        os.chmod(temporary, EXPORT_FILE_MODE)
        failpoints.reached("export.write")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """`atomic_write` for binary content (XLSX, XML)."""
    with atomic_write(path, binary=True) as stream:
        stream.write(data)
