"""Which currencies an ERP target can carry, and what happens to the entries it cannot.

NetSuite keeps at most 2 decimals, so a three-decimal currency (KWD, BHD, JOD, OMR, TND) does not
fit it. SAP keeps each currency's decimals from its table TCURX, three for KWD in the standard
delivery; a tenant whose TCURX keeps fewer says so in `SAP_CURRENCY_DECIMALS` (`kwd:2`). One such
entry must not stop the export of all the others, nor be rounded silently, so every entry whose
currency (transaction, or functional where the target carries functional amounts) does not fit
the target follows the policy configured for that target and currency
(`NETSUITE_CURRENCY_POLICY`, `SAP_CURRENCY_POLICY`, e.g. `kwd:functional,bhd:round`):

- `refuse` (the default): the entry is not exported; it is listed as an export exception naming
  the entity, entry, currency, target and reason, and the export of the other entries goes on.
- `functional`: the entry is posted in the entity's functional currency, from the translated
  journal (its functional amounts, rate 1), where that currency fits the target.
- `round`: each amount is rounded half away from zero to the target's decimals and the remainder
  goes on the rounding account (seed `gl_control_accounts`, role `erp_rounding`), so the entry
  still balances to the minor unit at the target's precision.

Every entry a policy touched is listed with what was done (`action`), so the accountant sees it.
The decision depends on the currency, never on whether a given amount happens to end in zero, so
a period never flips between exported and refused.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from exporters.journal import ExportedFile, JournalEntry, JournalLine, atomic_write, group_entries
from ledger.config import ConfigError
from ledger.money import exponent, format_major

REFUSE, FUNCTIONAL, ROUND = "refuse", "functional", "round"
POLICIES = (REFUSE, FUNCTIONAL, ROUND)
# What was done with an entry the target cannot carry as it is.
REFUSED, POSTED_IN_FUNCTIONAL, ROUNDED = "refused", "posted_in_functional_currency", "rounded"
ROUNDING_ROLE = "erp_rounding"
EXCEPTIONS_HEADER = (
    "target", "entity_id", "period", "external_id", "accounting_date", "currency", "functional_currency",
    "debit", "action", "rounding", "reason",
)


def _pairs(variable: str, text: str) -> dict[str, str]:
    """`kwd:functional, bhd:round` -> {"kwd": "functional", "bhd": "round"}; a malformed item names the variable."""
    found: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, colon, value = (piece.strip().lower() for piece in item.partition(":"))
        if not colon or len(currency) != 3 or not currency.isalpha() or not value:
            raise ConfigError(f"{variable}: {item!r} is not currency:value (e.g. kwd:functional)")
        if currency in found:
            raise ConfigError(f"{variable}: {currency.upper()} is given twice")
        found[currency] = value
    return found


@dataclass(frozen=True)
class CurrencyPolicy:
    """The policy per currency for one target; a currency without one is refused."""

    variable: str
    policies: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, variable: str, text: str) -> "CurrencyPolicy":
        policies = _pairs(variable, text)
        for currency, policy in policies.items():
            if policy not in POLICIES:
                raise ConfigError(f"{variable}: {currency}:{policy} is not one of {', '.join(POLICIES)}")
        return cls(variable, policies)

    def of(self, currency: str) -> str:
        return self.policies.get(currency, REFUSE)

    @property
    def rounds(self) -> bool:
        return ROUND in self.policies.values()


def parse_decimals(variable: str, text: str) -> dict[str, int]:
    """`kwd:2` -> {"kwd": 2}: the decimals a target keeps for a currency where they differ from the seed's."""
    decimals = {}
    for currency, value in _pairs(variable, text).items():
        if not value.isdigit():
            raise ConfigError(f"{variable}: {currency}:{value} is not currency:decimals (e.g. kwd:2)")
        decimals[currency] = int(value)
    return decimals


@dataclass(frozen=True)
class TargetPrecision:
    """How many decimals a target keeps per currency, and whether it carries functional amounts."""

    target: str
    label: str
    max_decimals: int | None = None
    decimals_by_currency: Mapping[str, int] = field(default_factory=dict)
    # NetSuite's REST push sends transaction amounts only (NetSuite computes the base amounts).
    carries_functional: bool = True

    def decimals(self, currency: str) -> int:
        own = self.decimals_by_currency.get(currency, exponent(currency))
        return own if self.max_decimals is None else min(own, self.max_decimals)

    def carries(self, currency: str) -> bool:
        return self.decimals(currency) >= exponent(currency)

    def reason(self, currency: str) -> str:
        return f"{currency.upper()} has {exponent(currency)} decimals and {self.label} keeps {self.decimals(currency)}"


@dataclass(frozen=True)
class RoundingAccount:
    account_code: str
    account_name: str
    netsuite_account: str
    sap_gl_account: str


def load_rounding_account(connection: duckdb.DuckDBPyConnection, policy: CurrencyPolicy) -> RoundingAccount | None:
    """The account of role `erp_rounding` in the seed `gl_control_accounts`, as dbt loaded it, when
    `policy` rounds (None otherwise); a rounding policy without that account is refused."""
    if not policy.rounds:
        return None
    row = connection.execute(
        """
        select accounts.account_code, accounts.account_name, accounts.netsuite_account, accounts.sap_gl_account
        from accounting.gl_control_accounts as controls
        inner join accounting.gl_accounts as accounts on cast(controls.account_code as string) = cast(accounts.account_code as string)
        where controls.account_role = ?
        """,
        [ROUNDING_ROLE],
    ).fetchone()
    if row is None:
        rounded = ", ".join(currency.upper() for currency, chosen in policy.policies.items() if chosen == ROUND)
        raise ConfigError(
            f"{policy.variable} rounds {rounded}, but seeds/gl_control_accounts.csv has no account of role {ROUNDING_ROLE} "
            f"(table accounting.gl_control_accounts): add one, load the seed again (dbt seed, or the next close) and export again"
        )
    return RoundingAccount(*(str(value) for value in row))


@dataclass(frozen=True)
class CurrencyException:
    """One entry a target could not carry as it is, and what was done with it."""

    target: str
    entity_id: str
    period: str
    external_id: str
    accounting_date: date
    currency: str
    functional_currency: str
    debit_minor: int
    action: str
    reason: str
    # Put on the rounding account, in minor units of `currency` (action `rounded`).
    rounding_minor: int = 0

    @property
    def refused(self) -> bool:
        return self.action == REFUSED

    def describe(self) -> str:
        rounding = f", {format_major(self.rounding_minor, self.currency)} on the rounding account" if self.rounding_minor else ""
        return (f"{self.target} {self.entity_id} {self.period} {self.external_id} ({self.currency.upper()}, "
                f"debit {format_major(self.debit_minor, self.currency)}): {self.action}{rounding}: {self.reason}")

    def as_dict(self) -> dict:
        return {
            "target": self.target, "entity_id": self.entity_id, "period": self.period, "external_id": self.external_id,
            "accounting_date": self.accounting_date.isoformat(), "currency": self.currency.upper(),
            "functional_currency": self.functional_currency.upper(), "debit": format_major(self.debit_minor, self.currency),
            "debit_minor": self.debit_minor, "action": self.action, "rounding_minor": self.rounding_minor, "reason": self.reason,
        }


@dataclass(frozen=True)
class AppliedPolicy:
    """The lines the target receives, and every entry the policy refused or changed."""

    lines: list[JournalLine]
    exceptions: list[CurrencyException]


def round_half_away(amount_minor: int, step: int) -> int:
    """`amount_minor` rounded to a multiple of `step`, half away from zero (as the ledger rounds)."""
    magnitude = (abs(amount_minor) + step // 2) // step * step
    return magnitude if amount_minor >= 0 else -magnitude


def apply_policy(
    lines: list[JournalLine], period: str, precision: TargetPrecision, policy: CurrencyPolicy, rounding: RoundingAccount | None,
) -> AppliedPolicy:
    """Each entry as the target can carry it, refused, posted in the functional currency, or rounded."""
    kept: list[JournalLine] = []
    exceptions: list[CurrencyException] = []
    for entry in group_entries(lines):
        currencies = (entry.currency, entry.functional_currency) if precision.carries_functional else (entry.currency,)
        unfit = [currency for currency in dict.fromkeys(currencies) if not precision.carries(currency)]
        if not unfit:
            kept += entry.lines
            continue
        currency, chosen = unfit[0], policy.of(unfit[0])
        reason = f"{precision.reason(currency)} ({policy.variable} {currency}:{chosen})"

        def listed(action: str, why: str = reason, rounding_minor: int = 0) -> CurrencyException:
            debit = sum(line.debit_minor for line in entry.lines)
            return CurrencyException(precision.target, entry.lines[0].entity_id, period, entry.external_id, entry.accounting_date,
                                     entry.currency, entry.functional_currency, debit, action, why, rounding_minor)

        if chosen == FUNCTIONAL and currency == entry.currency and precision.carries(entry.functional_currency):
            kept += _in_functional_currency(entry)
            exceptions.append(listed(POSTED_IN_FUNCTIONAL))
        elif chosen == ROUND:
            if rounding is None:
                raise ValueError(f"{policy.variable} rounds {currency.upper()}: pass the rounding account (load_rounding_account)")
            rounded, remainder = _rounded(entry, precision, rounding)
            kept += rounded
            exceptions.append(listed(ROUNDED, rounding_minor=remainder))
        elif chosen == FUNCTIONAL:
            exceptions.append(listed(REFUSED, f"{reason}; the functional currency {entry.functional_currency.upper()} does not fit either"))
        else:
            exceptions.append(listed(REFUSED))
    return AppliedPolicy(kept, exceptions)


def _in_functional_currency(entry: JournalEntry) -> list[JournalLine]:
    """The entry's functional amounts as an entry in the functional currency (rate 1); it balances
    because the translated journal books each entry's rounding difference on a line of its own."""
    return [
        replace(line, currency=line.functional_currency, amount_minor=line.functional_amount_minor, exchange_rate=Decimal(1))
        for line in entry.lines
        if line.functional_amount_minor
    ]


def _rounded(entry: JournalEntry, precision: TargetPrecision, rounding: RoundingAccount) -> tuple[list[JournalLine], int]:
    """Every amount at the target's decimals, plus one line on the rounding account that balances the
    entry in both currencies; returns the lines and the transaction-currency remainder."""

    def at_target(amount_minor: int, currency: str) -> int:
        return round_half_away(amount_minor, 10 ** max(exponent(currency) - precision.decimals(currency), 0))

    lines = [
        replace(line, amount_minor=at_target(line.amount_minor, line.currency),
                functional_amount_minor=at_target(line.functional_amount_minor, line.functional_currency))
        for line in entry.lines
    ]
    remainder = -sum(line.amount_minor for line in lines)
    functional_remainder = -sum(line.functional_amount_minor for line in lines)
    kept = [line for line in lines if line.amount_minor or line.functional_amount_minor]
    if remainder or functional_remainder:
        kept.append(replace(
            entry.lines[0], account_code=rounding.account_code, account_name=rounding.account_name,
            netsuite_account=rounding.netsuite_account, sap_gl_account=rounding.sap_gl_account,
            amount_minor=remainder, functional_amount_minor=functional_remainder,
        ))
    return kept, remainder


def write_exceptions_csv(exceptions: list[CurrencyException], path: Path) -> ExportedFile:
    """The entries the target could not carry as they are, for the accountant: one row each."""
    with atomic_write(path) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(EXCEPTIONS_HEADER)
        for exception in exceptions:
            writer.writerow((
                exception.target, exception.entity_id, exception.period, exception.external_id, exception.accounting_date.isoformat(),
                exception.currency.upper(), exception.functional_currency.upper(), format_major(exception.debit_minor, exception.currency),
                exception.action, format_major(exception.rounding_minor, exception.currency) if exception.rounding_minor else "",
                exception.reason,
            ))
    # Not journal lines: no totals, so no sum over the export's files counts them.
    return ExportedFile(path=path, rows=len(exceptions), totals={})
