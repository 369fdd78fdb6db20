"""Large synthetic statement files (camt.053, MT940, BAI2) of about a given size, for the parse benchmark.

`write_bench_file(format, path, target_bytes)` streams one statement to disk, so a 50 MB file never
exists in memory (sandbox.bank_statements builds whole documents, which is right for the demo's few
hundred entries and not for 400,000). Every file is one the parsers accept: balances, control
totals and record counts add up.

Shape: one account, one statement (BAI2: one group) holding every entry, as a busy account's
monthly camt.053 does. One statement on purpose: a parser whose cost grows with the square of a
statement's entries is then super-linear from the 5 MB file to the 50 MB one, which statements of
a fixed size would hide. Entries alternate Stripe payout credits and fee debits, with texts long
enough to need continuation lines (MT940 `:86:` over two lines, BAI2 88 records).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

BenchFormat = Literal["camt.053", "mt940", "bai2"]
BENCH_FORMATS: tuple[BenchFormat, ...] = ("camt.053", "mt940", "bai2")
DAY = date(2026, 1, 5)
OPENING_MINOR = 1_000_000
ACCOUNT = "DE89370400440532013000"
BAI2_ACCOUNT = "0012345678"


@dataclass(frozen=True)
class _Entry:
    number: int

    @property
    def amount_minor(self) -> int:
        return 1_000 + (self.number * 7_919) % 5_000_000

    @property
    def credit(self) -> bool:
        return self.number % 2 == 0

    @property
    def reference(self) -> str:
        return f"REF{self.number:012d}"

    @property
    def text(self) -> str:
        return f"STRIPE TRANSFER ST-{self.number:012X} ACME ROBOTICS INC PAYOUT FOR SALES OF DAY {self.number % 28 + 1}"


@dataclass(frozen=True)
class _Totals:
    count: int
    credits: int
    debits: int
    credit_count: int

    @property
    def closing(self) -> int:
        return OPENING_MINOR + self.credits - self.debits


def write_bench_file(format: BenchFormat, path: Path, target_bytes: int) -> int:
    """Write one statement of about `target_bytes` to `path`; return its entry count."""
    header, entry_lines, footer = _WRITERS[format]
    count = max(1, target_bytes // len(entry_lines(_Entry(1_000_001))))
    count = max(1, target_bytes // len(entry_lines(_Entry(count // 2))))  # an entry of the file's middle: about average
    totals = _totals(count)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(header(totals))
        for number in range(count):
            out.write(entry_lines(_Entry(number)))
        out.write(footer(totals))
    return count


def _totals(count: int) -> _Totals:
    credits = debits = credit_count = 0
    for entry in map(_Entry, range(count)):
        if entry.credit:
            credits += entry.amount_minor
            credit_count += 1
        else:
            debits += entry.amount_minor
    return _Totals(count, credits, debits, credit_count)


def _major(amount_minor: int, separator: str) -> str:
    return f"{amount_minor // 100}{separator}{amount_minor % 100:02d}"


def _break_at_space(text: str, width: int) -> tuple[str, str]:
    """Text and its continuation line; the parsers join the two with one space, which this drops."""
    cut = text.rindex(" ", 0, width + 1)
    return text[:cut], text[cut + 1 :]


def _mt940_header(totals: _Totals) -> str:
    return f":20:STMT{DAY:%y%m%d}\n:25:{ACCOUNT}\n:28C:1/1\n{_mt940_balance('60F', OPENING_MINOR)}\n"


def _mt940_entry(entry: _Entry) -> str:
    first, rest = _break_at_space(entry.text, 65)
    return (
        f":61:{DAY:%y%m%d}{DAY:%m%d}{'C' if entry.credit else 'D'}{_major(entry.amount_minor, ',')}"
        f"NTRF{entry.reference}//B{entry.number}\n:86:{first}\n{rest}\n"
    )


def _mt940_footer(totals: _Totals) -> str:
    return f"{_mt940_balance('62F', totals.closing)}\n-\n"


def _mt940_balance(tag: str, amount: int) -> str:
    return f":{tag}:{'C' if amount >= 0 else 'D'}{DAY:%y%m%d}EUR{_major(abs(amount), ',')}"


# BAI2 records: 01, 02, 03 + 88, two per entry (16 + 88), 49, 98, 99.
def _bai2_header(totals: _Totals) -> str:
    return (
        f"01,BANK,RECEIVER,{DAY:%y%m%d},2300,BENCH,,,2/\n02,RECEIVER,BANK,1,{DAY:%y%m%d},,USD,2/\n"
        f"03,{BAI2_ACCOUNT},USD,010,{OPENING_MINOR},,,015,{totals.closing},,/\n"
        f"88,100,{totals.credits},{totals.credit_count},,400,{totals.debits},{totals.count - totals.credit_count},/\n"
    )


def _bai2_entry(entry: _Entry) -> str:
    first, rest = _break_at_space(entry.text, 40)
    return (
        f"16,{'165' if entry.credit else '451'},{entry.amount_minor},0,{entry.reference},B{entry.number},{first}\n"
        f"88,{rest}\n"
    )


def _bai2_footer(totals: _Totals) -> str:
    # The 03 amounts (opening, closing, credit and debit summaries) and every 16 amount.
    total = OPENING_MINOR + totals.closing + 2 * (totals.credits + totals.debits)
    account_records = 2 + 2 * totals.count + 1
    return f"49,{total},{account_records}/\n98,{total},1,{account_records + 2}/\n99,{total},1,{account_records + 4}/\n"


def _camt_header(totals: _Totals) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>\n'
        f"<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>{DAY}T23:00:00</CreDtTm></GrpHdr>\n"
        f"<Stmt><Id>S{DAY:%Y%m%d}</Id><CreDtTm>{DAY}T23:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n"
        f"{_camt_balance('OPBD', OPENING_MINOR)}{_camt_balance('CLBD', totals.closing)}"
    )


def _camt_entry(entry: _Entry) -> str:
    return (
        f"<Ntry>\n<Amt Ccy=\"EUR\">{_major(entry.amount_minor, '.')}</Amt>\n"
        f"<CdtDbtInd>{'CRDT' if entry.credit else 'DBIT'}</CdtDbtInd>\n<Sts>BOOK</Sts>\n"
        f"<BookgDt><Dt>{DAY}</Dt></BookgDt>\n<ValDt><Dt>{DAY}</Dt></ValDt>\n"
        f"<AcctSvcrRef>B{entry.number}</AcctSvcrRef>\n"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>\n"
        f"<NtryDtls><TxDtls><Refs><EndToEndId>{entry.reference}</EndToEndId></Refs>\n"
        f"<RmtInf><Ustrd>{entry.text}</Ustrd></RmtInf></TxDtls></NtryDtls>\n</Ntry>\n"
    )


def _camt_footer(totals: _Totals) -> str:
    return "</Stmt>\n</BkToCstmrStmt></Document>\n"


def _camt_balance(code: str, amount: int) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{_major(abs(amount), '.')}</Amt>"
        f"<CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{DAY}</Dt></Dt></Bal>\n"
    )


_Writer = tuple[Callable[[_Totals], str], Callable[[_Entry], str], Callable[[_Totals], str]]
_WRITERS: dict[BenchFormat, _Writer] = {
    "camt.053": (_camt_header, _camt_entry, _camt_footer),
    "mt940": (_mt940_header, _mt940_entry, _mt940_footer),
    "bai2": (_bai2_header, _bai2_entry, _bai2_footer),
}
