"""Field parsers shared by the formats: dates, currency codes and decimal amounts.

Each raises ValueError with the reason; the format parser adds file and line (`model.located`).
Shapes are checked with a regex first because `datetime.strptime` and `Decimal` accept more than
a bank file may contain ("6321" as a date, "1e3" or "NaN" as an amount).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from ledger.money import exponent, parse_major

_YYMMDD = re.compile(r"\d{6}")
# ISODate may carry a time-zone suffix in practice (`2017-04-01+02:00`, `2017-04-01Z`); ISODateTime a time.
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(T.*|Z|[+-]\d{2}:\d{2})?")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


@lru_cache(maxsize=4096)
def parse_yymmdd(text: str) -> date:
    """BAI2 and MT940 dates; two-digit years 00-68 are 20xx, 69-99 are 19xx (as strptime does).

    Cached: a statement repeats a few dates on every line, and one shared date object per day
    saves both the strptime and the memory of a date per line.
    """
    if not _YYMMDD.fullmatch(text):
        raise ValueError(f"date {text!r} is not YYMMDD")
    try:
        return datetime.strptime(text, "%y%m%d").date()
    except ValueError:
        raise ValueError(f"date {text!r} (YYMMDD) is not a calendar date") from None


def parse_iso_date(text: str) -> date:
    """A camt `Dt` (with or without a time-zone suffix), or the calendar date of a `DtTm`, as written (no shift)."""
    match = _ISO_DATE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"date {text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise ValueError(f"date {text!r} is not a calendar date") from None


def parse_currency(text: str) -> str:
    if not _CURRENCY.fullmatch(text.strip()):
        raise ValueError(f"currency {text!r} is not a three-letter ISO code")
    return text.strip().lower()


def parse_decimal_amount(text: str, currency: str, decimal_separator: str = ".") -> int:
    """Unsigned minor units from '1234.56', '8.850' (camt) or '1234,56' / '500,' (MT940)."""
    if not _unsigned_decimal(decimal_separator).fullmatch(text):
        raise ValueError(f"amount {text!r} is not an unsigned decimal with {decimal_separator!r} as separator")
    whole, _, fraction = text.partition(decimal_separator)
    decimals = _exponent(currency)
    if len(fraction) > decimals:
        return parse_major(text, currency, decimal_separator)  # refuses extra decimals unless they are zeros
    # Integer arithmetic for the common case: every line of a statement file has an amount.
    return int(whole) * 10**decimals + int(fraction.ljust(decimals, "0") or 0)


@lru_cache(maxsize=None)
def _unsigned_decimal(decimal_separator: str) -> re.Pattern[str]:
    return re.compile(rf"\d+({re.escape(decimal_separator)}\d*)?")


@lru_cache(maxsize=None)
def _exponent(currency: str) -> int:
    return exponent(currency)
