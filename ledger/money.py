"""Money in integer minor units, and the one place where minor units become decimals.

The exponent of each currency comes from the dbt seed `currency_exponents.csv`, so the
warehouse and the Python exporters can never disagree about how many decimals a currency has.
Currencies missing from the seed default to 2 decimals, which is Stripe's default.
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

EXPONENT_SEED = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "currency_exponents.csv"
DEFAULT_EXPONENT = 2


class MoneyFormatError(ValueError):
    """A decimal amount that does not fit its currency's minor unit."""


@cache
def _exponents() -> dict[str, int]:
    with EXPONENT_SEED.open(newline="") as handle:
        return {row["currency"].lower(): int(row["exponent"]) for row in csv.DictReader(handle)}


def exponent(currency: str) -> int:
    """Number of decimals of `currency` (JPY 0, USD 2, KWD 3)."""
    return _exponents().get(currency.lower(), DEFAULT_EXPONENT)


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Exact decimal amount in major units: 1234 usd -> Decimal('12.34'), 1234 jpy -> Decimal('1234')."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError(f"amount_minor must be an int, got {type(amount_minor).__name__}")
    return Decimal(amount_minor).scaleb(-exponent(currency))


def format_major(amount_minor: int, currency: str, decimal_separator: str = ".") -> str:
    """Major-unit string with exactly the currency's decimals and no grouping: '12.34', '1234', '1.235'."""
    text = f"{to_major(amount_minor, currency):.{exponent(currency)}f}"
    return text.replace(".", decimal_separator) if decimal_separator != "." else text


def parse_major(text: str, currency: str, decimal_separator: str = ".") -> int:
    """Minor units from a major-unit decimal string; refuses amounts finer than the currency allows."""
    cleaned = text.strip().replace(decimal_separator, ".") if decimal_separator != "." else text.strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation as error:
        raise MoneyFormatError(f"{text!r} is not a decimal amount") from error
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyFormatError(
            f"{text!r} has more decimals than {currency.upper()} allows ({exponent(currency)})"
        )
    return int(scaled)
