"""How the package words and prints its figures: amounts in major units from integer minor units
(exact, through `ledger.money`), grouped by thousands for reading; names for statuses and categories,
so that no code name (snake_case) reaches a reader."""

from __future__ import annotations

from exporters.close_package.status import FAILED, NOT_EVALUATED, WARNED, LockStatus, ProofResults
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


ROLLFORWARD_LABELS = {"starting_balance": "Starting balance", "activity": "Activity", "payouts": "Payouts", "ending_balance": "Ending balance"}
TIE_OUT_LABELS = {
    "stripe_clearing": "Stripe clearing = Stripe balance",
    "cash_in_transit": "Cash in transit = payouts in transit",
    "bank": "Operating bank movement = matched deposits",
    "ending_balance": "Stripe ending balance = unsettled transactions",
}
# Stripe's reporting categories as its reports title them; an unknown one is shown with spaces.
CATEGORY_LABELS = {
    "charge": "Charges", "refund": "Refunds", "dispute": "Disputes", "dispute_reversal": "Dispute reversals", "fee": "Fees",
    "payout": "Payouts (not yet itemized by Stripe)", "payout_reversal": "Payout reversals", "partial_capture_reversal": "Partial capture reversals",
    "other_adjustment": "Other adjustments", "tax": "Tax",
}


def status_text(status: str, difference_minor: int | None, currency: str) -> str:
    """A reconciliation status in words; an amount difference says by how much (no separate, mostly empty column)."""
    if status == "amount_difference" and difference_minor:
        return f"{STATUS_LABELS[status]} by {display_amount(difference_minor, currency)}"
    return STATUS_LABELS[status]


def category_label(category: str) -> str:
    return CATEGORY_LABELS.get(category, category.replace("_", " ").capitalize())


def none_in_suspense(period: str) -> str:
    """What the suspense section says when there is nothing to review: stated, never an empty table."""
    return f"None: nothing is booked to suspense through {period}."


def display_amount(amount_minor: int, currency: str) -> str:
    """'1,234.56' for 123456 USD, '1,234' for 1234 JPY: Decimal formatting, never a float."""
    return f"{to_major(amount_minor, currency):,.{exponent(currency)}f}"



def no_chart_data(what: str, period: str) -> str:
    """Said instead of a chart with nothing to draw: an empty axis reads as a broken chart."""
    return f"No {what} in {period}: nothing to chart."


SIGN_OFF_ROLES = ("Prepared by", "Reviewed by")


def proven_text(proofs: ProofResults) -> str:
    """The status block's first answer: were the books proven? Never "yes" when nothing was evaluated."""
    if proofs.unavailable:
        return "NOT EVALUATED"
    failed = sum(1 for result in proofs.results if result.status == FAILED)
    missing = sum(1 for result in proofs.results if result.status == NOT_EVALUATED)
    if not proofs.results:
        return "NOT EVALUATED: no blocking proof is defined"
    if failed or missing:
        return f"NO: {failed} failed, {missing} not evaluated, of {len(proofs.results)} blocking proofs"
    warned = sum(1 for result in proofs.results if result.status == WARNED)
    if warned:
        return f"yes: none of the {len(proofs.results)} blocking proofs failed; {warned} reported a warning (read it below)"
    return f"yes: all {len(proofs.results)} blocking proofs passed"


def tie_outs_text(tie_outs) -> str:
    """The tie-outs at a glance: how many agree, differ, or could not be evaluated."""
    agree = sum(1 for tie in tie_outs if tie.agrees is True)
    differ = sum(1 for tie in tie_outs if tie.agrees is False)
    missing = sum(1 for tie in tie_outs if tie.agrees is None)
    return f"{agree} agree, {differ} differ, {missing} not evaluated, of {len(tie_outs)} control-account tie-outs"


def lock_text(lock: LockStatus) -> str:
    if lock.locked:
        return f"locked by {lock.locked_by} at {lock.locked_at:%Y-%m-%d %H:%M:%S} UTC"
    reopened = [event for event in lock.events if event.action == "reopen"]
    return "open: reopened, not locked again" if reopened else "open: not locked"


def bank_file_warnings_none(lists_unassigned: bool) -> str:
    if lists_unassigned:
        return "None: the loaded bank statement files raised no warning."
    return "Bank file warnings name no entity: the default entity's package (CLOSE_ENTITY_ID) lists them."
