"""A 180-day merchant with anomalies injected on known days, its clean twin, and the truth.

Both worlds are the sandbox merchant (sandbox.merchant) with a weekly rhythm: weekends keep
WEEKEND_SHARE of the weekday activity, so a detector that ignores the weekday would see every
Saturday as a crash. The injected world adds, each on its own business day:

* fee_rate_step: from its day on, USD charges pay 0.5 points more Stripe fee (a pricing change);
* refund_spike: one day of EUR refunds worth far more than usual;
* dispute_wave: three days of USD disputes, each with its dispute fee;
* bank_delay: from its day on, the EUR bank books every Stripe deposit 2 business days after
  the payout's arrival date;
* missing_ingestion_day: a day whose balance transactions (every currency) never reach the
  warehouse, though Stripe has them (its payouts and its balance do);
* unclaimed_bank_line: a Stripe-looking USD bank line that no payout claims (a deposit from another
  Stripe account, or one Stripe never reported), left unclaimed: counted on its booking day, then
  aging on every later day;
* balance_drift: from its day on, the Stripe balance in JPY holds DRIFT_MINOR more than its
  transactions explain (what an unrecorded adjustment looks like to the ledger).
* card_country_refund_spike: one day of USD refunds of charges paid with Canadian cards, a spike
  in that card country's refund rate (the slice metric catches it; the USD refund rate moves by
  about half as much, Canada being about half of the USD charges).

`land_anomaly_world` puts a world into a warehouse as the close would: raw Stripe tables (with the
charges, refunds and disputes behind the balance transactions), a balance snapshot at the end of
every day, the bank statement loaded through the real BAI2 parser, then dbt's
models. Without the proofs: the missing day and the drift break them on purpose, and a failed proof
would skip the marts after it; the anomaly watch must see what the marts show.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ledger import warehouse
from ledger.dbt_build import build_ledger
from ledger.sources import source_tables, stripe_records
from ledger.sources.bank.load import StatementFile, load_statement_file
from sandbox import raw_tables, stripe_objects
from sandbox.bank_deposits import PayoutDeposit, bank_statements, plan_deposits
from sandbox.bank_statements import write_bai2
from sandbox.merchant import (
    BALANCE_TRANSACTION_SCHEMA, DAY, DISPUTE_FEE, World, WorldSpec, add_business_days, midnight_ts, simulate,
    stable_id,
)
from sandbox.sales import sales

# A Monday, so weeks line up with the world's days; 180 days run to 2026-10-02.
START = date(2026, 4, 6)
DAYS = 180
WEEKEND_SHARE = 0.45
FEE_STEP_PER_MILLE = 5
REFUND_SPIKE_COUNT = 12
DISPUTES_PER_DAY = 4
DISPUTE_WAVE_DAYS = 3
BANK_DELAY_BUSINESS_DAYS = 2
DRIFT_MINOR = 25_000
CARD_SPIKE_COUNTRY = "CA"
CARD_SPIKE_REFUNDS = 8
UNCLAIMED_LINE_MINOR = 123_457
UNCLAIMED_LINE_TRACE = "ST-UNCLAIMED19"

# kind -> (day offset from START, currency or None for all, metrics whose flag catches it, the slice
# those metrics must name or None). Each day is a business day; they are weeks apart so that one's
# flags never stand in for another's.
INJECTIONS: dict[str, tuple[int, str | None, tuple[str, ...], str | None]] = {
    "fee_rate_step": (86, "usd", ("fee_rate",), None),
    "refund_spike": (99, "eur", ("refund_rate",), None),
    "dispute_wave": (115, "usd", ("dispute_rate", "dispute_fees"), None),
    "bank_delay": (126, "eur", ("payout_delay_business_days", "unmatched_payouts"), None),
    "unclaimed_bank_line": (135, "usd", ("unmatched_bank_lines", "unmatched_bank_lines_oldest_age_business_days"), None),
    "missing_ingestion_day": (144, None, ("ingestion_completeness", "transaction_count"), None),
    "balance_drift": (156, "jpy", ("balance_drift",), None),
    "card_country_refund_spike": (170, "usd", ("refund_rate_by_card_country",), CARD_SPIKE_COUNTRY),
}


@dataclass(frozen=True)
class InjectedAnomaly:
    """The truth about one injected anomaly: its kind, first day, currency (None: all), the
    metrics whose flag on that day (or the next business day) counts as catching it, and the
    slice (a metric's dimension, such as a card country) the flag must name, if any."""

    kind: str
    start: date
    currency: str | None
    metrics: tuple[str, ...]
    dimension: str | None = None


@dataclass(frozen=True)
class AnomalyWorld:
    world: World
    anomalies: tuple[InjectedAnomaly, ...]  # empty for the clean twin

    def anomaly(self, kind: str) -> InjectedAnomaly | None:
        """The injected anomaly of `kind`; None in the clean twin."""
        return next((a for a in self.anomalies if a.kind == kind), None)


def anomaly_world(injected: bool, seed: int = 19, transactions_per_day: int = 80, days: int = DAYS) -> AnomalyWorld:
    """The injected world or its clean twin: same seed, same activity apart from the anomalies."""
    spec = WorldSpec(seed=seed, start=START, days=days, transactions_per_day=transactions_per_day)
    anomalies = tuple(
        InjectedAnomaly(kind, START + timedelta(days=offset), currency, metrics, dimension)
        for kind, (offset, currency, metrics, dimension) in INJECTIONS.items() if offset < days
    ) if injected else ()
    by_kind = {a.kind: a for a in anomalies}
    world = simulate(spec, lambda activity: _adjust_activity(spec, activity, by_kind))
    return AnomalyWorld(world, anomalies)


def _adjust_activity(spec: WorldSpec, activity: pa.Table, anomalies: dict[str, InjectedAnomaly]) -> pa.Table:
    rng = np.random.default_rng(spec.seed + 1)
    created = activity["created"].to_numpy()
    weekday = ((created - spec.start_ts) // DAY + spec.start.weekday()) % 7
    is_bulk = pc.is_in(activity["event"], pa.array(["charge", "refund"])).to_numpy(zero_copy_only=False)
    keep = ~(is_bulk & (weekday >= 5) & (rng.random(len(created)) > WEEKEND_SHARE))
    activity = activity.filter(pa.array(keep))
    if "fee_rate_step" in anomalies:
        activity = _fee_step(activity, anomalies["fee_rate_step"])
    extra = []
    if "refund_spike" in anomalies:
        extra.append(_refund_spike(spec, anomalies["refund_spike"], rng))
    if "dispute_wave" in anomalies:
        extra.append(_dispute_wave(spec, anomalies["dispute_wave"], rng))
    if "card_country_refund_spike" in anomalies:
        extra.append(_card_country_refund_spike(spec, anomalies["card_country_refund_spike"], rng))
    return pa.concat_tables([activity, *extra]) if extra else activity


def _fee_step(activity: pa.Table, anomaly: InjectedAnomaly) -> pa.Table:
    """From the anomaly's day, each charge in its currency pays FEE_STEP_PER_MILLE more Stripe fee."""
    hit = pc.and_(pc.and_(pc.equal(activity["event"], "charge"), pc.equal(activity["currency"], anomaly.currency)),
                  pc.greater_equal(activity["created"], midnight_ts(anomaly.start)))
    extra = pc.if_else(hit, pc.divide(pc.add(pc.multiply(activity["amount"], FEE_STEP_PER_MILLE), 500), 1000), 0)
    activity = activity.set_column(activity.schema.get_field_index("fee"), "fee", pc.add(activity["fee"], extra))
    return activity.set_column(activity.schema.get_field_index("net"), "net", pc.subtract(activity["amount"], activity["fee"]))


def _rows(columns: dict[str, list]) -> pa.Table:
    count = len(columns["id"])
    defaults = {"application_fee": [0] * count, "fee_tax": [0] * count, "automatic_payout_id": [None] * count,
                "fee_detail_type": [None] * count, "fee_detail_description": [None] * count}
    return pa.table({**defaults, **columns}, schema=BALANCE_TRANSACTION_SCHEMA)


def _refund_spike(spec: WorldSpec, anomaly: InjectedAnomaly, rng: np.random.Generator) -> pa.Table:
    """Full refunds of large charges on one day (the fee stays kept, as Stripe does)."""
    created = [midnight_ts(anomaly.start) + int(s) for s in rng.integers(8 * 3_600, 20 * 3_600, REFUND_SPIKE_COUNT)]
    amounts = [-int(a) for a in rng.integers(20_000, 40_000, REFUND_SPIKE_COUNT)]
    ids = [stable_id("txn", spec.seed, "refund-spike", i) for i in range(REFUND_SPIKE_COUNT)]
    return _rows({
        "id": ids, "created": created, "available_on": created, "currency": [anomaly.currency] * REFUND_SPIKE_COUNT,
        "amount": amounts, "fee": [0] * REFUND_SPIKE_COUNT, "net": amounts, "type": ["refund"] * REFUND_SPIKE_COUNT,
        "reporting_category": ["refund"] * REFUND_SPIKE_COUNT,
        "source": [stable_id("re", spec.seed, "refund-spike", i) for i in range(REFUND_SPIKE_COUNT)],
        "description": ["REFUND FOR CHARGE (spike)"] * REFUND_SPIKE_COUNT, "event": ["refund"] * REFUND_SPIKE_COUNT,
    })


def _card_country_refund_spike(spec: WorldSpec, anomaly: InjectedAnomaly, rng: np.random.Generator) -> pa.Table:
    """Partial refunds of CARD_SPIKE_REFUNDS earlier charges paid with cards of the anomaly's country,
    on one day (the description tells sandbox.sales which card country's charges they refund)."""
    created = [midnight_ts(anomaly.start) + int(s) for s in rng.integers(9 * 3_600, 18 * 3_600, CARD_SPIKE_REFUNDS)]
    amounts = [-int(a) for a in rng.integers(25_000, 35_000, CARD_SPIKE_REFUNDS)]
    ids = [stable_id("txn", spec.seed, "card-refund-spike", i) for i in range(CARD_SPIKE_REFUNDS)]
    return _rows({
        "id": ids, "created": created, "available_on": created, "currency": [anomaly.currency] * CARD_SPIKE_REFUNDS,
        "amount": amounts, "fee": [0] * CARD_SPIKE_REFUNDS, "net": amounts, "type": ["refund"] * CARD_SPIKE_REFUNDS,
        "reporting_category": ["refund"] * CARD_SPIKE_REFUNDS,
        "source": [stable_id("re", spec.seed, "card-refund-spike", i) for i in range(CARD_SPIKE_REFUNDS)],
        "description": [f"REFUND FOR CHARGE (refund of a {anomaly.dimension} card)"] * CARD_SPIKE_REFUNDS,
        "event": ["refund"] * CARD_SPIKE_REFUNDS,
    })


def _dispute_wave(spec: WorldSpec, anomaly: InjectedAnomaly, rng: np.random.Generator) -> pa.Table:
    """DISPUTES_PER_DAY chargebacks a day for DISPUTE_WAVE_DAYS business days, each with its dispute fee."""
    days = [anomaly.start]
    while len(days) < DISPUTE_WAVE_DAYS:
        days.append(add_business_days(days[-1], 1))
    created = [midnight_ts(day) + int(s) for day in days for s in rng.integers(9 * 3_600, 18 * 3_600, DISPUTES_PER_DAY)]
    count = len(created)
    amounts = [-int(a) for a in rng.integers(5_000, 30_000, count)]
    fee = DISPUTE_FEE[anomaly.currency]
    return _rows({
        "id": [stable_id("txn", spec.seed, "dispute-wave", i) for i in range(count)], "created": created, "available_on": created,
        "currency": [anomaly.currency] * count, "amount": amounts, "fee": [fee] * count, "net": [a - fee for a in amounts],
        "type": ["adjustment"] * count, "reporting_category": ["dispute"] * count,
        "source": [stable_id("du", spec.seed, "dispute-wave", i) for i in range(count)],
        "description": ["Chargeback withdrawal (wave)"] * count, "event": ["dispute"] * count,
        "fee_detail_type": ["stripe_fee"] * count, "fee_detail_description": ["Dispute fee"] * count,
    })


def land_anomaly_world(path: Path, anomaly_world: AnomalyWorld) -> None:
    """Land `anomaly_world` into the warehouse at `path` and build dbt's models on it (no proofs)."""
    world = anomaly_world.world
    missing = anomaly_world.anomaly("missing_ingestion_day")
    landed = world
    if missing is not None:
        created = world.balance_transactions["created"]
        day_start = midnight_ts(missing.start)
        outside = pc.or_(pc.less(created, day_start), pc.greater_equal(created, day_start + DAY))
        landed = dataclasses.replace(world, balance_transactions=world.balance_transactions.filter(outside))
    with warehouse.connect(path) as connection:
        # The source objects the slice metrics read, but those the missed ingestion day lost.
        raw_tables.load_world(connection, landed, source_objects=False)
        _load_source_objects(connection, world, missing.start if missing else None)
        warehouse.upsert(connection, "stripe_balance_snapshots", daily_snapshots(anomaly_world))
        _load_bank_statement(connection, anomaly_world)
    build_ledger(path, proofs=False)


def _load_source_objects(connection, world: World, missing_day: date | None) -> None:
    """The charges, refunds and disputes behind the balance transactions (what the slice metrics read),
    but those created on the day the ingestion missed."""
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    detail = sales(world)
    skipped = range(midnight_ts(missing_day), midnight_ts(missing_day) + DAY) if missing_day else range(0)
    for resource, objects in (("charges", detail.charges), ("refunds", detail.refunds), ("disputes", detail.disputes)):
        seen = [item for item in objects if item["created"] not in skipped]
        for table, rows in source_tables.rows(resource, seen, raw_tables.SOURCE, loaded_at).items():
            warehouse.upsert(connection, table, rows)


def daily_snapshots(anomaly_world: AnomalyWorld) -> pa.Table:
    """Stripe's balance at the end of every day (what a daily ingestion records), with the drift injected."""
    world = anomaly_world.world
    drift = anomaly_world.anomaly("balance_drift")
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)
    tables = []
    for index in range(world.spec.days):
        day = world.spec.start + timedelta(days=index)
        clock = midnight_ts(day + timedelta(days=1))
        balance = stripe_objects.balance(world, clock)
        if drift is not None and day >= drift.start:
            for entry in balance["available"]:
                if entry["currency"] == drift.currency:
                    entry["amount"] += DRIFT_MINOR
        as_of = datetime.fromtimestamp(clock, tz=timezone.utc).replace(tzinfo=None)
        tables.append(stripe_records.balance_snapshot_rows(balance, as_of, raw_tables.SOURCE, loaded_at))
    return pa.concat_tables(tables)


def _load_bank_statement(connection, anomaly_world: AnomalyWorld) -> None:
    world = anomaly_world.world
    deposits = plan_deposits(world)
    delay = anomaly_world.anomaly("bank_delay")
    if delay is not None:
        deposits = [
            dataclasses.replace(d, booking_date=add_business_days(d.booking_date, BANK_DELAY_BUSINESS_DAYS),
                                value_date=add_business_days(d.value_date, BANK_DELAY_BUSINESS_DAYS))
            if d.currency == delay.currency and d.direction == "credit" and d.booking_date >= delay.start else d
            for d in deposits
        ]
    unclaimed = anomaly_world.anomaly("unclaimed_bank_line")
    if unclaimed is not None:
        deposits.append(PayoutDeposit(
            payout_ids=(), currency=unclaimed.currency, direction="credit", amount_minor=UNCLAIMED_LINE_MINOR,
            booking_date=unclaimed.start, value_date=unclaimed.start, bank_reference=f"{unclaimed.currency.upper()}9000000019",
            customer_reference=UNCLAIMED_LINE_TRACE, text=f"STRIPE TRANSFER {UNCLAIMED_LINE_TRACE} {world.spec.merchant_name}",
        ))
        deposits.sort(key=lambda d: (d.currency, d.booking_date, d.bank_reference))
    statements = bank_statements(world, deposits)
    created_at = datetime.fromtimestamp(world.as_of, tz=timezone.utc).replace(hour=6)
    with tempfile.TemporaryDirectory(prefix="anomaly-bank-") as folder:
        path = write_bai2(statements, Path(folder) / "bank_statement.bai2", sender_id="121000248", receiver_id="ACMEROBOT",
                          file_id="1", created_at=created_at)
        outcome = load_statement_file(connection, StatementFile(path, "bank_statement.bai2", path.as_uri()))
    if outcome.failed:
        raise RuntimeError(f"the anomaly world's bank statement did not load: {outcome.message}")

