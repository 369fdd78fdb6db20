"""The balance-sheet control accounts tied out, per currency, for an entity's period: each GL balance
beside the figure outside the ledger that must equal it, and the difference.

- Stripe clearing (GL) = Stripe's balance (available + pending) at the period end: the entity's latest
  balance snapshot, rolled to the period end by the net of the transactions created between the two
  (the clock the journal books clearing by). Without a snapshot: not evaluated, with the reason
  `ledger.checks.snapshot_coverage` gives (read by `close_data`).
- Cash in transit (GL) = the payouts in transit at the period end, listed: created on or before it,
  less what reached the bank by then (`int_payout_bank_moves`: matched deposits on their booking
  date, unmatched paid payouts on their arrival date, returns) and less a failure dated by then.
- Operating bank (GL) movement in the period = the matched deposits booked in it; the payouts booked
  as arrived without a deposit and the returns are the reconciling items (the journal books them to
  the bank without a deposit to match), and what they leave of the difference is unexplained.
  Without statements for the currency: not evaluated.
- Stripe's ending balance = its ending balance reconciliation (`ending_balance_reconciliation`): the
  transactions counted in the balance by the period end (the roll-forward's clocks: payouts by
  `available_on`, the rest by `created`) that no automatic payout had settled by then, per reporting
  category. A payout Stripe has not itemized yet stays a row of its own (category `payout`).

Period ends are the last day of the period in the reporting time zone, as dbt dates the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb

from ledger.bank_coverage import BankCoverage

STRIPE_CLEARING, CASH_IN_TRANSIT, BANK, ENDING_BALANCE = "stripe_clearing", "cash_in_transit", "bank", "ending_balance"


@dataclass(frozen=True)
class TieOut:
    """`ledger_minor` (the GL side) against `external_minor`; `not_evaluated` says why when a side is missing.
    `details` are the figures that make up the external side, for the reader to follow it;
    `reconciling_items` the known reasons for a difference, so that what is left is `unexplained_minor`."""

    control: str
    currency: str
    ledger_label: str
    ledger_minor: int | None
    external_label: str
    external_minor: int | None
    not_evaluated: str | None
    details: tuple[tuple[str, int], ...] = ()
    reconciling_items: tuple[tuple[str, int], ...] = ()

    @property
    def difference_minor(self) -> int | None:
        if self.not_evaluated is not None or self.ledger_minor is None or self.external_minor is None:
            return None
        return self.ledger_minor - self.external_minor

    @property
    def unexplained_minor(self) -> int | None:
        difference = self.difference_minor
        return None if difference is None else difference - sum(amount for _, amount in self.reconciling_items)

    @property
    def agrees(self) -> bool | None:
        """Whether the two sides agree once the reconciling items are taken out; None when not evaluated."""
        unexplained = self.unexplained_minor
        return None if unexplained is None else unexplained == 0


@dataclass(frozen=True)
class InTransitPayout:
    payout_id: str
    currency: str
    created: date
    arrival_date: date
    amount_minor: int


@dataclass(frozen=True)
class UnsettledLine:
    """Stripe's ending balance reconciliation summary row: transactions of a reporting category not settled at the period end."""

    currency: str
    reporting_category: str
    count: int
    gross_minor: int
    fee_minor: int
    net_minor: int


def period_end(period: str) -> date:
    first = date.fromisoformat(f"{period}-01")
    return (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def period_end_utc(period: str, reporting_timezone: str) -> datetime:
    """The first UTC instant after the period, naive like the warehouse's timestamps."""
    following = datetime.combine(period_end(period) + timedelta(days=1), time(), tzinfo=ZoneInfo(reporting_timezone))
    return following.astimezone(timezone.utc).replace(tzinfo=None)


def _local_date(column: str) -> str:
    return f"cast(timezone($tz, timezone('UTC', {column})) as date)"


def _control_balances(connection: duckdb.DuckDBPyConnection, entity_id: str, period: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(role, currency) -> (closing balance through the period, movement in the period) of each control account."""
    rows = connection.execute(
        """
        select controls.account_role, lines.currency, cast(sum(lines.amount_minor) as bigint),
            cast(sum(case when lines.period = $period then lines.amount_minor else 0 end) as bigint)
        from main.fct_journal_lines as lines
        inner join accounting.gl_control_accounts as controls on lines.account_code = controls.account_code
        where lines.entity_id = $entity and lines.period <= $period and controls.account_role in ('stripe_clearing', 'cash_in_transit', 'bank')
        group by all
        """,
        {"entity": entity_id, "period": period},
    ).fetchall()
    return {(role, currency): (closing, movement) for role, currency, closing, movement in rows}


def control_account_codes(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(connection.execute("select account_role, account_code from accounting.gl_control_accounts").fetchall())


def in_transit_payouts(connection: duckdb.DuckDBPyConnection, entity_id: str, period: str, reporting_timezone: str) -> tuple[InTransitPayout, ...]:
    rows = connection.execute(
        f"""
        with payouts as (
            select payout_id, currency, amount_minor, arrival_date, failure_balance_transaction_id,
                {_local_date('created_at')} as created
            from main.stg_stripe__payouts
            where entity_id = $entity
        ),
        arrived as (
            select payout_id, sum(amount_minor) as amount_minor
            from main.int_payout_bank_moves
            where accounting_date <= $end
            group by payout_id
        ),
        failed as (
            select payouts.payout_id
            from payouts
            inner join main.stg_stripe__balance_transactions as failures on failures.balance_transaction_id = payouts.failure_balance_transaction_id
            where {_local_date('failures.created_at')} <= $end
        )
        select payouts.payout_id, payouts.currency, payouts.created, payouts.arrival_date,
            cast(payouts.amount_minor - coalesce(arrived.amount_minor, 0)
                - case when failed.payout_id is null then 0 else payouts.amount_minor end as bigint) as outstanding_minor
        from payouts
        left join arrived on payouts.payout_id = arrived.payout_id
        left join failed on payouts.payout_id = failed.payout_id
        where payouts.created <= $end and outstanding_minor <> 0
        order by payouts.currency, payouts.created, payouts.payout_id
        """,
        {"entity": entity_id, "end": period_end(period), "tz": reporting_timezone},
    ).fetchall()
    return tuple(InTransitPayout(*row) for row in rows)


def unsettled_at_period_end(connection: duckdb.DuckDBPyConnection, entity_id: str, period: str, reporting_timezone: str) -> tuple[UnsettledLine, ...]:
    rows = connection.execute(
        f"""
        with transactions as (
            select balance_transaction_id, currency, reporting_category, amount_minor, fee_minor, net_minor,
                case when reporting_category in ('payout', 'payout_reversal') then {_local_date('available_at')}
                    else {_local_date('created_at')} end as counted_on
            from main.stg_stripe__balance_transactions
            where entity_id = $entity
        ),
        settled_payouts as (
            select payouts.payout_id, payouts.balance_transaction_id
            from main.stg_stripe__payouts as payouts
            inner join transactions on transactions.balance_transaction_id = payouts.balance_transaction_id
            -- Stripe itemizes a payout once it is reconciled: until then its transactions cannot be told
            -- apart from the rest, so the payout itself stays listed (as Stripe's report lists it).
            where payouts.is_automatic and transactions.counted_on <= $end
                and payouts.payout_id in (select payout_id from main.stg_stripe__payout_transactions)
        ),
        settled as (
            select balance_transaction_id from settled_payouts
            union
            select contents.balance_transaction_id
            from main.stg_stripe__payout_transactions as contents
            inner join settled_payouts on contents.payout_id = settled_payouts.payout_id
        )
        select currency, reporting_category, count(*), cast(sum(amount_minor) as bigint), cast(sum(fee_minor) as bigint), cast(sum(net_minor) as bigint)
        from transactions
        where counted_on <= $end and balance_transaction_id not in (select balance_transaction_id from settled)
        group by all
        order by currency, reporting_category
        """,
        {"entity": entity_id, "end": period_end(period), "tz": reporting_timezone},
    ).fetchall()
    return tuple(UnsettledLine(*row) for row in rows)


def _stripe_balances(connection: duckdb.DuckDBPyConnection, entity_id: str, period: str, reporting_timezone: str) -> dict[str, tuple[datetime, int, int, int]] | None:
    """currency -> (snapshot time, available + pending at it, net created between it and the period end
    (signed: added when the snapshot is earlier), balance at the period end); None without a snapshot."""
    (snapshots,) = connection.execute("select count(*) from main.stg_stripe__balance_snapshots where entity_id = ?", [entity_id]).fetchone()
    if not snapshots:
        return None
    rows = connection.execute(
        """
        with snapshots as (
            select * from main.stg_stripe__balance_snapshots where entity_id = $entity
            qualify row_number() over (partition by stripe_account_id, currency order by as_of_at desc) = 1
        ),
        bridges as (
            select snapshots.stripe_account_id, snapshots.currency,
                coalesce(sum(case when transactions.created_at >= $end_utc and transactions.created_at <= snapshots.as_of_at then -transactions.net_minor
                                  when transactions.created_at > snapshots.as_of_at and transactions.created_at < $end_utc then transactions.net_minor
                                  else 0 end), 0) as bridge_minor
            from snapshots
            left join main.stg_stripe__balance_transactions as transactions
                on transactions.stripe_account_id is not distinct from snapshots.stripe_account_id and transactions.currency = snapshots.currency
            group by all
        )
        select snapshots.currency, max(snapshots.as_of_at), cast(sum(snapshots.balance_minor) as bigint), cast(sum(bridges.bridge_minor) as bigint)
        from snapshots
        inner join bridges on snapshots.stripe_account_id is not distinct from bridges.stripe_account_id and snapshots.currency = bridges.currency
        group by all
        """,
        {"entity": entity_id, "end_utc": period_end_utc(period, reporting_timezone)},
    ).fetchall()
    return {currency: (as_of, balance, bridge, balance + bridge) for currency, as_of, balance, bridge in rows}


def tie_outs(
    connection: duckdb.DuckDBPyConnection, entity_id: str, period: str, currencies: tuple[str, ...], reporting_timezone: str,
    coverage: BankCoverage, not_covered: dict[str, str], in_transit: tuple[InTransitPayout, ...], unsettled: tuple[UnsettledLine, ...],
    ending_balances: dict[str, int],
) -> tuple[TieOut, ...]:
    """Every control account's tie-out per currency; `not_covered`: currency -> why no snapshot covers its clearing balance."""
    codes = control_account_codes(connection)
    balances = _control_balances(connection, entity_id, period)
    stripe = _stripe_balances(connection, entity_id, period, reporting_timezone)
    bank_side = dict(connection.execute(
        """
        select currency, cast(sum(amount_minor) as bigint) from main.fct_payout_bank_matches
        where entity_id = $entity and strftime(booking_date, '%Y-%m') = $period group by all
        """, {"entity": entity_id, "period": period}).fetchall())
    unmatched_moves = {
        (currency, kind): amount
        for currency, kind, amount in connection.execute(
            """
            select moves.currency, moves.source_kind, cast(sum(moves.amount_minor) as bigint)
            from main.int_payout_bank_moves as moves
            inner join main.stg_stripe__payouts as payouts on moves.payout_id = payouts.payout_id
            where payouts.entity_id = $entity and not moves.is_bank_matched and strftime(moves.accounting_date, '%Y-%m') = $period
            group by all
            """, {"entity": entity_id, "period": period}).fetchall()
    }
    last_day = period_end(period).isoformat()
    result = []
    for currency in currencies:
        clearing_closing, _ = balances.get((STRIPE_CLEARING, currency), (0, 0))
        if stripe is None:
            result.append(TieOut(STRIPE_CLEARING, currency, f"Stripe clearing (GL {codes[STRIPE_CLEARING]}) at {last_day}", clearing_closing,
                                 "Stripe balance (available + pending)", None,
                                 not_covered.get(currency, "not evaluated: no Stripe balance snapshot of this entity's Stripe accounts")))
        else:
            as_of, snapshot_minor, bridge_minor, at_end_minor = stripe.get(currency, (None, 0, 0, 0))
            details = ((f"Stripe balance snapshot at {as_of:%Y-%m-%d %H:%M} UTC (available + pending)" if as_of else "No balance in this currency on Stripe's snapshot", snapshot_minor),
                       ("Net of the transactions between the snapshot and the period end", bridge_minor))
            result.append(TieOut(STRIPE_CLEARING, currency, f"Stripe clearing (GL {codes[STRIPE_CLEARING]}) at {last_day}", clearing_closing,
                                 f"Stripe balance (available + pending) at {last_day}", at_end_minor, None, details))
        transit_closing, _ = balances.get((CASH_IN_TRANSIT, currency), (0, 0))
        listed = [payout for payout in in_transit if payout.currency == currency]
        result.append(TieOut(CASH_IN_TRANSIT, currency, f"Cash in transit (GL {codes[CASH_IN_TRANSIT]}) at {last_day}", transit_closing,
                             f"Payouts in transit at {last_day} ({len(listed)}, each listed)", sum(payout.amount_minor for payout in listed), None))
        _, bank_movement = balances.get((BANK, currency), (0, 0))
        bank_label = f"Operating bank (GL {codes[BANK]}) movement in {period}"
        if not coverage.covers(currency):
            result.append(TieOut(BANK, currency, bank_label, bank_movement, "Matched bank deposits", None,
                                 f"not evaluated: no bank statements for {currency.upper()} in {period}"))
        else:
            items = (("Payouts booked as arrived on their arrival date, without a matched deposit", unmatched_moves.get((currency, "payout_arrival"), 0)),
                     ("Payouts returned by the bank (failed after arriving)", unmatched_moves.get((currency, "payout_return"), 0)))
            result.append(TieOut(BANK, currency, bank_label, bank_movement, f"Matched bank deposits booked in {period}", bank_side.get(currency, 0), None,
                                 reconciling_items=tuple(item for item in items if item[1])))
        result.append(TieOut(ENDING_BALANCE, currency, f"Stripe ending balance ({last_day}, roll-forward)", ending_balances.get(currency, 0),
                             "Transactions unsettled at the period end (ending balance reconciliation)",
                             sum(line.net_minor for line in unsettled if line.currency == currency), None))
    return tuple(result)
