"""What a finance person reads on each asset: row counts, totals per currency, unmatched payouts,
the trial balance, and links to files; on a dbt test that failed or warned, the rows it returned.

Totals are integer minor units, one numeric entry per currency and measure (`usd_net_minor`), which
Dagster plots across materializations; a `totals` markdown table shows the same figures in major
units, formatted from the integers (never through a float). Everything is read from the
warehouse with the caller's connection, after the writer (ingestion, bank load, dbt) is done.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from exporters.publish import PublishedFile
from exporters.close_package.close_data import reconciliation_lines, unmatched_payouts
from exporters.close_package.presentation import STATUS_LABELS, display_amount
from ledger import failpoints
from ledger.bank_coverage import bank_coverage
from ledger.dbt_build import culprits_read
from orchestration.downloads import download_base, published_url

# The rows a failed or warning dbt check shows: a warning lists what to review (suspense postings).
CHECK_ROWS_SHOWN = 100
# dagster-dbt's bookkeeping on every event: ids of dbt's nodes and invocations, meaningless to a
# finance person (dbt's own logs under the run keep them).
DBT_INTERNALS = frozenset({"unique_id", "invocation_id"})


@dataclass(frozen=True)
class Measure:
    """A per-currency sum: `expression` over the rows of the relation, named `<currency>_<name>_minor`."""

    name: str
    expression: str
    label: str


@dataclass(frozen=True)
class Totals:
    measures: tuple[Measure, ...]
    where: str = "true"


_DEBITS = Measure("debits", "case when amount_minor > 0 then amount_minor else 0 end", "Debits")
_CREDITS = Measure("credits", "case when amount_minor < 0 then -amount_minor else 0 end", "Credits")
# By table name (raw tables, dbt marts); a table not listed gets its row count only.
TOTALS = {
    "stripe_balance_transactions": Totals((Measure("gross", "amount", "Gross"), Measure("fee", "fee", "Fees"), Measure("net", "net", "Net"))),
    "stripe_fee_details": Totals((Measure("fees", "amount", "Fees"),)),
    "stripe_payouts": Totals((Measure("payouts", "amount", "Payouts"),)),
    "stripe_balance_snapshots": Totals(
        (Measure("available", "available_minor", "Available"), Measure("pending", "pending_minor", "Pending")),
        # The latest snapshot of each Stripe account, summed over accounts.
        "(stripe_account_id, as_of) in (select (stripe_account_id, max(as_of)) from raw.stripe_balance_snapshots group by stripe_account_id)",
    ),
    "bank_statement_lines": Totals((
        Measure("credits", "case when direction = 'credit' then amount_minor else 0 end", "Credits"),
        Measure("debits", "case when direction = 'debit' then amount_minor else 0 end", "Debits"),
    )),
    "fct_journal_lines": Totals((_DEBITS, _CREDITS)),
    "fct_journal_lines_translated": Totals((_DEBITS, _CREDITS)),
    "rpt_trial_balance": Totals((Measure("debits", "debit_minor", "Debits"), Measure("credits", "credit_minor", "Credits"), Measure("balance", "balance_minor", "Balance"))),
    "rpt_stripe_balance_rollforward": Totals(
        (Measure("ending_balance", "net_amount_minor", "Ending balance (each account's latest month)"),),
        # Each account's balance in its last month with the currency, summed over accounts: an
        # account whose last movement is older still holds its balance.
        "category = 'ending_balance' and (stripe_account_id, currency, period) in "
        "(select (stripe_account_id, currency, max(period)) from main.rpt_stripe_balance_rollforward group by stripe_account_id, currency)",
    ),
    "fct_payout_bank_matches": Totals((Measure("matched", "amount_minor", "Matched at the bank"),)),
    "fct_payout_bank_returns": Totals((Measure("returned", "amount_minor", "Returned by the bank"),)),
}


def table_metadata(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, Any]:
    """Row count, totals per currency, and what the table adds (trial balance, unmatched payouts)."""
    relation = f"{schema}.{table}"
    metadata: dict[str, Any] = {"dagster/row_count": connection.execute(f"select count(*) from {relation}").fetchone()[0]}
    if table in TOTALS:
        metadata |= _totals(connection, relation, TOTALS[table])
    if table == "rpt_trial_balance":
        metadata["trial_balance"] = trial_balance_table(connection)
    if table == "fct_reconciliation_exceptions":
        metadata |= reconciliation_metadata(connection)
    return metadata


def _totals(connection: duckdb.DuckDBPyConnection, relation: str, totals: Totals) -> dict[str, Any]:
    sums = ", ".join(f"cast(sum({measure.expression}) as bigint)" for measure in totals.measures)
    rows = connection.execute(f"select currency, {sums} from {relation} where {totals.where} group by currency order by currency").fetchall()
    metadata: dict[str, Any] = {
        f"{currency}_{measure.name}_minor": int(amount) for currency, *amounts in rows for measure, amount in zip(totals.measures, amounts)
    }
    header = "| Currency | " + " | ".join(measure.label for measure in totals.measures) + " |"
    lines = [header, "|---|" + "---:|" * len(totals.measures)] + [
        f"| {currency.upper()} | " + " | ".join(display_amount(int(amount), currency) for amount in amounts) + " |" for currency, *amounts in rows
    ]
    metadata["totals"] = dg.MetadataValue.md("\n".join(lines) if rows else "no rows")
    return metadata


def trial_balance_table(connection: duckdb.DuckDBPyConnection) -> dg.MetadataValue:
    rows = connection.execute(
        "select entity_id, currency, account_code, account_name, balance_minor, debit_minor, credit_minor "
        "from main.rpt_trial_balance where balance_minor <> 0 or debit_minor <> 0 order by entity_id, currency, account_code"
    ).fetchall()
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({
                "entity": entity, "currency": currency.upper(), "account": account, "name": name or "",
                "balance": display_amount(balance, currency), "debits": display_amount(debits, currency), "credits": display_amount(credits, currency),
                "balance_minor": balance,
            })
            for entity, currency, account, name, balance, debits, credits in rows
        ],
        schema=dg.TableSchema(columns=[
            dg.TableColumn("entity", "string"), dg.TableColumn("currency", "string"), dg.TableColumn("account", "string"),
            dg.TableColumn("name", "string"), dg.TableColumn("balance", "string", "major units"), dg.TableColumn("debits", "string", "major units"),
            dg.TableColumn("credits", "string", "major units"), dg.TableColumn("balance_minor", "int", "signed minor units, debit positive"),
        ]),
    )


def reconciliation_metadata(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Unmatched payouts (count and amount per currency) and the open items per type, over all periods;
    first, whether the bank reconciliation was performed: a currency without any statement line has
    every payout "unmatched" and no bank line "unmatched" because nothing was compared."""
    unmatched = unmatched_payouts(connection, None)
    currencies = sorted({payout.currency for payout in unmatched})
    metadata: dict[str, Any] = {
        "bank_reconciliation": bank_coverage(connection, None).describe() or "performed for every currency with payouts due at the bank",
        "unmatched_payouts": len(unmatched),
    }
    for currency in currencies:
        mine = [payout for payout in unmatched if payout.currency == currency]
        metadata[f"{currency}_unmatched_payouts"] = len(mine)
        metadata[f"{currency}_unmatched_payouts_minor"] = sum(payout.amount_minor for payout in mine)
    lines = ["| Currency | Status | Count | Amount |", "|---|---|---:|---:|"] + [
        f"| {line.currency.upper()} | {STATUS_LABELS[line.status]} | {line.count} | {display_amount(line.amount_minor, line.currency)} |"
        for line in reconciliation_lines(connection, None)
    ]
    metadata["reconciliation"] = dg.MetadataValue.md("\n".join(lines))
    return metadata


def money_text(amount_minor: int, currency: str) -> str:
    """'EUR 1,959.44', 'JPY 12,345', 'KWD 1.234': an amount as a finance person reads it."""
    return f"{currency.upper()} {display_amount(amount_minor, currency)}"


def file_link(published: PublishedFile, exports_root: Path | None) -> dg.MetadataValue:
    """A link a browser follows: presigned on S3, under CLOSE_DOWNLOAD_BASE_URL on disk; the local
    path only when the folder is not served."""
    url = published_url(published, exports_root, download_base())
    return dg.MetadataValue.url(url) if url else dg.MetadataValue.path(published.location)


def with_dbt_metadata(context: dg.AssetExecutionContext, events: Iterable[Any], warehouse: Path, target_path: Path | None = None) -> Iterator[Any]:
    """dbt's events with the tables' figures attached, once dbt is done (DuckDB has one writer),
    and each check dbt failed or warned with the rows its test returned (`rows`; their `problem`
    column, when the test has one, as the description), read with the compiled SQL dbt recorded in
    `target_path`'s run_results.json: dbt itself reports only a count.

    Events are held until dbt exits, as dagster-dbt's own `fetch_row_counts` does on DuckDB; when
    dbt fails, the events it produced are still reported, then the failure is raised.
    """
    collected, failure = [], None
    try:
        for event in events:
            failpoints.reached("dbt.event")
            collected.append(event)
    except Exception as error:  # re-raised below, after the finished models are reported
        failure = error
    connection = _figures_connection(warehouse, failure)
    if connection is None:
        yield from collected
    else:
        with connection:
            yield from _with_table_metadata(context, collected, connection, compiled_tests(target_path))
    if failure is not None:
        raise failure


def _figures_connection(warehouse: Path, failure: Exception | None) -> duckdb.DuckDBPyConnection | None:
    """The warehouse, read-only, to measure the built tables; None when there is nothing to measure
    (a build that failed before creating the file) or when a failed dbt still holds the file: the
    events then go out without figures, and dbt's failure is raised, not a lock error."""
    if not warehouse.exists():
        return None
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException:
        if failure is None:
            raise
        return None


def compiled_tests(target_path: Path | None) -> dict[str, str]:
    """unique_id -> compiled SQL of each test dbt ran (run_results.json), empty when there is none."""
    results_file = target_path / "run_results.json" if target_path else None
    if results_file is None or not results_file.exists():
        return {}
    results = json.loads(results_file.read_text())["results"]
    return {result["unique_id"]: result["compiled_code"] for result in results if result["unique_id"].startswith("test.") and result.get("compiled_code")}


def with_test_rows(connection: duckdb.DuckDBPyConnection, result: dg.AssetCheckResult, compiled: dict[str, str]) -> dg.AssetCheckResult:
    """A dbt check that failed or warned, with the first rows its test returns (`rows`) and their
    `problem`s as its description; a passing check, or one whose SQL is unknown, as it is."""
    unique_id = result.metadata.get("unique_id")
    sql = compiled.get(unique_id.value if unique_id is not None else "")
    if result.passed or sql is None:
        return result
    rows = json.loads(json.dumps(culprits_read(connection, sql, CHECK_ROWS_SHOWN), default=str))
    problems = list(dict.fromkeys(row["problem"] for row in rows if row.get("problem")))
    return result._replace(metadata={**result.metadata, "rows": dg.MetadataValue.json(rows)}, description="; ".join(problems) or result.description)


def _with_table_metadata(
    context: dg.AssetExecutionContext, events: list[Any], connection: duckdb.DuckDBPyConnection, compiled: dict[str, str],
) -> Iterator[Any]:
    tables = dict(connection.execute(
        "select table_name, table_schema from information_schema.tables where table_type = 'BASE TABLE' and table_schema in ('main', 'accounting')"
    ).fetchall())
    for event in events:
        if isinstance(event, (dg.Output, dg.AssetMaterialization)):
            key = event.asset_key if isinstance(event, dg.AssetMaterialization) else context.asset_key_for_output(event.output_name)
            figures = table_metadata(connection, tables[key.path[-1]], key.path[-1]) if key.path[-1] in tables else {}
            event = event.with_metadata({**without_dbt_internals(event.metadata), **figures})
        elif isinstance(event, dg.AssetCheckResult):
            checked = with_test_rows(connection, event, compiled)
            event = checked._replace(metadata=without_dbt_internals(checked.metadata))
        yield event


def without_dbt_internals(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metadata.items() if key not in DBT_INTERNALS}
