from decimal import Decimal

import pytest

from ledger.money import MoneyFormatError, exponent, format_major, parse_major, to_major


@pytest.mark.parametrize(
    ("currency", "minor", "text"),
    [("usd", 123456, "1234.56"), ("jpy", 123456, "123456"), ("kwd", 123456, "123.456"), ("eur", -5, "-0.05"), ("bhd", 10, "0.010")],
)
def test_minor_units_format_with_the_currencys_decimals(currency, minor, text):
    assert format_major(minor, currency) == text
    assert parse_major(text, currency) == minor
    assert to_major(minor, currency) == Decimal(text)


def test_exponents_come_from_the_seed():
    assert (exponent("JPY"), exponent("usd"), exponent("kwd"), exponent("krw")) == (0, 2, 3, 0)


def test_decimal_separator():
    assert format_major(123456, "eur", decimal_separator=",") == "1234,56"
    assert parse_major("1234,56", "eur", decimal_separator=",") == 123456


@pytest.mark.parametrize(("text", "currency"), [("12.345", "usd"), ("1.5", "jpy"), ("1.2345", "kwd")])
def test_amounts_finer_than_the_minor_unit_are_refused(text, currency):
    with pytest.raises(MoneyFormatError, match="more decimals"):
        parse_major(text, currency)


def test_floats_are_refused():
    with pytest.raises(TypeError):
        format_major(12.5, "usd")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "1e3", "1,234.56", "12.50x", "", "--1", "1.2.3"])
def test_only_plain_decimals_are_amounts(text):
    with pytest.raises(MoneyFormatError, match="not a decimal amount"):
        parse_major(text, "usd")


def test_the_wrong_decimal_separator_is_refused():
    with pytest.raises(MoneyFormatError, match="not a decimal amount"):
        parse_major("12.50", "eur", decimal_separator=",")


@pytest.mark.parametrize("currency", ["us", "usdd", "US$", ""])
def test_currency_codes_must_be_three_letters(currency):
    with pytest.raises(MoneyFormatError, match="three-letter ISO currency code"):
        exponent(currency)
