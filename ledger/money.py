"""Money in integer minor units, and the one place where minor units become decimals.

The exponent of each currency comes from the dbt seed `currency_exponents.csv`, so the
warehouse and the Python exporters can never disagree about how many decimals a currency has.
Currencies missing from the seed default to 2 decimals: Stripe lists every zero- and
three-decimal currency, and all others it supports have two.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from functools import cache
from pathlib import Path

EXPONENT_SEED = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "currency_exponents.csv"
DEFAULT_EXPONENT = 2
_CURRENCY_CODE = re.compile(r"[a-z]{3}")


class MoneyFormatError(ValueError):
    """A decimal amount that does not fit its currency's minor unit."""


@cache
def _exponents() -> dict[str, int]:
    with EXPONENT_SEED.open(newline="") as handle:
        return {row["currency"].lower(): int(row["exponent"]) for row in csv.DictReader(handle)}


def exponent(currency: str) -> int:
    """Number of decimals of `currency` (JPY 0, USD 2, KWD 3)."""
    code = currency.lower()
    if not _CURRENCY_CODE.fullmatch(code):
        raise MoneyFormatError(f"{currency!r} is not a three-letter ISO currency code")
    return _exponents().get(code, DEFAULT_EXPONENT)


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Exact decimal amount in major units: 1234 usd -> Decimal('12.34'), 1234 jpy -> Decimal('1234')."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError(f"amount_minor must be an int, got {type(amount_minor).__name__}")
    return Decimal(amount_minor).scaleb(-exponent(currency))


def format_major(amount_minor: int, currency: str, decimal_separator: str = ".") -> str:
    """Major-unit string with exactly the currency's decimals and no grouping: '12.34', '1234', '1.235'."""
    text = f"{to_major(amount_minor, currency):.{exponent(currency)}f}"
    return text.replace(".", decimal_separator) if decimal_separator != "." else text


def format_decimals(amount_minor: int, currency: str, decimals: int, decimal_separator: str = ".") -> str:
    """`format_major` with `decimals` places, for a target that keeps another number of decimals than
    the currency has (NetSuite keeps 2 for KWD): refuses an amount that does not fit them, never rounds."""
    major = to_major(amount_minor, currency)
    fitted = major.quantize(Decimal(1).scaleb(-decimals))
    if fitted != major:
        raise MoneyFormatError(f"{format_major(amount_minor, currency)} {currency.upper()} does not fit {decimals} decimals")
    text = f"{fitted:.{decimals}f}"
    return text.replace(".", decimal_separator) if decimal_separator != "." else text


def parse_major(text: str, currency: str, decimal_separator: str = ".") -> int:
    """Minor units from a plain major-unit decimal ('-1234.56'); refuses anything finer than the currency allows.

    Only digits, an optional leading minus and at most one `decimal_separator`: no exponents, no
    NaN or infinity, no grouping, and no other separator, so '12.50' is refused when ',' is expected.
    """
    separator = re.escape(decimal_separator)
    cleaned = text.strip()
    if not re.fullmatch(rf"-?\d+(?:{separator}\d*)?|-?{separator}\d+", cleaned):
        raise MoneyFormatError(f"{text!r} is not a decimal amount with {decimal_separator!r} as decimal separator")
    scaled = Decimal(cleaned.replace(decimal_separator, ".")).scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyFormatError(
            f"{text!r} has more decimals than {currency.upper()} allows ({exponent(currency)})"
        )
    return int(scaled)
