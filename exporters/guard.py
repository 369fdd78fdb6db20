"""The export guard outside Dagster: prove the ledger before exporting, with every blocking proof.

The CLI cannot rely on check results an earlier run left behind (the warehouse may have changed
since), so it runs the proofs itself against the warehouse it is about to export from: the
accounting configuration (`ledger.accounting_config`, naming file, line and values), the dbt proofs
(`dbt test` on the marts and the singular proofs) and the Great Expectations suites
(`ledger.checks`), the same blocking checks the Dagster guard reads from the instance
(orchestration/defs/export/guard.py). A test that fails or errors blocks; a test configured with
severity `warn` does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ledger import accounting_config
from ledger.dbt_project import DBT_PROJECT_DIR, dbt_executable

# The tests on the marts and every singular test: a proof over staging models only (automatic
# payouts = their transactions) has no mart among its parents, so the marts' path alone misses it.
PROOFS_SELECTOR = "path:models/marts path:tests"
BLOCKING_STATUSES = ("fail", "error")


@dataclass(frozen=True)
class FailedProof:
    name: str
    status: str
    failures: int | None
    message: str

    def describe(self) -> str:
        rows = f", {self.failures} failing row(s)" if self.failures else ""
        return f"{self.name} ({self.status}{rows})"


class LedgerNotProven(RuntimeError):
    """The ledger's blocking checks did not all pass; the message names every failing one."""

    def __init__(self, failed: list[str]) -> None:
        super().__init__("exports and pushes are blocked until the ledger's blocking checks pass; failing: " + ", ".join(failed))
        self.failed = failed


def run_ledger_proofs(warehouse: Path, project_dir: Path = DBT_PROJECT_DIR, statuses: tuple[str, ...] = BLOCKING_STATUSES) -> list[FailedProof]:
    """`dbt test` of the proofs against `warehouse`; the tests that ended in one of `statuses` (by default: failed or errored)."""
    with tempfile.TemporaryDirectory(prefix="stripe-close-proofs-") as scratch:
        environment = {**os.environ, "CLOSE_WAREHOUSE": str(warehouse)}
        completed = subprocess.run(
            [dbt_executable(), "test", "--select", PROOFS_SELECTOR, "--project-dir", str(project_dir),
             "--profiles-dir", str(project_dir), "--target-path", scratch, "--log-path", scratch, "--quiet"],
            env=environment, capture_output=True, text=True, check=False,
        )
        results_file = Path(scratch) / "run_results.json"
        if not results_file.exists():
            raise RuntimeError(f"dbt test did not run (exit {completed.returncode}): {(completed.stdout + completed.stderr).strip()[-2000:]}")
        results = json.loads(results_file.read_text())["results"]
    # By name: dbt lists results as its threads finish them, and a refusal should read the same every time.
    return sorted(
        (FailedProof(result["unique_id"].split(".")[2], result["status"], result.get("failures"), (result.get("message") or "").strip())
         for result in results if result["status"] in statuses),
        key=lambda proof: proof.name,
    )


@dataclass(frozen=True)
class LedgerProof:
    """One run of every blocking proof: the failing ones, described, and by check name the ones that
    warned (a dbt test of severity `warn` that found rows, a GX proof with records it could not evaluate)."""

    failing: list[str]
    warnings: dict[str, str]


def prove_ledger(warehouse: Path, project_dir: Path = DBT_PROJECT_DIR) -> LedgerProof:
    """Every blocking proof run against `warehouse`, named as the Dagster checks are."""
    # Great Expectations takes seconds to import: only the commands that prove the books load it.
    from ledger.checks.validate import run_suites

    failing = [f"accounting_configuration_is_valid ({problem})" for problem in accounting_config.problems(project_dir / "seeds")]
    tests = run_ledger_proofs(warehouse, project_dir, (*BLOCKING_STATUSES, "warn"))
    failing += [proof.describe() for proof in tests if proof.status in BLOCKING_STATUSES]
    warnings = {proof.name: proof.message for proof in tests if proof.status == "warn"}
    suites = run_suites(warehouse)
    failing += [f"gx_{result.name} (failed)" for result in suites if not result.success]
    warnings |= {f"gx_{result.name}": result.describe() for result in suites if result.success and not result.evaluated}
    return LedgerProof(failing, warnings)


def failing_proofs(warehouse: Path, project_dir: Path = DBT_PROJECT_DIR) -> list[str]:
    """Every blocking proof that does not hold for `warehouse`, described, named as the Dagster checks are."""
    return prove_ledger(warehouse, project_dir).failing


def require_proven_ledger(warehouse: Path, project_dir: Path = DBT_PROJECT_DIR) -> None:
    failing = failing_proofs(warehouse, project_dir)
    if failing:
        raise LedgerNotProven(failing)
