"""How the package words and prints its figures: amounts in major units from integer minor units
(exact, through `ledger.money`), grouped by thousands for reading; names for statuses and categories."""

from __future__ import annotations

from ledger.money import exponent, to_major

STATUS_LABELS = {
    "matched": "Matched at the bank",
    "returned": "Failed and returned by the bank",
    "payout_in_transit": "In transit",
    "payout_overdue": "Overdue",
    "amount_difference": "Amount differs",
    "ambiguous_candidates": "Ambiguous candidates",
    "unmatched_bank_line": "Bank line without payout (unassigned)",
}


def none_in_suspense(period: str) -> str:
    """What the suspense section says when there is nothing to review: stated, never an empty table."""
    return f"None: nothing is booked to suspense through {period}."


def display_amount(amount_minor: int, currency: str) -> str:
    """'1,234.56' for 123456 USD, '1,234' for 1234 JPY: Decimal formatting, never a float."""
    return f"{to_major(amount_minor, currency):,.{exponent(currency)}f}"

