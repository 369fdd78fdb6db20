"""The bank reconciliation in one line of the CLI summary, saying NOT performed where nothing was compared."""

from __future__ import annotations

from ledger.bank_coverage import BankCoverage
from orchestration.wording import counted


def bank_summary(payouts_matched: int, open_items: dict[str, int], coverage: BankCoverage) -> str:
    """'12 payouts matched to the statement; open items: payout in transit 2', with
    'bank reconciliation NOT performed: no statements for ...' in place of (or after) the counts."""
    not_performed = coverage.describe()
    if not coverage.payout_currencies:
        return "no payouts due at the bank in the window"
    if len(coverage.unreconciled) == len(coverage.payout_currencies):
        # Every count would be zero, or an "open item" only because no statement was there to match.
        return not_performed
    # Kinds are phrases ("payout in transit"): the count follows them, so no plural is needed.
    items = ", ".join(f"{kind.replace('_', ' ')} {count:,}" for kind, count in open_items.items()) or "none"
    summary = f"{counted(payouts_matched, 'payout')} matched to the statement; open items: {items}"
    return f"{summary}; {not_performed}" if not_performed else summary
