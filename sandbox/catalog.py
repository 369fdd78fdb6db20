"""The simulated merchant's catalog: products, their prices per currency, and the tax rates it charges.

Prices are fixed (`unit_amount`) or pay-what-you-invoice (`custom_unit_amount`, Stripe's price for
an amount agreed per sale): an invoice's last line uses the custom price so that every invoice
totals exactly its charge's gross, which the balance transactions fix. Tax rates cover US sales
tax in three states, EU VAT in two countries, an EU reverse charge (0 %, reason `reverse_charge`),
Japan's consumption tax, UK VAT and a zero-rated export (0 %, reason `zero_rated`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# key -> (name, type, whether its fixed price recurs monthly)
PRODUCTS: dict[str, tuple[str, str, bool]] = {
    "robot_arm": ("Robot arm", "good", False),
    "sensor_kit": ("Sensor kit", "good", False),
    "support_plan": ("Support plan", "service", True),
    "setup_service": ("Setup service", "service", False),
}
# Fixed unit prices in minor units (KWD in fils, multiples of 10 as Stripe requires).
UNIT_PRICES: dict[str, dict[str, int]] = {
    "usd": {"robot_arm": 12_000, "sensor_kit": 2_500, "support_plan": 4_900, "setup_service": 1_500},
    "eur": {"robot_arm": 11_000, "sensor_kit": 2_300, "support_plan": 4_500, "setup_service": 1_400},
    "gbp": {"robot_arm": 9_500, "sensor_kit": 2_000, "support_plan": 3_900, "setup_service": 1_200},
    "jpy": {"robot_arm": 18_000, "sensor_kit": 3_500, "support_plan": 7_000, "setup_service": 2_500},
    "kwd": {"robot_arm": 36_000, "sensor_kit": 7_500, "support_plan": 14_700, "setup_service": 4_500},
}
# A flat shipping fee per currency, charged on some invoices of goods.
SHIPPING = {"usd": 500, "eur": 450, "gbp": 400, "jpy": 800, "kwd": 1_500}


@dataclass(frozen=True)
class TaxRate:
    key: str
    display_name: str
    percentage: Decimal
    country: str | None
    state: str | None
    jurisdiction: str
    jurisdiction_level: str | None
    tax_type: str
    # Why a line carries this tax: the rate's own (`standard_rated`) or why it is zero.
    taxability_reason: str
    description: str


TAX_RATES: dict[str, TaxRate] = {rate.key: rate for rate in (
    TaxRate("us_ca", "Sales Tax", Decimal("7.25"), "US", "CA", "California", "state", "sales_tax", "standard_rated", "California sales tax"),
    TaxRate("us_ny", "Sales Tax", Decimal("8.875"), "US", "NY", "New York", "state", "sales_tax", "standard_rated", "New York sales tax"),
    TaxRate("us_tx", "Sales Tax", Decimal("6.25"), "US", "TX", "Texas", "state", "sales_tax", "standard_rated", "Texas sales tax"),
    TaxRate("de_vat", "VAT", Decimal("19"), "DE", None, "DE", "country", "vat", "standard_rated", "VAT Germany"),
    TaxRate("fr_vat", "VAT", Decimal("20"), "FR", None, "FR", "country", "vat", "standard_rated", "VAT France"),
    TaxRate("eu_reverse_charge", "VAT", Decimal("0"), "NL", None, "EU", "multiple", "vat", "reverse_charge",
            "EU business customer: VAT reverse charged"),
    TaxRate("gb_vat", "VAT", Decimal("20"), "GB", None, "GB", "country", "vat", "standard_rated", "VAT United Kingdom"),
    TaxRate("jp_jct", "JCT", Decimal("10"), "JP", None, "JP", "country", "jct", "standard_rated", "Japanese consumption tax"),
    TaxRate("export_zero", "Export", Decimal("0"), None, None, "EXPORT", None, "vat", "zero_rated", "Zero-rated export"),
)}
# The rates an invoice in each currency draws from (the customer's jurisdiction).
RATES_BY_CURRENCY: dict[str, tuple[str, ...]] = {
    "usd": ("us_ca", "us_ny", "us_tx"),
    "eur": ("de_vat", "fr_vat", "eu_reverse_charge"),
    "gbp": ("gb_vat", "export_zero"),
    "jpy": ("jp_jct", "export_zero"),
    "kwd": ("export_zero",),
}
# Where a card is issued, by the currency it pays in.
CARD_COUNTRIES = {"usd": ("US", "CA"), "eur": ("DE", "FR", "NL"), "gbp": ("GB",), "jpy": ("JP",), "kwd": ("KW",)}
CARD_BRANDS = ("visa", "mastercard", "amex")
CARD_FUNDING = ("credit", "debit", "prepaid")
# Categories of sales without an invoice, in the charge's metadata (`revenue_category`).
UNINVOICED_CATEGORIES = ("services", "marketplace")
