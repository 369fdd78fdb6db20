"""Large synthetic statement files (camt.053, MT940, BAI2) of a given size, for the parse benchmark.

`write_bench_file(format, path, target_bytes)` streams statements to disk until the file reaches
the target size, so a 50 MB file never exists in memory (sandbox.bank_statements builds whole
documents, which is right for the demo's few hundred entries and not for 400,000). Every file is
one that the parsers accept: balances, control totals and record counts add up.

Shape: one account in EUR (camt, MT940) or USD (BAI2), one statement (BAI2: one group) per day
of STATEMENT_ENTRIES entries, alternating Stripe payout credits and fee debits, with texts long
enough to need continuation lines (MT940 `:86:` over two lines, BAI2 88 records).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

BenchFormat = Literal["camt.053", "mt940", "bai2"]
BENCH_FORMATS: tuple[BenchFormat, ...] = ("camt.053", "mt940", "bai2")
STATEMENT_ENTRIES = 2_000  # a busy account's day
FIRST_DAY = date(2026, 1, 5)
ACCOUNT = "DE89370400440532013000"
BAI2_ACCOUNT = "0012345678"


@dataclass(frozen=True)
class _Entry:
    number: int
    amount_minor: int
    credit: bool

    @property
    def reference(self) -> str:
        return f"REF{self.number:012d}"

    @property
    def text(self) -> str:
        return f"STRIPE TRANSFER ST-{self.number:012X} ACME ROBOTICS INC PAYOUT FOR SALES OF DAY {self.number % 28 + 1}"


def write_bench_file(format: BenchFormat, path: Path, target_bytes: int) -> int:
    """Write statements to `path` until it holds at least `target_bytes`; return the entry count."""
    writer = {"camt.053": _camt_statement, "mt940": _mt940_statement, "bai2": _bai2_group}[format]
    header, footer = _HEADERS[format], _FOOTERS[format]
    entries = 0
    balance = 1_000_000
    with path.open("w", encoding="utf-8", newline="\n") as out:
        written = out.write(header)
        day = 0
        groups = 0
        records = 1
        file_total = 0
        while written < target_bytes:
            statement = [_entry(entries + n) for n in range(STATEMENT_ENTRIES)]
            text, balance, group_total, group_records = writer(FIRST_DAY + timedelta(days=day), statement, balance)
            written += out.write(text)
            entries += len(statement)
            day += 1
            groups += 1
            records += group_records
            file_total += group_total
        out.write(footer.format(total=file_total, groups=groups, records=records + 1))
    return entries


def _entry(number: int) -> _Entry:
    return _Entry(number, 1_000 + (number * 7_919) % 5_000_000, number % 2 == 0)


def _movement(entries: list[_Entry]) -> int:
    return sum(e.amount_minor if e.credit else -e.amount_minor for e in entries)


def _break_at_space(text: str, width: int) -> tuple[str, str]:
    """Text and its continuation line; the parsers join the two with one space, which this drops."""
    cut = text.rindex(" ", 0, width + 1)
    return text[:cut], text[cut + 1 :]


def _major(amount_minor: int, separator: str) -> str:
    return f"{amount_minor // 100}{separator}{amount_minor % 100:02d}"


def _mt940_statement(day: date, entries: list[_Entry], opening: int) -> tuple[str, int, int, int]:
    closing = opening + _movement(entries)
    lines = [f":20:STMT{day:%y%m%d}", f":25:{ACCOUNT}", f":28C:{day:%j}/1", _mt940_balance("60F", day, opening)]
    for entry in entries:
        mark = "C" if entry.credit else "D"
        lines.append(f":61:{day:%y%m%d}{day:%m%d}{mark}{_major(entry.amount_minor, ',')}NTRF{entry.reference}//B{entry.number}")
        first, rest = _break_at_space(entry.text, 65)
        lines += [f":86:{first}", rest]
    lines += [_mt940_balance("62F", day, closing), "-", ""]
    return "\n".join(lines), closing, 0, 0


def _mt940_balance(tag: str, day: date, amount: int) -> str:
    return f":{tag}:{'C' if amount >= 0 else 'D'}{day:%y%m%d}EUR{_major(abs(amount), ',')}"


def _bai2_group(day: date, entries: list[_Entry], opening: int) -> tuple[str, int, int, int]:
    closing = opening + _movement(entries)
    credits = [e.amount_minor for e in entries if e.credit]
    debits = [e.amount_minor for e in entries if not e.credit]
    account = [
        f"03,{BAI2_ACCOUNT},USD,010,{opening},,,015,{closing},,/",
        f"88,100,{sum(credits)},{len(credits)},,400,{sum(debits)},{len(debits)},/",
    ]
    for entry in entries:
        code = "165" if entry.credit else "451"
        first, rest = _break_at_space(entry.text, 40)
        account += [f"16,{code},{entry.amount_minor},0,{entry.reference},B{entry.number},{first}", f"88,{rest}"]
    account_total = opening + closing + sum(credits) + sum(debits) + sum(credits) + sum(debits)
    account.append(f"49,{account_total},{len(account) + 1}/")
    group = [f"02,RECEIVER,BANK,1,{day:%y%m%d},,USD,2/", *account, f"98,{account_total},1,{len(account) + 2}/", ""]
    return "\n".join(group), closing, account_total, len(group) - 1


def _camt_statement(day: date, entries: list[_Entry], opening: int) -> tuple[str, int, int, int]:
    closing = opening + _movement(entries)
    parts = [
        f"<Stmt><Id>S{day:%Y%m%d}</Id><CreDtTm>{day}T23:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{ACCOUNT}</IBAN></Id><Ccy>EUR</Ccy></Acct>\n",
        _camt_balance("OPBD", day, opening),
        _camt_balance("CLBD", day, closing),
    ]
    for entry in entries:
        parts.append(
            f"<Ntry>\n<Amt Ccy=\"EUR\">{_major(entry.amount_minor, '.')}</Amt>\n"
            f"<CdtDbtInd>{'CRDT' if entry.credit else 'DBIT'}</CdtDbtInd>\n<Sts>BOOK</Sts>\n"
            f"<BookgDt><Dt>{day}</Dt></BookgDt>\n<ValDt><Dt>{day}</Dt></ValDt>\n"
            f"<AcctSvcrRef>B{entry.number}</AcctSvcrRef>\n"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>\n"
            f"<NtryDtls><TxDtls><Refs><EndToEndId>{entry.reference}</EndToEndId></Refs>\n"
            f"<RmtInf><Ustrd>{entry.text}</Ustrd></RmtInf></TxDtls></NtryDtls>\n</Ntry>\n"
        )
    parts.append("</Stmt>\n")
    return "".join(parts), closing, 0, 0


def _camt_balance(code: str, day: date, amount: int) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{_major(abs(amount), '.')}</Amt>"
        f"<CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>\n"
    )


_HEADERS: dict[BenchFormat, str] = {
    "camt.053": '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>\n'
    "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-01-05T23:00:00</CreDtTm></GrpHdr>\n",
    "mt940": "",
    "bai2": "01,BANK,RECEIVER,260105,2300,BENCH,,,2/\n",
}
_FOOTERS: dict[BenchFormat, str] = {
    "camt.053": "</BkToCstmrStmt></Document>\n",
    "mt940": "",
    "bai2": "99,{total},{groups},{records}/\n",
}
