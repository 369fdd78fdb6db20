"""Many payouts and the bank lines they arrive as, with noise and the truth, generated column-wise.

For the matching benchmark and the precision/recall test: `generate(payout_count, seed)` gives the
rows of `raw.stripe_payouts`, the failure balance transactions, `raw.bank_statement_lines`, and
which payout(s) each bank line holds. No statement files are written: a million lines are a
matching problem, not a parsing one. Noise, per payout (shares of all payouts):

* 1% never arrive (overdue), 0.5% fail after arriving (credit, then a return debit);
* 8% arrive with a bare `STRIPE TRANSFER` text, no trace; 5% of deposits are booked 1-2 business
  days late; 10% of payouts have no trace id from Stripe yet (the bank shows one anyway);
* 2% are split into two credits the same day (half with the trace, half bare);
* 2% arrive combined in pairs (same currency and day, one credit naming both traces);
* decoys: for 5% a credit of the same amount, day and currency from another payer, and for 1% a
  Stripe-looking credit of the same amount from another Stripe account (its own trace).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa

CURRENCIES = ("usd", "eur", "gbp")
EPOCH_MONDAY = date(2026, 1, 5)
MERCHANT = "ACME ROBOTICS INC"


@dataclass(frozen=True)
class BulkMatchingWorld:
    payouts: pa.Table  # raw.stripe_payouts rows
    failure_transactions: pa.Table  # raw.stripe_balance_transactions rows of the failed payouts
    bank_lines: pa.Table  # raw.bank_statement_lines rows
    truth: pa.Table  # (bank_statement_line_id, payout_id, amount_minor): what each deposit holds
    last_booking_date: date

    def statement_file(self) -> pa.Table:
        """The raw.bank_statement_files row the lines claim to come from (one loaded file)."""
        return pa.table({
            "file_sha256": ["bulk"], "file_name": ["bulk.bai2"], "source_uri": ["generated"], "format": ["bai2"],
            "version": [1], "status": ["loaded"], "line_count": [self.bank_lines.num_rows], "error_line": pa.nulls(1, pa.int32()),
            "error_reason": pa.nulls(1, pa.string()), "warnings": pa.array([[]], pa.list_(pa.string())),
            "_loaded_at": [datetime(2026, 1, 1)],
        })


def business_day_dates(days: np.ndarray) -> np.ndarray:
    """Business-day numbers (0 = EPOCH_MONDAY) to numpy dates."""
    return np.datetime64(EPOCH_MONDAY) + (days // 5) * 7 + days % 5


def generate(payout_count: int, seed: int = 7) -> BulkMatchingWorld:
    rng = np.random.default_rng(seed)
    n = payout_count
    days = max(20, n // 2_000)
    index = np.arange(n)
    currency = np.array(CURRENCIES)[rng.integers(0, len(CURRENCIES), n)]
    arrival_day = rng.integers(2, days, n)
    amount = rng.integers(1_000, 50_000_000, n)
    payout_id = np.char.add("po_bulk", np.char.zfill(index.astype(str), 10))
    trace = np.char.add("ST-B", _base36(index))
    trace_known = rng.random(n) >= 0.10
    draw = rng.random(n)
    missing = draw < 0.01
    failed = (draw >= 0.01) & (draw < 0.015)
    bare = (draw >= 0.015) & (draw < 0.095)
    split = (draw >= 0.095) & (draw < 0.115)
    combined = (draw >= 0.115) & (draw < 0.135)
    late = rng.random(n) < 0.05
    booked_day = arrival_day + np.where(late & ~failed, rng.integers(1, 3, n), 0)

    lines = _Lines()
    plain = ~(missing | split | combined)
    lines.add(payout_id[plain], currency[plain], amount[plain], booked_day[plain], trace[plain], ~bare[plain], amount[plain])
    # Splits: 60% and 40% of the payout on consecutive bank references, the trace on half of them.
    with_trace = rng.random(n) < 0.5
    parts = np.repeat(np.nonzero(split)[0], 2)
    first_part = np.arange(len(parts)) % 2 == 0
    share = np.where(first_part, amount[parts] * 3 // 5, amount[parts] - amount[parts] * 3 // 5)
    lines.add(payout_id[parts], currency[parts], share, booked_day[parts], trace[parts], with_trace[parts], share)
    # Combined: pairs of the same currency and day in one credit naming both traces.
    members = np.nonzero(combined)[0]
    members = members[np.lexsort((members, arrival_day[members], currency[members]))]
    first, second = members[0:-1:2], members[1::2]
    pairable = (currency[first] == currency[second]) & (arrival_day[first] == arrival_day[second])
    first, second = first[pairable], second[pairable]
    lonely = np.setdiff1d(members, np.concatenate([first, second]))
    lines.add(payout_id[lonely], currency[lonely], amount[lonely], booked_day[lonely], trace[lonely], np.ones(len(lonely), bool), amount[lonely])
    pair_text = np.char.add(np.char.add(np.char.add("STRIPE TRANSFER ", trace[first]), " "), trace[second])
    pair_ids = lines.add_texts(currency[first], amount[first] + amount[second], booked_day[second], np.char.add(pair_text, " " + MERCHANT), None)
    lines.truth(pair_ids, payout_id[first], amount[first])
    lines.truth(pair_ids, payout_id[second], amount[second])
    # Failures: the return debit two business days after arrival.
    return_text = np.char.add(np.char.add("RETURN STRIPE TRANSFER ", trace[failed]), " ACCOUNT CLOSED")
    return_ids = lines.add_texts(currency[failed], -amount[failed], arrival_day[failed] + 2, return_text, trace[failed])
    lines.truth(return_ids, payout_id[failed], -amount[failed])
    # Decoys of the same amount, day and currency.
    other_payer = rng.random(n) < 0.05
    lines.add_texts(currency[other_payer], amount[other_payer], booked_day[other_payer],
                    np.char.add("ACH CREDIT GLOBEX CUSTOMER PAYMENT ", index[other_payer].astype(str)), None)
    other_stripe = rng.random(n) < 0.01
    foreign = np.char.add("ST-Z", _base36(index[other_stripe]))
    lines.add_texts(currency[other_stripe], amount[other_stripe], booked_day[other_stripe],
                    np.char.add(np.char.add("STRIPE TRANSFER ", foreign), " INITECH LLC"), foreign)

    last_day = days + 3
    status = np.where(failed, "failed", np.where(arrival_day > last_day - 2, "in_transit", "paid"))
    arrival = business_day_dates(arrival_day).astype("datetime64[us]")
    failure_txn = np.where(failed, np.char.add("txn_fail", index.astype(str)), None)
    now = datetime(2026, 1, 1)
    payouts = pa.table({
        "id": payout_id, "amount": amount, "currency": currency, "status": status,
        "created": business_day_dates(arrival_day - 2).astype("datetime64[us]") + np.timedelta64(6, "h"),
        "arrival_date": arrival, "automatic": np.ones(n, bool), "method": np.full(n, "standard"),
        "type": np.full(n, "bank_account"), "balance_transaction_id": np.char.add("txn_po", index.astype(str)),
        "failure_balance_transaction_id": failure_txn,
        "failure_code": np.where(failed, "account_closed", None), "failure_message": np.full(n, None),
        "reconciliation_status": np.full(n, "completed"),
        "trace_id_status": np.where(trace_known, "supported", "pending"),
        "trace_id_value": np.where(trace_known, trace, None), "destination_id": np.full(n, "ba_bulk"),
        "statement_descriptor": np.full(n, None), "description": np.full(n, "STRIPE PAYOUT"),
        "_source": np.full(n, "bench"), "_loaded_at": np.full(n, now),
    })
    failure_at = business_day_dates(arrival_day[failed] + 2).astype("datetime64[us]") + np.timedelta64(15, "h")
    failures = pa.table({
        "id": failure_txn[failed].astype(str), "amount": amount[failed], "fee": np.zeros(failed.sum(), np.int64),
        "net": amount[failed], "currency": currency[failed], "type": np.full(failed.sum(), "payout_failure"),
        "reporting_category": np.full(failed.sum(), "payout_reversal"), "created": failure_at, "available_on": failure_at,
        "status": np.full(failed.sum(), "available"), "description": np.full(failed.sum(), "Payout failure"),
        "source_id": payout_id[failed], "exchange_rate": pa.nulls(failed.sum(), pa.decimal128(38, 18)),
        "balance_type": np.full(failed.sum(), "payments"), "_source": np.full(failed.sum(), "bench"),
        "_loaded_at": np.full(failed.sum(), now),
    })
    return BulkMatchingWorld(payouts, failures, lines.table(now), lines.truth_table(),
                             EPOCH_MONDAY + timedelta(days=int((last_day // 5) * 7 + last_day % 5)))


def _base36(numbers: np.ndarray) -> np.ndarray:
    """Eleven upper-case base-36 digits: the trace-like part of an ST- token."""
    digits = np.vectorize(lambda number: np.base_repr(number, 36), otypes=[str])(numbers)
    return np.char.zfill(digits.astype(str), 11) if len(numbers) else np.array([], dtype=str)


class _Lines:
    """Bank line columns, appended block by block; ids and bank references are positions."""

    def __init__(self) -> None:
        self.blocks: list[dict[str, np.ndarray]] = []
        self.truth_blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.count = 0

    def add(self, payout_ids, currency, amount, booked_day, trace, shows_trace, covered) -> None:
        """One deposit per payout: Stripe's ACH text with the trace where the bank shows it."""
        text = np.where(shows_trace, np.char.add(np.char.add("STRIPE TRANSFER ", trace), " " + MERCHANT), "STRIPE TRANSFER " + MERCHANT)
        ids = self.add_texts(currency, amount, booked_day, text, np.where(shows_trace, trace, None))
        self.truth(ids, payout_ids, covered)

    def add_texts(self, currency, signed_amount, booked_day, text, customer_reference) -> np.ndarray:
        size = len(currency)
        if size == 0:  # a small world may have no case of some kind of noise
            return np.array([], dtype=str)
        position = np.arange(self.count, self.count + size)
        self.count += size
        ids = np.char.add("bsl_bulk", np.char.zfill(position.astype(str), 10))
        self.blocks.append({
            "bank_statement_line_id": ids,
            "bank_account_id": np.char.add(np.char.upper(currency.astype(str)), "-OPERATING-4410"),
            "booking_date": business_day_dates(booked_day),
            "amount_minor": np.abs(signed_amount),
            "currency": currency,
            "direction": np.where(signed_amount > 0, "credit", "debit"),
            "bank_reference": np.char.add("BR", np.char.zfill(position.astype(str), 10)),
            "customer_reference": customer_reference if customer_reference is not None else np.full(size, None),
            "text": text,
        })
        return ids

    def truth(self, line_ids, payout_ids, amount) -> None:
        if len(line_ids):
            self.truth_blocks.append((line_ids, payout_ids, amount))

    def table(self, loaded_at: datetime) -> pa.Table:
        columns = {name: np.concatenate([block[name] for block in self.blocks]) for name in self.blocks[0]}
        size = len(columns["bank_statement_line_id"])
        booking = columns["booking_date"].astype("datetime64[D]")
        return pa.table({
            **{name: values for name, values in columns.items() if name != "booking_date"},
            "booking_date": booking, "value_date": booking, "entry_status": np.full(size, "booked"),
            "transaction_code": np.full(size, "165"), "file_name": np.full(size, "bulk.bai2"),
            "file_position": np.arange(1, size + 1), "file_line": np.arange(1, size + 1),
            "file_sha256": np.full(size, "bulk"), "_loaded_at": np.full(size, loaded_at),
        })

    def truth_table(self) -> pa.Table:
        return pa.table({
            "bank_statement_line_id": np.concatenate([b[0] for b in self.truth_blocks]),
            "payout_id": np.concatenate([b[1] for b in self.truth_blocks]),
            "amount_minor": np.concatenate([b[2] for b in self.truth_blocks]),
        })
