"""Check the accounting configuration (the dbt seeds an accountant edits) before anything books.

dbt's seed tests fail a build on the same problems, but they report counts; this names the file,
the line and the reason, all problems at once, so an edit can be fixed in one go. Plain `csv`,
because the seeds are small and the messages need line numbers.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ledger.anomalies.catalogue import METRICS
from ledger.dbt_project import DBT_PROJECT_DIR
from ledger.tax_jurisdictions import jurisdiction_problem

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
ACCOUNT_TYPES = {"asset", "liability", "equity", "income", "expense", "other", "suspense"}
MATCH_ON = {"reporting_category", "type"}
ANOMALY_BASELINES = {"weekday_median", "previous_day"}
ANOMALY_DIRECTIONS = {"up", "down", "both"}
DISCOUNT_TREATMENTS = ("contra_revenue", "net")
# Sales split rules (docs/ledger.md, "Revenue, tax, discounts and shipping"): what each matches on.
SALES_RULE_MATCH_ON = {"gl_revenue_accounts": ("product", "price", "metadata"), "gl_tax_accounts": ("tax_rate", "jurisdiction")}
CONTROL_ROLES = {"stripe_clearing", "cash_in_transit", "bank", "suspense", "default_fee", "fx_gain_loss", "fx_unrealized_gain_loss"}


class AccountingConfigError(ValueError):
    """The configuration is invalid; `problems` lists each file, line and reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid accounting configuration:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Row:
    file: str
    line: int
    values: dict[str, str]

    def where(self, *keys: str) -> str:
        described = ", ".join(f"{key}={self.values.get(key, '')!r}" for key in keys)
        return f"{self.file} line {self.line} ({described})"


def read_seed(seeds_dir: Path, name: str) -> list[Row]:
    path = seeds_dir / f"{name}.csv"
    with path.open(newline="") as handle:
        return [
            Row(path.name, line, {key: (value or "").strip() for key, value in record.items()})
            for line, record in enumerate(csv.DictReader(handle), start=2)
        ]


def _duplicates(rows: list[Row], keys: tuple[str, ...]) -> list[str]:
    seen: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        seen[tuple(row.values.get(k, "") for k in keys)].append(row)
    return [
        f"{group[1].where(*keys)}: duplicates line {group[0].line}; one row per {'/'.join(keys)}"
        for group in seen.values()
        if len(group) > 1
    ]


def problems(seeds_dir: Path = SEEDS_DIR) -> list[str]:
    """Every problem of the configuration in `seeds_dir`; empty when it is valid."""
    found: list[str] = []
    accounts = read_seed(seeds_dir, "gl_accounts")
    codes = {row.values["account_code"] for row in accounts}
    found += _duplicates(accounts, ("account_code",))
    found += [
        f"{row.where('account_code', 'account_type')}: account_type must be one of {', '.join(sorted(ACCOUNT_TYPES))}"
        for row in accounts if row.values["account_type"] not in ACCOUNT_TYPES
    ]

    def unknown_account(row: Row, column: str, required: bool, *keys: str) -> list[str]:
        code = row.values.get(column, "")
        if not code and not required:
            return []
        if code not in codes:
            return [f"{row.where(*keys)}: {column} {code!r} is not an account in gl_accounts.csv"]
        return []

    entities = read_seed(seeds_dir, "entities")
    entity_ids = {row.values["entity_id"] for row in entities}
    currencies = {row.values["currency"] for row in read_seed(seeds_dir, "currency_exponents")}
    found += _duplicates(entities, ("entity_id",))
    found += [
        f"{row.where('entity_id', 'functional_currency')}: functional_currency is not in currency_exponents.csv"
        for row in entities if row.values["functional_currency"] not in currencies
    ]

    rules = read_seed(seeds_dir, "gl_mapping_rules")
    rule_key = ("match_on", "match_value", "currency", "entity_id")
    found += _duplicates(rules, rule_key)
    for row in rules:
        found += _rule_problems(row, rule_key, MATCH_ON, "reporting_category or type", entity_ids)
        found += unknown_account(row, "gross_account_code", True, *rule_key)
        found += unknown_account(row, "fee_account_code", False, *rule_key)

    fee_accounts = read_seed(seeds_dir, "gl_fee_accounts")
    found += _duplicates(fee_accounts, ("fee_type",))
    for row in fee_accounts:
        found += unknown_account(row, "account_code", True, "fee_type")

    controls = read_seed(seeds_dir, "gl_control_accounts")
    found += _duplicates(controls, ("account_role",))
    for row in controls:
        found += unknown_account(row, "account_code", True, "account_role")
    missing_roles = CONTROL_ROLES - {row.values["account_role"] for row in controls}
    if missing_roles:
        found.append(f"gl_control_accounts.csv: no account for role(s) {', '.join(sorted(missing_roles))}")

    found += sales_split_problems(seeds_dir, entity_ids, unknown_account)

    rates = read_seed(seeds_dir, "fx_rates")
    found += _duplicates(rates, ("rate_date", "currency", "functional_currency"))
    for row in rates:
        try:
            if Decimal(row.values["rate"]) <= 0:
                raise InvalidOperation
        except InvalidOperation:
            found.append(f"{row.where('rate_date', 'currency', 'rate')}: rate must be a positive decimal")
    return found + anomaly_setting_problems(read_seed(seeds_dir, "anomaly_settings"))


def sales_split_problems(seeds_dir: Path, entity_ids: set[str], unknown_account) -> list[str]:
    """The sales split's policy (one row for every entity, optionally one per entity) and its rules."""
    found: list[str] = []
    policies = read_seed(seeds_dir, "gl_sales_policy")
    found += _duplicates(policies, ("entity_id",))
    if not any(not row.values["entity_id"] for row in policies):
        found.append("gl_sales_policy.csv: no row without entity_id; one must give every entity's sales policy")
    for row in policies:
        where = ("entity_id", "discount_treatment")
        if row.values["entity_id"] and row.values["entity_id"] not in entity_ids:
            found.append(f"{row.where(*where)}: entity_id is not in entities.csv")
        if row.values["discount_treatment"] not in DISCOUNT_TREATMENTS:
            found.append(f"{row.where(*where)}: discount_treatment must be {' or '.join(DISCOUNT_TREATMENTS)}")
        found += unknown_account(row, "discount_account_code", row.values["discount_treatment"] == "contra_revenue", *where)
        for column in ("shipping_account_code", "default_revenue_account_code", "default_tax_account_code"):
            found += unknown_account(row, column, True, *where)
        found += unknown_account(row, "uninvoiced_account_code", False, *where)
    for name, match_on in SALES_RULE_MATCH_ON.items():
        rules = read_seed(seeds_dir, name)
        key = ("match_on", "match_value", "entity_id")
        found += _duplicates(rules, key)
        for row in rules:
            found += _rule_problems(row, key, match_on, f"one of {', '.join(match_on)}", entity_ids)
            problem = jurisdiction_problem(row.values["match_value"]) if row.values["match_on"] == "jurisdiction" else None
            found += [f"{row.where(*key)}: {problem}"] if problem else []
            found += unknown_account(row, "account_code", True, *key)
    return found


def anomaly_setting_problems(rows: list[Row]) -> list[str]:
    """The anomaly watch's settings (docs/anomalies.md): known metrics, known words, numbers that make sense."""
    found = _duplicates(rows, ("metric",))
    for row in rows:
        values, where = row.values, row.where("metric")
        if values["metric"] not in METRICS:
            found.append(f"{where}: unknown metric; choose from {', '.join(METRICS)}")
        if values["is_enabled"] not in ("true", "false"):
            found.append(f"{where}: is_enabled must be true or false, not {values['is_enabled']!r}")
        if values["baseline"] not in ANOMALY_BASELINES:
            found.append(f"{where}: baseline must be one of {', '.join(sorted(ANOMALY_BASELINES))}, not {values['baseline']!r}")
        if values["direction"] not in ANOMALY_DIRECTIONS:
            found.append(f"{where}: direction must be one of {', '.join(sorted(ANOMALY_DIRECTIONS))}, not {values['direction']!r}")
        for column in ("sensitivity", "min_deviation", "min_relative_deviation", "min_volume", "history_weeks", "min_history_weeks"):
            try:
                if Decimal(values[column]) < 0:
                    raise InvalidOperation
            except InvalidOperation:
                found.append(f"{where}: {column} must be a number of at least 0, not {values[column]!r}")
        weeks = values["history_weeks"], values["min_history_weeks"]
        if all(w.isdigit() for w in weeks) and not 1 <= int(weeks[1]) <= int(weeks[0]):
            found.append(f"{where}: min_history_weeks must be between 1 and history_weeks ({weeks[0]}), not {weeks[1]}")
    return found


def validate(seeds_dir: Path = SEEDS_DIR) -> None:
    """Raise AccountingConfigError naming every bad row, or return quietly."""
    found = problems(seeds_dir)
    if found:
        raise AccountingConfigError(found)


def _rule_problems(row: Row, key: tuple[str, ...], match_on: Collection[str], allowed: str, entity_ids: Collection[str]) -> list[str]:
    """What is wrong with a matching rule's own columns (mapping, revenue and tax rules alike)."""
    found = []
    if row.values["match_on"] not in match_on:
        found.append(f"{row.where(*key)}: match_on must be {allowed}")
    if not row.values["match_value"]:
        found.append(f"{row.where(*key)}: match_value is empty")
    if row.values["entity_id"] and row.values["entity_id"] not in entity_ids:
        found.append(f"{row.where(*key)}: entity_id is not in entities.csv")
    return found
