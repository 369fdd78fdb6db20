"""Everything an entity's close package shows, read from the warehouse's marts (read-only), in minor units.

A run covers every entity with journal lines through the period (seed `entities`, chosen as the
exports choose theirs: `exporters.entities`), or the one asked for. Scope of a period P (YYYY-MM)
for an entity:
- trial balance: per currency and account, the opening balance (periods before P), P's debits and
  credits, and the closing balance (through P), from `fct_journal_lines` of the entity;
- Stripe balance roll-forward: `rpt_stripe_balance_rollforward` for P, of the entity's Stripe account,
  and, per currency, when no Stripe balance snapshot covers the entity's ledger, that the comparison
  of Stripe clearing with Stripe's balance was not evaluated (never shown as done or as zero);
- reconciliation: the entity's payouts (of its Stripe accounts: the banking marts carry each
  payout's `entity_id`) whose `arrival_date` falls in P, by where they stand at the bank
  (`fct_payout_bank_matches`, `fct_payout_bank_returns`, `fct_reconciliation_exceptions`), and
  in the default entity's package the Stripe-looking bank lines booked in P that match nothing;
- exceptions: the entity's open items of P from `fct_reconciliation_exceptions`, aged in business days at
  the mart's as-of date (the last booking date on the loaded statements);
- daily volume: charges per accounting day (gross, reporting time zone) from the journal's sources;
- adjustments to locked periods: late or changed facts of a locked period posted to P as adjusting
  entries (`exporters/close_package/adjustments.py`);
- anomalies: the anomaly watch's flags of P's finished days and, per currency, the days it judged or
  why it judged none, from the metrics it stored (`exporters/close_package/anomalies.py`);
- revenue by product and tax payable by jurisdiction: the sales split's marts for P, each empty table
  saying why (`exporters/close_package/revenue_detail.py`);
- suspense postings: every posting of the entity to a suspense account dated in or before P
  (`rpt_suspense_postings`: unmapped, or mapped to suspense by a rule), with its reason and its age
  in days at P's last day, or at the mart's build day while P is not over.
- bank coverage: the currencies of those payouts without a statement line booked in P, for which
  the reconciliation and the exceptions were NOT performed (`ledger.bank_coverage`), so that their
  zeros are never shown as a clean result.

- functional trial balance: the same per account in the entity's functional currency (seed `entities`),
  from `fct_journal_lines_translated` and the month-end revaluation `fct_fx_revaluation_lines`, FX
  gain/loss and rounding lines marked;
- status: the blocking proofs' results the caller hands in, the period's lock and its history, and
  provenance (`status.py`); the control accounts tied out and Stripe's ending balance reconciliation
  (`tie_outs.py`); in the default entity's package, the loaded bank files' warnings.

Everything the package shows is in `CloseData`, frozen values only, so that the same `CloseData`
renders the same bytes (the generation time is a field, set once by the caller).

A bank line that matches no payout belongs to no Stripe account, so to no entity. It is listed
once, marked unassigned, in the package of the default entity (CLOSE_ENTITY_ID, the entity dbt
books rows without a Stripe account to): listed in every package it would be counted once per
entity, listed in none nobody would look at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from exporters.close_package.adjustments import LockedPeriodAdjustment, adjustments_to_locked_periods
from exporters.close_package.anomalies import NOT_FROZEN, PeriodAnomalies, period_anomalies
from exporters.close_package import revenue_detail as revenue
from exporters.entities import Entity, load_entities, select_entities
from exporters.journal import MissingRateError
from ledger.bank_coverage import BankCoverage, bank_coverage
from ledger.marts import MartsReader, open_marts
from exporters.close_package.status import NOT_RECORDED, LockStatus, ProofResults, Provenance, lock_status, provenance
from exporters.close_package.tie_outs import InTransitPayout, TieOut, UnsettledLine, in_transit_payouts, tie_outs, unsettled_at_period_end
from ledger.checks.snapshot_coverage import NOT_COVERED_BY_A_SNAPSHOT

PAYOUT_EXCEPTIONS = ("payout_in_transit", "payout_overdue", "amount_difference", "ambiguous_candidates")
RECONCILIATION_STATUSES = ("matched", "returned", "payout_in_transit", "payout_overdue", "amount_difference", "ambiguous_candidates", "unmatched_bank_line")
# Business days since the payout should have reached the bank (or since it was created, in transit).
AGE_BUCKETS = (("0", 0, 0), ("1", 1, 1), ("2-3", 2, 3), ("4-5", 4, 5), ("6-10", 6, 10), ("over 10", 11, None))
_STATUS_ORDER = {status: position for position, status in enumerate(RECONCILIATION_STATUSES)}
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class CloseDataError(ValueError):
    """A close package cannot be made: a malformed period, or no journal lines for it."""


@dataclass(frozen=True)
class TrialBalanceLine:
    currency: str
    account_code: str
    account_name: str
    account_type: str
    opening_minor: int
    debits_minor: int
    credits_minor: int
    closing_minor: int


@dataclass(frozen=True)
class FunctionalTrialBalanceLine:
    """An account's balances in the entity's functional currency; `fx_note` says "FX gain/loss" on the FX
    accounts and "includes FX revaluation or rounding" on another account with such lines, else ""."""

    account_code: str
    account_name: str
    account_type: str
    opening_minor: int
    debits_minor: int
    credits_minor: int
    closing_minor: int
    fx_note: str


@dataclass(frozen=True)
class BankFileWarning:
    """A tolerated deviation of a loaded statement file (stored with its current version)."""

    file_name: str
    description: str
    since: date


@dataclass(frozen=True)
class RollforwardLine:
    currency: str
    category: str
    description: str
    amount_minor: int


@dataclass(frozen=True)
class ReconciliationLine:
    """How many payouts (or bank lines) of a currency stand at `status`, their amount, and for
    amount differences the sum of the differences."""

    currency: str
    status: str
    count: int
    amount_minor: int
    difference_minor: int


@dataclass(frozen=True)
class PayoutStanding:
    """A payout due at the bank in the period and where it stands there; for amount differences the
    difference. A payout with open items of several types has one row per type."""

    payout_id: str
    currency: str
    status: str
    amount_minor: int
    difference_minor: int


@dataclass(frozen=True)
class BankScope:
    """Whose bank reconciliation rows to read: `entity_id`'s (None: every entity's), and with them the
    bank lines that match no payout when `unassigned` (the default entity's package, or all)."""

    entity_id: str | None = None
    unassigned: bool = True

    @property
    def parameters(self) -> dict:
        return {"entity": self.entity_id, "unassigned": self.unassigned}


EVERY_ENTITY = BankScope()
# The rows of the scope in a relation with a nullable `entity_id` (null: no Stripe account known).
_IN_SCOPE = "($entity is null or {relation}.entity_id = $entity or ($unassigned and {relation}.entity_id is null))"


@dataclass(frozen=True)
class ExceptionItem:
    exception_type: str
    currency: str
    payout_id: str | None
    bank_statement_line_id: str | None
    amount_minor: int
    difference_minor: int | None
    reference_date: date
    age_business_days: int


@dataclass(frozen=True)
class DailyVolume:
    day: date
    currency: str
    charges: int
    volume_minor: int


@dataclass(frozen=True)
class UnmatchedPayout:
    payout_id: str
    currency: str
    amount_minor: int
    age_business_days: int


@dataclass(frozen=True)
class SuspensePosting:
    """A balance transaction booked to suspense, for review: why, and how long it has waited."""

    balance_transaction_id: str
    accounting_date: date
    currency: str
    amount_minor: int
    reason: str
    age_days: int


@dataclass(frozen=True)
class Headline:
    """A currency's figures at a glance."""

    currency: str
    stripe_ending_balance_minor: int
    payouts_matched: int
    unmatched_payouts: int
    unmatched_payouts_minor: int
    # False: payouts were due at the bank but no statement was there to match them to.
    bank_reconciled: bool


@dataclass(frozen=True)
class CloseData:
    entity_id: str
    period: str
    as_of_date: date | None
    trial_balance: tuple[TrialBalanceLine, ...]
    rollforward: tuple[RollforwardLine, ...]
    reconciliation: tuple[ReconciliationLine, ...]
    exceptions: tuple[ExceptionItem, ...]
    daily_volume: tuple[DailyVolume, ...]
    unmatched_payouts: tuple[UnmatchedPayout, ...]
    payouts: tuple[PayoutStanding, ...]
    suspense_postings: tuple[SuspensePosting, ...]
    # (currency, why) for each currency whose Stripe-clearing balance no balance snapshot covers.
    balance_not_evaluated: tuple[tuple[str, str], ...]
    # The default entity's package also lists the bank lines that match no payout, as unassigned.
    lists_unassigned: bool
    bank_coverage: BankCoverage
    functional_trial_balance: tuple[FunctionalTrialBalanceLine, ...]
    proofs: ProofResults
    lock: LockStatus
    provenance: Provenance
    tie_outs: tuple[TieOut, ...]
    in_transit: tuple[InTransitPayout, ...]
    unsettled: tuple[UnsettledLine, ...]
    bank_file_warnings: tuple[BankFileWarning, ...]
    # Late or changed facts of locked periods posted to this one (exporters/close_package/adjustments.py).
    adjustments: tuple[LockedPeriodAdjustment, ...]
    # The anomaly watch's flags of the period's days, or why it judged none (exporters/close_package/anomalies.py);
    # a copy frozen before this field existed reads back as NOT_FROZEN.
    anomalies: PeriodAnomalies = NOT_FROZEN
    # Revenue by product and tax payable by jurisdiction (exporters/close_package/revenue_detail.py);
    # a copy frozen before this field existed reads back as saying so.
    revenue_detail: revenue.RevenueDetail = revenue.NOT_FROZEN

    @property
    def currencies(self) -> tuple[str, ...]:
        return currencies_of(self.trial_balance, self.rollforward)

    def headline(self) -> tuple[Headline, ...]:
        return tuple(
            Headline(
                currency,
                sum(line.amount_minor for line in self.rollforward if line.currency == currency and line.category == "ending_balance"),
                sum(line.count for line in self.reconciliation if line.currency == currency and line.status == "matched"),
                sum(1 for payout in self.unmatched_payouts if payout.currency == currency),
                sum(payout.amount_minor for payout in self.unmatched_payouts if payout.currency == currency),
                self.bank_coverage.covers(currency),
            )
            for currency in self.currencies
        )

    def unmatched_by_age(self) -> dict[str, list[int]]:
        """Unmatched payouts counted per currency and age bucket (`AGE_BUCKETS` order)."""
        return {
            currency: [
                sum(1 for payout in self.unmatched_payouts if payout.currency == currency and low <= payout.age_business_days and (high is None or payout.age_business_days <= high))
                for _, low, high in AGE_BUCKETS
            ]
            for currency in self.currencies
        }


def currencies_of(trial_balance: tuple[TrialBalanceLine, ...], rollforward: tuple[RollforwardLine, ...]) -> tuple[str, ...]:
    return tuple(sorted({line.currency for line in trial_balance} | {line.currency for line in rollforward}))


def check_period(period: str) -> str:
    if not _PERIOD.fullmatch(period):
        raise CloseDataError(f"period {period!r} is not YYYY-MM")
    return period


def period_days(period: str) -> list[date]:
    first = date.fromisoformat(f"{period}-01")
    following = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=offset) for offset in range((following - first).days)]


@dataclass(frozen=True)
class PackageContext:
    """What a package build knows beyond the warehouse: the proofs' record, the run, the time, the reporting time zone."""

    proofs: ProofResults
    dagster_run_id: str | None
    generated_at: datetime
    reporting_timezone: str


def load_close_data(
    warehouse: Path, period: str, default_entity_id: str, entity_id: str | None = None, *,
    generated_at: datetime, proofs: ProofResults = NOT_RECORDED, dagster_run_id: str | None = None, reporting_timezone: str = "UTC",
) -> list[CloseData]:
    """The figures of every entity with journal lines through `period` (only `entity_id` when given),
    all read before anything is written; refuses a period without journal lines of those entities.
    `generated_at` is the time the package shows: the caller reads the clock, once."""
    check_period(period)
    with open_marts(warehouse) as connection:
        context = PackageContext(proofs, dagster_run_id, generated_at, reporting_timezone)
        return read_close_data(connection, period, default_entity_id, entity_id, context)


def read_close_data(
    connection: MartsReader, period: str, default_entity_id: str, entity_id: str | None, context: PackageContext,
) -> list[CloseData]:
    """`load_close_data` on an open connection: a lock reads them in its own transaction to freeze them."""
    check_period(period)
    entities = package_entities(connection, period, entity_id)
    (as_of_date,) = connection.execute("select max(as_of_date) from main.fct_reconciliation_exceptions").fetchone()
    return [_entity_close_data(connection, entity, period, as_of_date, entity.entity_id == default_entity_id, context) for entity in entities]


def package_entities(connection: MartsReader, period: str, entity_id: str | None = None) -> list[Entity]:
    """The entities with journal lines through `period` (only `entity_id` when given); refuses none."""
    with_lines = [row[0] for row in connection.execute("select distinct entity_id from main.fct_journal_lines where period <= ?", [period]).fetchall()]
    entities = select_entities(load_entities(connection), with_lines, entity_id)
    if not entities:
        (available,) = connection.execute(
            "select coalesce(string_agg(distinct period, ', ' order by period), 'none') from main.fct_journal_lines where $entity is null or entity_id = $entity",
            {"entity": entity_id},
        ).fetchone()
        whose = f"entity {entity_id!r}" if entity_id else "any entity"
        raise CloseDataError(f"no journal lines for {whose} through period {period}; the ledger has periods: {available}")
    return entities


def _entity_close_data(
    connection: MartsReader, entity: Entity, period: str, as_of_date: date | None, default: bool, context: PackageContext,
) -> CloseData:
    entity_id = entity.entity_id
    bank = BankScope(entity_id, unassigned=default)
    trial_balance = trial_balance_lines(connection, entity_id, period)
    rollforward = _rollforward(connection, entity_id, period)
    coverage = bank_coverage(connection, [period], entity_id)
    in_transit = in_transit_payouts(connection, entity_id, period, context.reporting_timezone)
    unsettled = unsettled_at_period_end(connection, entity_id, period, context.reporting_timezone)
    currencies = currencies_of(trial_balance, rollforward)
    ending_balances = {line.currency: line.amount_minor for line in rollforward if line.category == "ending_balance"}
    balance_not_evaluated = tuple(connection.execute(
        f"select currency, problem from ({NOT_COVERED_BY_A_SNAPSHOT}) where entity_id = ? order by currency", [entity_id]).fetchall())
    return CloseData(
        entity_id=entity_id,
        period=period,
        as_of_date=as_of_date,
        trial_balance=trial_balance,
        rollforward=rollforward,
        reconciliation=reconciliation_lines(connection, period, bank),
        exceptions=_exceptions(connection, period, bank),
        daily_volume=_daily_volume(connection, entity_id, period),
        unmatched_payouts=unmatched_payouts(connection, period, bank),
        payouts=payout_standings(connection, period, bank),
        suspense_postings=_suspense_postings(connection, entity_id, period),
        balance_not_evaluated=balance_not_evaluated,
        lists_unassigned=default,
        bank_coverage=coverage,
        functional_trial_balance=functional_trial_balance_lines(connection, entity_id, period),
        proofs=context.proofs,
        lock=lock_status(connection, period),
        provenance=_provenance(connection, entity, period, context),
        tie_outs=tie_outs(connection, entity_id, period, currencies, context.reporting_timezone, coverage, dict(balance_not_evaluated),
                          in_transit, unsettled, ending_balances),
        in_transit=in_transit,
        unsettled=unsettled,
        bank_file_warnings=_bank_file_warnings(connection) if default else (),
        adjustments=adjustments_to_locked_periods(connection, entity_id, period),
        anomalies=period_anomalies(connection, entity_id, period, period_days(period), currencies, default, context.generated_at,
                                   context.reporting_timezone),
        revenue_detail=revenue.revenue_detail(connection, entity_id, period),
    )


def trial_balance_lines(connection: MartsReader, entity_id: str, period: str) -> tuple[TrialBalanceLine, ...]:
    rows = connection.execute(
        """
        select
            lines.currency, lines.account_code, any_value(lines.account_name), coalesce(any_value(accounts.account_type), ''),
            cast(sum(case when lines.period < $period then lines.amount_minor else 0 end) as bigint),
            cast(sum(case when lines.period = $period and lines.amount_minor > 0 then lines.amount_minor else 0 end) as bigint),
            cast(sum(case when lines.period = $period and lines.amount_minor < 0 then -lines.amount_minor else 0 end) as bigint),
            cast(sum(lines.amount_minor) as bigint)
        from main.fct_journal_lines as lines
        left join accounting.gl_accounts as accounts on lines.account_code = accounts.account_code
        where lines.entity_id = $entity and lines.period <= $period
        group by lines.currency, lines.account_code
        order by lines.currency, lines.account_code
        """,
        {"period": period, "entity": entity_id},
    ).fetchall()
    return tuple(TrialBalanceLine(*row) for row in rows)


def _provenance(connection: MartsReader, entity: Entity, period: str, context: PackageContext) -> Provenance:
    try:
        return provenance(connection, entity, period, context.dagster_run_id, context.generated_at)
    except MissingRateError as error:
        # The fingerprint covers the functional-currency lines: without a rate there is no ledger to fingerprint.
        raise CloseDataError(f"entity {entity.entity_id!r} period {period}: {error}") from error


def functional_trial_balance_lines(connection: MartsReader, entity_id: str, period: str) -> tuple[FunctionalTrialBalanceLine, ...]:
    """The translated journal and the revaluation lines, per account in the functional currency."""
    rows = connection.execute(
        """
        with lines as (
            select account_code, account_name, period, functional_amount_minor, is_fx_difference
            from main.fct_journal_lines_translated where entity_id = $entity and period <= $period
            union all
            select account_code, account_name, period, functional_amount_minor, is_fx_difference
            from main.fct_fx_revaluation_lines where entity_id = $entity and period <= $period
        )
        select
            lines.account_code, any_value(lines.account_name), coalesce(any_value(accounts.account_type), ''),
            cast(sum(case when lines.period < $period then lines.functional_amount_minor else 0 end) as bigint),
            cast(sum(case when lines.period = $period and lines.functional_amount_minor > 0 then lines.functional_amount_minor else 0 end) as bigint),
            cast(sum(case when lines.period = $period and lines.functional_amount_minor < 0 then -lines.functional_amount_minor else 0 end) as bigint),
            cast(sum(lines.functional_amount_minor) as bigint),
            case
                when lines.account_code in (
                    select account_code from accounting.gl_control_accounts where account_role in ('fx_gain_loss', 'fx_unrealized_gain_loss')
                ) then 'FX gain/loss'
                when bool_or(lines.is_fx_difference) then 'includes FX revaluation or rounding'
                else ''
            end
        from lines
        left join accounting.gl_accounts as accounts on lines.account_code = accounts.account_code
        group by lines.account_code
        order by lines.account_code
        """,
        {"period": period, "entity": entity_id},
    ).fetchall()
    return tuple(FunctionalTrialBalanceLine(*row) for row in rows)


def _bank_file_warnings(connection: MartsReader) -> tuple[BankFileWarning, ...]:
    """The warnings stored with the current version of every loaded statement file: they name no entity,
    so, like the unassigned bank lines, the default entity's package lists them."""
    rows = connection.execute(
        "select file_name, description, reference_date from main.fct_reconciliation_exceptions "
        "where exception_type = 'bank_file_warning' order by reference_date, file_name, description"
    ).fetchall()
    return tuple(BankFileWarning(*row) for row in rows)


def _rollforward(connection: MartsReader, entity_id: str, period: str) -> tuple[RollforwardLine, ...]:
    rows = connection.execute(
        "select currency, category, description, net_amount_minor from main.rpt_stripe_balance_rollforward "
        "where entity_id = ? and period = ? order by currency, stripe_account_id, row_order",
        [entity_id, period],
    ).fetchall()
    return tuple(RollforwardLine(*row) for row in rows)


# Payout exceptions once per payout and type, dated by the payout's arrival; `$period` null means all.
_PAYOUT_EXCEPTIONS = f"""
    select
        exceptions.exception_type, payouts.currency, payouts.payout_id, payouts.amount_minor,
        cast(sum(coalesce(exceptions.difference_minor, 0)) as bigint) as difference_minor,
        max(exceptions.age_business_days) as age_business_days
    from main.fct_reconciliation_exceptions as exceptions
    inner join main.stg_stripe__payouts as payouts on exceptions.payout_id = payouts.payout_id
    where exceptions.exception_type in {PAYOUT_EXCEPTIONS}
        and ($period is null or strftime(payouts.arrival_date, '%Y-%m') = $period)
        and {_IN_SCOPE.format(relation="exceptions")}
    group by all
"""

# Each payout arriving in `$period` (null: all) once per status: matched (the parts on its lines),
# returned, or one row per open item type.
_PAYOUT_STANDINGS = f"""
    with payout_exceptions as ({_PAYOUT_EXCEPTIONS})
    select payout_id, currency, 'matched' as status, sum(amount_minor) as amount_minor, 0 as difference_minor
    from main.fct_payout_bank_matches as matches
    where ($period is null or strftime(arrival_date, '%Y-%m') = $period) and {_IN_SCOPE.format(relation="matches")}
    group by all
    union all
    select returns.payout_id, returns.currency, 'returned', sum(returns.amount_minor), 0
    from main.fct_payout_bank_returns as returns
    inner join main.stg_stripe__payouts as payouts on returns.payout_id = payouts.payout_id
    where ($period is null or strftime(payouts.arrival_date, '%Y-%m') = $period) and {_IN_SCOPE.format(relation="returns")}
    group by all
    union all
    select payout_id, currency, exception_type, amount_minor, difference_minor
    from payout_exceptions
"""


def payout_standings(connection: MartsReader, period: str | None, bank: BankScope = EVERY_ENTITY) -> tuple[PayoutStanding, ...]:
    """The scope's payouts arriving in `period` (None: all), each with where it stands at the bank."""
    rows = connection.execute(
        f"select payout_id, currency, status, cast(amount_minor as bigint), cast(difference_minor as bigint) from ({_PAYOUT_STANDINGS})",
        {"period": period, **bank.parameters},
    ).fetchall()
    return tuple(sorted((PayoutStanding(*row) for row in rows), key=lambda payout: (payout.currency, _STATUS_ORDER[payout.status], payout.payout_id)))


def reconciliation_lines(connection: MartsReader, period: str | None, bank: BankScope = EVERY_ENTITY) -> tuple[ReconciliationLine, ...]:
    """Per currency and status: the scope's payouts arriving in `period` (None: all), and the
    unmatched bank lines booked in it when the scope holds them."""
    rows = connection.execute(
        f"""
        with standings as ({_PAYOUT_STANDINGS}),
        summary as (
            select currency, status, count(*) as items, sum(amount_minor) as amount_minor, sum(difference_minor) as difference_minor
            from standings
            group by all
            union all
            select currency, exception_type, count(*), sum(amount_minor), 0
            from main.fct_reconciliation_exceptions as exceptions
            where exception_type = 'unmatched_bank_line' and ($period is null or strftime(reference_date, '%Y-%m') = $period)
                and {_IN_SCOPE.format(relation="exceptions")}
            group by all
        )
        select currency, status, items, cast(amount_minor as bigint), cast(difference_minor as bigint) from summary
        """,
        {"period": period, **bank.parameters},
    ).fetchall()
    return tuple(sorted((ReconciliationLine(*row) for row in rows), key=lambda line: (line.currency, _STATUS_ORDER[line.status])))


def unmatched_payouts(connection: MartsReader, period: str | None, bank: BankScope = EVERY_ENTITY) -> tuple[UnmatchedPayout, ...]:
    """Payouts not (confidently) at the bank: in transit, overdue, amount differences, ambiguous; once each."""
    rows = connection.execute(
        f"""
        with payout_exceptions as ({_PAYOUT_EXCEPTIONS})
        select payout_id, currency, amount_minor, max(age_business_days)
        from payout_exceptions
        group by all
        order by currency, payout_id
        """,
        {"period": period, **bank.parameters},
    ).fetchall()
    return tuple(UnmatchedPayout(*row) for row in rows)


def _exceptions(connection: MartsReader, period: str, bank: BankScope) -> tuple[ExceptionItem, ...]:
    rows = connection.execute(
        f"""
        select
            exceptions.exception_type, exceptions.currency, exceptions.payout_id, exceptions.bank_statement_line_id,
            exceptions.amount_minor, exceptions.difference_minor, exceptions.reference_date, exceptions.age_business_days
        from main.fct_reconciliation_exceptions as exceptions
        left join main.stg_stripe__payouts as payouts on exceptions.payout_id = payouts.payout_id
        where strftime(coalesce(payouts.arrival_date, exceptions.reference_date), '%Y-%m') = $period and {_IN_SCOPE.format(relation="exceptions")}
            -- a statement file's warning has no currency or amount for these columns; the Dagster check lists it
            and exceptions.exception_type <> 'bank_file_warning'
        order by exceptions.age_business_days desc, exceptions.exception_type, exceptions.currency, exceptions.exception_id
        """,
        {"period": period, **bank.parameters},
    ).fetchall()
    return tuple(ExceptionItem(*row) for row in rows)


def _suspense_postings(connection: MartsReader, entity_id: str, period: str) -> tuple[SuspensePosting, ...]:
    rows = connection.execute(
        """
        select
            balance_transaction_id, accounting_date, currency, suspense_amount_minor, reason,
            date_diff('day', accounting_date, least(aged_as_of, last_day(cast($period || '-01' as date))))
        from main.rpt_suspense_postings
        where entity_id = $entity and period <= $period
        order by accounting_date, balance_transaction_id
        """,
        {"period": period, "entity": entity_id},
    ).fetchall()
    return tuple(SuspensePosting(*row) for row in rows)


def _daily_volume(connection: MartsReader, entity_id: str, period: str) -> tuple[DailyVolume, ...]:
    rows = connection.execute(
        """
        select sources.accounting_date, sources.currency, count(*), cast(sum(transactions.amount_minor) as bigint)
        from (
            -- A charge books its gross on one line, or on its sale's parts (docs/ledger.md): once each.
            select distinct accounting_date, currency, source_id
            from main.fct_journal_line_sources
            where source_kind = 'balance_transaction' and (line_role = 'gross' or starts_with(line_role, 'sale:'))
                and not is_adjustment and entity_id = ? and period = ?
        ) as sources
        inner join main.stg_stripe__balance_transactions as transactions on sources.source_id = transactions.balance_transaction_id
        where transactions.reporting_category = 'charge'
        group by all
        order by 1, 2
        """,
        [entity_id, period],
    ).fetchall()
    return tuple(DailyVolume(*row) for row in rows)
