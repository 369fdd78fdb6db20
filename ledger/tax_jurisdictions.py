"""How the ledger names tax jurisdictions, and what a seed's jurisdiction should have been.

Invoice tax rates and Stripe Tax transactions are named alike, ISO 3166 style, from their country
and state (dbt_project/macros/iso_jurisdiction.sql): the country's two-letter code, and for a US
sale its state, `US-CA`, `DE`. A row of gl_tax_accounts.csv written another way (`California`,
`us-ny`) matches no tax and leaves it on the default tax account without a word: the accounting
configuration check names it with the form expected.
"""

from __future__ import annotations

import re

ISO_STYLE = "the ledger names jurisdictions ISO style: the country's two-letter code, with a US sale's state ('US-CA', 'DE'; docs/ledger.md)"
US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO", "connecticut": "CT",
    "delaware": "DE", "district of columbia": "DC", "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT", "nebraska": "NE",
    "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI",
    "south carolina": "SC", "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
    "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
}
_COUNTRY = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"([A-Z]{2})-([A-Z0-9]{1,3})")


def jurisdiction_problem(value: str) -> str | None:
    """Why `value` names no jurisdiction as the ledger does (None: it does), with the form expected."""
    if _COUNTRY.fullmatch(value):
        return None
    subdivision = _SUBDIVISION.fullmatch(value)
    if subdivision and subdivision[1] == "US" and subdivision[2] in US_STATES.values():
        return None
    if subdivision and subdivision[1] == "US":
        return f"jurisdiction {value!r} matches no tax: {subdivision[2]} is not a US state (only US states are split out); {ISO_STYLE}"
    expected = _expected(value)
    if expected:
        return f"jurisdiction {value!r} matches no tax: write {expected!r}; {ISO_STYLE}"
    return f"jurisdiction {value!r} matches no tax: {ISO_STYLE}; match a tax rate without a country by its tax_rate id"


def _expected(value: str) -> str | None:
    """The ISO form of a US state's name, or of a code in the wrong case or with another separator."""
    state = US_STATES.get(" ".join(value.lower().split()))
    if state:
        return f"US-{state}"
    written = re.sub(r"[\s_]+", "-", value.strip().upper())
    return written if _COUNTRY.fullmatch(written) or (_SUBDIVISION.fullmatch(written) and jurisdiction_problem(written) is None) else None
