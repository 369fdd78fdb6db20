"""Run the ledger's GX suites against the warehouse and report which records fail them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import great_expectations as gx
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from ledger import failpoints, progress
from ledger.checks.suites import SUITES, Suite

CULPRITS_KEPT = 20


@dataclass(frozen=True)
class SuiteResult:
    name: str
    description: str
    success: bool
    rows_validated: int
    failed_expectations: tuple[str, ...]
    culprits: tuple[dict, ...]
    """The failing rows (id columns and the compared values), at most CULPRITS_KEPT."""
    not_evaluated: tuple[str, ...] = ()
    """`<entity> <currency>: <why>` for each record the proof could not evaluate (Suite.not_evaluated_sql)."""

    @property
    def evaluated(self) -> bool:
        """Every record the proof is about was evaluated: only then does success mean it passed."""
        return not self.not_evaluated

    def describe(self) -> str:
        if not self.success:
            unevaluated = f"; {'; '.join(self.not_evaluated)}" if self.not_evaluated else ""
            return f"{self.name}: FAILED {', '.join(self.failed_expectations)}; culprits: {list(self.culprits)}{unevaluated}"
        if not self.evaluated:
            agreeing = f"; the {self.rows_validated} evaluated row(s) agree" if self.rows_validated else ""
            return f"{self.name}: not evaluated for {'; '.join(self.not_evaluated)}{agreeing}"
        return f"{self.name}: passed ({self.rows_validated} rows)"


def _plain(value: object) -> object:
    """numpy scalars to Python ones, so results serialize."""
    return value.item() if hasattr(value, "item") else value


def _context() -> gx.data_context.EphemeralDataContext:
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_frame(suite: Suite, frame: pd.DataFrame, context: gx.data_context.EphemeralDataContext | None = None,
                   not_evaluated: tuple[str, ...] = ()) -> SuiteResult:
    context = context or _context()
    batch = context.data_sources.add_pandas(f"{suite.name}_source").add_dataframe_asset(name=suite.name).add_batch_definition_whole_dataframe("all")
    expectation_suite = context.suites.add(gx.ExpectationSuite(name=suite.name))
    for expectation in suite.expectations():
        expectation_suite.add_expectation(expectation)
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch, suite=expectation_suite))
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": list(suite.id_columns)},
    )
    failed = [r for r in result.results if not r.success]
    culprits: list[dict] = []
    for expectation_result in failed:
        for row in expectation_result.result.get("unexpected_index_list") or []:
            named = {key: _plain(value) for key, value in row.items()}
            if named not in culprits:
                culprits.append(named)
    return SuiteResult(
        name=suite.name,
        description=suite.description,
        success=bool(result.success),
        rows_validated=len(frame),
        failed_expectations=tuple(r.expectation_config.type for r in failed),
        culprits=tuple(culprits[:CULPRITS_KEPT]),
        not_evaluated=not_evaluated,
    )


def run_suites(warehouse: Path, suites: tuple[Suite, ...] = SUITES) -> list[SuiteResult]:
    """Every suite on the ledger in `warehouse`, read-only."""
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        connection.execute("set enable_progress_bar = false")
        frames = [(suite, connection.sql(suite.sql).df(), _not_evaluated(connection, suite)) for suite in suites]
    finally:
        connection.close()
    context = _context()
    # Counted against every suite: a Dagster run validates them one check at a time, a step each.
    validated = progress.step("proofs", "proof", len(SUITES), "Great Expectations proofs")
    results = []
    for suite, frame, not_evaluated in frames:
        failpoints.reached("gx.suite")
        results.append(validate_frame(suite, frame, context, not_evaluated))
        validated.advance()
    return results


def _not_evaluated(connection: duckdb.DuckDBPyConnection, suite: Suite) -> tuple[str, ...]:
    if suite.not_evaluated_sql is None:
        return ()
    rows = connection.sql(f"select * from ({suite.not_evaluated_sql}) order by entity_id, currency").fetchall()
    return tuple(f"{entity} {currency}: {problem}" for entity, currency, problem in rows)
