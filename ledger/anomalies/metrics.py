"""Close metrics per accounting day, entity and currency, read from the built warehouse (read-only).

DuckDB aggregates (one pass over the day's balance transactions, filtered on `created_at` so the
scan stays within the days asked for); polars shapes the result into one long frame:

    day, entity_id, currency, metric, dimension, value, amount_minor, volume

`dimension` narrows a metric (the fee type of a fee rate, the bank account of a payout delay or of
an unmatched bank line's age, the hour of an ingestion count; empty otherwise); `amount_minor` is the exact integer of a
money metric (`value` is the same number as a float, for the statistics); `volume` is the day's
charge count in that entity and currency, which the seed's `min_volume` compares with. Every day
of the window from the currency's first data in it has a row per series: a day without charges has
volume 0 and counts of 0, and rates of nothing (fee rate, refund rate, average ticket) are null,
"not evaluated", never 0.

Slices (`<metric>_by_payment_method`, `<metric>_by_card_country`, catalogue.py): the charges whose
source object the warehouse has (`stg_stripe__charges`: payment method type, card country), their
refunds (`stg_stripe__refunds`) and disputes (`stg_stripe__disputes`, both by the balance
transaction's source, the refund or dispute it moves money for), per payment method
type and per card country; `dimension` is the slice ("card", "FR") and `volume` the slice's own
charge count, so the seed's `min_volume` keeps a small country's handful of charges from being
judged. A slice has rows on the days it has charges, refunds or disputes (a daily run and a whole
window then compute the same rows); charges without a known source object are in no slice.

Sources: the staging views of Stripe's balance transactions, fee details, payouts, balance
snapshots, charges, refunds, disputes and bank statement lines (thin renames of the raw tables, so a
date filter reaches the scan), and the marts fct_payout_bank_matches, fct_reconciliation_exceptions,
rpt_suspense_postings and fct_journal_lines.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from ledger.anomalies.catalogue import METRICS

# How far back a payout can have arrived (or a bank line been booked) and still count as unmatched
# on a day: older ones are the reconciliation's exceptions, not news.
UNMATCHED_LOOKBACK_DAYS = 31
UNASSIGNED_ENTITY = "(unassigned)"
# The charges' column each kind of slice groups by.
SLICE_COLUMNS = {"payment_method": "payment_method_type", "card_country": "card_country"}
SCHEMA = {
    "day": pl.Date, "entity_id": pl.String, "currency": pl.String, "metric": pl.String, "dimension": pl.String,
    "value": pl.Float64, "amount_minor": pl.Int64, "volume": pl.Int64,
}


def local_timestamp(column: str, timezone: str) -> str:
    # Stored timestamps are UTC; converting UTC to UTC would cost seconds for nothing at scale.
    return column if timezone == "UTC" else f"timezone('{timezone}', timezone('UTC', {column}))"


def compute_metrics(connection: duckdb.DuckDBPyConnection, first_day: date, last_day: date, timezone: str = "UTC") -> pl.DataFrame:
    """Every metric for the days `first_day` to `last_day` (inclusive)."""
    end = last_day + timedelta(days=1)
    # A day in a reporting time zone lies within a day either side of the same UTC day.
    window = [first_day - timedelta(days=1), end + timedelta(days=1), first_day, end]
    local_created = local_timestamp("created_at", timezone)
    transactions = f"""
        select entity_id, currency, reporting_category, balance_transaction_id, source_id, amount_minor, fee_minor,
               cast({local_created} as date) as day, hour({local_created}) as hour
        from stg_stripe__balance_transactions
        where created_at >= $1 and created_at < $2
    """
    activity = _frame(connection, f"""
        with transactions as ({transactions})
        select day, entity_id, currency,
               count(*) filter (where reporting_category = 'charge') as charges,
               coalesce(sum(amount_minor) filter (where reporting_category = 'charge'), 0)::bigint as gross_minor,
               coalesce(-sum(amount_minor) filter (where reporting_category = 'refund'), 0)::bigint as refunded_minor,
               count(*) filter (where reporting_category = 'dispute') as disputes,
               coalesce(sum(fee_minor) filter (where reporting_category = 'dispute'), 0)::bigint as dispute_fees_minor,
               count(*) filter (where reporting_category = 'payout_reversal') as failed_payouts
        from transactions where day >= $3 and day < $4
        group by all
    """, window)
    fees = _frame(connection, f"""
        with transactions as ({transactions})
        select transactions.day, transactions.entity_id, transactions.currency, fees.fee_type, sum(fees.amount_minor)::bigint as fee_minor
        from transactions
        inner join stg_stripe__fee_details as fees on fees.balance_transaction_id = transactions.balance_transaction_id
        where transactions.reporting_category = 'charge' and transactions.day >= $3 and transactions.day < $4
        group by all
    """, window)
    hours = _frame(connection, f"""
        with transactions as ({transactions})
        select day, entity_id, currency, hour, count(*) as transactions
        from transactions where day >= $3 and day < $4
        group by all
    """, window)
    payouts = _frame(connection, """
        select payouts.entity_id, payouts.currency, payouts.payout_id, payouts.arrival_date,
               matches.first_booking_date, matches.bank_account_id
        from stg_stripe__payouts as payouts
        left join (
            select payout_id, min(booking_date) as first_booking_date, min(bank_account_id) as bank_account_id
            from fct_payout_bank_matches group by payout_id
        ) as matches on matches.payout_id = payouts.payout_id
        where payouts.arrival_date >= $1 and payouts.arrival_date < $2
    """, [first_day - timedelta(days=UNMATCHED_LOOKBACK_DAYS), end])
    # Bank lines matching no payout, booked within the lookback: counted on their booking day, aged on each later day.
    bank_lines = _frame(connection, f"""
        select exceptions.reference_date as booking_date, coalesce(exceptions.entity_id, '{UNASSIGNED_ENTITY}') as entity_id,
               exceptions.currency, lines.bank_account_id
        from fct_reconciliation_exceptions as exceptions
        inner join stg_bank__statement_lines as lines on lines.bank_statement_line_id = exceptions.bank_statement_line_id
        where exceptions.exception_type = 'unmatched_bank_line' and exceptions.reference_date >= $1 and exceptions.reference_date < $2
    """, [first_day - timedelta(days=UNMATCHED_LOOKBACK_DAYS), end])
    suspense = _frame(connection, """
        select accounting_date as day, entity_id, currency, count(*) as suspense_postings
        from rpt_suspense_postings where accounting_date >= $1 and accounting_date < $2
        group by all
    """, [first_day, end])
    sliced = _frame(connection, f"""
        with transactions as ({transactions}),
        -- What a refund's or a dispute's balance transaction has as its source, and the charge it is of.
        claims as (
            select refund_id as claim_id, charge_id, created_at from stg_stripe__refunds where created_at >= $1 and created_at < $2
            union all
            select dispute_id, charge_id, created_at from stg_stripe__disputes where created_at >= $1 and created_at < $2
        ),
        sliced as (
            select transactions.*, charges.payment_method_type, charges.card_country
            from transactions
            inner join stg_stripe__charges as charges on charges.balance_transaction_id = transactions.balance_transaction_id
            -- A charge's object is created with its balance transaction: the window keeps the scan to its days.
            where transactions.reporting_category = 'charge' and charges.created_at >= $1 and charges.created_at < $2
            union all by name
            select transactions.*, charges.payment_method_type, charges.card_country
            from transactions
            inner join claims on claims.claim_id = transactions.source_id
            inner join stg_stripe__charges as charges on charges.charge_id = claims.charge_id
            where transactions.reporting_category in ('refund', 'dispute')
        )
        select day, entity_id, currency, payment_method_type, card_country,
               count(*) filter (where reporting_category = 'charge') as charges,
               coalesce(sum(amount_minor) filter (where reporting_category = 'charge'), 0)::bigint as gross_minor,
               coalesce(sum(fee_minor) filter (where reporting_category = 'charge'), 0)::bigint as fee_minor,
               coalesce(-sum(amount_minor) filter (where reporting_category = 'refund'), 0)::bigint as refunded_minor,
               count(*) filter (where reporting_category = 'dispute') as disputes
        from sliced where day >= $3 and day < $4
        group by all
    """, window)
    drift = _balance_drift(connection, first_day, end, timezone)
    return assemble(first_day, last_day, activity, fees, hours, payouts, bank_lines, suspense, drift, sliced)


def _balance_drift(connection: duckdb.DuckDBPyConnection, first_day: date, end: date, timezone: str) -> pl.DataFrame:
    """Per day with a Stripe balance snapshot: the day's last snapshot minus what the ledger's Stripe
    clearing account holds at that moment (its lines through the day, less the day's transactions
    created after the snapshot), as proof 5 compares them for the latest snapshot."""
    local_as_of = local_timestamp("as_of_at", timezone)
    local_created = local_timestamp("transactions.created_at", timezone)
    # A snapshot at local midnight is the balance at the end of the day before.
    return _frame(connection, f"""
        with snapshots as (
            select entity_id, currency, balance_minor, as_of_at,
                   cast({local_as_of} - interval 1 microsecond as date) as day
            from stg_stripe__balance_snapshots
            where as_of_at >= $1 and as_of_at < $2
            qualify row_number() over (partition by entity_id, currency, day order by as_of_at desc) = 1
        ),
        clearing_by_day as (
            select entity_id, currency, accounting_date, sum(amount_minor)::bigint as amount_minor
            from fct_journal_lines
            where account_code = (select account_code from accounting.gl_control_accounts where account_role = 'stripe_clearing')
                and accounting_date < $4
            group by all
        ),
        after_snapshot as (
            select snapshots.entity_id, snapshots.currency, snapshots.day, sum(transactions.net_minor)::bigint as net_minor
            from snapshots
            inner join stg_stripe__balance_transactions as transactions
                on transactions.entity_id = snapshots.entity_id and transactions.currency = snapshots.currency
                and transactions.created_at > snapshots.as_of_at
                and transactions.created_at < snapshots.as_of_at + interval 2 day
                and cast({local_created} as date) <= snapshots.day
            group by all
        )
        select snapshots.day, snapshots.entity_id, snapshots.currency,
               snapshots.balance_minor - (coalesce(sum(clearing_by_day.amount_minor), 0) - coalesce(any_value(after_snapshot.net_minor), 0))::bigint as drift_minor
        from snapshots
        left join clearing_by_day
            on clearing_by_day.entity_id = snapshots.entity_id and clearing_by_day.currency = snapshots.currency
            and clearing_by_day.accounting_date <= snapshots.day
        left join after_snapshot
            on after_snapshot.entity_id = snapshots.entity_id and after_snapshot.currency = snapshots.currency
            and after_snapshot.day = snapshots.day
        where snapshots.day >= $3
        group by snapshots.day, snapshots.entity_id, snapshots.currency, snapshots.balance_minor
    """, [first_day, end + timedelta(days=2), first_day, end])


def _frame(connection: duckdb.DuckDBPyConnection, sql: str, parameters: list) -> pl.DataFrame:
    return connection.sql(sql, params=parameters).pl()


def assemble(
    first_day: date, last_day: date, activity: pl.DataFrame, fees: pl.DataFrame, hours: pl.DataFrame, payouts: pl.DataFrame,
    bank_lines: pl.DataFrame, suspense: pl.DataFrame, drift: pl.DataFrame, sliced: pl.DataFrame,
) -> pl.DataFrame:
    """The long metrics frame from the per-source aggregates (plain frames, so a benchmark can
    synthesize them at any scale)."""
    def keys_of(*frames: pl.DataFrame) -> pl.DataFrame:
        return pl.concat([frame.select("entity_id", "currency") for frame in frames if frame.height]
                         or [pl.DataFrame(schema={"entity_id": pl.String, "currency": pl.String})]).unique()

    days = pl.DataFrame({"day": pl.date_range(first_day, last_day, "1d", eager=True)})
    keys = keys_of(activity, hours, payouts, suspense, drift)
    # A bank line booked before the window is still aging in it: its series starts with the window.
    lines_seen = bank_lines.select(pl.max_horizontal(pl.col("booking_date"), pl.lit(first_day)).alias("day"), "entity_id", "currency")
    # A currency's days start at its first data in the window: days before a merchant (or a currency)
    # began are no history of zeros, against which its first real weeks would all read as anomalies.
    first_seen = pl.concat([frame.select("day", "entity_id", "currency") for frame in (activity, hours, suspense, drift, lines_seen) if frame.height]
                           or [pl.DataFrame(schema={"day": pl.Date, "entity_id": pl.String, "currency": pl.String})])
    starts = first_seen.group_by("entity_id", "currency").agg(start=pl.col("day").min())

    def grid_of(keys: pl.DataFrame) -> pl.DataFrame:
        return (days.join(keys.join(starts, on=["entity_id", "currency"], how="left"), how="cross")
                .filter(pl.col("start").is_null() | (pl.col("day") >= pl.col("start"))).drop("start"))

    grid = grid_of(keys)
    # Bank lines matching no payout belong to no entity: only their own count and age are kept under (unassigned).
    bank_grid = grid_of(keys_of(keys, bank_lines))
    activity = grid.join(activity, on=["day", "entity_id", "currency"], how="left").with_columns(
        pl.col("charges", "gross_minor", "refunded_minor", "disputes", "dispute_fees_minor", "failed_payouts").fill_null(0)
    )
    volume = activity.select("day", "entity_id", "currency", pl.col("charges").alias("volume"))
    charged = pl.col("charges") > 0
    activity_metrics = activity.select(
        "day", "entity_id", "currency",
        gross_volume=pl.col("gross_minor"),
        transaction_count=pl.col("charges"),
        average_ticket=pl.when(charged).then(pl.col("gross_minor") // pl.col("charges")),
        refund_rate=pl.when(pl.col("gross_minor") > 0).then(pl.col("refunded_minor") / pl.col("gross_minor")),
        dispute_rate=pl.when(charged).then(pl.col("disputes") / pl.col("charges")),
        dispute_fees=pl.col("dispute_fees_minor"),
        failed_payouts=pl.col("failed_payouts"),
    ).unpivot(index=["day", "entity_id", "currency"], variable_name="metric", value_name="value")
    fee_rates = (
        grid.join(fees.select("entity_id", "currency", "fee_type").unique(), on=["entity_id", "currency"])
        .join(fees, on=["day", "entity_id", "currency", "fee_type"], how="left")
        .join(activity.select("day", "entity_id", "currency", "gross_minor"), on=["day", "entity_id", "currency"])
        .select("day", "entity_id", "currency", metric=pl.lit("fee_rate"), dimension=pl.col("fee_type"),
                value=pl.when(pl.col("gross_minor") > 0).then(pl.col("fee_minor").fill_null(0) / pl.col("gross_minor")))
    )
    hour_counts = (
        grid.join(pl.DataFrame({"hour": range(24)}, schema={"hour": hours.schema.get("hour", pl.Int64)}), how="cross")
        .join(hours, on=["day", "entity_id", "currency", "hour"], how="left")
        .select("day", "entity_id", "currency", metric=pl.lit("transactions_per_hour"), dimension=pl.format("{}h", pl.col("hour").cast(pl.String).str.zfill(2)),
                value=pl.col("transactions").fill_null(0))
    )
    booked = (bank_lines.filter(pl.col("booking_date") >= first_day)
              .group_by(pl.col("booking_date").alias("day"), "entity_id", "currency").agg(unmatched_bank_lines=pl.len()))
    counted = [
        days_grid.join(frame, on=["day", "entity_id", "currency"], how="left").select(
            "day", "entity_id", "currency", metric=pl.lit(name), dimension=pl.lit(""), value=pl.col(name).fill_null(0))
        for name, frame, days_grid in (("unmatched_bank_lines", booked, bank_grid), ("suspense_postings", suspense, grid))
    ]
    drift_metric = drift.select("day", "entity_id", "currency", metric=pl.lit("balance_drift"), dimension=pl.lit(""), value=pl.col("drift_minor"))
    frames = [
        activity_metrics.with_columns(dimension=pl.lit("")), fee_rates, hour_counts, *counted, drift_metric,
        *_payout_metrics(grid, payouts), _bank_line_ages(bank_grid, bank_lines),
    ]
    long = pl.concat([f.select("day", "entity_id", "currency", "metric", "dimension", pl.col("value").cast(pl.Float64)) for f in frames])
    money = [name for name, metric in METRICS.items() if metric.unit == "minor"]
    by_currency = long.join(volume, on=["day", "entity_id", "currency"], how="left")
    return (
        pl.concat([by_currency, *_slice_metrics(sliced)], how="diagonal_relaxed")
        .with_columns(
            amount_minor=pl.when(pl.col("metric").is_in(money)).then(pl.col("value").cast(pl.Int64)),
            volume=pl.col("volume").fill_null(0),
        )
        .select(list(SCHEMA)).cast(SCHEMA)
        .sort("entity_id", "currency", "metric", "dimension", "day")
    )


def _slice_metrics(sliced: pl.DataFrame) -> list[pl.DataFrame]:
    """Volume, count, fee, refund and dispute rates per payment method and per card country, each
    row's volume the slice's charges (the seed's minimum volume then applies per slice)."""
    frames = []
    for kind, column in SLICE_COLUMNS.items():
        totals = (
            sliced.filter(pl.col(column).is_not_null())
            .group_by("day", "entity_id", "currency", pl.col(column).alias("dimension"))
            .agg(pl.col("charges", "gross_minor", "fee_minor", "refunded_minor", "disputes").sum())
        )
        charged, grossed = pl.col("charges") > 0, pl.col("gross_minor") > 0
        frames.append(totals.select(
            "day", "entity_id", "currency", "dimension", volume=pl.col("charges"),
            **{f"gross_volume_by_{kind}": pl.col("gross_minor").cast(pl.Float64),
               f"transaction_count_by_{kind}": pl.col("charges").cast(pl.Float64),
               f"fee_rate_by_{kind}": pl.when(grossed).then(pl.col("fee_minor") / pl.col("gross_minor")),
               f"refund_rate_by_{kind}": pl.when(grossed).then(pl.col("refunded_minor") / pl.col("gross_minor")),
               f"dispute_rate_by_{kind}": pl.when(charged).then(pl.col("disputes") / pl.col("charges"))},
        ).unpivot(index=["day", "entity_id", "currency", "dimension", "volume"], variable_name="metric", value_name="value"))
    return frames


def _payout_metrics(grid: pl.DataFrame, payouts: pl.DataFrame) -> list[pl.DataFrame]:
    """Payout delay per bank account by arrival date; payouts arrived but not booked by each day, and the oldest one's age."""
    matched = payouts.filter(pl.col("first_booking_date").is_not_null())
    delay = (
        matched.with_columns(delay=pl.business_day_count(pl.col("arrival_date"), pl.col("first_booking_date")))
        .group_by(pl.col("arrival_date").alias("day"), "entity_id", "currency", pl.col("bank_account_id").alias("dimension"))
        .agg(value=pl.col("delay").mean())
        .join(grid, on=["day", "entity_id", "currency"], how="semi")
        .select("day", "entity_id", "currency", metric=pl.lit("payout_delay_business_days"), dimension="dimension", value="value")
    )
    open_on_day = (
        grid.join(payouts, on=["entity_id", "currency"])
        .filter(
            (pl.col("arrival_date") <= pl.col("day"))
            & (pl.col("arrival_date") > pl.col("day") - pl.duration(days=UNMATCHED_LOOKBACK_DAYS))
            & (pl.col("first_booking_date").is_null() | (pl.col("first_booking_date") > pl.col("day")))
        )
        .group_by("day", "entity_id", "currency")
        .agg(count=pl.len(), oldest=pl.business_day_count(pl.col("arrival_date"), pl.col("day")).max())
    )
    unmatched = grid.join(open_on_day, on=["day", "entity_id", "currency"], how="left")
    return [
        unmatched.select("day", "entity_id", "currency", metric=pl.lit("unmatched_payouts"), dimension=pl.lit(""), value=pl.col("count").fill_null(0)),
        unmatched.select("day", "entity_id", "currency", metric=pl.lit("unmatched_payouts_oldest_age_business_days"), dimension=pl.lit(""),
                         value=pl.col("oldest").fill_null(0)),
        delay,
    ]


def _bank_line_ages(grid: pl.DataFrame, bank_lines: pl.DataFrame) -> pl.DataFrame:
    """Per bank account, on each day: the oldest Stripe-looking line booked by then (within the
    lookback) that no payout claims, in business days since its booking; 0 when none is open."""
    accounts = grid.join(bank_lines.select("entity_id", "currency", "bank_account_id").unique(), on=["entity_id", "currency"])
    open_on_day = (
        accounts.join(bank_lines, on=["entity_id", "currency", "bank_account_id"])
        .filter((pl.col("booking_date") <= pl.col("day")) & (pl.col("booking_date") > pl.col("day") - pl.duration(days=UNMATCHED_LOOKBACK_DAYS)))
        .group_by("day", "entity_id", "currency", "bank_account_id")
        .agg(oldest=pl.business_day_count(pl.col("booking_date"), pl.col("day")).max())
    )
    return accounts.join(open_on_day, on=["day", "entity_id", "currency", "bank_account_id"], how="left").select(
        "day", "entity_id", "currency", metric=pl.lit("unmatched_bank_lines_oldest_age_business_days"),
        dimension="bank_account_id", value=pl.col("oldest").fill_null(0))
