"""The close metrics the anomaly watch computes: name, family (one Dagster check each), unit, label.

Units say how a value reads and is stored: `minor` values are integer minor units of the row's
currency (exact, in `amount_minor`); `rate` values are fractions held as floats (rates are not
money); `count` and `business_days` are plain numbers.

Slice metrics (`<metric>_by_payment_method`, `<metric>_by_card_country`) are the same figures for
the charges of one payment method type or card-issuing country (the row's `dimension`), read from
the charges Stripe's source objects describe; each is its own seed row, so it can be switched off
or given its own minimum volume, which then counts the slice's charges.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    family: str
    unit: str  # minor | rate | count | business_days
    label: str  # how a flag names it, after the currency and the dimension
    slice: str = ""  # "payment_method" or "card_country": the dimension names a slice of the charges


# How a flag names a slice: "USD fee rate for FR cards", "EUR refund rate for sepa_debit payments".
SLICE_WORDING = {"payment_method": "for {} payments", "card_country": "for {} cards"}
SLICED = ("gross_volume", "transaction_count", "fee_rate", "refund_rate", "dispute_rate")


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("gross_volume", "volume", "minor", "gross volume"),
    Metric("transaction_count", "volume", "count", "charge count"),
    Metric("average_ticket", "volume", "minor", "average ticket"),
    Metric("fee_rate", "fees", "rate", "fee rate"),
    Metric("refund_rate", "refunds", "rate", "refund rate"),
    Metric("dispute_rate", "disputes", "rate", "dispute rate"),
    Metric("dispute_fees", "disputes", "minor", "dispute fees"),
    Metric("failed_payouts", "payouts", "count", "failed payouts"),
    Metric("payout_delay_business_days", "payouts", "business_days", "payout delay (bank booking minus arrival)"),
    Metric("unmatched_payouts", "reconciliation", "count", "payouts arrived but not on the bank statement"),
    Metric("unmatched_payouts_oldest_age_business_days", "reconciliation", "business_days", "oldest unmatched payout's age"),
    Metric("unmatched_bank_lines", "reconciliation", "count", "Stripe-looking bank lines matching no payout"),
    Metric("unmatched_bank_lines_oldest_age_business_days", "reconciliation", "business_days",
           "age of the oldest Stripe-looking bank line matching no payout"),
    Metric("suspense_postings", "suspense", "count", "postings to suspense"),
    Metric("transactions_per_hour", "ingestion", "count", "transactions ingested"),
    Metric("ingestion_completeness", "ingestion", "rate", "ingestion completeness (transactions per hour against the usual shape)"),
    Metric("balance_drift", "balance", "minor", "Stripe balance minus the ledger's Stripe clearing"),
)}
METRICS |= {
    f"{name}_by_{kind}": Metric(f"{name}_by_{kind}", METRICS[name].family, METRICS[name].unit,
                                METRICS[name].label, kind)
    for kind in SLICE_WORDING for name in SLICED
}

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(m.family for m in METRICS.values()))
