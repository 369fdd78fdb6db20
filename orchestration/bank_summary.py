"""The bank reconciliation in one line of the CLI summary, saying NOT performed where nothing was compared."""

from __future__ import annotations

from ledger.bank_coverage import BankCoverage


def bank_summary(payouts_matched: int, open_items: dict[str, int], coverage: BankCoverage) -> str:
    """'12 payouts matched to the statement; open items: 2 payout in transit', with
    'bank reconciliation NOT performed: no statements for ...' in place of (or after) the counts."""
    not_performed = coverage.describe()
    if not coverage.payout_currencies:
        return "no payouts due at the bank in the window"
    if len(coverage.unreconciled) == len(coverage.payout_currencies):
        # Every count would be zero, or an "open item" only because no statement was there to match.
        return not_performed
    noun = "payout" if payouts_matched == 1 else "payouts"
    items = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in open_items.items()) or "none"
    counted = f"{payouts_matched} {noun} matched to the statement; open items: {items}"
    return f"{counted}; {not_performed}" if not_performed else counted
