"""Stripe objects (as JSON dicts) to rows of the raw landing tables.

Every source that lands Stripe data (the API, Data Pipeline exports) ends in these builders, so
the raw tables have one shape whatever filled them. Enums (`type`, `reporting_category`) are kept
as they come: Stripe adds values every few months and the ledger routes unknown ones to suspense.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

TIMESTAMP = pa.timestamp("us")


def _id_of(value: Any) -> str | None:
    """An expandable field is either an id or the expanded object; keep the id."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _timestamps(values: Iterable[int | None]) -> pa.Array:
    return pa.array([None if v is None else v * 1_000_000 for v in values], pa.int64()).cast(TIMESTAMP)


def _load_columns(count: int, source: str, loaded_at: datetime) -> dict[str, pa.Array]:
    return {
        "_source": pa.array([source] * count, pa.string()),
        "_loaded_at": pa.array([loaded_at] * count, TIMESTAMP),
    }


def balance_transaction_rows(objects: Sequence[dict[str, Any]], source: str, loaded_at: datetime) -> tuple[pa.Table, pa.Table]:
    """raw.stripe_balance_transactions rows and raw.stripe_fee_details rows."""
    rates = [o.get("exchange_rate") for o in objects]
    transactions = pa.table(
        {
            "id": pa.array([o["id"] for o in objects], pa.string()),
            "amount": pa.array([o["amount"] for o in objects], pa.int64()),
            "fee": pa.array([o["fee"] for o in objects], pa.int64()),
            "net": pa.array([o["net"] for o in objects], pa.int64()),
            "currency": pa.array([o["currency"].lower() for o in objects], pa.string()),
            "type": pa.array([o["type"] for o in objects], pa.string()),
            "reporting_category": pa.array([o.get("reporting_category") for o in objects], pa.string()),
            "created": _timestamps(o["created"] for o in objects),
            "available_on": _timestamps(o["available_on"] for o in objects),
            "status": pa.array([o.get("status") for o in objects], pa.string()),
            "description": pa.array([o.get("description") for o in objects], pa.string()),
            "source_id": pa.array([_id_of(o.get("source")) for o in objects], pa.string()),
            # Through str(): the JSON float becomes the decimal Stripe printed, not its binary neighbour.
            "exchange_rate": pa.array([None if r is None else Decimal(str(r)) for r in rates], pa.decimal128(38, 18)),
            "balance_type": pa.array([o.get("balance_type") for o in objects], pa.string()),
            **_load_columns(len(objects), source, loaded_at),
        }
    )
    details = [(o["id"], position, d) for o in objects for position, d in enumerate(o.get("fee_details") or [])]
    fee_details = pa.table(
        {
            "balance_transaction_id": pa.array([txn for txn, _, _ in details], pa.string()),
            "position": pa.array([position for _, position, _ in details], pa.int32()),
            "amount": pa.array([d["amount"] for _, _, d in details], pa.int64()),
            "currency": pa.array([d["currency"].lower() for _, _, d in details], pa.string()),
            "type": pa.array([d["type"] for _, _, d in details], pa.string()),
            "description": pa.array([d.get("description") for _, _, d in details], pa.string()),
            "application": pa.array([_id_of(d.get("application")) for _, _, d in details], pa.string()),
            **_load_columns(len(details), source, loaded_at),
        }
    )
    return transactions, fee_details


def not_itemizable_reason(payout: dict[str, Any]) -> str | None:
    """Why Stripe cannot list this payout's transactions (reference/stripe.md 2.1), or None if it can."""
    if payout.get("method") == "instant":
        return "instant payout: Stripe does not itemize instant payouts"
    if not payout.get("automatic"):
        return "manual payout: Stripe does not know which transactions it paid out"
    status = payout.get("reconciliation_status")
    if status != "completed":
        return f"reconciliation_status is {status}: itemizable once Stripe completes it"
    return None


def payout_rows(objects: Sequence[dict[str, Any]], source: str, loaded_at: datetime) -> pa.Table:
    traces = [o.get("trace_id") or {} for o in objects]
    return pa.table(
        {
            "id": pa.array([o["id"] for o in objects], pa.string()),
            "amount": pa.array([o["amount"] for o in objects], pa.int64()),
            "currency": pa.array([o["currency"].lower() for o in objects], pa.string()),
            "status": pa.array([o["status"] for o in objects], pa.string()),
            "created": _timestamps(o["created"] for o in objects),
            "arrival_date": _timestamps(o["arrival_date"] for o in objects),
            "automatic": pa.array([bool(o.get("automatic")) for o in objects], pa.bool_()),
            "method": pa.array([o.get("method") for o in objects], pa.string()),
            "type": pa.array([o.get("type") for o in objects], pa.string()),
            "balance_transaction_id": pa.array([_id_of(o.get("balance_transaction")) for o in objects], pa.string()),
            "failure_balance_transaction_id": pa.array([_id_of(o.get("failure_balance_transaction")) for o in objects], pa.string()),
            "failure_code": pa.array([o.get("failure_code") for o in objects], pa.string()),
            "failure_message": pa.array([o.get("failure_message") for o in objects], pa.string()),
            "reconciliation_status": pa.array([o.get("reconciliation_status") for o in objects], pa.string()),
            "trace_id_status": pa.array([t.get("status") for t in traces], pa.string()),
            "trace_id_value": pa.array([t.get("value") for t in traces], pa.string()),
            "destination_id": pa.array([_id_of(o.get("destination")) for o in objects], pa.string()),
            "statement_descriptor": pa.array([o.get("statement_descriptor") for o in objects], pa.string()),
            "description": pa.array([o.get("description") for o in objects], pa.string()),
            "not_itemizable_reason": pa.array([not_itemizable_reason(o) for o in objects], pa.string()),
            **_load_columns(len(objects), source, loaded_at),
        }
    )


def payout_transaction_rows(links: Sequence[tuple[str, str]], source: str, loaded_at: datetime) -> pa.Table:
    """raw.stripe_payout_transactions rows from (payout id, balance transaction id) pairs."""
    return pa.table(
        {
            "payout_id": pa.array([payout for payout, _ in links], pa.string()),
            "balance_transaction_id": pa.array([txn for _, txn in links], pa.string()),
            **_load_columns(len(links), source, loaded_at),
        }
    )


def balance_snapshot_rows(balance: dict[str, Any], as_of: datetime, source: str, loaded_at: datetime) -> pa.Table:
    """One row per currency of a Stripe Balance object: available, pending, connect-reserved."""
    totals: dict[str, dict[str, int]] = {}
    for bucket in ("available", "pending", "connect_reserved"):
        for entry in balance.get(bucket) or []:
            currency = entry["currency"].lower()
            totals.setdefault(currency, {"available": 0, "pending": 0, "connect_reserved": 0})[bucket] += entry["amount"]
    currencies = sorted(totals)
    return pa.table(
        {
            "as_of": pa.array([as_of] * len(currencies), TIMESTAMP),
            "currency": pa.array(currencies, pa.string()),
            "available_minor": pa.array([totals[c]["available"] for c in currencies], pa.int64()),
            "pending_minor": pa.array([totals[c]["pending"] for c in currencies], pa.int64()),
            "connect_reserved_minor": pa.array([totals[c]["connect_reserved"] for c in currencies], pa.int64()),
            **_load_columns(len(currencies), source, loaded_at),
        }
    )


def with_account(rows: pa.Table, stripe_account_id: str | None) -> pa.Table:
    """`rows` of a raw table stamped with the Stripe account they came from (None: not known)."""
    return rows.append_column("stripe_account_id", pa.array([stripe_account_id] * rows.num_rows, pa.string()))
