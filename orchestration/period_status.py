"""The state of one period in words a controller reads: proven? locked? reconciled? and where to
download its files. Read from the Dagster instance (the latest evaluation of every blocking proof),
the warehouse (locks, bank reconciliation) and the exports (files and their links).

Nothing reads as done when it was not: a proof never evaluated is "not evaluated", a currency
without bank statements is "bank reconciliation NOT performed", a file that cannot be served says
how to serve it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

from exporters.close_package.close_data import PayoutStanding, ReconciliationLine, payout_standings, reconciliation_lines, unmatched_payouts
from exporters.close_package.frozen import lock_proofs
from exporters.close_package.status import PASSED, WARNED, ProofResults
from exporters.publish import Destination
from ledger import period_close
from ledger.bank_coverage import BankCoverage, bank_coverage
from orchestration.defs.export.guard import ProofVerdict
from orchestration.downloads import DOWNLOAD_BASE_VARIABLE, Download, period_downloads
from orchestration.wording import counted
from orchestration.finance_metadata import money_text

# Payout statuses that mean "not (confidently) at the bank after it was due", as opposed to in transit.
UNMATCHED_STATUSES = ("payout_overdue", "amount_difference", "ambiguous_candidates")


@dataclass(frozen=True)
class PeriodStatus:
    period: str
    proofs: list[ProofVerdict]
    # What each proof proves and what to do when it fails, by check.
    proof_descriptions: dict[dg.AssetCheckKey, str]
    lock: period_close.PeriodLock | None
    # The period's latest lock or reopen, with its reason.
    last_event: period_close.PeriodEvent | None
    coverage: BankCoverage
    reconciliation: tuple[ReconciliationLine, ...]
    standings: tuple[PayoutStanding, ...]
    # payout id -> business days since it was due at the bank.
    ages: dict[str, int]
    downloads: list[Download]
    download_base: str
    # The proofs the period's lock ran itself, frozen with its close packages (None: open, or locked
    # before packages were frozen at lock). A lock from the CLI runs them outside Dagster.
    lock_proofs: ProofResults | None = None


def read_period_status(
    period: str, proofs: list[ProofVerdict], proof_descriptions: dict[dg.AssetCheckKey, str], warehouse: Path,
    destination: Destination, download_base: str,
) -> PeriodStatus:
    locks = [lock for lock in period_close.lock_states(warehouse) if lock.period == period]
    events = [event for event in period_close.period_events(warehouse) if event.period == period]
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        coverage = bank_coverage(connection, [period])
        reconciliation = reconciliation_lines(connection, period)
        standings = payout_standings(connection, period)
        ages = {payout.payout_id: payout.age_business_days for payout in unmatched_payouts(connection, period)}
        recorded_at_lock = lock_proofs(connection, period) if locks else None
    return PeriodStatus(
        period, proofs, proof_descriptions, locks[0] if locks else None, events[-1] if events else None, coverage, reconciliation, standings,
        ages, period_downloads(destination, period, download_base), download_base, recorded_at_lock,
    )


def _when(moment: datetime | float) -> str:
    if isinstance(moment, float):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def proven_text(status: PeriodStatus) -> str:
    """'Yes: all 24 blocking proofs passed, ...' or what stands in the way, worst first. A locked
    period answers with its lock's own proof run, as its frozen close package does: `stripe-close
    close` runs them outside Dagster, so the instance may hold none, or older ones."""
    if status.lock is not None and status.lock_proofs is not None and status.lock_proofs.all_passed:
        return _proven_at_lock(status, status.lock, status.lock_proofs)
    proofs = status.proofs
    failed = [proof for proof in proofs if proof.state == "failed"]
    unevaluated = [proof for proof in proofs if proof.state in ("not evaluated", "stale")]
    warnings = [proof for proof in proofs if proof.state == "warning"]
    if not proofs:
        return "NOT EVALUATED: the code location declares no blocking proof"
    if failed:
        return f"NO: {counted(len(failed), 'blocking proof')} of {len(proofs)} failed ({', '.join(proof.key.name for proof in failed)}); exports are blocked"
    if unevaluated:
        return (f"NOT EVALUATED: {counted(len(unevaluated), 'blocking proof')} of {len(proofs)} not evaluated on the ledger as it is "
                f"({', '.join(proof.key.name for proof in unevaluated)}); run the ledger (ledger_close_job) to evaluate them")
    latest = max(proof.evaluated_at for proof in proofs) if proofs else None
    text = f"Yes: all {len(proofs)} blocking proofs passed on the ledger as last built" + (f" (latest {_when(latest)})" if latest else "")
    if warnings:
        text += "; but " + "; ".join(f"{proof.key.name}: {proof.description or 'warning'}" for proof in warnings)
    return text


def _proven_at_lock(status: PeriodStatus, lock: period_close.PeriodLock, recorded: ProofResults) -> str:
    text = (f"Yes: all {len(recorded.results)} blocking proofs passed when {status.period} was locked by {lock.locked_by} on "
            f"{_when(lock.locked_at)} (the lock's own proof run, frozen with its close package)")
    warnings = [result for result in recorded.results if result.status == WARNED]
    if warnings:
        text += "; but " + "; ".join(f"{result.name.split(':')[-1]}: {result.detail or 'warning'}" for result in warnings)
    failed_now = [proof.key.name for proof in status.proofs if proof.state == "failed"]
    if failed_now:
        text += (f". Since then {counted(len(failed_now), 'blocking proof')} failed on the ledger as it is ({', '.join(failed_now)}): "
                 "the locked books stand, exports are blocked")
    return text


def locked_text(status: PeriodStatus) -> str:
    """'Yes: locked by ... on ...' or 'No: open ...', with the reason of any reopening."""
    lock, event = status.lock, status.last_event
    if lock is not None:
        return f"Yes: locked by {lock.locked_by} on {_when(lock.locked_at)}, {counted(lock.journal_lines, 'journal line')} frozen"
    if event is not None and event.action == "reopen":
        return f"No: reopened by {event.actor} on {_when(event.happened_at)}: {event.reason}"
    return f"No: {status.period} is open (lock it with period_close_job or stripe-close close --period {status.period})"


def currency_reconciliation(status: PeriodStatus, currency: str) -> str:
    """One currency's bank reconciliation: matched, in transit, unmatched with the oldest age, returned."""
    if not status.coverage.covers(currency):
        return f"bank reconciliation NOT performed: no statements for {currency.upper()}"
    lines = {line.status: line for line in status.reconciliation if line.currency == currency}
    parts = []
    for statuses, words in ((("matched",), "matched"), (("payout_in_transit",), "in transit"), (UNMATCHED_STATUSES, "unmatched"),
                            (("returned",), "returned by the bank")):
        payouts = {standing.payout_id: standing.amount_minor for standing in status.standings if standing.currency == currency and standing.status in statuses}
        if not payouts and words != "matched":
            continue
        part = f"{counted(len(payouts), 'payout')} {words} ({money_text(sum(payouts.values()), currency)})"
        if words == "unmatched":
            oldest = max(status.ages.get(payout, 0) for payout in payouts)
            part += f", the oldest {counted(oldest, 'business day')} overdue"
        parts.append(part)
    if "unmatched_bank_line" in lines:
        line = lines["unmatched_bank_line"]
        parts.append(f"{counted(line.count, 'bank line')} without a payout ({money_text(line.amount_minor, currency)})")
    return "; ".join(parts)


def reconciled_text(status: PeriodStatus) -> str:
    """The headline: done, not done (no statements), or what is still open."""
    currencies = sorted({line.currency for line in status.reconciliation} | set(status.coverage.payout_currencies))
    if not currencies:
        return f"Nothing to reconcile: no payouts due at the bank in {status.period}"
    if not status.coverage.performed:
        return status.coverage.describe()
    open_items = [standing for standing in status.standings if standing.status != "matched"]
    unassigned = sum(line.count for line in status.reconciliation if line.status == "unmatched_bank_line")
    if not open_items and not unassigned:
        return f"Yes: every payout due at the bank in {status.period} is matched to a deposit"
    counts = {words: len({standing.payout_id for standing in open_items if standing.status in statuses})
              for statuses, words in ((("payout_in_transit",), "in transit"), (UNMATCHED_STATUSES, "unmatched"), (("returned",), "returned by the bank"))}
    words = [f"{counted(count, 'payout')} {state}" for state, count in counts.items() if count]
    words += [f"{counted(unassigned, 'bank line')} without a payout to review"] if unassigned else []
    return "Not yet: " + "; ".join(words) + " (per currency below)"


def proofs_table(status: PeriodStatus) -> str:
    lines = ["| Proof | Result | Evaluated | What it proves, and what to do when it fails |", "|---|---|---|---|"]
    if status.lock is not None and status.lock_proofs is not None and status.lock_proofs.all_passed:
        for result in status.lock_proofs.results:
            asset, _, check = result.name.rpartition(":")
            outcome = "passed" if result.status == PASSED else f"warning: {result.detail}" if result.detail else result.status
            evaluated = f"{_when(result.evaluated_at)}, at the lock" if result.evaluated_at else "at the lock"
            lines.append(f"| {check} ({asset}) | {outcome} | {evaluated} | {' '.join(result.description.split())} |")
        return "\n".join(lines)
    for proof in status.proofs:
        result = {"passed": "passed", "failed": "**FAILED**", "warning": "warning", "stale": "not evaluated since the ledger was rebuilt",
                  "not evaluated": "not evaluated"}[proof.state]
        if proof.description and proof.state != "passed":
            result += f": {proof.description}"
        evaluated = _when(proof.evaluated_at) if proof.evaluated_at else "never"
        explanation = " ".join(status.proof_descriptions.get(proof.key, "").split())
        lines.append(f"| {proof.key.name} ({proof.key.asset_key.to_user_string()}) | {result} | {evaluated} | {explanation} |")
    return "\n".join(lines)


def status_metadata(status: PeriodStatus) -> dict:
    """The asset's metadata: the three answers first, then one line per currency, then the downloads."""
    metadata: dict = {"Proven": proven_text(status), "Locked": locked_text(status), "Reconciled with the bank": reconciled_text(status)}
    currencies = sorted({line.currency for line in status.reconciliation} | set(status.coverage.payout_currencies))
    for currency in currencies:
        metadata[f"Bank {currency.upper()}"] = currency_reconciliation(status, currency)
    metadata["Blocking proofs"] = dg.MetadataValue.md(proofs_table(status))
    if not status.downloads:
        metadata["Downloads"] = f"none yet: run period_export_job for {status.period} (or stripe-close export --period {status.period})"
    elif not status.download_base and not any(download.url for download in status.downloads):
        metadata["Downloads"] = (f"{counted(len(status.downloads), 'file')} written, not served: set {DOWNLOAD_BASE_VARIABLE} to the URL "
                                 "the exports folder is served at (stripe-close ui serves it)")
    by_entity: dict[str, list[Download]] = defaultdict(list)
    for download in status.downloads:
        by_entity[download.entity_id].append(download)
    several = len(by_entity) > 1
    for entity, downloads in by_entity.items():
        for download in sorted(downloads, key=lambda download: (not download.name.startswith("close_package/"), download.name)):
            label = f"Download {entity}: {download.name}" if several else f"Download {download.name}"
            metadata[label] = dg.MetadataValue.url(download.url) if download.url else dg.MetadataValue.path(download.location)
    return metadata
