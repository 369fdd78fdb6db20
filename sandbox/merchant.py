"""A simulated Stripe merchant: every balance movement of a month, deterministic from a seed.

The world follows Stripe's semantics (reference/stripe.md): charges with fees, refunds that keep
the fee, a partial-capture reversal, a dispute with its dispute fee and a won dispute reversal,
standalone `stripe_fee` and `tax_fee` transactions, fees split in `fee_details` (a platform's
application fee on some USD charges, VAT on the processing fee of EUR charges), automatic daily payouts per currency whose
transactions net exactly to the payout, and one payout that is `paid` and then `failed`. On request,
a manual and an instant payout too (`automatic` false): their own `payout` transactions leave the
balance before the day's automatic payout, which sweeps what is left, so they are items of that
automatic payout (as a failed payout's return is of a later one) [inferred from Stripe's rule that
an automatic payout's transactions net to its amount].

What was sold behind these transactions (charges, invoices, refunds' credit notes, the catalog) is
`sandbox/sales.py`, built from this world on demand without changing it.

Activity is generated column-wise with numpy so that a million transactions take seconds; only
the payout schedule is sequential, because a payout depends on what earlier payouts left behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pyarrow as pa

DAY = 86_400
PAYOUT_HOUR = 6
AVAILABILITY_DELAY_DAYS = 2
PAYOUT_ARRIVAL_BUSINESS_DAYS = 2
FAILED_PAYOUT_DAY = 3
LATE_DEPOSIT_PAYOUT_DAY = 4
COMBINED_DEPOSIT_PAYOUT_DAYS = (5, 6)
# With `WorldSpec.manual_and_instant_payouts`: on these days the merchant pays out a third of the
# available USD by hand an hour before the automatic payout, which sweeps the rest.
PAYOUTS_BY_HAND = {8: "standard", 9: "instant"}
MIN_DAYS = 10

CURRENCY_WEIGHTS = {"usd": 0.6, "eur": 0.25, "jpy": 0.15, "gbp": 0.2, "kwd": 0.05}
# (low, high) charge amounts in minor units, and the processing fee: rate in tenths of a
# percent plus a fixed part, so fees stay integer arithmetic.
CHARGE_RANGE = {"usd": (500, 50_000), "eur": (500, 40_000), "gbp": (500, 40_000), "jpy": (300, 60_000), "kwd": (1_000, 90_000)}
FEE_RULE = {"usd": (29, 30), "eur": (15, 25), "gbp": (15, 20), "jpy": (36, 0), "kwd": (29, 100)}
DISPUTE_FEE = {"usd": 1_500, "eur": 1_500, "gbp": 1_500, "jpy": 2_000, "kwd": 5_000}
REFUND_SHARE = 0.08
# Every APPLICATION_FEE_EVERY-th USD charge goes through a platform that takes 1% as an application
# fee; EUR processing fees carry 20% VAT. Both are parts of `fee`, itemized in `fee_details`.
APPLICATION_FEE_EVERY = 7
FEE_VAT_PERCENT = {"eur": 20}
# The partial capture: the charge authorizes the first amount, captures the second.
PARTIAL_CAPTURE = (10_000, 6_000)
# Connect transfers (WorldSpec.connect_transfers): (connected account, USD minor units).
TRANSFERS = (("acct_1SandboxSellerA", 2_500), ("acct_1SandboxSellerB", 4_000))

BALANCE_TRANSACTION_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("created", pa.int64()),
        ("available_on", pa.int64()),
        ("currency", pa.string()),
        ("amount", pa.int64()),
        ("fee", pa.int64()),
        ("net", pa.int64()),
        ("type", pa.string()),
        ("reporting_category", pa.string()),
        ("source", pa.string()),
        ("description", pa.string()),
        ("fee_detail_type", pa.string()),
        ("fee_detail_description", pa.string()),
        # Parts of `fee` that are not Stripe's own fee (fee_details types application_fee and tax).
        ("application_fee", pa.int64()),
        ("fee_tax", pa.int64()),
        # What happened economically, in the simulator's own words; the ledger never sees it.
        ("event", pa.string()),
        ("automatic_payout_id", pa.string()),
    ]
)

PAYOUT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("created", pa.int64()),
        ("arrival_date", pa.int64()),
        ("currency", pa.string()),
        ("amount", pa.int64()),
        ("balance_transaction", pa.string()),
        ("failure_balance_transaction", pa.string()),
        ("failed_at", pa.int64()),
        ("trace_id", pa.string()),
        ("destination", pa.string()),
        ("automatic", pa.bool_()),
        ("method", pa.string()),
    ]
)


# The simulated merchant's Stripe account, as the demo's entities seed names it.
OWN_ACCOUNT_ID = "acct_main"

@dataclass(frozen=True)
class WorldSpec:
    """What to simulate: `days` of activity from `start`, about `transactions_per_day` a day."""

    seed: int = 7
    start: date = date(2026, 10, 1)
    days: int = 31
    transactions_per_day: int = 40
    currencies: tuple[str, ...] = ("usd", "eur", "jpy")
    merchant_name: str = "ACME ROBOTICS INC"
    # Also a manual (standard) and an instant payout, which Stripe cannot itemize (PAYOUTS_BY_HAND).
    # Off by default: the default world stays the one the tests and the ground truth were built on.
    manual_and_instant_payouts: bool = False
    # Also Connect transfers to connected accounts (TRANSFERS), `transfer` transactions whose source
    # is a `tr_...`. Off by default, for the same reason.
    connect_transfers: bool = False

    def __post_init__(self) -> None:
        if self.days < MIN_DAYS:
            raise ValueError(f"a sandbox world needs at least {MIN_DAYS} days, got {self.days}")
        if self.transactions_per_day < 1:
            raise ValueError("transactions_per_day must be at least 1")
        if "usd" not in self.currencies:
            raise ValueError("the sandbox's special cases (dispute, failed payout) happen in usd: include it")
        unknown = set(self.currencies) - set(CHARGE_RANGE)
        if unknown:
            raise ValueError(f"no simulation parameters for {sorted(unknown)}; choose from {sorted(CHARGE_RANGE)}")

    @property
    def start_ts(self) -> int:
        return int(datetime.combine(self.start, datetime.min.time(), tzinfo=timezone.utc).timestamp())

    @property
    def end_ts(self) -> int:
        """The simulation clock at the end: midnight UTC after the last day."""
        return self.start_ts + self.days * DAY


@dataclass
class World:
    spec: WorldSpec
    balance_transactions: pa.Table
    payouts: pa.Table
    as_of: int
    notes: dict[str, str] = field(default_factory=dict)


def stable_id(prefix: str, seed: int, *parts: object) -> str:
    digest = hashlib.blake2b(f"{seed}:{':'.join(map(str, parts))}".encode(), digest_size=12).hexdigest()
    return f"{prefix}_{digest}"


def add_business_days(day: date, count: int) -> date:
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def midnight_ts(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc).timestamp())


def ts_date(ts: int) -> date:
    return datetime.fromtimestamp(ts, tz=timezone.utc).date()


class _Rows:
    """Column buffers for the handful of rows that are not generated in bulk."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in BALANCE_TRANSACTION_SCHEMA.names}

    def add(self, **values: object) -> None:
        values = {"application_fee": 0, "fee_tax": 0, **values}
        for name, column in self.columns.items():
            column.append(values.get(name))

    def table(self) -> pa.Table:
        return pa.table(self.columns, schema=BALANCE_TRANSACTION_SCHEMA)


def _bulk_activity(spec: WorldSpec, rng: np.random.Generator) -> pa.Table:
    """Charges and refunds, spread over the days and currencies."""
    count = spec.days * spec.transactions_per_day
    day = np.repeat(np.arange(spec.days, dtype=np.int64), spec.transactions_per_day)
    created = spec.start_ts + day * DAY + rng.integers(0, DAY, count)
    weights = np.array([CURRENCY_WEIGHTS[c] for c in spec.currencies])
    currency_index = rng.choice(len(spec.currencies), count, p=weights / weights.sum())
    currency = np.array(spec.currencies, dtype=object)[currency_index]
    low = np.array([CHARGE_RANGE[c][0] for c in spec.currencies])[currency_index]
    high = np.array([CHARGE_RANGE[c][1] for c in spec.currencies])[currency_index]
    gross = low + (rng.random(count) * (high - low)).astype(np.int64)
    is_refund = rng.random(count) < REFUND_SHARE
    rate = np.array([FEE_RULE[c][0] for c in spec.currencies])[currency_index]
    fixed = np.array([FEE_RULE[c][1] for c in spec.currencies])[currency_index]
    charge_fee = (gross * rate + 500) // 1000 + fixed
    seq = np.arange(count)
    is_platform_charge = ~is_refund & (currency == "usd") & (seq % APPLICATION_FEE_EVERY == 0)
    application_fee = np.where(is_platform_charge, gross // 100, 0)
    vat_percent = np.array([FEE_VAT_PERCENT.get(c, 0) for c in spec.currencies])[currency_index]
    fee_tax = np.where(is_refund, 0, (charge_fee * vat_percent + 50) // 100)
    refund_amount = np.maximum(gross // 2, 1)
    amount = np.where(is_refund, -refund_amount, gross)
    fee = np.where(is_refund, 0, charge_fee + application_fee + fee_tax)
    midnight = spec.start_ts + day * DAY
    # Incoming funds wait for availability; debits leave the balance at once.
    available_on = np.where(is_refund, created, midnight + AVAILABILITY_DELAY_DAYS * DAY)
    ids = [stable_id("txn", spec.seed, "a", i) for i in range(count)]
    sources = [stable_id("re" if refund else "ch", spec.seed, "s", i) for i, refund in zip(range(count), is_refund)]
    kind = np.where(is_refund, "refund", "charge")
    description = np.where(is_refund, "REFUND FOR CHARGE", "Order payment")
    return pa.table(
        {
            "id": ids,
            "created": created,
            "available_on": available_on,
            "currency": currency.astype(str),
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "type": kind,
            "reporting_category": kind,
            "source": sources,
            "description": [f"{d} #{n}" for d, n in zip(description, seq)],
            "fee_detail_type": np.where(is_refund, None, "stripe_fee"),
            "fee_detail_description": np.where(is_refund, None, "Stripe processing fees"),
            "application_fee": application_fee,
            "fee_tax": fee_tax,
            "event": kind,
            "automatic_payout_id": pa.nulls(count, pa.string()),
        },
        schema=BALANCE_TRANSACTION_SCHEMA,
    )


def _special_activity(spec: WorldSpec) -> pa.Table:
    """One of each case a naive ledger gets wrong (reference/stripe.md section 8)."""
    rows = _Rows()
    t0 = spec.start_ts
    seed = spec.seed

    def fee_for(currency: str, amount: int) -> int:
        rate, fixed = FEE_RULE[currency]
        return (amount * rate + 500) // 1000 + fixed

    # Partial capture: the charge carries the full authorization; the uncaptured part comes back
    # as a `refund` transaction in category partial_capture_reversal.
    authorized, captured = PARTIAL_CAPTURE
    charge_id = stable_id("ch", seed, "partial")
    rows.add(id=stable_id("txn", seed, "partial-charge"), created=t0 + DAY + 36_000,
             available_on=t0 + (1 + AVAILABILITY_DELAY_DAYS) * DAY, currency="usd", amount=authorized,
             fee=fee_for("usd", captured), net=authorized - fee_for("usd", captured), type="charge",
             reporting_category="charge", source=charge_id, description="Order payment (partial capture)",
             fee_detail_type="stripe_fee", fee_detail_description="Stripe processing fees", event="charge")
    rows.add(id=stable_id("txn", seed, "partial-reversal"), created=t0 + DAY + 43_200, available_on=t0 + DAY + 43_200,
             currency="usd", amount=captured - authorized, fee=0, net=captured - authorized, type="refund",
             reporting_category="partial_capture_reversal", source=stable_id("re", seed, "partial"),
             description="Uncaptured remainder", event="partial_capture_reversal")

    # A dispute withdraws the disputed amount plus a dispute fee; winning it returns both.
    disputed, dispute_fee = 7_500, DISPUTE_FEE["usd"]
    dispute_id = stable_id("du", seed, "dispute")
    rows.add(id=stable_id("txn", seed, "dispute"), created=t0 + 2 * DAY + 54_000, available_on=t0 + 2 * DAY + 54_000,
             currency="usd", amount=-disputed, fee=dispute_fee, net=-disputed - dispute_fee, type="adjustment",
             reporting_category="dispute", source=dispute_id, description="Chargeback withdrawal for ch_disputed",
             fee_detail_type="stripe_fee", fee_detail_description="Dispute fee", event="dispute")
    rows.add(id=stable_id("txn", seed, "dispute-won"), created=t0 + 6 * DAY + 32_400, available_on=t0 + 6 * DAY + 32_400,
             currency="usd", amount=disputed, fee=-dispute_fee, net=disputed + dispute_fee, type="adjustment",
             reporting_category="dispute_reversal", source=dispute_id, description="Chargeback reversal for ch_disputed",
             fee_detail_type="stripe_fee", fee_detail_description="Dispute fee refund", event="dispute_reversal")

    # Fees billed outside any charge, with the period they cover in the description.
    period = f"({spec.start.isoformat()} - {(spec.start + timedelta(days=spec.days - 1)).isoformat()})"
    for index, currency in enumerate(spec.currencies):
        radar = {"jpy": 500, "kwd": 2_000}.get(currency, 1_200)
        created = t0 + 8 * DAY + 3_600 * (index + 1)
        rows.add(id=stable_id("txn", seed, "radar", currency), created=created, available_on=created, currency=currency,
                 amount=-radar, fee=0, net=-radar, type="stripe_fee", reporting_category="fee",
                 description=f"Radar {period}: Radar for Fraud Teams", event="stripe_fee")
    if spec.connect_transfers:
        for index, (account, amount) in enumerate(TRANSFERS):
            created = t0 + (3 + 2 * index) * DAY + 50_400
            rows.add(id=stable_id("txn", seed, "transfer", index), created=created, available_on=created, currency="usd",
                     amount=-amount, fee=0, net=-amount, type="transfer", reporting_category="transfer",
                     source=stable_id("tr", seed, "transfer", index), description=f"Transfer to {account}", event="transfer")
    if "eur" in spec.currencies:
        created = t0 + 9 * DAY + 7_200
        rows.add(id=stable_id("txn", seed, "vat-on-fees"), created=created, available_on=created, currency="eur",
                 amount=-230, fee=0, net=-230, type="tax_fee", reporting_category="tax",
                 description=f"VAT on Stripe fees {period}", event="tax_fee")
    return rows.table()


def _schedule_payouts(spec: WorldSpec, activity: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Daily automatic payouts of everything available; a payout holds exactly its transactions.

    Returns the activity with `automatic_payout_id` filled in, plus the payout transactions and the
    failure transaction, and the payouts table.
    """
    seed = spec.seed
    payout_times = spec.start_ts + np.arange(spec.days, dtype=np.int64) * DAY + PAYOUT_HOUR * 3_600
    available = activity.column("available_on").to_numpy()
    currencies = activity.column("currency").to_numpy(zero_copy_only=False)
    nets = activity.column("net").to_numpy()
    bucket = np.searchsorted(payout_times, available, side="left")
    payout_of_row = np.full(len(activity), None, dtype=object)

    extra = _Rows()
    extra_payout: list[str | None] = []
    payouts = {name: [] for name in PAYOUT_SCHEMA.names}

    def add_payout(payout_id: str, created: int, arrival: int, currency: str, amount: int, txn_id: str, failure_txn: str | None = None,
                   failed_at: int | None = None, automatic: bool = True, method: str = "standard") -> None:
        row = {"id": payout_id, "created": created, "arrival_date": arrival, "currency": currency, "amount": amount,
               "balance_transaction": txn_id, "failure_balance_transaction": failure_txn, "failed_at": failed_at,
               "trace_id": "ST-" + stable_id("x", seed, "trace", payout_id)[2:14].upper(),
               "destination": stable_id("ba", seed, "bank", currency), "automatic": automatic, "method": method}
        for name, value in row.items():
            payouts[name].append(value)

    for currency in spec.currencies:
        rows_in_currency = np.nonzero(currencies == currency)[0]
        order = rows_in_currency[np.argsort(bucket[rows_in_currency], kind="stable")]
        bounds = np.searchsorted(bucket[order], np.arange(len(payout_times) + 1), side="left")
        carried_rows: list[np.ndarray] = []
        carried_extra: list[int] = []
        pending_extra: dict[int, list[tuple[int, int]]] = {}
        carried_net = 0
        for day_index, payout_time in enumerate(payout_times):
            rows = order[bounds[day_index]:bounds[day_index + 1]]
            carried_rows.append(rows)
            carried_net += int(nets[rows].sum())
            for extra_index, extra_net in pending_extra.pop(day_index, []):
                carried_extra.append(extra_index)
                carried_net += extra_net
            if carried_net <= 0:
                continue
            by_hand = PAYOUTS_BY_HAND.get(day_index) if spec.manual_and_instant_payouts and currency == "usd" else None
            if by_hand and carried_net >= 3:
                amount, created = carried_net // 3, int(payout_time) - 3_600
                payout_id = stable_id("po", seed, currency, by_hand, day_index)
                txn_id = stable_id("txn", seed, "payout", currency, by_hand, day_index)
                extra.add(id=txn_id, created=created, available_on=created, currency=currency, amount=-amount, fee=0, net=-amount,
                          type="payout", reporting_category="payout", source=payout_id, description="STRIPE PAYOUT", event="payout")
                carried_extra.append(len(extra_payout))
                extra_payout.append(None)
                carried_net -= amount
                # An instant payout reaches the bank within minutes; a standard one in two business days.
                arrival = created if by_hand == "instant" else midnight_ts(add_business_days(ts_date(created), PAYOUT_ARRIVAL_BUSINESS_DAYS))
                add_payout(payout_id, created, arrival, currency, amount, txn_id, automatic=False, method=by_hand)
            payout_id = stable_id("po", seed, currency, day_index)
            txn_id = stable_id("txn", seed, "payout", currency, day_index)
            created_day = ts_date(int(payout_time))
            arrival = midnight_ts(add_business_days(created_day, PAYOUT_ARRIVAL_BUSINESS_DAYS))
            for chunk in carried_rows:
                payout_of_row[chunk] = payout_id
            for extra_index in carried_extra:
                extra_payout[extra_index] = payout_id
            extra.add(id=txn_id, created=int(payout_time), available_on=int(payout_time), currency=currency,
                      amount=-carried_net, fee=0, net=-carried_net, type="payout", reporting_category="payout",
                      source=payout_id, description="STRIPE PAYOUT", event="payout", automatic_payout_id=payout_id)
            extra_payout.append(payout_id)
            failure_txn, failed_at = None, None
            if currency == "usd" and day_index == FAILED_PAYOUT_DAY:
                failed_at = midnight_ts(add_business_days(ts_date(arrival), 2)) + 15 * 3_600
                failure_txn = stable_id("txn", seed, "payout-failure", day_index)
                extra.add(id=failure_txn, created=failed_at, available_on=failed_at, currency=currency,
                          amount=carried_net, fee=0, net=carried_net, type="payout_failure",
                          reporting_category="payout_reversal", source=payout_id,
                          description="Payout failure: account_closed", event="payout_failure")
                extra_payout.append(None)
                failure_bucket = int(np.searchsorted(payout_times, failed_at, side="left"))
                pending_extra.setdefault(failure_bucket, []).append((len(extra_payout) - 1, carried_net))
            add_payout(payout_id, int(payout_time), arrival, currency, carried_net, txn_id, failure_txn, failed_at)
            carried_rows, carried_extra, carried_net = [], [], 0

    activity = activity.set_column(
        activity.schema.get_field_index("automatic_payout_id"), "automatic_payout_id",
        pa.array(payout_of_row, type=pa.string()),
    )
    extra_table = extra.table()
    extra_table = extra_table.set_column(
        extra_table.schema.get_field_index("automatic_payout_id"), "automatic_payout_id",
        pa.array(extra_payout, type=pa.string()),
    )
    return pa.concat_tables([activity, extra_table]), pa.table(payouts, schema=PAYOUT_SCHEMA)


def simulate(spec: WorldSpec, adjust_activity: Callable[[pa.Table], pa.Table] | None = None) -> World:
    """Build the whole world for `spec`; same spec, same world, byte for byte.

    `adjust_activity` may reshape the activity before the payouts sweep it (sandbox.anomaly_worlds
    thins weekends and injects anomalies), so that payouts still net exactly to their transactions.
    """
    rng = np.random.default_rng(spec.seed)
    activity = pa.concat_tables([_bulk_activity(spec, rng), _special_activity(spec)])
    if adjust_activity is not None:
        activity = adjust_activity(activity)
    transactions, payouts = _schedule_payouts(spec, activity)
    # Stripe lists newest first; equal timestamps fall back to the id so the order is total.
    transactions = transactions.sort_by([("created", "descending"), ("id", "descending")])
    return World(spec=spec, balance_transactions=transactions, payouts=payouts, as_of=spec.end_ts)
